/**
 * The monitoring files of the instances: what the nodes publish to CloudWatch. Pure; no
 * cdktf import. The names the nodes and the alarms share, the thresholds, the alarms and the
 * dashboard live in src/monitoring/.
 *
 * On every instance the CloudWatch agent (not a Debian package: the image must carry
 * `amazon-cloudwatch-agent`, see docs/monitoring.md) publishes, in namespace
 * `METRIC_NAMESPACE`, with dimensions `Cluster` and `Slot` (`"pooler"` on the PgBouncer
 * tier) and their roll-up to `Cluster` alone:
 * - host metrics: `cpu_usage_active` (%), `mem_available` (bytes), `mem_used_percent`,
 *   `disk_used_percent` of the data volume mount `/data` (database nodes);
 * - a Prometheus scrape (every 60 s, as embedded metric format in the log group
 *   `/managed-postgres/<cluster>/metrics`) of postgres_exporter (127.0.0.1:9187, with the
 *   custom queries of `renderPostgresExporterQueries`) and of the PgBouncer exporter
 *   of each pool (127.0.0.1:9127 rw, 9128 ro; Debian's prometheus-pgbouncer-exporter);
 * - log files to `/managed-postgres/<cluster>/{postgresql,patroni,pgbouncer,pgbackrest}`.
 *
 * One file per concern: paths.ts (where the files go), exporter-queries.ts,
 * pgbouncer-exporter.ts, targets.ts (what an instance scrapes and ships), cloudwatch-agent.ts,
 * prometheus.ts, backup-status.ts, units.ts; files.ts assembles them per kind of instance.
 */
export {
  METRIC_NAMESPACE,
  DIMENSIONS,
  POOLER_SLOT,
  METRICS,
  LOG_KINDS,
  logGroupName,
  type LogKind,
} from "../../monitoring/metrics";
export { MONITORING_PATHS } from "./paths";
export { PGBOUNCER_EXPORTER_PORT, PGBOUNCER_EXPORTER_COMMAND, PGBOUNCER_EXPORTER_BINARY, GO_EXPORTER_METRIC_RENAMES, pgbouncerExporterExecStart, type PgBouncerExporterTarget } from "./pgbouncer-exporter";
export { renderPostgresExporterQueries } from "./exporter-queries";
export { cloudWatchAgentConfig, poolerCloudWatchAgentConfig } from "./cloudwatch-agent";
export { renderBackupStatusScript } from "./backup-status";
export { CLOUDWATCH_AGENT_CTL, CLOUDWATCH_AGENT_UNIT } from "./units";
export { renderMonitoringFiles, renderPoolerMonitoringFiles } from "./files";
