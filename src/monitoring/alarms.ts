/**
 * The CloudWatch alarms of a cluster, as provider-independent definitions
 * (constructs/aws/monitoring.ts turns each into a `CloudwatchMetricAlarm`). Pure; no cdktf
 * import.
 */
import { SIZES, type ResolvedClusterSpec } from "../cluster-spec";
import { DIMENSIONS, METRICS, METRIC_NAMESPACE } from "./metrics";
import { UPGRADE_CATCHUP_TIMEOUT_SECONDS, UPGRADE_TIMER_SECONDS, UPGRADE_UNIT } from "../render/upgrade";
import type { ResolvedMonitoringThresholds } from "./thresholds";

/** Severity of an alarm, in its name and description. */
export type AlarmSeverity = "warning" | "critical";

/** One CloudWatch metric alarm, provider-independent. */
export interface AlarmDefinition {
  /** Stable key, e.g. `cpu-warning`; the alarm is named `<cluster>-<key>`. */
  readonly key: string;
  readonly severity: AlarmSeverity;
  readonly description: string;
  readonly metricName: string;
  readonly namespace: string;
  /** Always `{ Cluster: <name> }`: the roll-up over every instance of the cluster. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly statistic: "Maximum" | "Minimum" | "Average";
  /** Seconds. */
  readonly period: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly comparisonOperator: "GreaterThanThreshold" | "LessThanThreshold";
  readonly threshold: number;
  /**
   * `notBreaching` where silence is no evidence of the condition (CPU, connections, lag,
   * archiving), `missing` where it should show as INSUFFICIENT_DATA (memory, disk),
   * `breaching` for the backup age (no report = no known backup).
   */
  readonly treatMissingData: "breaching" | "notBreaching" | "missing";
  /** Where the number comes from. */
  readonly source: string;
}

/**
 * The alarms of a cluster (both models), from the resolved thresholds. All read the
 * `Cluster` roll-up, so one alarm covers every node (the worst one: Maximum, or Minimum
 * for available memory and backup age):
 * - `cpu-warning` cpu_usage_active > 80 %, 5 of 5 one-minute periods (PostgreSQL reference architecture);
 * - `cpu-critical` > 95 %, 2 of 2 one-minute periods (PostgreSQL reference architecture);
 * - `memory-critical` mem_available < 1 GiB, 5 of 5 minutes (PostgreSQL reference architecture);
 * - `connections-warning` mp_connections_used > 80 % of the size's max_connections
 *   (the size table), 5 of 5 minutes (PostgreSQL reference architecture);
 * - `replica-lag-warning` mp_replication_lag_seconds > 30, 3 of 3 minutes (PostgreSQL reference architecture);
 *   distributed only (a standalone cluster has no replica);
 * - `data-disk-warning` disk_used_percent (/data) > 80, one 5-minute period;
 * - `backup-age-critical` mp_backup_last_full_age_seconds > 26 h, one 1-hour period,
 *   missing data breaching;
 * - `wal-archive-critical` mp_wal_archive_failing > 0 in any of 5 one-minute periods;
 * - `data-version-critical` mp_data_version_mismatch > 0 in a one-minute period: a node refused
 *   to start PostgreSQL on another major version's data directory (docs/UPGRADING.md);
 * - `maintenance-paused-warning` mp_maintenance_paused > 0 in 3 of 3 five-minute periods: the
 *   rolling maintenance has been waiting 15 minutes on an unhealthy cluster or the pause key;
 * - `backup-verify-critical` mp_backup_verify_failed > 0 in a one-hour period: the weekly
 *   `pgbackrest verify` or the restore check of the newest backup failed;
 * - on a green cluster (`upgradeFrom`) only, the four of {@link upgradeAlarms}.
 * Pure.
 */
