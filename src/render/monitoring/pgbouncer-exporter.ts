/** How the PgBouncer exporter of each pool runs (the units are rendered by src/render/systemd.ts). */
import { PGBOUNCER_EXPORTER_PORTS } from "../../cluster-spec/ports";

/**
 * Metrics port of each PgBouncer pool's exporter (127.0.0.1): rw 9127, ro 9128.
 * The same object as `PGBOUNCER_EXPORTER_PORTS` (src/cluster-spec/ports.ts), its one definition.
 */
export const PGBOUNCER_EXPORTER_PORT = PGBOUNCER_EXPORTER_PORTS;

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
