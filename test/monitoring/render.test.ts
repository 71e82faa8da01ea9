import { spawnSync } from "child_process";
import YAML from "yaml";
import {
  MONITORING_PATHS,
  cloudWatchAgentConfig,
  poolerCloudWatchAgentConfig,
  renderBackupStatusScript,
  renderMonitoringFiles,
  renderPoolerMonitoringFiles,
  renderPostgresExporterQueries,
} from "../../src/render/monitoring";
import { PGBOUNCER_EXPORTER_PORTS } from "../../src/cluster-spec";
import { PGBOUNCER_EXPORTER_PORTS as SYSTEMD_EXPORTER_PORTS, PGBOUNCER_EXPORTER_PORT, UPGRADE_TIMER_SECONDS } from "../../src/render";
import { DEFAULT_MONITORING_THRESHOLDS, METRICS, METRIC_NAMESPACE, clusterAlarms, dashboardBody, monitoringThresholdIssues, resolveMonitoringThresholds } from "../../src/monitoring";
import { distributedNode, pooler, spec, standaloneNode } from "../render/fixtures";
import { scriptBody } from "../../src/render/scripts";
import { UPGRADE_ALARM_KEYS as UPGRADE_KEYS, UPGRADE_FROM } from "./helpers";
import { walLimitsForVolume } from "../../src/render/postgres";
import { readFileSync } from "fs";
import { join } from "path";

const upgradingDoc = readFileSync(join(__dirname, "../../docs/UPGRADING.md"), "utf8");

const agent = (c: object) => c as any;

describe("CloudWatch agent configuration of a database node", () => {
  const cfg = agent(cloudWatchAgentConfig(distributedNode(1)));

  test("has the agent's documented top-level sections only", () => {
    expect(Object.keys(cfg).sort()).toEqual(["agent", "logs", "metrics"]);
    expect(cfg.agent.metrics_collection_interval).toBe(60);
  });

  test("publishes host metrics in namespace ManagedPostgres with Cluster and Slot, rolled up to Cluster", () => {
    expect(cfg.metrics.namespace).toBe(METRIC_NAMESPACE);
    for (const plugin of ["cpu", "mem", "disk"]) {
      expect(cfg.metrics.metrics_collected[plugin].append_dimensions).toEqual({ Cluster: "orders", Slot: "1" });
    }
    expect(cfg.metrics.aggregation_dimensions).toEqual([["Cluster"], ["Cluster", "Slot"]]);
  });

  test("collects CPU busy, available memory and the data volume's usage", () => {
    const m = cfg.metrics.metrics_collected;
    expect(m.cpu).toMatchObject({ totalcpu: true, measurement: ["usage_active"] });
    expect(m.mem.measurement).toEqual(["available", "used_percent"]);
    expect(m.disk).toMatchObject({ resources: ["/data"], measurement: ["used_percent"] });
  });

  test("ships PostgreSQL, Patroni and pgBackRest logs to the cluster's log groups, one stream per node, and the node's metric events to the metrics group", () => {
    const list = cfg.logs.logs_collected.files.collect_list;
    expect(list.map((f: any) => [f.file_path, f.log_group_name])).toEqual([
      ["/var/log/postgresql/postgresql-*.log", "/managed-postgres/orders/postgresql"],
      ["/var/log/patroni/patroni.log", "/managed-postgres/orders/patroni"],
      ["/var/log/pgbackrest/*.log", "/managed-postgres/orders/pgbackrest"],
      [MONITORING_PATHS.eventsLog, "/managed-postgres/orders/metrics"],
    ]);
    expect(list.slice(0, 3).every((f: any) => f.log_stream_name === "orders-1/{instance_id}")).toBe(true);
    expect(list[3].log_stream_name).toBe("orders-1/{instance_id}/events");
  });

  test("scrapes Prometheus into the metrics log group as EMF, selecting the alarmed metrics", () => {
    const p = cfg.logs.metrics_collected.prometheus;
    expect(p).toMatchObject({ log_group_name: "/managed-postgres/orders/metrics", prometheus_config_path: MONITORING_PATHS.prometheusConfig });
    expect(p.emf_processor.metric_namespace).toBe(METRIC_NAMESPACE);
    const selectors = p.emf_processor.metric_declaration.flatMap((d: any) => d.metric_selectors);
    for (const m of [METRICS.connectionsUsed, METRICS.replicationLagSeconds, METRICS.walArchiveFailing, METRICS.backupLastFullAgeSeconds]) {
      expect(selectors).toContain(`^${m}$`);
    }
  });

  test("the backup age is published with the Cluster dimension only (the repository is shared)", () => {
    const decl = agent(cloudWatchAgentConfig(distributedNode(0))).logs.metrics_collected.prometheus.emf_processor.metric_declaration;
    const backup = decl.find((d: any) => d.metric_selectors.includes(`^${METRICS.backupLastFullAgeSeconds}$`));
    expect(backup.dimensions).toEqual([["Cluster"]]);
  });

  test("a distributed node scrapes only postgres_exporter (PgBouncer runs on the pooler tier)", () => {
    const files = renderMonitoringFiles(distributedNode(0));
    const prom = YAML.parse(files.find((f) => f.path === MONITORING_PATHS.prometheusConfig)!.content);
    expect(prom.scrape_configs.map((s: any) => s.job_name)).toEqual(["postgres"]);
    expect(prom.scrape_configs[0].static_configs).toEqual([{ targets: ["127.0.0.1:9187"], labels: { Cluster: "orders", Slot: "0" } }]);
  });

  test("a standalone node also scrapes its PgBouncer's exporter and ships its log", () => {
    const ctx = standaloneNode();
    const files = renderMonitoringFiles(ctx);
    const prom = YAML.parse(files.find((f) => f.path === MONITORING_PATHS.prometheusConfig)!.content);
    expect(prom.scrape_configs.map((s: any) => s.job_name)).toEqual(["postgres", "pgbouncer"]);
    expect(prom.scrape_configs[1].static_configs[0]).toMatchObject({ targets: ["127.0.0.1:9127"], labels: { Pool: "rw" } });
    const list = agent(cloudWatchAgentConfig(ctx)).logs.logs_collected.files.collect_list;
    expect(list.map((f: any) => f.file_path)).toContain("/var/log/pgbouncer/pgbouncer-rw.log");
  });
});

