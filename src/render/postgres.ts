/**
 * PostgreSQL server parameters and pg_hba rules of a database node.
 *
 * Patroni writes both into the data directory (postgresql.conf / pg_hba.conf); see
 * `renderPatroniConfig`. Sources of the numbers: Cloud Temple Managed PostgreSQL (sizes, max_connections),
 * the PostgreSQL reference architecture (memory rules, log_min_duration_statement 1000 ms), PostgreSQL documentation
 * ("Server Configuration", "The pg_hba.conf File").
 */
import { postgresParametersForSize, type ResolvedClusterSpec } from "../cluster-spec";
import { PATHS } from "./paths";
import { AWS_EC2_TARGET, type RenderTarget } from "./target";
import type { ClusterMember } from "./types";
import { commandWord } from "./values";

/** Directory of the PostgreSQL server log on every node (logging_collector). */
export const POSTGRES_LOG_DIRECTORY = "/var/log/postgresql";

/** Unix socket directory of PostgreSQL (Debian default). */
export const POSTGRES_SOCKET_DIRECTORY = "/var/run/postgresql";

/** Database roles created by Patroni (and, for the PgBouncer role, by the post-bootstrap SQL). */
export const DB_ROLES = {
  /** Superuser; local (peer) connections only. */
  superuser: "postgres",
  /** Streaming replication between members. */
  replication: "replicator",
  /** pg_rewind source connections to the current primary. */
  rewind: "rewind_user",
  /** PgBouncer's `auth_user`: may only execute `pgbouncer.get_auth(text)`. */
  pgbouncerAuth: "pgbouncer_auth",
} as const;

/**
 * Parameters that must be equal on every member. Patroni ignores them in the local
 * configuration and takes them from the DCS (Patroni documentation, "Dynamic
 * configuration settings": max_connections, max_locks_per_transaction,
 * max_worker_processes, max_prepared_transactions, wal_level, track_commit_timestamp,
 * max_wal_senders, max_replication_slots, wal_keep_size, wal_log_hints).
 */
export const PATRONI_DCS_ONLY_PARAMETERS: readonly string[] = [
  "max_connections",
  "max_locks_per_transaction",
  "max_worker_processes",
  "max_prepared_transactions",
  "wal_level",
  "track_commit_timestamp",
  "max_wal_senders",
  "max_replication_slots",
  "wal_keep_size",
  "wal_log_hints",
];

/**
 * The `archive_command` of a stanza: pgBackRest pushes each WAL segment (asynchronously).
 * @throws Error when `stanza` is not one shell word (PostgreSQL runs the command through a shell)
 */
export function archiveCommand(stanza: string): string {
  return `pgbackrest --stanza=${commandWord(stanza, "archive_command stanza")} archive-push %p`;
}

/**
 * The `restore_command` of a stanza: pgBackRest fetches WAL segments from the repository.
 * @throws Error when `stanza` is not one shell word (PostgreSQL runs the command through a shell)
 */
export function restoreCommand(stanza: string): string {
  return `pgbackrest --stanza=${commandWord(stanza, "restore_command stanza")} archive-get %f "%p"`;
}

/** The WAL limits that follow the size of the data volume (PostgreSQL units, `MB`). */
export interface WalLimits {
  /** `max_wal_size`: an eighth of the volume, from 256 MB to 8192 MB. */
  readonly max_wal_size: string;
  /** `max_slot_wal_keep_size`: a quarter of the volume. */
  readonly max_slot_wal_keep_size: string;
}

/**
 * The WAL limits of a data volume of `volumeMiB` MiB: `max_wal_size` an eighth of it, at
 * least 256 MB and at most 8192 MB (checkpoints spaced by WAL volume without letting WAL take
 * more than an eighth of the disk between two checkpoints), `max_slot_wal_keep_size` a
 * quarter (a lagging replica's slot may not fill the disk; Patroni re-creates the replica
 * from the backup instead). PostgreSQL's `MB` is a mebibyte.
 *
 * Both are `sighup` parameters (PostgreSQL docs, "WAL Configuration" and "Replication"):
 * they change with a reload. The node applies them at run time from the size of its own
 * data volume (`wal_limits_for` in src/render/scripts/node-bootstrap.sh, the same formula;
 * the primary PATCHes Patroni's `/config` after its filesystem grew and at first boot), so
 * they never travel in the launch template.
 * @throws Error if `volumeMiB` is not a positive integer
 */
