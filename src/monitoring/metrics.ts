/**
 * The names shared by what the nodes publish (src/render/monitoring/) and what the alarms
 * and the dashboard read (src/monitoring/alarms.ts, dashboard.ts): the CloudWatch namespace,
 * dimensions, metric names and log groups. Pure; no cdktf import.
 */

/** CloudWatch namespace of every metric of the library. */
export const METRIC_NAMESPACE = "ManagedPostgres";

/** CloudWatch dimension names. */
export const DIMENSIONS = {
  /** Cluster name; on every metric. */
  cluster: "Cluster",
  /** Slot index ("0", "1", "2") of a database node, or "pooler" on the PgBouncer tier. */
  slot: "Slot",
  /** PgBouncer pool, "rw" or "ro", on PgBouncer metrics. */
  pool: "Pool",
} as const;

/** Value of the `Slot` dimension on PgBouncer tier instances. */
export const POOLER_SLOT = "pooler";

/** Metrics the alarms and the dashboard read (CloudWatch metric names). */
export const METRICS = {
  /** CPU busy, percent (agent `cpu` plugin, `totalcpu`). */
  cpuUsageActive: "cpu_usage_active",
  /** Memory available to new processes, bytes (agent `mem` plugin). */
  memAvailable: "mem_available",
  /** Memory used, percent. */
  memUsedPercent: "mem_used_percent",
  /** Used space of the data volume (`/data`), percent (agent `disk` plugin). */
  diskUsedPercent: "disk_used_percent",
  /** Client backends connected to PostgreSQL (custom query `mp_connections`). */
  connectionsUsed: "mp_connections_used",
  /** PostgreSQL's max_connections (custom query `mp_connections`). */
  connectionsMax: "mp_connections_max",
  /** Seconds a replica's replay is behind; 0 on the primary and on a caught-up replica. */
  replicationLagSeconds: "mp_replication_lag_seconds",
  /** 1 while WAL archiving is failing on the primary (last failure newer than last success), else 0. */
  walArchiveFailing: "mp_wal_archive_failing",
  /** pg_stat_archiver.failed_count on the primary (since the last statistics reset). */
  walArchiveFailedCount: "mp_wal_archive_failed_count",
  /** Seconds since the last WAL segment was archived, on the primary. */
  walLastArchivedAgeSeconds: "mp_wal_archive_last_archived_age_seconds",
  /** Seconds since the end of the newest full backup in the pgBackRest repository. `Cluster` dimension only. */
  backupLastFullAgeSeconds: "mp_backup_last_full_age_seconds",
  /** 1 when a node refused to start PostgreSQL on another major version's data directory, 0 when it matched (node events log). */
  dataVersionMismatch: "mp_data_version_mismatch",
  /** 1 each time the rolling maintenance pauses (pause key, or an unhealthy cluster) while a node needs a change (node events log). */
  maintenancePaused: "mp_maintenance_paused",
  /** 1 per node handed to its Auto Scaling group by the rolling maintenance (node events log). */
  maintenanceNodeReplaced: "mp_maintenance_node_replaced",
  /** 1 when a node's roll finished (it is up to date and the cluster healthy) (node events log). */
  maintenanceNodeDone: "mp_maintenance_node_done",
  /** 1 when a primary switched over before its own roll (node events log). */
  maintenanceSwitchover: "mp_maintenance_switchover",
  /** 1 when a node started its roll (took the lock) (node events log). */
  maintenanceStarted: "mp_maintenance_started",
  /** 1 per replica that left gracefully before its replacement or restart: another member is the synchronous standby, the read-only backends dropped it (node events log). */
  maintenanceNodeDeparted: "mp_maintenance_node_departed",
  /** 1 per PostgreSQL restart through Patroni by the rolling maintenance (node events log). */
  maintenanceNodeRestarted: "mp_maintenance_node_restarted",
  /** 1 per Patroni reload by the rolling maintenance (node events log). */
  maintenanceNodeReloaded: "mp_maintenance_node_reloaded",
  /** 1 each time the grow-fs job grew the data filesystem online to its volume's size (node events log). */
  dataFilesystemGrown: "mp_data_filesystem_grown",
  /** 1 each time the primary set max_wal_size/max_slot_wal_keep_size for its data volume in Patroni's dynamic configuration (node events log). */
  walLimitsSet: "mp_wal_limits_set",
  /** 1 when the weekly backup verification (pgbackrest verify, restore check) failed, 0 when it passed (node events log). */
  backupVerifyFailed: "mp_backup_verify_failed",
  /** Blocking problems the upgrade's preflight found on blue, each logged by name (green's primary, `upgradeFrom`, node events log). */
  upgradePreflightProblems: "mp_upgrade_preflight_problems",
  /** Bytes of blue's WAL the largest upgrade slot has not confirmed: how far green is behind (green's primary, `upgradeFrom`, node events log). */
  upgradeLagBytes: "mp_upgrade_lag_bytes",
  /** Databases whose tables' columns differ between blue and green (DDL on blue is not replicated) (green's primary, `upgradeFrom`, node events log). */
  upgradeSchemaDrift: "mp_upgrade_schema_drift",
  /** Seconds from blue read-only to the end of the cutover, once (green's primary, `upgradeFrom`, node events log). */
  upgradeCutoverSeconds: "mp_upgrade_cutover_seconds",
  /** 1 when a cutover was abandoned (green did not catch up in time; blue writable again) (green's primary, `upgradeFrom`, node events log). */
  upgradeCutoverFailed: "mp_upgrade_cutover_failed",
  /** 1 when a run of green's upgrade script failed (blue's secret unreadable, no primary of blue answering, a copy step refused), 0 when it worked; none for a run whose outcome has its own metric (preflight problems, schema drift) or after the cutover (any green node, `upgradeFrom`, node events log). */
  upgradeRunFailed: "mp_upgrade_run_failed",
  /** 1 when postgres_exporter can reach PostgreSQL. */
  postgresUp: "pg_up",
  /** Clients waiting for a server connection, per PgBouncer pool (Debian's pgbouncer exporter). */
  poolerWaitingClients: "pgbouncer_waiting_clients",
  /** Clients linked to a server connection, per PgBouncer pool. */
  poolerActiveClients: "pgbouncer_active_clients",
} as const;

/** Log groups of a cluster, by kind. */
export const LOG_KINDS = ["postgresql", "patroni", "pgbouncer", "pgbackrest", "metrics"] as const;
/** One of {@link LOG_KINDS}. */
export type LogKind = (typeof LOG_KINDS)[number];

/** Name of a cluster's log group: `/managed-postgres/<cluster>/<kind>`. */
export function logGroupName(cluster: string, kind: LogKind): string {
  return `/managed-postgres/${cluster}/${kind}`;
}
