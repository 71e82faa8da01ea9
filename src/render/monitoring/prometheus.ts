/** The Prometheus scrape configuration of the CloudWatch agent (YAML). */
import { PORTS, PGBOUNCER_EXPORTER_PORTS } from "../../cluster-spec/ports";
import { DIMENSIONS } from "../../monitoring/metrics";
import type { AgentTarget } from "./targets";
import { GO_EXPORTER_METRIC_RENAMES } from "./pgbouncer-exporter";

/**
 * The scrape configuration of one target: postgres_exporter on a database node, each pool's
 * PgBouncer exporter (the Go exporter's metric names renamed to the ones the alarms read:
 * GO_EXPORTER_METRIC_RENAMES).
 */
export function prometheusConfig(t: AgentTarget): string {
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
      lines.push(`      - targets: ["127.0.0.1:${PGBOUNCER_EXPORTER_PORTS[pool]}"]`, "        labels:", ...labels({ [DIMENSIONS.pool]: pool }));
    }
    lines.push("    metric_relabel_configs:");
    for (const [from, to] of Object.entries(GO_EXPORTER_METRIC_RENAMES)) {
      lines.push("      - source_labels: [__name__]", `        regex: ${from}`, "        target_label: __name__", `        replacement: ${to}`);
    }
  }
  return lines.join("\n") + "\n";
}
