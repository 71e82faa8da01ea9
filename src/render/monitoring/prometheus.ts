/** The Prometheus scrape configuration of the CloudWatch agent (YAML). */
import { PORTS, PGBOUNCER_EXPORTER_PORTS } from "../../cluster-spec/ports";
import { DIMENSIONS } from "../../monitoring/metrics";
import type { AgentTarget } from "./targets";

/** The scrape configuration of one target: postgres_exporter on a database node, each pool's PgBouncer exporter. */
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
  }
  return lines.join("\n") + "\n";
}