export function walLimitsForVolume(volumeMiB: number): WalLimits {
  if (!Number.isInteger(volumeMiB) || volumeMiB <= 0) throw new Error(`volumeMiB must be a positive integer. Got ${volumeMiB}`);
  return {
    max_wal_size: `${Math.min(8192, Math.max(256, Math.floor(volumeMiB / 8)))}MB`,
    max_slot_wal_keep_size: `${Math.floor(volumeMiB / 4)}MB`,
  };
}

/**
 * Replication slots and WAL senders every cluster renders (`max_replication_slots`,
 * `max_wal_senders`), PostgreSQL's defaults (PostgreSQL documentation, "Server Configuration —
 * Replication — Sending Servers": both default to 10).
 */
export const REPLICATION_LIMIT = 10;

/**
 * `wal_level` of a cluster: `logical` with `spec.upgradeTo` (the blue cluster of a blue/green
 * major upgrade: green subscribes to blue, and a publisher needs `wal_level = logical`,
 * PostgreSQL documentation, "Logical Replication — Configuration Settings — Publishers"),
 * `replica` otherwise (streaming replication and archiving need no more; logical WAL is larger).
 *
 * `wal_level` is a DCS-only setting of Patroni ({@link PATRONI_DCS_ONLY_PARAMETERS}) and a
 * `postmaster` parameter: on a running cluster the maintenance PATCHes it into Patroni's dynamic
 * configuration and the roll restarts every member (replicas first, the primary after a
 * switchover), in the maintenance window or at once with `applyImmediately`; removing
 * `upgradeTo` brings `replica` back the same way (docs/UPGRADING.md, "Blue/green").
 *
 * The rendered {@link REPLICATION_LIMIT} of slots and WAL senders stays as it is with
 * `upgradeTo`: green's preflight (scripts/node-upgrade.sh) wants, besides the slots and senders
 * of the other members (at most 2: a distributed cluster has 3 members), one slot and sender per
 * database of blue plus 2 for the initial copy's table-sync workers (PostgreSQL's default
 * `max_sync_workers_per_subscription`), so 10 leaves room for 6 databases (distributed) or 8
 * (standalone), `postgres` included, as many as green's workers allow
 * ({@link UPGRADE_LOGICAL_REPLICATION_WORKERS}: 6). Raising them here would make removing
 * `upgradeTo` a decrease of `max_wal_senders`, which the maintenance holds (docs/operations.md,
 * "Lowering max_connections").
 */
export function walLevel(spec: Pick<ResolvedClusterSpec, "upgradeTo">): "logical" | "replica" {
  return spec.upgradeTo === undefined ? "replica" : "logical";
}

/**
 * `max_logical_replication_workers` of a green cluster (`upgradeFrom`), and only of one: 7.
 * Green follows blue with one subscription per database of blue, each needing a leader apply
 * worker for as long as it exists, plus table-synchronization workers for the initial copy, all
 * from this pool (PostgreSQL documentation, "Logical Replication — Configuration Settings —
 * Subscribers": it "includes leader apply workers, parallel apply workers, and table
 * synchronization workers"; default 4). With the default, a blue of 4 databases (`postgres`
 * included) takes every worker for the apply and the initial copy never starts ("out of logical
 * replication worker slots"). 7 is what `max_worker_processes` (PostgreSQL's default 8, not
 * rendered) holds next to the launcher (the same page: `max_worker_processes` "at least
 * `max_logical_replication_workers` + 1"): room for 6 databases with one table-sync worker, the
 * limit blue's replication slots give a distributed blue ({@link walLevel}). A local setting
 * (not one Patroni takes from the DCS): removing `upgradeFrom` is a new launch template version
 * whose nodes start without it. Green's preflight refuses fewer workers than blue's databases
 * plus one (scripts/node-upgrade.sh).
 */
export const UPGRADE_LOGICAL_REPLICATION_WORKERS = 7;