export function clusterAlarms(spec: ResolvedClusterSpec, thresholds: ResolvedMonitoringThresholds): AlarmDefinition[] {
  const dimensions = { [DIMENSIONS.cluster]: spec.name };
  const base = { namespace: METRIC_NAMESPACE, dimensions };
  const maxConnections = SIZES[spec.size].maxConnections;
  const connThreshold = Math.floor((maxConnections * thresholds.connectionsPercent) / 100);
  const alarms: AlarmDefinition[] = [
    {
      ...base,
      key: "cpu-warning",
      severity: "warning",
      description: `CPU above ${thresholds.cpuWarningPercent}% for 5 minutes on an instance of cluster ${spec.name}`,
      metricName: METRICS.cpuUsageActive,
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      comparisonOperator: "GreaterThanThreshold",
      threshold: thresholds.cpuWarningPercent,
      treatMissingData: "notBreaching",
      source: "the PostgreSQL reference architecture: CPUUtilization > 80% for 5 min, Warning",
    },
    {
      ...base,
      key: "cpu-critical",
      severity: "critical",
      description: `CPU above ${thresholds.cpuCriticalPercent}% for 2 minutes on an instance of cluster ${spec.name}`,
      metricName: METRICS.cpuUsageActive,
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: "GreaterThanThreshold",
      threshold: thresholds.cpuCriticalPercent,
      treatMissingData: "notBreaching",
      source: "the PostgreSQL reference architecture: CPUUtilization > 95% for 2 min, Critical",
    },
    {
      ...base,
      key: "memory-critical",
      severity: "critical",
      description: `Available memory below ${thresholds.availableMemoryMiB} MiB for 5 minutes on an instance of cluster ${spec.name}`,
      metricName: METRICS.memAvailable,
      statistic: "Minimum",
      period: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      comparisonOperator: "LessThanThreshold",
      threshold: thresholds.availableMemoryMiB * 1024 * 1024,
      treatMissingData: "missing",
      source: "the PostgreSQL reference architecture: FreeableMemory < 1 GB, Critical",
    },
    {
      ...base,
      key: "connections-warning",
      severity: "warning",
      description: `More than ${connThreshold} client connections (${thresholds.connectionsPercent}% of max_connections ${maxConnections}, size ${spec.size}) on a node of cluster ${spec.name} for 5 minutes`,
      metricName: METRICS.connectionsUsed,
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      comparisonOperator: "GreaterThanThreshold",
      threshold: connThreshold,
      treatMissingData: "notBreaching",
      source: "the PostgreSQL reference architecture: DatabaseConnections > 400 (80% of 500), Warning; max_connections from Cloud Temple Managed PostgreSQL",
    },
    {
      ...base,
      key: "replica-lag-warning",
      severity: "warning",
      description: `A replica of cluster ${spec.name} is more than ${thresholds.replicaLagSeconds} s behind for 3 minutes`,
      metricName: METRICS.replicationLagSeconds,
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: "GreaterThanThreshold",
      threshold: thresholds.replicaLagSeconds,
      treatMissingData: "notBreaching",
      source: "the PostgreSQL reference architecture: ReplicaLag > 30 seconds, Warning",
    },
    {
      ...base,
      key: "data-disk-warning",
      severity: "warning",
      description: `Data volume of a node of cluster ${spec.name} more than ${thresholds.dataDiskUsedPercent}% full (grow storageGiB)`,
      metricName: METRICS.diskUsedPercent,
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: "GreaterThanThreshold",
      threshold: thresholds.dataDiskUsedPercent,
      treatMissingData: "missing",
      source: "data disk > 80% used: time to grow storageGiB (2 to 128 GiB, online)",
    },
    {
      ...base,
      key: "backup-age-critical",
      severity: "critical",
      description: `No full backup of cluster ${spec.name} completed in the last ${thresholds.backupMaxAgeHours} h (or no node reports it)`,
      metricName: METRICS.backupLastFullAgeSeconds,
      statistic: "Minimum",
      period: 3600,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: "GreaterThanThreshold",
      threshold: thresholds.backupMaxAgeHours * 3600,
      treatMissingData: "breaching",
      source: "the PostgreSQL reference architecture: daily backups (\"Automated Backups: Daily\"); 24 h + 2 h for the backup's own duration",
    },
    {
      ...base,
      key: "wal-archive-critical",
      severity: "critical",
      description: `WAL archiving of cluster ${spec.name} is failing: point-in-time recovery is at risk`,
      metricName: METRICS.walArchiveFailing,
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 1,
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      treatMissingData: "notBreaching",
      source: "WAL archive failures > 0, Critical: point-in-time recovery depends on the archive; the PostgreSQL reference architecture's RPO is 5 minutes",
    },
    {
      ...base,
      key: "data-version-critical",
      severity: "critical",
      description: `A node of cluster ${spec.name} refused to start PostgreSQL ${spec.majorVersion} on a data directory of another major version (docs/UPGRADING.md, "Major versions")`,
      metricName: METRICS.dataVersionMismatch,
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      treatMissingData: "notBreaching",
      source: "the node's data-version check before Patroni starts: any refusal is critical (the node stays down)",
    },
    {
      ...base,
      key: "maintenance-paused-warning",
      severity: "warning",
      description: `The rolling maintenance of cluster ${spec.name} has been paused for 15 minutes (pause key or unhealthy cluster: see the nodes' maintenance log lines)`,
      metricName: METRICS.maintenancePaused,
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      treatMissingData: "notBreaching",
      source: "docs/operations.md: a roll that waits 15 minutes needs a look; the metric is published each minute the roll waits",
    },
    {
      ...base,
      key: "backup-verify-critical",
      severity: "critical",
      description: `The weekly verification of cluster ${spec.name}'s backups failed (pgbackrest verify or the restore check of the newest backup: see the node's log)`,
      metricName: METRICS.backupVerifyFailed,
      statistic: "Maximum",
      period: 3600,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      treatMissingData: "notBreaching",
      source: "backups are managed and verified (Cloud Temple Managed PostgreSQL): a backup that does not restore is no backup",
    },
  ];
  // A standalone cluster has no replica: its lag is always 0.
  const own = spec.deployment === "standalone" ? alarms.filter((a) => a.key !== "replica-lag-warning") : alarms;
  return spec.upgradeFrom ? [...own, ...upgradeAlarms(spec.name, thresholds)] : own;
}

