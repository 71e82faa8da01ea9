/**
 * Monitoring of a cluster: what the nodes publish to CloudWatch and what the alarms and
 * the dashboard read. Pure; no cdktf import.
 *
 * On every instance the CloudWatch agent (not a Debian package: the image must carry
 * `amazon-cloudwatch-agent`, see docs/monitoring.md) publishes, in namespace
 * {@link METRIC_NAMESPACE}, with dimensions `Cluster` and `Slot` (`"pooler"` on the PgBouncer
 * tier) and their roll-up to `Cluster` alone:
 * - host metrics: `cpu_usage_active` (%), `mem_available` (bytes), `mem_used_percent`,
 *   `disk_used_percent` of the data volume mount `/data` (database nodes);
 * - a Prometheus scrape (every 60 s, as embedded metric format in the log group
 *   `/managed-postgres/<cluster>/metrics`) of postgres_exporter (127.0.0.1:9187, with the
 *   custom queries of {@link renderPostgresExporterQueries}) and of the PgBouncer exporter
 *   of each pool (127.0.0.1:9127 rw, 9128 ro; Debian's prometheus-pgbouncer-exporter);
 * - log files to `/managed-postgres/<cluster>/{postgresql,patroni,pgbouncer,pgbackrest}`.
 *
 * Thresholds of the alarms come from seed 004 ("Monitoring & Alerting"); see
 * {@link DEFAULT_MONITORING_THRESHOLDS} and {@link clusterAlarms}.
 */
import { SIZES, type ResolvedClusterSpec } from "../cluster-spec";
import { PORTS } from "../cluster-spec/ports";
import { stanzaName, PGBACKREST_LOG_PATH } from "./pgbackrest";
import { POSTGRES_LOG_DIRECTORY } from "./postgres";
import { pgbouncerLogFile, type PgBouncerPool } from "./pgbouncer";
import { PATHS } from "./paths";
import type { NodeContext, PoolerContext, RenderedFile } from "./types";

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
  /** 1 when postgres_exporter can reach PostgreSQL. */
  postgresUp: "pg_up",
  /** Clients waiting for a server connection, per PgBouncer pool (Debian's pgbouncer exporter). */
  poolerWaitingClients: "pgbouncer_waiting_clients",
  /** Clients linked to a server connection, per PgBouncer pool. */
  poolerActiveClients: "pgbouncer_active_clients",
} as const;

/** Files and directories of the monitoring setup on an instance. */
export const MONITORING_PATHS = {
  /** CloudWatch agent configuration, loaded by `managed-postgres-cloudwatch-agent.service` (`amazon-cloudwatch-agent-ctl -a fetch-config`). */
  agentConfig: "/etc/managed-postgres/cloudwatch-agent.json",
  /** Prometheus scrape configuration of the agent. */
  prometheusConfig: "/etc/managed-postgres/cloudwatch-agent-prometheus.yaml",
  /** postgres_exporter custom queries (`PG_EXPORTER_EXTEND_QUERY_PATH`). */
  exporterQueries: "/etc/managed-postgres/postgres-exporter-queries.yaml",
  /** Writes the end time of the newest full backup (seconds since the epoch) into {@link backupStatusFile}. */
  backupStatusScript: "/usr/local/sbin/managed-postgres-backup-status",
  /** systemd StateDirectory of the backup status job (owned by postgres). */
  backupStatusDir: "/var/lib/managed-postgres/monitoring",
  /** One line: end of the newest full backup of the repository, seconds since the epoch. */
  backupStatusFile: "/var/lib/managed-postgres/monitoring/last-full-backup.epoch",
  /** Patroni's log directory (`PATRONI_LOG_DIR`): `patroni.log`. */
  patroniLogDir: "/var/log/patroni",
} as const;

