/** Alarms, topic, log groups, dashboard and permissions synthesized by ManagedPostgres, both models. */
import { TerraformStack, Testing } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres, type ManagedPostgresProps } from "../../constructs/aws";
import { SpecValidationError } from "../../src/cluster-spec";
import { UPGRADE_ALARM_KEYS, UPGRADE_FROM } from "./helpers";

function props(deployment: "standalone" | "distributed", overrides: Partial<ManagedPostgresProps> = {}): ManagedPostgresProps {
  return {
    name: deployment === "distributed" ? "orders" : "cms",
    deployment,
    size: "M",
    storageGiB: 50,
    network: {
      vpcId: "vpc-0a1b2c3d",
      subnetIds: deployment === "distributed" ? ["subnet-0a000001", "subnet-0b000002", "subnet-0c000003"] : ["subnet-0a000001"],
      allowedCidrs: ["10.20.0.0/16"],
    },
    ...overrides,
  };
}

function synth(p: ManagedPostgresProps): { resource: Record<string, Record<string, any>>; data: Record<string, Record<string, any>> } {
  const app = Testing.app();
  const stack = new TerraformStack(app, "test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  new ManagedPostgres(stack, p.name, p);
  const json = JSON.parse(Testing.synth(stack));
  return { resource: json.resource ?? {}, data: json.data ?? {} };
}

const values = (r: Record<string, any> | undefined): any[] => Object.values(r ?? {});

describe.each(["distributed", "standalone"] as const)("monitoring of a %s cluster", (model) => {
  const p = props(model);
  const out = synth(p);
  const alarms = values(out.resource.aws_cloudwatch_metric_alarm);
  const alarm = (key: string) => alarms.find((a) => a.alarm_name === `${p.name}-${key}`);
  const topic = values(out.resource.aws_sns_topic)[0];

  const keys = ["backup-age-critical", "backup-verify-critical", "connections-warning", "cpu-critical", "cpu-warning", "data-disk-warning", "data-version-critical", "maintenance-paused-warning", "memory-critical", "replica-lag-warning", "wal-archive-critical"].filter(
    (k) => model === "distributed" || k !== "replica-lag-warning",
  );

  test(`creates the ${model === "distributed" ? "eleven" : "ten (no replica, no lag)"} alarms, named <cluster>-<key>`, () => {
    expect(alarms.map((a) => a.alarm_name).sort()).toEqual(keys.map((k) => `${p.name}-${k}`));
  });

  test("every alarm notifies the cluster's topic on alarm and on OK", () => {
    expect(topic).toBeDefined();
    const topicRef = expect.stringMatching(/^\$\{aws_sns_topic\.[^.]+\.arn\}$/);
    for (const a of alarms) {
      expect(a.alarm_actions).toEqual([topicRef]);
      expect(a.ok_actions).toEqual([topicRef]);
      expect(a.actions_enabled).toBe(true);
    }
  });

  test("reads namespace ManagedPostgres with the Cluster dimension", () => {
    for (const a of alarms) {
      expect(a.namespace).toBe("ManagedPostgres");
      expect(a.dimensions).toEqual({ Cluster: p.name });
    }
  });

  test("CPU thresholds, periods and evaluation periods are seed 004's", () => {
    expect(alarm("cpu-warning")).toMatchObject({ metric_name: "cpu_usage_active", threshold: 80, period: 60, evaluation_periods: 5, datapoints_to_alarm: 5, comparison_operator: "GreaterThanThreshold" });
    expect(alarm("cpu-critical")).toMatchObject({ threshold: 95, period: 60, evaluation_periods: 2, datapoints_to_alarm: 2 });
  });

  test("connections alarm: 80% of size M's max_connections (150 → 120)", () => {
    expect(alarm("connections-warning")).toMatchObject({ metric_name: "mp_connections_used", threshold: 120 });
  });

  test("memory, lag, disk, backup and WAL alarms", () => {
    expect(alarm("memory-critical")).toMatchObject({ metric_name: "mem_available", threshold: 1073741824, comparison_operator: "LessThanThreshold", treat_missing_data: "missing" });
    if (model === "distributed") {
      expect(alarm("replica-lag-warning")).toMatchObject({ metric_name: "mp_replication_lag_seconds", threshold: 30, treat_missing_data: "notBreaching" });
    }
    expect(alarm("data-disk-warning")).toMatchObject({ metric_name: "disk_used_percent", threshold: 80, period: 300 });
    expect(alarm("backup-age-critical")).toMatchObject({ metric_name: "mp_backup_last_full_age_seconds", threshold: 93600, treat_missing_data: "breaching", statistic: "Minimum" });
    expect(alarm("wal-archive-critical")).toMatchObject({ metric_name: "mp_wal_archive_failing", threshold: 0, datapoints_to_alarm: 1 });
  });

  test("the topic is encrypted with the cluster key", () => {
    expect(topic.kms_master_key_id).toMatch(/^\$\{aws_kms_key\.[^.]+\.arn\}$/);
  });

  test("log groups for PostgreSQL, Patroni, PgBouncer, pgBackRest and metrics keep 30 days, encrypted with the cluster key", () => {
    const groups = values(out.resource.aws_cloudwatch_log_group);
    expect(groups.map((g) => g.name).sort()).toEqual(["metrics", "patroni", "pgbackrest", "pgbouncer", "postgresql"].map((k) => `/managed-postgres/${p.name}/${k}`));
    for (const g of groups) {
      expect(g.retention_in_days).toBe(30);
      expect(g.kms_key_id).toMatch(/^\$\{aws_kms_key\.[^.]+\.arn\}$/);
    }
  });

  test("a dashboard shows the cluster's alarms", () => {
    const d = values(out.resource.aws_cloudwatch_dashboard)[0];
    expect(d.dashboard_name).toBe(`managed-postgres-${p.name}`);
    const body = JSON.parse(d.dashboard_body);
    expect(body.widgets[0].properties.alarms).toHaveLength(keys.length);
  });

  test("the instance roles may publish metrics only in namespace ManagedPostgres and logs only to the cluster's groups", () => {
    const docs = values(out.data.aws_iam_policy_document).filter((d) => (d.statement ?? []).some((s: any) => s.sid === "PublishClusterMetrics"));
    expect(docs).toHaveLength(model === "distributed" ? 2 : 1);
    const [metrics, logs] = ["PublishClusterMetrics", "ShipClusterLogs"].map((sid) => docs[0].statement.find((s: any) => s.sid === sid));
    expect(metrics.condition).toEqual([{ test: "StringEquals", variable: "cloudwatch:namespace", values: ["ManagedPostgres"] }]);
    expect(logs.resources).toHaveLength(5);
    for (const r of logs.resources) expect(r).toMatch(/^\$\{aws_cloudwatch_log_group\.[^.]+\.arn\}:\*$/);
  });
});

describe("monitoring of a green cluster (upgradeFrom) and of its blue (upgradeTo)", () => {
  const green = props("distributed", { name: "orders-v17", majorVersion: 17, upgradeFrom: UPGRADE_FROM, monitoring: { thresholds: { upgradeLagMiB: 6400 } } });
  const blue = props("distributed", { majorVersion: 15, upgradeTo: { nodeAddresses: ["10.0.1.20", "10.0.2.20", "10.0.3.20"] } });
  const out = synth(green);
  const alarms = values(out.resource.aws_cloudwatch_metric_alarm);
  const alarm = (key: string) => alarms.find((a) => a.alarm_name === `orders-v17-${key}`);

  test("green gets the five upgrade alarms next to its eleven, each notifying its topic, on namespace ManagedPostgres and its Cluster dimension", () => {
    expect(alarms).toHaveLength(11 + UPGRADE_ALARM_KEYS.length);
    for (const k of UPGRADE_ALARM_KEYS) {
      expect(alarm(k)).toMatchObject({ namespace: "ManagedPostgres", dimensions: { Cluster: "orders-v17" }, treat_missing_data: "notBreaching", actions_enabled: true, comparison_operator: "GreaterThanThreshold" });
      expect(alarm(k).alarm_actions).toEqual([expect.stringMatching(/^\$\{aws_sns_topic\.[^.]+\.arn\}$/)]);
      expect(alarm(k).ok_actions).toEqual(alarm(k).alarm_actions);
      expect(alarm(k).alarm_description).toMatch(/^\[(warning|critical)\] .*docs\/UPGRADING\.md.*Threshold source: /);
      expect(alarm(k).tags["managed-postgres:severity"]).toBe(k.endsWith("-critical") ? "critical" : "warning");
    }
  });

  test("thresholds, statistics and periods; upgradeLagMiB reaches the lag alarm in bytes", () => {
    expect(alarm("upgrade-preflight-warning")).toMatchObject({ metric_name: "mp_upgrade_preflight_problems", statistic: "Maximum", threshold: 0, period: 300, evaluation_periods: 3, datapoints_to_alarm: 3 });
    expect(alarm("upgrade-lag-warning")).toMatchObject({ metric_name: "mp_upgrade_lag_bytes", statistic: "Minimum", threshold: 6400 * 1024 * 1024, period: 300, evaluation_periods: 3, datapoints_to_alarm: 3 });
    expect(alarm("upgrade-schema-drift-warning")).toMatchObject({ metric_name: "mp_upgrade_schema_drift", statistic: "Minimum", threshold: 0, period: 300, evaluation_periods: 1 });
    expect(alarm("upgrade-cutover-critical")).toMatchObject({ metric_name: "mp_upgrade_cutover_failed", statistic: "Maximum", threshold: 0, period: 300, evaluation_periods: 1 });
    expect(alarm("upgrade-run-failing-warning")).toMatchObject({ metric_name: "mp_upgrade_run_failed", statistic: "Maximum", threshold: 0, period: 300, evaluation_periods: 3, datapoints_to_alarm: 3 });
  });

  test("green's dashboard shows the upgrade alarms and the upgrade's metrics; blue (upgradeTo) has neither", () => {
    const body = JSON.parse(values(out.resource.aws_cloudwatch_dashboard)[0].dashboard_body);
    expect(body.widgets[0].properties.alarms).toHaveLength(11 + UPGRADE_ALARM_KEYS.length);
    expect(JSON.stringify(body)).toContain("mp_upgrade_lag_bytes");
    const b = synth(blue);
    expect(values(b.resource.aws_cloudwatch_metric_alarm).map((a) => a.alarm_name).filter((n: string) => n.includes("upgrade"))).toEqual([]);
    expect(values(b.resource.aws_cloudwatch_dashboard)[0].dashboard_body).not.toContain("mp_upgrade_");
  });

  test("an upgradeLagMiB out of range is refused with the other invalid props", () => {
    expect(() => synth({ ...green, monitoring: { thresholds: { upgradeLagMiB: 0 } } })).toThrow("`monitoring.thresholds.upgradeLagMiB` must be a number from 1 to 32768. Got 0");
  });
});

describe("monitoring prop", () => {
  test("threshold overrides reach the alarms", () => {
    const out = synth(props("standalone", { monitoring: { thresholds: { cpuWarningPercent: 70, backupMaxAgeHours: 30 } } }));
    const alarms = values(out.resource.aws_cloudwatch_metric_alarm);
    expect(alarms.find((a) => a.alarm_name === "cms-cpu-warning").threshold).toBe(70);
    expect(alarms.find((a) => a.alarm_name === "cms-backup-age-critical").threshold).toBe(30 * 3600);
  });

  test("an existing topic ARN replaces the created topic", () => {
    const arn = "arn:aws:sns:eu-west-1:123456789012:oncall";
    const out = synth(props("standalone", { monitoring: { alarmTopicArn: arn } }));
    expect(out.resource.aws_sns_topic).toBeUndefined();
    for (const a of values(out.resource.aws_cloudwatch_metric_alarm)) expect(a.alarm_actions).toEqual([arn]);
  });

  test("e-mail subscribers are subscribed to the topic", () => {
    const out = synth(props("standalone", { monitoring: { emailSubscribers: ["dba@example.com", "oncall@example.com"] } }));
    expect(values(out.resource.aws_sns_topic_subscription).map((s) => [s.protocol, s.endpoint])).toEqual([
      ["email", "dba@example.com"],
      ["email", "oncall@example.com"],
    ]);
  });

  test("log retention is configurable", () => {
    const out = synth(props("standalone", { monitoring: { logRetentionDays: 90 } }));
    for (const g of values(out.resource.aws_cloudwatch_log_group)) expect(g.retention_in_days).toBe(90);
  });

  test("a retention CloudWatch Logs does not accept is refused with the accepted values", () => {
    expect(() => synth(props("standalone", { monitoring: { logRetentionDays: 31 } }))).toThrow(/`monitoring.logRetentionDays` must be one of 1, 3, 5, 7, 14, 30,.* Got 31/);
  });

  test("an out-of-range threshold is refused at construction", () => {
    expect(() => synth(props("standalone", { monitoring: { thresholds: { connectionsPercent: 0 } } }))).toThrow(/monitoring.thresholds.connectionsPercent/);
  });

  test("bad thresholds are listed with the other invalid props, before any resource exists", () => {
    let err: unknown;
    try {
      synth(
        props("standalone", {
          secretRecoveryWindowDays: 3,
          monitoring: { thresholds: { cpuCriticalPercent: 150, availableMemoryMiB: 0 }, logRetentionDays: 31 },
        }),
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecValidationError);
    const issues = (err as SpecValidationError).issues;
    expect(issues.map((i) => [i.path, i.value])).toEqual([
      ["secretRecoveryWindowDays", 3],
      ["monitoring.thresholds.cpuCriticalPercent", 150],
      ["monitoring.thresholds.availableMemoryMiB", 0],
      ["monitoring.logRetentionDays", 31],
    ]);
    expect((err as Error).message).toContain("`monitoring.thresholds.cpuCriticalPercent` must be a number from 1 to 100. Got 150");
    expect((err as Error).message).toContain("`monitoring.thresholds.availableMemoryMiB` must be a number from 1 to 1048576. Got 0");
  });
});
