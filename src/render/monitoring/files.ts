/** The monitoring files of each kind of instance, assembled. */
import type { NodeContext, PoolerContext, RenderedFile } from "../types";
import { renderBackupStatusScript } from "./backup-status";
import { agentConfig } from "./cloudwatch-agent";
import { renderPostgresExporterQueries } from "./exporter-queries";
import { MONITORING_PATHS } from "./paths";
import { prometheusConfig } from "./prometheus";
import { nodeTarget, poolerTarget } from "./targets";
import { agentUnits, databaseNodeUnits } from "./units";

/**
 * Monitoring files of a database node (paths absolute, mode and owner set):
 * - the CloudWatch agent configuration (`MONITORING_PATHS.agentConfig`) and its Prometheus
 *   scrape configuration; the postgres_exporter custom queries;
 * - the backup status script, `managed-postgres-backup-status.service` (oneshot, postgres,
 *   `StateDirectory=managed-postgres/monitoring`) and `.timer` (OnBootSec=5min,
 *   OnUnitActiveSec=15min);
 * - drop-ins: `prometheus-postgres-exporter.service.d` sets
 *   `PG_EXPORTER_EXTEND_QUERY_PATH`; `patroni.service.d` sets `PATRONI_LOG_DIR`
 *   (`LogsDirectory=patroni`) and `Wants=` the backup status timer and
 *   `managed-postgres-cloudwatch-agent.service` (oneshot: `amazon-cloudwatch-agent-ctl -a
 *   fetch-config -m ec2 -s -c file:<agent config>`, only where the agent is installed).
 * Pure.
 */
export function renderMonitoringFiles(ctx: NodeContext): RenderedFile[] {
  const t = nodeTarget(ctx);
  const name = ctx.spec.name;
  return [
    { path: MONITORING_PATHS.agentConfig, content: JSON.stringify(agentConfig(t), null, 2) + "\n", mode: "0644", owner: "root:root" },
    { path: MONITORING_PATHS.prometheusConfig, content: prometheusConfig(t), mode: "0644", owner: "root:root" },
    { path: MONITORING_PATHS.exporterQueries, content: renderPostgresExporterQueries(), mode: "0644", owner: "root:root" },
    { path: MONITORING_PATHS.backupStatusScript, content: renderBackupStatusScript(ctx.spec), mode: "0755", owner: "root:root" },
    ...databaseNodeUnits(name),
    ...agentUnits("patroni.service", name),
  ];
}

/**
 * Monitoring files of a PgBouncer tier instance (distributed): the agent configuration
 * (host metrics, PgBouncer logs, scrape of both pools' exporters), its Prometheus scrape
 * configuration, `managed-postgres-cloudwatch-agent.service` and a drop-in by which
 * `haproxy.service` wants it. Pure.
 * @throws Error if the cluster is standalone (it has no pooler tier)
 */
export function renderPoolerMonitoringFiles(ctx: PoolerContext): RenderedFile[] {
  if (ctx.spec.deployment !== "distributed") {
    throw new Error(`renderPoolerMonitoringFiles: cluster ${ctx.spec.name} is ${ctx.spec.deployment}; only distributed clusters have a PgBouncer tier`);
  }
  const t = poolerTarget(ctx);
  return [
    { path: MONITORING_PATHS.agentConfig, content: JSON.stringify(agentConfig(t), null, 2) + "\n", mode: "0644", owner: "root:root" },
    { path: MONITORING_PATHS.prometheusConfig, content: prometheusConfig(t), mode: "0644", owner: "root:root" },
    ...agentUnits("haproxy.service", ctx.spec.name),
  ];
}
