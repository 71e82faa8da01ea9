/**
 * The CloudWatch dashboard body of a cluster. Pure; no cdktf import.
 */
import { SIZES, type ResolvedClusterSpec } from "../cluster-spec";
import { DIMENSIONS, METRICS, METRIC_NAMESPACE, POOLER_SLOT } from "./metrics";
import type { ResolvedMonitoringThresholds } from "./thresholds";

/** Inputs of {@link dashboardBody}. */
export interface DashboardInput {
  readonly spec: ResolvedClusterSpec;
  /** AWS region (or token) of the metrics. */
  readonly region: string;
  /** ARNs (or tokens) of the cluster's alarms, for the alarm status widget. */
  readonly alarmArns: readonly string[];
  /** Thresholds, drawn as horizontal annotations. */
  readonly thresholds: ResolvedMonitoringThresholds;
}

/**
 * The CloudWatch dashboard body (JSON string) of a cluster: alarm status first, then per
 * slot (and pooler) CPU and available memory, connections against max_connections, replica
 * lag, data volume usage, WAL archiving (failing flag, failures, age of last archive),
 * age of the newest full backup, PgBouncer waiting clients per pool; on a green cluster
 * (`upgradeFrom`) a last row: the lag behind blue (line at `upgradeLagMiB`), the preflight
 * problems, schema drift and abandoned cutovers, and the cutover's duration. Tokens in `region`
 * and `alarmArns` pass through verbatim. Pure.
 */
export function dashboardBody(input: DashboardInput): string {
  const { spec, region, thresholds } = input;
  const c = spec.name;
  const slots = spec.deployment === "distributed" ? ["0", "1", "2"] : ["0"];
  const hosts = spec.deployment === "distributed" ? [...slots, POOLER_SLOT] : slots;
  const perSlot = (metric: string, which: readonly string[], stat = "Average") =>
    which.map((s) => [METRIC_NAMESPACE, metric, DIMENSIONS.cluster, c, DIMENSIONS.slot, s, { stat, label: s === POOLER_SLOT ? "pooler" : `slot ${s}` }]);
  const line = (v: number, label: string) => ({ horizontal: [{ value: v, label }] });
  const widgets: object[] = [];
  let y = 0;
  widgets.push({ type: "alarm", x: 0, y, width: 24, height: 3, properties: { title: `Alarms of ${c}`, alarms: [...input.alarmArns] } });
  y += 3;
  const row = (items: { title: string; metrics: unknown[]; annotations?: object; yAxis?: object }[]) => {
    const w = Math.floor(24 / items.length);
    items.forEach((it, i) =>
      widgets.push({
        type: "metric",
        x: i * w,
        y,
        width: w,
        height: 6,
        properties: { region, title: it.title, view: "timeSeries", period: 60, stacked: false, metrics: it.metrics, ...(it.annotations ? { annotations: it.annotations } : {}), ...(it.yAxis ? { yAxis: it.yAxis } : {}) },
      }),
    );
    y += 6;
  };
  row([
    { title: "CPU busy (%)", metrics: perSlot(METRICS.cpuUsageActive, hosts), annotations: line(thresholds.cpuWarningPercent, "warning"), yAxis: { left: { min: 0, max: 100 } } },
    { title: "Available memory (bytes)", metrics: perSlot(METRICS.memAvailable, hosts, "Minimum"), annotations: line(thresholds.availableMemoryMiB * 1024 * 1024, "critical") },
  ]);
  row([
    {
      title: `Client connections (max_connections ${SIZES[spec.size].maxConnections})`,
      metrics: perSlot(METRICS.connectionsUsed, slots, "Maximum"),
      annotations: line(Math.floor((SIZES[spec.size].maxConnections * thresholds.connectionsPercent) / 100), "warning"),
    },
    ...(spec.deployment === "distributed"
      ? [{ title: "Replica lag (s)", metrics: perSlot(METRICS.replicationLagSeconds, slots, "Maximum"), annotations: line(thresholds.replicaLagSeconds, "warning") }]
      : []),
    { title: "Data volume used (%)", metrics: perSlot(METRICS.diskUsedPercent, slots, "Maximum"), annotations: line(thresholds.dataDiskUsedPercent, "warning"), yAxis: { left: { min: 0, max: 100 } } },
  ]);
  row([
    {
      title: "WAL archiving",
      metrics: [
        [METRIC_NAMESPACE, METRICS.walArchiveFailing, DIMENSIONS.cluster, c, { stat: "Maximum", label: "failing (1 = yes)" }],
        [METRIC_NAMESPACE, METRICS.walArchiveFailedCount, DIMENSIONS.cluster, c, { stat: "Maximum", label: "failures since stats reset", yAxis: "right" }],
      ],
    },
    {
      title: "Age of last archived WAL / newest full backup (s)",
      metrics: [
        [METRIC_NAMESPACE, METRICS.walLastArchivedAgeSeconds, DIMENSIONS.cluster, c, { stat: "Minimum", label: "last archived WAL" }],
        [METRIC_NAMESPACE, METRICS.backupLastFullAgeSeconds, DIMENSIONS.cluster, c, { stat: "Minimum", label: "newest full backup", period: 900 }],
      ],
      annotations: line(thresholds.backupMaxAgeHours * 3600, "backup critical"),
    },
    {
      title: "PgBouncer clients waiting",
      metrics: (spec.deployment === "distributed" ? ["rw", "ro"] : ["rw"]).map((p) => [
        METRIC_NAMESPACE,
        METRICS.poolerWaitingClients,
        DIMENSIONS.cluster,
        c,
        DIMENSIONS.pool,
        p,
        { stat: "Maximum", label: `${p} pool` },
      ]),
    },
  ]);
  if (spec.upgradeFrom) {
    // A green cluster (upgradeFrom): what its primary publishes while it follows blue (the alarms of upgradeAlarms).
    const upgrade = (metric: string, label: string) => [METRIC_NAMESPACE, metric, DIMENSIONS.cluster, c, { stat: "Maximum", label }];
    row([
      {
        title: "Upgrade (upgradeFrom): bytes behind the upgraded cluster",
        metrics: [upgrade(METRICS.upgradeLagBytes, "lag")],
        annotations: line(thresholds.upgradeLagMiB * 1024 * 1024, "warning"),
      },
      {
        title: "Upgrade (upgradeFrom): blocking problems",
        metrics: [
          upgrade(METRICS.upgradePreflightProblems, "preflight problems"),
          upgrade(METRICS.upgradeSchemaDrift, "databases with schema drift"),
          upgrade(METRICS.upgradeCutoverFailed, "cutover abandoned (1)"),
          upgrade(METRICS.upgradeRunFailed, "run failed (1)"),
        ],
      },
      { title: "Upgrade (upgradeFrom): cutover, blue read-only to done (s)", metrics: [upgrade(METRICS.upgradeCutoverSeconds, "cutover")] },
    ]);
  }
  return JSON.stringify({ widgets });
}