/**
 * PostgreSQL parameters of a cluster, as strings (PostgreSQL's own units: `MB`, `ms`, `s`).
 *
 * - Memory and connections from `postgresParametersForSize(spec.size)` (Cloud Temple Managed PostgreSQL sizes,
 *   the PostgreSQL reference architecture rules: shared_buffers 25 % of RAM, effective_cache_size 75 %).
 * - TLS on, server certificate/key/CA from `PATHS`, `ssl_min_protocol_version` TLSv1.3,
 *   `password_encryption` scram-sha-256.
 * - WAL: `wal_level` replica ({@link walLevel}: `logical` with `spec.upgradeTo`), `archive_mode` on, `archive_command` pgBackRest
 *   `archive-push` to the stanza `spec.name`, `archive_timeout` 60 s (bounds the PITR
 *   window of an idle cluster), `wal_log_hints` on (needed by pg_rewind). With `spec.upgradeFrom`
 *   also `max_logical_replication_workers` ({@link UPGRADE_LOGICAL_REPLICATION_WORKERS}).
 *   With `target.walLimits` `node` (the default; EC2 and Kubernetes) nothing derived from `spec.storageGiB`:
 *   the WAL limits that follow the data volume ({@link walLimitsForVolume}) are set by the
 *   primary node itself in Patroni's dynamic configuration, so that growing the storage changes
 *   no node file and no launch template. With `rendered` they are here, from
 *   `spec.storageGiB`.
 * - Logging to {@link POSTGRES_LOG_DIRECTORY} (`target.logging` `file`: `logging_collector`
 *   on) or to stderr (`stderr`: `logging_collector` off; the `log_directory`/rotation
 *   settings stay and are inert), slow statements ≥ 1000 ms (PostgreSQL reference architecture).
 *
 * Pure; the same spec and target always give the same record.
 * @param target - only `logging` and `walLimits` are read. @default AWS_EC2_TARGET
 */
export function renderPostgresParameters(spec: ResolvedClusterSpec, target: Pick<RenderTarget, "logging" | "walLimits"> = AWS_EC2_TARGET): Record<string, string> {
  const size = postgresParametersForSize(spec.size);
  const wal = target.walLimits === "rendered" ? walLimitsForVolume(spec.storageGiB * 1024) : undefined;
  return {
    // Connections and memory (Cloud Temple Managed PostgreSQL, the PostgreSQL reference architecture).
    max_connections: String(size.maxConnections),
    superuser_reserved_connections: "3",
    shared_buffers: `${size.sharedBuffersMiB}MB`,
    effective_cache_size: `${size.effectiveCacheSizeMiB}MB`,
    work_mem: `${size.workMemMiB}MB`,
    maintenance_work_mem: `${size.maintenanceWorkMemMiB}MB`,
    huge_pages: "try",
    // TLS 1.3 only, scram-sha-256 (DESIGN: security).
    ssl: "on",
    ssl_cert_file: PATHS.serverCert,
    ssl_key_file: PATHS.serverKey,
    ssl_ca_file: PATHS.caCert,
    ssl_min_protocol_version: "TLSv1.3",
    password_encryption: "scram-sha-256",
    unix_socket_directories: POSTGRES_SOCKET_DIRECTORY,
    // Replication and WAL.
    wal_level: walLevel(spec),
    hot_standby: "on",
    hot_standby_feedback: "on",
    wal_log_hints: "on",
    max_wal_senders: String(REPLICATION_LIMIT),
    max_replication_slots: String(REPLICATION_LIMIT),
    // green of a blue/green major upgrade: a subscription per database of blue (UPGRADE_LOGICAL_REPLICATION_WORKERS)
    ...(spec.upgradeFrom ? { max_logical_replication_workers: String(UPGRADE_LOGICAL_REPLICATION_WORKERS) } : {}),
    // A standby whose WAL source failed retries after wal_retrieve_retry_interval (PostgreSQL 15
    // docs, "Standby Servers": default 5s). After a failover the remaining replica's first
    // attempt to stream from the new primary fails (Patroni creates its replication slot there
    // one HA loop after the promotion: "replication slot … does not exist"), and in synchronous
    // strict mode every commit waits for that replica, so the default cost 5 s of RTO in every
    // live round (issue 11, docs/live-harness.md). 1s: the retry comes ≤ 1 s later; the price is
    // at most one archive lookup (pgBackRest archive-get, async queue) a second while a standby
    // has no WAL source.
    wal_retrieve_retry_interval: "1s",
    wal_keep_size: "128MB",
    // max_wal_size and max_slot_wal_keep_size follow the data volume (walLimitsForVolume): set
    // by the node in Patroni's dynamic configuration (target.walLimits "node": storage growth
    // must not change the launch template), or rendered here ("rendered").
    ...(wal ? { max_slot_wal_keep_size: wal.max_slot_wal_keep_size } : {}),
    wal_compression: "on",
    ...(wal ? { max_wal_size: wal.max_wal_size } : {}),
    min_wal_size: "80MB",
    checkpoint_timeout: "15min",
    checkpoint_completion_target: "0.9",
    // Continuous archiving to the backup bucket (PITR).
    archive_mode: "on",
    archive_command: archiveCommand(spec.name),
    archive_timeout: "60s",
    // Observability.
    shared_preload_libraries: "pg_stat_statements",
    track_io_timing: "on",
    logging_collector: target.logging === "file" ? "on" : "off",
    log_directory: POSTGRES_LOG_DIRECTORY,
    log_filename: "postgresql-%a.log",
    log_truncate_on_rotation: "on",
    log_rotation_age: "1d",
    log_rotation_size: "0",
    log_file_mode: "0640",
    log_line_prefix: "%m [%p] %q%u@%d ",
    log_min_duration_statement: "1000", // ms, the PostgreSQL reference architecture: "Capture slow queries for tuning"
    log_checkpoints: "on",
    log_connections: "on",
    log_disconnections: "on",
    log_lock_waits: "on",
    log_temp_files: "0",
    log_autovacuum_min_duration: "10s",
    log_statement: "ddl",
  };
}

