/** The CloudWatch agent configuration (JSON) of an instance. */
import { PGBACKREST_LOG_PATH } from "../pgbackrest";
import { POSTGRES_LOG_DIRECTORY } from "../postgres";
import { pgbouncerLogFile } from "../pgbouncer";
import { PATHS } from "../paths";
import type { NodeContext, PoolerContext } from "../types";
import { DIMENSIONS, METRICS, METRIC_NAMESPACE, logGroupName } from "../../monitoring/metrics";
import { MONITORING_PATHS } from "./paths";
import { nodeTarget, poolerTarget, type AgentTarget } from "./targets";

/** The agent configuration of one target, as an object. */
export function agentConfig(t: AgentTarget): object {
  const dims = { [DIMENSIONS.cluster]: t.cluster, [DIMENSIONS.slot]: t.slot };
  const files: object[] = [];
  const stream = `${t.streamPrefix}/{instance_id}`;
  if (t.database) {
    files.push(
      { file_path: `${POSTGRES_LOG_DIRECTORY}/postgresql-*.log`, log_group_name: logGroupName(t.cluster, "postgresql"), log_stream_name: stream, timezone: "UTC" },
      { file_path: `${MONITORING_PATHS.patroniLogDir}/patroni.log`, log_group_name: logGroupName(t.cluster, "patroni"), log_stream_name: stream, timezone: "UTC" },
      { file_path: `${PGBACKREST_LOG_PATH}/*.log`, log_group_name: logGroupName(t.cluster, "pgbackrest"), log_stream_name: stream, timezone: "UTC" },
      // Embedded-metric-format lines of the node's jobs: CloudWatch Logs extracts their metrics
      // ("Embedding metrics within logs": no setup beyond the format, sent by the agent or PutLogEvents).
      { file_path: MONITORING_PATHS.eventsLog, log_group_name: logGroupName(t.cluster, "metrics"), log_stream_name: `${stream}/events`, timezone: "UTC" },
    );
  }
  for (const pool of t.pools) {
    files.push({ file_path: pgbouncerLogFile(pool), log_group_name: logGroupName(t.cluster, "pgbouncer"), log_stream_name: `${stream}/${pool}`, timezone: "UTC" });
  }
  const declarations: object[] = [];
  if (t.database) {
    declarations.push(
      {
        source_labels: ["job"],
        label_matcher: "^postgres$",
        dimensions: [[DIMENSIONS.cluster], [DIMENSIONS.cluster, DIMENSIONS.slot]],
        metric_selectors: [
          METRICS.connectionsUsed,
          METRICS.connectionsMax,
          METRICS.replicationLagSeconds,
          METRICS.walArchiveFailing,
          METRICS.walArchiveFailedCount,
          METRICS.walLastArchivedAgeSeconds,
          METRICS.postgresUp,
        ].map((m) => `^${m}$`),
      },
      {
        // The repository is shared: every node reports the same age; the alarm takes the minimum.
        source_labels: ["job"],
        label_matcher: "^postgres$",
        dimensions: [[DIMENSIONS.cluster]],
        metric_selectors: [`^${METRICS.backupLastFullAgeSeconds}$`],
      },
    );
  }
  if (t.pools.length > 0) {
    declarations.push({
      source_labels: ["job"],
      label_matcher: "^pgbouncer$",
      dimensions: [[DIMENSIONS.cluster], [DIMENSIONS.cluster, DIMENSIONS.pool]],
      metric_selectors: [`^${METRICS.poolerWaitingClients}$`, `^${METRICS.poolerActiveClients}$`],
    });
  }
  const metricsCollected: Record<string, object> = {
    cpu: { totalcpu: true, measurement: ["usage_active"], append_dimensions: dims },
    mem: { measurement: ["available", "used_percent"], append_dimensions: dims },
  };
  if (t.database) {
    metricsCollected.disk = { resources: [PATHS.dataMount], measurement: ["used_percent"], drop_device: true, append_dimensions: dims };
  }
  return {
    agent: {
      metrics_collection_interval: 60,
      // Reads PostgreSQL's 0640 server logs; see docs/monitoring.md.
      run_as_user: "root",
      logfile: "/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log",
    },
    metrics: {
      namespace: METRIC_NAMESPACE,
      metrics_collected: metricsCollected,
      aggregation_dimensions: [[DIMENSIONS.cluster], [DIMENSIONS.cluster, DIMENSIONS.slot]],
    },
    logs: {
      logs_collected: { files: { collect_list: files } },
      metrics_collected: {
        prometheus: {
          cluster_name: t.cluster,
          log_group_name: logGroupName(t.cluster, "metrics"),
          prometheus_config_path: MONITORING_PATHS.prometheusConfig,
          emf_processor: {
            metric_declaration_dedup: true,
            metric_namespace: METRIC_NAMESPACE,
            metric_unit: {
              [METRICS.replicationLagSeconds]: "Seconds",
              [METRICS.walLastArchivedAgeSeconds]: "Seconds",
              [METRICS.backupLastFullAgeSeconds]: "Seconds",
              [METRICS.connectionsUsed]: "Count",
              [METRICS.poolerWaitingClients]: "Count",
            },
            metric_declaration: declarations,
          },
        },
      },
      force_flush_interval: 15,
    },
  };
}

/**
 * The CloudWatch agent configuration of a database node, as an object (see the module
 * comment for what it collects). Keys: the agent's documented `agent`, `metrics`
 * (`namespace`, `metrics_collected.{cpu,mem,disk}`, `aggregation_dimensions`) and `logs`
 * (`logs_collected.files.collect_list`, `metrics_collected.prometheus` with `emf_processor`).
 */
export function cloudWatchAgentConfig(ctx: NodeContext): object {
  return agentConfig(nodeTarget(ctx));
}

/** The CloudWatch agent configuration of a PgBouncer tier instance (distributed). */
export function poolerCloudWatchAgentConfig(ctx: PoolerContext): object {
  return agentConfig(poolerTarget(ctx));
}