/** Metrics port of each PgBouncer pool's exporter (127.0.0.1): rw 9127 (`PORTS.pgbouncerExporter`), ro 9128. */
export const PGBOUNCER_EXPORTER_PORT: Readonly<Record<PgBouncerPool, number>> = {
  rw: PORTS.pgbouncerExporter,
  ro: PORTS.pgbouncerExporter + 1,
};

/**
 * Command that runs Debian 12's prometheus-pgbouncer-exporter (1.7) with PgBouncer ≥ 1.8:
 * its `SHOW STATS` collector reads the column `total_requests`, which PgBouncer 1.8
 * replaced by `total_query_count`, and raises `KeyError` on every scrape, which fails
 * the whole scrape. The command disables that collector (the alarms and the dashboard use
 * `SHOW POOLS`: `pgbouncer_waiting_clients`, `pgbouncer_active_clients`) and runs the
 * exporter's own entry point with the arguments that follow. Verified against PgBouncer
 * 1.18 by test/monitoring/pgbouncer-exporter.test.ts. Contains no `$`, `%` or `;` outside
 * the quoted code, so systemd and `sh -c` read it alike.
 */
export const PGBOUNCER_EXPORTER_COMMAND =
  '/usr/bin/python3 -c "from prometheus_pgbouncer_exporter import cli, collectors; ' +
  'collectors.StatsCollector.collect = lambda self: iter(()); cli.main()"';

/** Log groups of a cluster, by kind. */
export const LOG_KINDS = ["postgresql", "patroni", "pgbouncer", "pgbackrest", "metrics"] as const;
/** One of {@link LOG_KINDS}. */
export type LogKind = (typeof LOG_KINDS)[number];

/** Name of a cluster's log group: `/managed-postgres/<cluster>/<kind>`. */
export function logGroupName(cluster: string, kind: LogKind): string {
  return `/managed-postgres/${cluster}/${kind}`;
}

// ---------------------------------------------------------------------------------------
// postgres_exporter custom queries

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

// ---------------------------------------------------------------------------------------
// CloudWatch agent

/** What one instance scrapes and ships. */
interface AgentTarget {
  readonly cluster: string;
  /** `Slot` dimension value. */
  readonly slot: string;
  /** Stream name prefix in the log groups (node name, or "pooler"). */
  readonly streamPrefix: string;
  /** Whether the instance runs PostgreSQL (a database node). */
  readonly database: boolean;
  /** PgBouncer pools running on the instance. */
  readonly pools: readonly PgBouncerPool[];
}