/**
 * The pg_hba.conf rules of a cluster, one rule per string, first match wins.
 *
 * 1. `local all postgres peer` — the superuser only over the Unix socket, as the `postgres`
 *    OS user (Patroni, pgBackRest, the bootstrap).
 * 2. `hostssl replication replicator` from 127.0.0.1/::1 (Patroni on a replica asks its own
 *    server for the timeline over a replication connection), `hostssl replication replicator
 *    <member>/32 scram-sha-256` and `hostssl postgres
 *    rewind_user <member>/32 scram-sha-256` for every member (streaming replication and
 *    pg_rewind between members only). With `target.memberAddressing` `pod-network`, the
 *    replication rule for every pod network CIDR, then the pg_rewind rule for every CIDR
 *    (pod IPs change; the network policy limits who reaches the port).
 * 3. With `spec.upgradeTo` (the blue cluster of a blue/green major upgrade):
 *    `hostssl all postgres <green node>/32 scram-sha-256` for each of its `nodeAddresses` (green
 *    copies roles and schema and subscribes as blue's superuser; docs/UPGRADING.md).
 * 4. `hostssl all postgres/replicator/rewind_user … reject` elsewhere — these roles never
 *    connect from outside the members (and green's nodes, with `upgradeTo`).
 * 5. `hostssl all all 0.0.0.0/0 scram-sha-256` (and `::/0`) — applications, through
 *    PgBouncer; the network is restricted by security groups.
 * 6. `host all all 0.0.0.0/0 reject` (and `::/0`) — no plain-text TCP connection;
 *    `local all all scram-sha-256` — other local logins (e.g. a metrics exporter) need a password.
 *
 * Member addresses and CIDRs may be unresolved Terraform tokens: they are used verbatim.
 * @param target - only `memberAddressing` is read. @default AWS_EC2_TARGET
 */
export function renderPgHba(
  spec: ResolvedClusterSpec,
  members: readonly ClusterMember[],
  target: Pick<RenderTarget, "memberAddressing"> = AWS_EC2_TARGET,
): string[] {
  const r = DB_ROLES;
  const rules: string[] = [
    `local all ${r.superuser} peer`,
    // Patroni on a replica reads its own timeline over a local replication connection.
    `hostssl replication ${r.replication} 127.0.0.1/32 scram-sha-256`,
    `hostssl replication ${r.replication} ::1/128 scram-sha-256`,
  ];
  const addressing = target.memberAddressing;
  if (addressing.kind === "pod-network") {
    for (const cidr of addressing.podNetworkCidrs) rules.push(`hostssl replication ${r.replication} ${cidr} scram-sha-256`);
    for (const cidr of addressing.podNetworkCidrs) rules.push(`hostssl postgres ${r.rewind} ${cidr} scram-sha-256`);
  } else {
    for (const m of members) {
      rules.push(`hostssl replication ${r.replication} ${m.address}/32 scram-sha-256`);
      rules.push(`hostssl postgres ${r.rewind} ${m.address}/32 scram-sha-256`);
    }
  }
  // blue of a blue/green major upgrade: green's nodes connect as the superuser (upgradeTo)
  for (const address of spec.upgradeTo?.nodeAddresses ?? []) rules.push(`hostssl all ${r.superuser} ${address}/32 scram-sha-256`);
  for (const role of [r.superuser, r.replication, r.rewind]) {
    rules.push(`hostssl all ${role} 0.0.0.0/0 reject`);
    rules.push(`hostssl all ${role} ::/0 reject`);
  }
  rules.push("hostssl replication all 0.0.0.0/0 reject");
  rules.push("hostssl replication all ::/0 reject");
  rules.push("hostssl all all 0.0.0.0/0 scram-sha-256");
  rules.push("hostssl all all ::/0 scram-sha-256");
  rules.push("host all all 0.0.0.0/0 reject");
  rules.push("host all all ::/0 reject");
  rules.push("local all all scram-sha-256");
  return rules;
}