/**
 * Key sets the agent's configuration schema (amazon-cloudwatch-agent translator/config/
 * schema.json) closes with `additionalProperties: false`, and what each plugin requires.
 */
const SCHEMA_ALLOWED = {
  metrics: ["namespace", "aggregation_dimensions", "append_dimensions", "metrics_destinations", "metrics_collected", "force_flush_interval", "credentials", "endpoint_override", "service.name", "deployment.environment"],
  logs: ["logs_collected", "metrics_collected", "log_stream_name", "force_flush_interval", "credentials", "endpoint_override", "service.name", "deployment.environment", "concurrency"],
  prometheus: ["cluster_name", "log_group_name", "prometheus_config_path", "emf_processor", "ecs_service_discovery", "disable_metric_extraction"],
  emf_processor: ["metric_declaration_dedup", "metric_namespace", "metric_unit", "metric_declaration"],
  metric_declaration: ["source_labels", "label_matcher", "label_separator", "metric_selectors", "dimensions"],
  collect_list_item: ["file_path", "log_group_name", "log_stream_name", "log_group_class", "multi_line_start_pattern", "timestamp_format", "timezone", "trim_timestamp", "encoding", "auto_removal", "backpressure_mode", "blacklist", "publish_multi_logs", "retention_in_days", "filters", "service.name", "deployment.environment"],
};

describe.each([
  ["database node (distributed)", () => agent(cloudWatchAgentConfig(distributedNode(0)))],
  ["database node (standalone)", () => agent(cloudWatchAgentConfig(standaloneNode()))],
  ["pooler instance", () => agent(poolerCloudWatchAgentConfig(pooler()))],
])("agent schema constraints, %s", (_name, make) => {
  const cfg = make();
  const keysWithin = (o: object, allowed: string[]) => expect(Object.keys(o).filter((k) => !allowed.includes(k))).toEqual([]);

  test("closed sections use only the schema's keys", () => {
    keysWithin(cfg.metrics, SCHEMA_ALLOWED.metrics);
    keysWithin(cfg.logs, SCHEMA_ALLOWED.logs);
    const p = cfg.logs.metrics_collected.prometheus;
    keysWithin(p, SCHEMA_ALLOWED.prometheus);
    keysWithin(p.emf_processor, SCHEMA_ALLOWED.emf_processor);
    for (const d of p.emf_processor.metric_declaration) keysWithin(d, SCHEMA_ALLOWED.metric_declaration);
    for (const f of cfg.logs.logs_collected.files.collect_list) keysWithin(f, SCHEMA_ALLOWED.collect_list_item);
  });

  test("every metrics plugin has its required measurement list, and log files their file_path", () => {
    for (const plugin of Object.values(cfg.metrics.metrics_collected) as any[]) expect(plugin.measurement.length).toBeGreaterThan(0);
    for (const f of cfg.logs.logs_collected.files.collect_list) expect(typeof f.file_path).toBe("string");
  });

  test("intervals are integers from 1 to 172800 seconds and timezones UTC", () => {
    expect(Number.isInteger(cfg.agent.metrics_collection_interval)).toBe(true);
    expect(cfg.logs.force_flush_interval).toBeGreaterThanOrEqual(1);
    for (const f of cfg.logs.logs_collected.files.collect_list) expect(f.timezone).toBe("UTC");
  });
});