function agentConfig(t: AgentTarget): object {
  const dims = { [DIMENSIONS.cluster]: t.cluster, [DIMENSIONS.slot]: t.slot };
  const files: object[] = [];
  const stream = `${t.streamPrefix}/{instance_id}`;
  if (t.database) {
    files.push(
      { file_path: `${POSTGRES_LOG_DIRECTORY}/postgresql-*.log`, log_group_name: logGroupName(t.cluster, "postgresql"), log_stream_name: stream, timezone: "UTC" },
      { file_path: `${MONITORING_PATHS.patroniLogDir}/patroni.log`, log_group_name: logGroupName(t.cluster, "patroni"), log_stream_name: stream, timezone: "UTC" },
      { file_path: `${PGBACKREST_LOG_PATH}/*.log`, log_group_name: logGroupName(t.cluster, "pgbackrest"), log_stream_name: stream, timezone: "UTC" },
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

function prometheusConfig(t: AgentTarget): string {
  const labels = (extra: Record<string, string> = {}) =>
    Object.entries({ [DIMENSIONS.cluster]: t.cluster, [DIMENSIONS.slot]: t.slot, ...extra }).map(([k, v]) => `          ${k}: ${JSON.stringify(v)}`);
  const lines = [
    "# Prometheus scrape configuration of the CloudWatch agent (cdktf-managed-postgres). Rendered; do not edit on the node.",
    "global:",
    "  scrape_interval: 1m",
    "  scrape_timeout: 10s",
    "scrape_configs:",
  ];
  if (t.database) {
    lines.push(
      "  - job_name: postgres",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${PORTS.postgresExporter}"]`,
      "        labels:",
      ...labels(),
    );
  }
  if (t.pools.length > 0) {
    lines.push("  - job_name: pgbouncer", "    static_configs:");
    for (const pool of t.pools) {
      lines.push(`      - targets: ["127.0.0.1:${PGBOUNCER_EXPORTER_PORT[pool]}"]`, "        labels:", ...labels({ [DIMENSIONS.pool]: pool }));
    }
  }
  return lines.join("\n") + "\n";
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

function nodeTarget(ctx: NodeContext): AgentTarget {
  return {
    cluster: ctx.spec.name,
    slot: String(ctx.self.slotIndex),
    streamPrefix: ctx.self.name,
    database: true,
    pools: ctx.spec.deployment === "standalone" ? ["rw"] : [],
  };
}

function poolerTarget(ctx: PoolerContext): AgentTarget {
  return { cluster: ctx.spec.name, slot: POOLER_SLOT, streamPrefix: POOLER_SLOT, database: false, pools: ["rw", "ro"] };
}

// ---------------------------------------------------------------------------------------
// Backup status job and systemd drop-ins

/**
 * The backup status script (bash, run as postgres every 15 minutes by
 * `managed-postgres-backup-status.timer`): reads `pgbackrest --output=json info` of the
 * cluster's stanza and writes the stop time of the newest full backup (epoch seconds) to
 * `MONITORING_PATHS.backupStatusFile`, atomically. The repository is shared, so every node
 * reports the same age, whichever node took the backup. Needs `jq`.
 */
export function renderBackupStatusScript(spec: ResolvedClusterSpec): string {
  const out = MONITORING_PATHS.backupStatusFile;
  return `#!/bin/bash
# Newest full backup of stanza ${stanzaName(spec)} -> ${out} (read by postgres_exporter). Rendered by cdktf-managed-postgres.
set -euo pipefail
info=$(pgbackrest --stanza='${stanzaName(spec)}' --output=json info)
stop=$(jq -r '[.[0].backup[]? | select(.type == "full") | .timestamp.stop] | max // empty' <<<"$info")
if [ -z "$stop" ]; then
  echo "no full backup in the repository yet" >&2
  exit 0
fi
printf '%s\\n' "$stop" > '${out}.tmp'
mv '${out}.tmp' '${out}'
`;
}

function unit(path: string, content: string): RenderedFile {
  return { path, content, mode: "0644", owner: "root:root" };
}

const SYSTEMD = "/etc/systemd/system";
const HEADER = "# Rendered by cdktf-managed-postgres (monitoring); do not edit on the node.";

/** The agent's control script (the `amazon-cloudwatch-agent` package; an image requirement). */
export const CLOUDWATCH_AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl";

/** The unit that loads the rendered configuration into the agent and starts it. */
export const CLOUDWATCH_AGENT_UNIT = "managed-postgres-cloudwatch-agent.service";

function agentUnits(hostUnit: string, cluster: string): RenderedFile[] {
  return [
    unit(
      `${SYSTEMD}/${CLOUDWATCH_AGENT_UNIT}`,
      [
        HEADER,
        "[Unit]",
        `Description=Load the CloudWatch agent configuration of cluster ${cluster} and start the agent`,
        // The image must carry the agent (docs/monitoring.md); without it (e.g. the live harness) nothing runs.
        `ConditionPathExists=${CLOUDWATCH_AGENT_CTL}`,
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        // fetch-config translates the JSON for the agent; -s (re)starts amazon-cloudwatch-agent.service.
        `ExecStart=${CLOUDWATCH_AGENT_CTL} -a fetch-config -m ec2 -s -c file:${MONITORING_PATHS.agentConfig}`,
        "TimeoutStartSec=5min",
        "",
      ].join("\n"),
    ),
    unit(
      `${SYSTEMD}/${hostUnit}.d/50-managed-postgres-monitoring.conf`,
      [HEADER, `# Starts the CloudWatch agent with ${hostUnit}.`, "[Unit]", `Wants=${CLOUDWATCH_AGENT_UNIT}`, ""].join("\n"),
    ),
  ];
}

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
    unit(
      `${SYSTEMD}/managed-postgres-backup-status.service`,
      [
        HEADER,
        "[Unit]",
        `Description=Age of the newest full backup of cluster ${name}, for the backup alarm`,
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        "User=postgres",
        "Group=postgres",
        "StateDirectory=managed-postgres/monitoring",
        "StateDirectoryMode=0755",
        `ExecStart=${MONITORING_PATHS.backupStatusScript}`,
        "NoNewPrivileges=yes",
        "ProtectSystem=full",
        "ProtectHome=yes",
        "TimeoutStartSec=10min",
        "",
      ].join("\n"),
    ),
    unit(
      `${SYSTEMD}/managed-postgres-backup-status.timer`,
      [HEADER, "[Unit]", `Description=Age of the newest full backup of cluster ${name} (timer)`, "", "[Timer]", "OnBootSec=5min", "OnUnitActiveSec=15min", "AccuracySec=1min", "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
    ),
    unit(
      `${SYSTEMD}/prometheus-postgres-exporter.service.d/50-managed-postgres-queries.conf`,
      [HEADER, "[Service]", `Environment=PG_EXPORTER_EXTEND_QUERY_PATH=${MONITORING_PATHS.exporterQueries}`, ""].join("\n"),
    ),
    unit(
      `${SYSTEMD}/patroni.service.d/50-managed-postgres-logs.conf`,
      [
        HEADER,
        "# Patroni writes patroni.log there (shipped to CloudWatch Logs) instead of the journal.",
        "[Unit]",
        "Wants=managed-postgres-backup-status.timer",
        "",
        "[Service]",
        "LogsDirectory=patroni",
        `Environment=PATRONI_LOG_DIR=${MONITORING_PATHS.patroniLogDir}`,
        "",
      ].join("\n"),
    ),
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

// ---------------------------------------------------------------------------------------
// Alarms

/**
 * Alarm thresholds of a cluster. Every default comes from seed 004 ("Monitoring &
 * Alerting" table: CPUUtilization, FreeableMemory, DatabaseConnections, ReplicaLag),
 * except where noted.
 */
export interface MonitoringThresholds {
  /** CPU busy above this, every minute for 5 minutes: warning. Percent, 1 to 100. @default 80 (seed 004: "> 80% for 5 min") */
  readonly cpuWarningPercent?: number;
  /** CPU busy above this, every minute for 2 minutes: critical. Percent, 1 to 100. @default 95 (seed 004: "> 95% for 2 min") */
  readonly cpuCriticalPercent?: number;
  /** Available memory below this for 5 minutes: critical. MiB, ≥ 1. @default 1024 (seed 004: "FreeableMemory < 1 GB") */
  readonly availableMemoryMiB?: number;
  /**
   * Client connections above this share of the size's max_connections for 5 minutes:
   * warning. Percent, 1 to 100. @default 80 (seed 004 gives "> 400" for max_connections
   * 500: 80 %)
   */
  readonly connectionsPercent?: number;
  /** Replica replay lag above this for 3 minutes: warning. Seconds, ≥ 1. @default 30 (seed 004: "ReplicaLag > 30 seconds") */
  readonly replicaLagSeconds?: number;
  /** Data volume used above this for 5 minutes: warning. Percent, 1 to 100. @default 80 */
  readonly dataDiskUsedPercent?: number;
  /**
   * Newest full backup older than this: critical. Hours, ≥ 1. @default 26 (daily full
   * backup, seed 004 "Daily", plus 2 hours for its duration)
   */
  readonly backupMaxAgeHours?: number;
}

/** {@link MonitoringThresholds} with every default applied. */
export type ResolvedMonitoringThresholds = Required<MonitoringThresholds>;

/** The defaults (seed 004). */
export const DEFAULT_MONITORING_THRESHOLDS: ResolvedMonitoringThresholds = {
  cpuWarningPercent: 80,
  cpuCriticalPercent: 95,
  availableMemoryMiB: 1024,
  connectionsPercent: 80,
  replicaLagSeconds: 30,
  dataDiskUsedPercent: 80,
  backupMaxAgeHours: 26,
};

const THRESHOLD_RANGES: Record<keyof MonitoringThresholds, [number, number]> = {
  cpuWarningPercent: [1, 100],
  cpuCriticalPercent: [1, 100],
  availableMemoryMiB: [1, 1024 * 1024],
  connectionsPercent: [1, 100],
  replicaLagSeconds: [1, 86400],
  dataDiskUsedPercent: [1, 100],
  backupMaxAgeHours: [1, 24 * 365],
};

/**
 * Applies the defaults and checks the ranges.
 * @throws Error naming the field, the value and the range, e.g.
 *   "`monitoring.thresholds.cpuWarningPercent` must be a number from 1 to 100. Got 120"
 */
export function resolveMonitoringThresholds(t: MonitoringThresholds = {}): ResolvedMonitoringThresholds {
  const out: Record<string, number> = { ...DEFAULT_MONITORING_THRESHOLDS };
  for (const [key, [min, max]] of Object.entries(THRESHOLD_RANGES)) {
    const v = (t as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      throw new Error(`\`monitoring.thresholds.${key}\` must be a number from ${min} to ${max}. Got ${JSON.stringify(v)}`);
    }
    out[key] = v;
  }
  return out as ResolvedMonitoringThresholds;
}

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
 * - `cpu-warning` cpu_usage_active > 80 %, 5 of 5 one-minute periods (seed 004);
 * - `cpu-critical` > 95 %, 2 of 2 one-minute periods (seed 004);
 * - `memory-critical` mem_available < 1 GiB, 5 of 5 minutes (seed 004);
 * - `connections-warning` mp_connections_used > 80 % of the size's max_connections
 *   (seed 000's table), 5 of 5 minutes (seed 004);
 * - `replica-lag-warning` mp_replication_lag_seconds > 30, 3 of 3 minutes (seed 004);
 *   distributed only (a standalone cluster has no replica);
 * - `data-disk-warning` disk_used_percent (/data) > 80, one 5-minute period;
 * - `backup-age-critical` mp_backup_last_full_age_seconds > 26 h, one 1-hour period,
 *   missing data breaching;
 * - `wal-archive-critical` mp_wal_archive_failing > 0 in any of 5 one-minute periods.
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
      source: "seed 004: CPUUtilization > 80% for 5 min, Warning",
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
      source: "seed 004: CPUUtilization > 95% for 2 min, Critical",
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
      source: "seed 004: FreeableMemory < 1 GB, Critical",
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
      source: "seed 004: DatabaseConnections > 400 (80% of 500), Warning; max_connections from seed 000",
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
      source: "seed 004: ReplicaLag > 30 seconds, Warning",
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
      source: "brief (issue 6): data disk > 80% used",
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
      source: "seed 004: daily backups (\"Automated Backups: Daily\"); 24 h + 2 h for the backup's own duration",
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
      source: "brief (issue 6): WAL archive failures > 0, critical; seed 004 RPO 5 minutes",
    },
  ];
  // A standalone cluster has no replica: its lag is always 0.
  return spec.deployment === "standalone" ? alarms.filter((a) => a.key !== "replica-lag-warning") : alarms;
}

// ---------------------------------------------------------------------------------------
// Dashboard

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
 * age of the newest full backup, PgBouncer waiting clients per pool. Tokens in `region`
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
  return JSON.stringify({ widgets });
}
