/** The postgres_exporter custom queries file (the metrics the alarms read). */
import { MONITORING_PATHS } from "./paths";

/**
 * The postgres_exporter (0.11, `--extend.query-path` / `PG_EXPORTER_EXTEND_QUERY_PATH`)
 * custom queries file. Each query runs on the exporter's own database only (`master: true`);
 * a metric is `<query name>_<column>`:
 * - `mp_connections`: `used` (client backends in pg_stat_activity), `max` (max_connections);
 * - `mp_replication`: `lag_seconds`: 0 on the primary; on a replica 0 while streaming and
 *   replayed up to what it received, else seconds since the last replayed transaction
 *   (a disconnected replica on an idle cluster therefore shows its time since last replay);
 * - `mp_wal_archive` (primary only, no row on replicas): `failing` (1 when
 *   pg_stat_archiver's last failure is newer than its last success), `failed_count`,
 *   `last_archived_age_seconds`;
 * - `mp_backup`: `last_full_age_seconds` = now − the epoch in
 *   `MONITORING_PATHS.backupStatusFile` (written by the backup status job from `pgbackrest
 *   info`); no row while the file is missing. Reads the file with `pg_read_file`, which
 *   needs the superuser (the exporter connects as `postgres` over the Unix socket, peer).
 * @param options.backupStatusFile where the backup status job writes (tests only)
 *   @default MONITORING_PATHS.backupStatusFile
 * @throws Error if `backupStatusFile` contains a quote or a backslash
 */
export function renderPostgresExporterQueries(options: { readonly backupStatusFile?: string } = {}): string {
  const file = options.backupStatusFile ?? MONITORING_PATHS.backupStatusFile;
  if (/['\\]/.test(file)) throw new Error(`backupStatusFile must not contain quotes or backslashes. Got ${JSON.stringify(file)}`);
  const q = (name: string, query: string, metrics: [string, string, string][]): string[] => [
    `${name}:`,
    `  query: ${JSON.stringify(query.replace(/\s+/g, " ").trim())}`,
    "  master: true",
    "  metrics:",
    ...metrics.flatMap(([col, usage, description]) => [
      `    - ${col}:`,
      `        usage: "${usage}"`,
      `        description: ${JSON.stringify(description)}`,
    ]),
  ];
  const lines = [
    "# postgres_exporter custom queries of cdktf-managed-postgres (metrics read by the CloudWatch alarms).",
    "# Rendered; do not edit on the node.",
    ...q(
      "mp_connections",
      `SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS used,
              current_setting('max_connections')::int AS max
         FROM pg_catalog.pg_stat_activity`,
      [
        ["used", "GAUGE", "Client backends connected to PostgreSQL"],
        ["max", "GAUGE", "max_connections"],
      ],
    ),
    ...q(
      "mp_replication",
      `SELECT CASE
                WHEN NOT pg_catalog.pg_is_in_recovery() THEN 0
                WHEN pg_catalog.pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_catalog.pg_last_wal_replay_lsn()
                     AND EXISTS (SELECT 1 FROM pg_catalog.pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
                ELSE COALESCE(GREATEST(0, EXTRACT(EPOCH FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp())), 0)
              END AS lag_seconds`,
      [["lag_seconds", "GAUGE", "Seconds the replica's replay is behind (0 on the primary)"]],
    ),
    ...q(
      "mp_wal_archive",
      `SELECT CASE WHEN last_failed_time IS NOT NULL
                     AND (last_archived_time IS NULL OR last_failed_time > last_archived_time) THEN 1 ELSE 0 END AS failing,
              failed_count,
              COALESCE(EXTRACT(EPOCH FROM pg_catalog.now() - last_archived_time), 0) AS last_archived_age_seconds
         FROM pg_catalog.pg_stat_archiver
        WHERE NOT pg_catalog.pg_is_in_recovery()`,
      [
        ["failing", "GAUGE", "1 while WAL archiving fails (last failure newer than last success)"],
        ["failed_count", "GAUGE", "pg_stat_archiver.failed_count"],
        ["last_archived_age_seconds", "GAUGE", "Seconds since the last successful WAL archive"],
      ],
    ),
    ...q(
      "mp_backup",
      `SELECT EXTRACT(EPOCH FROM pg_catalog.now()) - v::numeric AS last_full_age_seconds
         FROM (SELECT pg_catalog.translate(pg_catalog.pg_read_file('${file}', 0, 64, true), chr(9) || chr(10) || chr(13) || chr(32), '') AS v) AS s
        WHERE v ~ '^[0-9]+$'`,
      [["last_full_age_seconds", "GAUGE", "Seconds since the end of the newest full backup in the repository"]],
    ),
  ];
  return lines.join("\n") + "\n";
}
