/** Where the monitoring files live on an instance. */

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
  /**
   * Embedded-metric-format lines of the node's jobs (data-version check, maintenance, backup
   * verification), shipped by the CloudWatch agent to `/managed-postgres/<cluster>/metrics`,
   * where CloudWatch Logs extracts the metrics.
   */
  eventsLog: "/var/log/managed-postgres/events.log",
  /** Patroni's log directory (`PATRONI_LOG_DIR`): `patroni.log`. */
  patroniLogDir: "/var/log/patroni",
} as const;
