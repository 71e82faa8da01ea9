/** systemd units and drop-ins of the monitoring setup. */
import type { RenderedFile } from "../types";
import { MONITORING_PATHS } from "./paths";

/** A unit file: 0644, root. */
export function unit(path: string, content: string): RenderedFile {
  return { path, content, mode: "0644", owner: "root:root" };
}

/** Where the units and drop-ins go. */
export const SYSTEMD = "/etc/systemd/system";
/** First line of every unit the monitoring setup renders. */
export const HEADER = "# Rendered by cdktf-managed-postgres (monitoring); do not edit on the node.";

/** The agent's control script (the `amazon-cloudwatch-agent` package; an image requirement). */
export const CLOUDWATCH_AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl";

/** The unit that loads the rendered configuration into the agent and starts it. */
export const CLOUDWATCH_AGENT_UNIT = "managed-postgres-cloudwatch-agent.service";

/**
 * `managed-postgres-cloudwatch-agent.service` (oneshot: loads `MONITORING_PATHS.agentConfig`
 * into the agent and starts it, only where the agent is installed) and a drop-in by which
 * `hostUnit` wants it.
 */
export function agentUnits(hostUnit: string, cluster: string): RenderedFile[] {
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
 * The units of a database node besides the agent's: `managed-postgres-backup-status.service`
 * (oneshot, postgres, `StateDirectory=managed-postgres/monitoring`) and `.timer`
 * (OnBootSec=5min, OnUnitActiveSec=15min); drop-ins: `prometheus-postgres-exporter.service.d`
 * sets `PG_EXPORTER_EXTEND_QUERY_PATH`, `patroni.service.d` sets `PATRONI_LOG_DIR`
 * (`LogsDirectory=patroni`) and wants the backup status timer.
 */
export function databaseNodeUnits(name: string): RenderedFile[] {
  return [
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
  ];
}