describe("CloudWatch agent configuration of a pooler instance", () => {
  const cfg = agent(poolerCloudWatchAgentConfig(pooler()));

  test("has Slot \"pooler\", no data volume metric and no PostgreSQL logs", () => {
    expect(cfg.metrics.metrics_collected.cpu.append_dimensions).toEqual({ Cluster: "orders", Slot: "pooler" });
    expect(cfg.metrics.metrics_collected.disk).toBeUndefined();
    expect(cfg.logs.logs_collected.files.collect_list.map((f: any) => f.log_group_name)).toEqual([
      "/managed-postgres/orders/pgbouncer",
      "/managed-postgres/orders/pgbouncer",
    ]);
  });

  test("scrapes both pools' exporters (9127 rw, 9128 ro) with a Pool label", () => {
    const files = renderPoolerMonitoringFiles(pooler());
    const prom = YAML.parse(files.find((f) => f.path === MONITORING_PATHS.prometheusConfig)!.content);
    expect(prom.scrape_configs[0].static_configs.map((s: any) => [s.targets[0], s.labels.Pool])).toEqual([
      ["127.0.0.1:9127", "rw"],
      ["127.0.0.1:9128", "ro"],
    ]);
  });

  test("is refused for a standalone cluster", () => {
    expect(() => renderPoolerMonitoringFiles(pooler({ deployment: "standalone", network: undefined }))).toThrow(/only distributed clusters have a PgBouncer tier/);
  });
});

