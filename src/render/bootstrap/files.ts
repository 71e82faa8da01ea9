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
} as const;

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