/** Where docs/UPGRADING.md describes the blue/green upgrade, as the alarm descriptions name it. */
const UPGRADING_SECTION = 'docs/UPGRADING.md, "Blue/green through logical replication"';

/**
 * The alarms of a green cluster (`upgradeFrom`: docs/UPGRADING.md, "Blue/green through
 * logical replication"), on the metrics green's primary publishes while it follows blue
 * (`managed-postgres-upgrade`, src/render/scripts/node-upgrade.sh: one embedded-metric-format
 * line per run, namespace `ManagedPostgres`, dimensions `Cluster` (green's name) and
 * `Cluster`+`Slot`; a run every {@link UPGRADE_TIMER_SECONDS} s after the last one ended, so a
 * one-minute period may hold no sample: the periods are 5 minutes):
 * - `upgrade-preflight-warning` mp_upgrade_preflight_problems > 0 (Maximum) in 3 of 3
 *   five-minute periods: green has not started following blue for 15 minutes (each blocking
 *   problem is logged by name). 15 minutes is longer than blue's roll to `wal_level` logical
 *   when green and blue's `upgradeTo` are applied together with `applyImmediately` (652–698 s
 *   for three nodes on the EC2 twin, plus about a minute for the extra restart:
 *   docs/UPGRADING.md, step 2), the one expected cause of a problem that fixes itself;
 * - `upgrade-lag-warning` mp_upgrade_lag_bytes > `upgradeLagMiB` MiB (default 256: see
 *   {@link MonitoringThresholds.upgradeLagMiB}) as the Minimum of each of 3 of 3 five-minute
 *   periods: green never came closer than that to blue for 15 minutes (a single large
 *   transaction on blue is decoded at its commit and may lag briefly; a lag that does not come
 *   down is a stopped or overtaken apply, and blue keeps the WAL until its slot is lost);
 * - `upgrade-schema-drift-warning` mp_upgrade_schema_drift > 0 as the Minimum of one
 *   five-minute period: every run of 5 minutes found tables that differ (the cutover is refused
 *   and the apply stops at a missing column); the same migration applied to both sides a few
 *   minutes apart does not alarm;
 * - `upgrade-cutover-critical` mp_upgrade_cutover_failed > 0 (Maximum) in a five-minute
 *   period: a cutover was abandoned (green did not catch up within
 *   {@link UPGRADE_CATCHUP_TIMEOUT_SECONDS} s; blue writable again). The metric is only ever 1;
 *   the next run retries, so the alarm stays in ALARM while the attempts (about one every two
 *   minutes) keep failing and returns to OK 5 minutes after the last one.
 * - `upgrade-run-failing-warning` mp_upgrade_run_failed > 0 (Maximum, any green node) in 3 of 3
 *   five-minute periods: runs have kept failing for 15 minutes for a reason the other metrics do
 *   not carry (blue's secret unreadable, no primary of blue answering `GET /primary`, a copy step
 *   refused): a green that cannot reach blue publishes nothing else. One failed run (a failover
 *   on blue costs up to one) does not alarm. Runs whose outcome has its own metric (preflight
 *   problems, schema drift) do not count.
 * Missing data is `notBreaching` for all five: the script publishes only while the upgrade
 * runs (nothing after the cutover: the done mark stops every later run; the lag and drift only
 * once the preflight passed), so silence is no evidence of a problem, and a finished upgrade
 * must not leave its alarms in INSUFFICIENT_DATA. Pure.
 */