describe("rendered monitoring files", () => {
  const files = renderMonitoringFiles(distributedNode(0));

  test("are absolute paths with a mode and an owner, and contain no Terraform template sequence", () => {
    for (const f of [...files, ...renderPoolerMonitoringFiles(pooler())]) {
      expect(f.path.startsWith("/")).toBe(true);
      expect(f.mode).toMatch(/^0[0-7]{3}$/);
      expect(f.owner).toMatch(/^[a-z]+:[a-z]+$/);
      expect(f.content).not.toMatch(/\$\{|%\{/);
    }
  });

  test("the agent configuration is valid JSON, loaded by amazon-cloudwatch-agent-ctl fetch-config", () => {
    const f = files.find((x) => x.path === MONITORING_PATHS.agentConfig)!;
    expect(() => JSON.parse(f.content)).not.toThrow();
    const u = files.find((x) => x.path === "/etc/systemd/system/managed-postgres-cloudwatch-agent.service")!;
    expect(u.content).toContain(
      `ExecStart=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${MONITORING_PATHS.agentConfig}`,
    );
  });

  test("postgres_exporter gets the custom queries through a drop-in (PG_EXPORTER_EXTEND_QUERY_PATH)", () => {
    const d = files.find((x) => x.path === "/etc/systemd/system/prometheus-postgres-exporter.service.d/50-managed-postgres-queries.conf")!;
    expect(d.content).toContain(`Environment=PG_EXPORTER_EXTEND_QUERY_PATH=${MONITORING_PATHS.exporterQueries}`);
  });

  test("Patroni logs to /var/log/patroni and pulls in the agent and the backup status timer", () => {
    const d = files.find((x) => x.path === "/etc/systemd/system/patroni.service.d/50-managed-postgres-logs.conf")!;
    expect(d.content).toContain("Environment=PATRONI_LOG_DIR=/var/log/patroni");
    expect(d.content).toContain("Wants=managed-postgres-backup-status.timer");
    const a = files.find((x) => x.path === "/etc/systemd/system/patroni.service.d/50-managed-postgres-monitoring.conf")!;
    expect(a.content).toContain("Wants=managed-postgres-cloudwatch-agent.service");
  });

  test("the agent unit does nothing on an image without the agent", () => {
    const d = files.find((x) => x.path === "/etc/systemd/system/managed-postgres-cloudwatch-agent.service")!;
    expect(d.content).toContain("ConditionPathExists=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl");
  });

  test("a pooler instance starts the agent with HAProxy", () => {
    const p = renderPoolerMonitoringFiles(pooler());
    expect(p.find((x) => x.path === "/etc/systemd/system/haproxy.service.d/50-managed-postgres-monitoring.conf")!.content).toContain(
      "Wants=managed-postgres-cloudwatch-agent.service",
    );
  });
});

describe("backup status script", () => {
  const script = renderBackupStatusScript(spec());

  test("is the header of the cluster's values in front of src/render/scripts/backup-status.sh", () => {
    expect(script).toContain(`readonly STANZA='orders'\nreadonly OUT='${MONITORING_PATHS.backupStatusFile}'\n${scriptBody("backup-status.sh")}`);
    expect(script.endsWith(scriptBody("backup-status.sh"))).toBe(true);
    expect(script.startsWith("#!/bin/bash\n")).toBe(true);
    expect(script).toContain("\nset -euo pipefail\n");
  });

  test("is valid bash", () => {
    const r = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("postgres_exporter queries file", () => {
  test("is YAML with one query per alarmed metric family, each on the exporter's database only", () => {
    const q = YAML.parse(renderPostgresExporterQueries());
    expect(Object.keys(q)).toEqual(["mp_connections", "mp_replication", "mp_wal_archive", "mp_backup"]);
    for (const v of Object.values(q) as any[]) expect(v.master).toBe(true);
  });

  test("refuses a status file path that would break the SQL string", () => {
    expect(() => renderPostgresExporterQueries({ backupStatusFile: "/tmp/it's" })).toThrow(/must not contain quotes/);
  });
});

describe("PgBouncer exporter ports", () => {
  test("are defined once, in src/cluster-spec/ports.ts: the older export names are the same object", () => {
    expect(PGBOUNCER_EXPORTER_PORTS).toEqual({ rw: 9127, ro: 9128 });
    expect(PGBOUNCER_EXPORTER_PORT).toBe(PGBOUNCER_EXPORTER_PORTS);
    expect(SYSTEMD_EXPORTER_PORTS).toBe(PGBOUNCER_EXPORTER_PORTS);
  });
});

describe("alarm thresholds", () => {
  test("default to seed 004's values", () => {
    expect(resolveMonitoringThresholds()).toEqual({
      cpuWarningPercent: 80,
      cpuCriticalPercent: 95,
      availableMemoryMiB: 1024,
      connectionsPercent: 80,
      replicaLagSeconds: 30,
      dataDiskUsedPercent: 80,
      backupMaxAgeHours: 26,
      upgradeLagMiB: 256,
    });
  });

  test("an override replaces only its own threshold", () => {
    expect(resolveMonitoringThresholds({ replicaLagSeconds: 10 })).toEqual({ ...DEFAULT_MONITORING_THRESHOLDS, replicaLagSeconds: 10 });
  });

  test("an out-of-range override names the field, the range and the value", () => {
    expect(() => resolveMonitoringThresholds({ cpuWarningPercent: 120 })).toThrow("`monitoring.thresholds.cpuWarningPercent` must be a number from 1 to 100. Got 120");
  });

  test("every problem is listed with its field path, value and what is allowed", () => {
    const issues = monitoringThresholdIssues({ cpuWarningPercent: 0, backupMaxAgeHours: Number.NaN, replicaLagSeconds: "30", cpuWarning: 70 });
    expect(issues.map((i) => [i.path, i.value])).toEqual([
      ["monitoring.thresholds.cpuWarningPercent", 0],
      ["monitoring.thresholds.backupMaxAgeHours", Number.NaN],
      ["monitoring.thresholds.replicaLagSeconds", "30"],
      ["monitoring.thresholds.cpuWarning", 70],
    ]);
    expect(issues[0].message).toBe("`monitoring.thresholds.cpuWarningPercent` must be a number from 1 to 100. Got 0");
    expect(issues[2].message).toBe('`monitoring.thresholds.replicaLagSeconds` must be a number from 1 to 86400. Got "30"');
    expect(issues[3].message).toMatch(/`monitoring.thresholds.cpuWarning` is not a threshold; allowed: cpuWarningPercent, cpuCriticalPercent, /);
  });

  test("a token threshold is refused; valid and absent thresholds give no issue", () => {
    const token = "${TfToken[TOKEN.1]}";
    expect(monitoringThresholdIssues({ replicaLagSeconds: token as unknown as number }, { isUnresolved: (v) => v === token })[0].message).toMatch(
      /`monitoring.thresholds.replicaLagSeconds` must be a literal number from 1 to 86400, not a token/,
    );
    expect(monitoringThresholdIssues(undefined)).toEqual([]);
    expect(monitoringThresholdIssues({ ...DEFAULT_MONITORING_THRESHOLDS })).toEqual([]);
    expect(monitoringThresholdIssues([80]).map((i) => i.path)).toEqual(["monitoring.thresholds"]);
  });
});

describe("alarm definitions", () => {
  const alarms = clusterAlarms(spec({ size: "XXL" }), DEFAULT_MONITORING_THRESHOLDS);
  const byKey = Object.fromEntries(alarms.map((a) => [a.key, a]));

  test("are the eight of seed 004 and the brief plus the day-2 ones (issue 12), on the Cluster roll-up", () => {
    expect(alarms.map((a) => a.key)).toEqual([
      "cpu-warning",
      "cpu-critical",
      "memory-critical",
      "connections-warning",
      "replica-lag-warning",
      "data-disk-warning",
      "backup-age-critical",
      "wal-archive-critical",
      "data-version-critical",
      "maintenance-paused-warning",
      "backup-verify-critical",
    ]);
    for (const a of alarms) expect(a.dimensions).toEqual({ Cluster: "orders" });
  });

  test("data-version: any refusal in a minute is critical; maintenance paused: 15 minutes of waiting warns", () => {
    expect(byKey["data-version-critical"]).toMatchObject({ metricName: METRICS.dataVersionMismatch, threshold: 0, period: 60, evaluationPeriods: 1, severity: "critical", treatMissingData: "notBreaching" });
    expect(byKey["backup-verify-critical"]).toMatchObject({ metricName: METRICS.backupVerifyFailed, threshold: 0, period: 3600, severity: "critical", treatMissingData: "notBreaching" });
    expect(byKey["maintenance-paused-warning"]).toMatchObject({ metricName: METRICS.maintenancePaused, threshold: 0, period: 300, evaluationPeriods: 3, datapointsToAlarm: 3, severity: "warning" });
  });

  test("a standalone cluster has no replica-lag alarm", () => {
    expect(clusterAlarms(spec({ deployment: "standalone", network: undefined }), DEFAULT_MONITORING_THRESHOLDS).map((a) => a.key)).not.toContain("replica-lag-warning");
  });

  test("connections alarm at 80% of the size's max_connections (XXL: 500 → 400, seed 004's number)", () => {
    expect(byKey["connections-warning"].threshold).toBe(400);
  });

  test("CPU: > 80% for 5 one-minute periods (warning), > 95% for 2 (critical)", () => {
    expect(byKey["cpu-warning"]).toMatchObject({ threshold: 80, period: 60, evaluationPeriods: 5, datapointsToAlarm: 5, severity: "warning" });
    expect(byKey["cpu-critical"]).toMatchObject({ threshold: 95, period: 60, evaluationPeriods: 2, datapointsToAlarm: 2, severity: "critical" });
  });

  test("memory: available below 1 GiB, in bytes, lowest instance", () => {
    expect(byKey["memory-critical"]).toMatchObject({ threshold: 1073741824, comparisonOperator: "LessThanThreshold", statistic: "Minimum" });
  });

  test("backup age: 26 h in seconds, missing data breaching", () => {
    expect(byKey["backup-age-critical"]).toMatchObject({ threshold: 93600, treatMissingData: "breaching", statistic: "Minimum", period: 3600 });
  });

  test("WAL archiving: any failing minute of five is critical", () => {
    expect(byKey["wal-archive-critical"]).toMatchObject({ threshold: 0, comparisonOperator: "GreaterThanThreshold", evaluationPeriods: 5, datapointsToAlarm: 1, severity: "critical" });
  });
});

describe("alarm definitions of a green cluster (upgradeFrom)", () => {
  const green = (over: Partial<Parameters<typeof spec>[0]> = {}) => spec({ name: "orders-v17", majorVersion: 17, upgradeFrom: UPGRADE_FROM, ...over });
  const alarms = clusterAlarms(green(), DEFAULT_MONITORING_THRESHOLDS);
  const byKey = Object.fromEntries(alarms.map((a) => [a.key, a]));

  test("a green cluster has the five upgrade alarms after its own, on its Cluster roll-up; a cluster without upgradeFrom (blue with upgradeTo too) has none", () => {
    expect(alarms.map((a) => a.key)).toEqual([...clusterAlarms(spec({ name: "orders-v17", majorVersion: 17 }), DEFAULT_MONITORING_THRESHOLDS).map((a) => a.key), ...UPGRADE_KEYS]);
    for (const k of UPGRADE_KEYS) expect(byKey[k]).toMatchObject({ namespace: "ManagedPostgres", dimensions: { Cluster: "orders-v17" }, treatMissingData: "notBreaching", comparisonOperator: "GreaterThanThreshold" });
    const standaloneGreen = clusterAlarms(green({ deployment: "standalone", network: undefined }), DEFAULT_MONITORING_THRESHOLDS).map((a) => a.key);
    expect(standaloneGreen.filter((k) => k.startsWith("upgrade-"))).toEqual(UPGRADE_KEYS);
    for (const s of [spec(), spec({ upgradeTo: { nodeAddresses: ["10.0.1.20"] } }), spec({ deployment: "standalone", network: undefined })]) {
      expect(clusterAlarms(s, DEFAULT_MONITORING_THRESHOLDS).filter((a) => a.key.startsWith("upgrade-") || a.metricName.startsWith("mp_upgrade_"))).toEqual([]);
    }
  });

  test("preflight: blocking problems in 3 of 3 five-minute periods warn (longer than blue's measured roll to wal_level logical)", () => {
    expect(byKey["upgrade-preflight-warning"]).toMatchObject({ metricName: METRICS.upgradePreflightProblems, severity: "warning", statistic: "Maximum", threshold: 0, period: 300, evaluationPeriods: 3, datapointsToAlarm: 3 });
    const a = byKey["upgrade-preflight-warning"];
    expect(a.period * a.evaluationPeriods).toBeGreaterThan(698 + 60);
  });

  test("lag: more than 256 MiB (half of the smallest blue's max_slot_wal_keep_size) at every sample of 15 minutes warns; upgradeLagMiB overrides it", () => {
    expect(byKey["upgrade-lag-warning"]).toMatchObject({ metricName: METRICS.upgradeLagBytes, severity: "warning", statistic: "Minimum", threshold: 256 * 1024 * 1024, period: 300, evaluationPeriods: 3, datapointsToAlarm: 3 });
    expect(256 * 2).toBe(Number.parseInt(walLimitsForVolume(2 * 1024).max_slot_wal_keep_size, 10));
    expect(32768).toBe(Number.parseInt(walLimitsForVolume(128 * 1024).max_slot_wal_keep_size, 10));
    const custom = clusterAlarms(green(), resolveMonitoringThresholds({ upgradeLagMiB: 12800 })).find((a) => a.key === "upgrade-lag-warning");
    expect(custom?.threshold).toBe(12800 * 1024 * 1024);
    expect(custom?.description).toContain("more than 12800 MiB behind");
    expect(() => resolveMonitoringThresholds({ upgradeLagMiB: 32769 })).toThrow("`monitoring.thresholds.upgradeLagMiB` must be a number from 1 to 32768. Got 32769");
  });

  test("schema drift: drift at every run of a five-minute period warns; an abandoned cutover is critical within five minutes", () => {
    expect(byKey["upgrade-schema-drift-warning"]).toMatchObject({ metricName: METRICS.upgradeSchemaDrift, severity: "warning", statistic: "Minimum", threshold: 0, period: 300, evaluationPeriods: 1, datapointsToAlarm: 1 });
    expect(byKey["upgrade-cutover-critical"]).toMatchObject({ metricName: METRICS.upgradeCutoverFailed, severity: "critical", statistic: "Maximum", threshold: 0, period: 300, evaluationPeriods: 1, datapointsToAlarm: 1 });
  });

  test("failing runs: a failed run in 3 of 3 five-minute periods warns (a green that cannot reach blue publishes nothing else); one failed run per failover on blue does not", () => {
    expect(byKey["upgrade-run-failing-warning"]).toMatchObject({ metricName: METRICS.upgradeRunFailed, severity: "warning", statistic: "Maximum", threshold: 0, period: 300, evaluationPeriods: 3, datapointsToAlarm: 3 });
    // a run every UPGRADE_TIMER_SECONDS: one failed run lands in one period only
    expect(UPGRADE_TIMER_SECONDS).toBeLessThan(byKey["upgrade-run-failing-warning"].period);
    expect(byKey["upgrade-run-failing-warning"].description).toContain("upgradeTo");
  });

  test("descriptions say what happened and what to do, point to docs/UPGRADING.md, and fit CloudWatch's 1024 characters with the severity and source", () => {
    for (const k of UPGRADE_KEYS) {
      const a = byKey[k];
      expect(a.description).toMatch(/docs\/UPGRADING\.md, "(Blue\/green through logical replication|Limits of logical replication)"/);
      expect(a.description).toContain("journalctl -u managed-postgres-upgrade");
      expect(`[${a.severity}] ${a.description}. Threshold source: ${a.source}.`.length).toBeLessThanOrEqual(1024);
      expect(`${a.description} ${a.source}`).not.toMatch(/seed|issue \d|brief|\bTODO\b/i);
    }
    for (const heading of ["### Blue/green through logical replication", "### Limits of logical replication"]) expect(upgradingDoc).toContain(heading);
  });
});

describe("dashboard", () => {
  test("a green cluster (upgradeFrom) gets a last row with the upgrade's metrics, the lag line at upgradeLagMiB; other clusters' dashboards are unchanged", () => {
    const input = { region: "eu-west-1", alarmArns: ["arn:a"], thresholds: DEFAULT_MONITORING_THRESHOLDS };
    const upgradeFrom = { clusterName: "orders", majorVersion: 15 as const, secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x", nodeAddresses: ["10.0.1.10"], securityGroupId: "sg-0abc12345" };
    const plain = JSON.parse(dashboardBody({ ...input, spec: spec({ name: "orders-v17", majorVersion: 17 }) }));
    const body = JSON.parse(dashboardBody({ ...input, spec: spec({ name: "orders-v17", majorVersion: 17, upgradeFrom }) }));
    expect(body.widgets.slice(0, plain.widgets.length)).toEqual(plain.widgets);
    const extra = body.widgets.slice(plain.widgets.length);
    expect(extra).toHaveLength(3);
    const last = plain.widgets[plain.widgets.length - 1];
    for (const w of extra) expect(w).toMatchObject({ type: "metric", y: last.y + last.height, height: 6 });
    const metrics = extra.flatMap((w: any) => w.properties.metrics);
    expect(metrics.map((m: any[]) => m[1]).sort()).toEqual(Object.values(METRICS).filter((m) => m.startsWith("mp_upgrade_")).sort());
    for (const m of metrics) expect(m.slice(0, 4)).toEqual([METRIC_NAMESPACE, m[1], "Cluster", "orders-v17"]);
    expect(extra[0].properties.annotations.horizontal[0].value).toBe(256 * 1024 * 1024);
    for (const s of [spec(), spec({ upgradeTo: { nodeAddresses: ["10.0.1.20"] } })]) {
      expect(JSON.stringify(dashboardBody({ ...input, spec: s }))).not.toContain("mp_upgrade_");
    }
  });


  test("shows the alarms first, then every slot and the pooler, with the metrics the alarms read", () => {
    const body = JSON.parse(dashboardBody({ spec: spec(), region: "eu-west-1", alarmArns: ["arn:a", "arn:b"], thresholds: DEFAULT_MONITORING_THRESHOLDS }));
    expect(body.widgets[0]).toMatchObject({ type: "alarm", properties: { alarms: ["arn:a", "arn:b"] } });
    const metrics = body.widgets.slice(1).flatMap((w: any) => w.properties.metrics.map((m: any[]) => m[1]));
    for (const m of [METRICS.cpuUsageActive, METRICS.memAvailable, METRICS.connectionsUsed, METRICS.replicationLagSeconds, METRICS.walArchiveFailing, METRICS.backupLastFullAgeSeconds, METRICS.poolerWaitingClients]) {
      expect(metrics).toContain(m);
    }
    const cpu = body.widgets.find((w: any) => w.properties.title === "CPU busy (%)");
    expect(cpu.properties.metrics.map((m: any[]) => m[5])).toEqual(["0", "1", "2", "pooler"]);
  });
});
