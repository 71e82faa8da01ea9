/**
 * Paths of the files the bootstrap and the systemd units add to those of `PATHS`: helper
 * scripts of the timers (rendered) and secret-bearing files written at boot.
 */

/** Where the node bootstrap keeps its state (first-start marker). */
export const BOOTSTRAP_STATE_DIR = "/var/lib/managed-postgres";

/** Directory of the rendered systemd units (overrides the Debian packages' units of the same name). */
export const SYSTEMD_UNIT_DIR = "/etc/systemd/system";

/**
 * Subcommands of the bootstrap script run by the timer services
 * (`managed-postgres-bootstrap <subcommand>`).
 */
export const JOB_COMMANDS = {
  /** Daily full pgBackRest backup; acts only on the backup-running node (as postgres). */
  fullBackup: "backup",
  /** Logical dumps (pg_dump -Fc) of every database, encrypted, to S3 (as postgres). */
  logicalDump: "logical-dump",
  /** Online growth of the data volume's ext4 filesystem (as root). */
  growFilesystem: "grow-fs",
  /**
   * Refuses (exit 1) when the data volume holds a data directory of another PostgreSQL major
   * version; records the configuration digest Patroni starts with (`ExecStartPre` of
   * patroni.service, as root).
   */
  checkDataVersion: "check-data-version",
  /** The rolling maintenance: one node at a time through the DCS lock (as root, every minute). */
  maintenance: "maintenance",
  /** `pgbackrest verify` and a restore check of the newest backup on the replica-side node (as postgres, weekly). */
  verifyBackup: "verify-backup",
  /**
   * What a node writes for others, without a boot: the PgBouncer tier's secret (distributed) and
   * the published CA certificate, each only when missing or stale (as root, every 5 minutes, every node).
   */
  publish: "publish",
  /**
   * Keeps the etcd leader off the Patroni primary's node (distributed, as root, every 10 s):
   * a new etcd leader renews every lease in full, which would delay the failover of a primary
   * that was also the etcd leader (see `job_etcd_leader` in node-maintenance.sh).
   */
  etcdLeader: "etcd-leader",
} as const;

/** Scratch directory of the backup restore check, on the data volume (removed after each check). */
export const VERIFY_SCRATCH_DIR = "/data/pgdata/restore-check";

/** Port naming the restore check's Unix socket (it listens on no TCP address). */
export const VERIFY_PORT = 5499;

/** The configuration digest `check-data-version` records when Patroni starts (tmpfs: a boot starts afresh). */
export const CONFIG_DIGEST_FILE = "/run/managed-postgres/config.sha256";

/**
 * The maintenance agent's record of what this node needs, one line "NEED WHY REVISION": the etcd
 * revision of its first state put that reported this need (tmpfs: a boot starts afresh, which
 * only makes a primary wait longer). A primary rolls only after every other member has put its
 * state key (`<prefix>/state/<member>`, {@link maintenanceDcsPrefix}) after that revision.
 */
export const MAINTENANCE_NEED_FILE = "/run/managed-postgres/maintenance-need";

/**
 * etcd key prefix of the rolling maintenance (beside Patroni's `/managed-postgres/<cluster>/`,
 * which Patroni owns): `<prefix>/lock` (the roll lock, on a lease), `<prefix>/state/<member>`
 * (what each member needs: replace, restart, reload or none), `<prefix>/pause` (any value
 * pauses the roll).
 */
export function maintenanceDcsPrefix(clusterName: string): string {
  return `/managed-postgres-maintenance/${clusterName}`;
}

/**
 * Lifetime of the roll lock's lease, seconds: the holder renews it every minute; a holder that
 * dies mid-roll (and no replacement of the same slot takes over) frees the roll after it.
 * Long enough for a replaced instance to boot and renew it (the bootstrap waits up to 10
 * minutes for its slot).
 */
export const ROLL_LOCK_TTL_SECONDS = 900;

/**
 * How long one maintenance run of a departing replica waits (seconds) for Patroni to show its
 * departure tags (nosync, noloadbalance) and another member as the synchronous standby: the
 * reload takes effect at the replica's next HA loop, the primary reacts at its next one and
 * then waits 2 s for the new standby (Patroni 3.0.2 and 4.0.7 `process_sync_replication`), so
 * 3 × `loop_wait` + 10 s (34 s at the default loop_wait 8), at most 120 s (the maintenance
 * service's TimeoutStartSec is 5 minutes). A run that times out logs it; the next run goes on.
 */
export function departWaitSeconds(loopWait: number): number {
  return Math.min(3 * loopWait + 10, 120);
}

/** Secret-bearing files written by the bootstrap at boot (never rendered). */
export const BOOT_SECRET_FILES = {
  /** The backup cipher pass alone on one line (openssl `-pass file:`), postgres 0600. */
  backupCipherPass: "/etc/managed-postgres/backup-cipher-pass",
  /** libpq password file of the PgBouncer metrics exporter (`pgbouncer_auth`), postgres 0600. */
  pgbouncerExporterPgpass: "/etc/managed-postgres/pgbouncer-exporter.pgpass",
} as const;

/** S3 key prefix of a cluster's logical dumps: `<cluster>/logical/` (the bucket's lifecycle rule expires it). */
export function logicalDumpPrefix(clusterName: string): string {
  return `${clusterName}/logical/`;
}