export function upgradeAlarms(cluster: string, thresholds: ResolvedMonitoringThresholds): AlarmDefinition[] {
  const base = { namespace: METRIC_NAMESPACE, dimensions: { [DIMENSIONS.cluster]: cluster }, treatMissingData: "notBreaching" as const, comparisonOperator: "GreaterThanThreshold" as const };
  const journal = `journalctl -u ${UPGRADE_UNIT} on the green cluster's primary`;
  return [
    {
      ...base,
      key: "upgrade-preflight-warning",
      severity: "warning",
      description:
        `Cluster ${cluster} has not started following the cluster it upgrades (upgradeFrom) for 15 minutes: the upgrade's preflight keeps finding blocking problems on it ` +
        `(each is named in ${journal}, "preflight: BLOCKING"). Fix them on the cluster being upgraded; the most common is its wal_level not yet logical: ` +
        `give it upgradeTo and let its roll finish (${UPGRADING_SECTION}, steps 2 and 3)`,
      metricName: METRICS.upgradePreflightProblems,
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: 0,
      source: "any blocking problem stops the follow; 15 minutes is longer than the roll of the upgraded cluster to wal_level logical (652-698 s for three nodes, measured on the EC2 twin)",
    },
    {
      ...base,
      key: "upgrade-lag-warning",
      severity: "warning",
      description:
        `Cluster ${cluster} has stayed more than ${thresholds.upgradeLagMiB} MiB behind the cluster it upgrades (upgradeFrom) for 15 minutes. ` +
        `That cluster keeps the WAL for the upgrade's replication slots; past its max_slot_wal_keep_size (a quarter of its data volume) a slot is lost and the upgrade must start over with a new cluster. ` +
        `Check ${journal} (lag per database, tables still in their initial copy) and the PostgreSQL log there (a stopped apply), and the write load of the upgraded cluster (${UPGRADING_SECTION}, step 3)`,
      metricName: METRICS.upgradeLagBytes,
      statistic: "Minimum",
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: thresholds.upgradeLagMiB * 1024 * 1024,
      source: "half of max_slot_wal_keep_size (a quarter of the data volume) of the smallest volume, 2 GiB: 256 MiB by default; monitoring.thresholds.upgradeLagMiB for a larger one",
    },
    {
      ...base,
      key: "upgrade-schema-drift-warning",
      severity: "warning",
      description:
        `The tables of cluster ${cluster} and of the cluster it upgrades (upgradeFrom) have differed for 5 minutes: a schema change (DDL) made on one side only. ` +
        `Logical replication does not carry DDL: the apply stops at a missing column and the cutover is refused while they differ. ` +
        `Make the same change on the other side (each differing column is named in ${journal}; docs/UPGRADING.md, "Limits of logical replication")`,
      metricName: METRICS.upgradeSchemaDrift,
      statistic: "Minimum",
      period: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      threshold: 0,
      source: "any difference blocks the cutover; 5 minutes leaves time to apply the same migration to both sides",
    },
    {
      ...base,
      key: "upgrade-cutover-critical",
      severity: "critical",
      description:
        `The cutover of cluster ${cluster} from the cluster it upgrades (upgradeFrom) was abandoned: green did not catch up within ${UPGRADE_CATCHUP_TIMEOUT_SECONDS} s of the old cluster becoming read-only. ` +
        `The old cluster is writable again and the next run retries within minutes. If it keeps failing, lower the old cluster's write load and look at ${journal} (${UPGRADING_SECTION}, step 4)`,
      metricName: METRICS.upgradeCutoverFailed,
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      threshold: 0,
      source: "an abandoned cutover is a write outage of the old cluster and a failed step of the upgrade",
    },
    {
      ...base,
      key: "upgrade-run-failing-warning",
      severity: "warning",
      description:
        `The upgrade script of cluster ${cluster} has failed at every run for 15 minutes: it cannot follow the cluster it upgrades (upgradeFrom), and its other upgrade alarms cannot fire. ` +
        `The usual causes: that cluster has no upgradeTo naming this cluster's node addresses yet (its pg_hba refuses them), a wrong upgradeFrom secret ARN, address or security group, or no primary there. ` +
        `The error of each run is in ${journal} ("ERROR:") (${UPGRADING_SECTION}, step 2)`,
      metricName: METRICS.upgradeRunFailed,
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: 0,
      source: "a run every 60 s; a failover on the upgraded cluster costs at most one failed run; 15 minutes as the preflight alarm",
    },
  ];
}
