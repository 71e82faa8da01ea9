/** How the PgBouncer exporter of each pool runs (the units are rendered by src/render/systemd.ts). */
import { PGBOUNCER_EXPORTER_PORTS } from "../../cluster-spec/ports";
import { METRICS } from "../../monitoring/metrics";

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

/** Where Debian's `prometheus-pgbouncer-exporter` package puts the exporter (Debian 12: a Python script; Debian 13: the Go binary). */
export const PGBOUNCER_EXPORTER_BINARY = "/usr/bin/prometheus-pgbouncer-exporter";

/**
 * The metric names of the Go exporter (prometheus-community/pgbouncer_exporter, Debian 13's
 * `prometheus-pgbouncer-exporter` 0.10.2) that carry what the alarms and the dashboard read
 * under the Python exporter's names (Debian 12's 1.7): the CloudWatch agent renames them when
 * it scrapes (`metric_relabel_configs`, src/render/monitoring/prometheus.ts), so one metric
 * name serves both node images. Both come from `SHOW POOLS` (`cl_waiting`, `cl_active`), with
 * the labels `database` and `user` in both exporters (test/monitoring/pgbouncer-exporter.system.test.ts).
 */
export const GO_EXPORTER_METRIC_RENAMES: Readonly<Record<string, string>> = {
  pgbouncer_pools_client_waiting_connections: METRICS.poolerWaitingClients,
  pgbouncer_pools_client_active_connections: METRICS.poolerActiveClients,
};

/** What one pool's exporter connects to and where it listens. */
export interface PgBouncerExporterTarget {
  /** Loopback port of the metrics endpoint. */
  readonly listenPort: number;
  /** PgBouncer's Unix socket directory. */
  readonly socketDirectory: string;
  readonly pgbouncerPort: number;
  /** A `stats_users` role; its password comes from the unit's PGPASSFILE. */
  readonly user: string;
  readonly pidFile: string;
}

/**
 * The `ExecStart` of a pool's exporter on either node image: `/bin/sh -c` that looks at
 * {@link PGBOUNCER_EXPORTER_BINARY} and runs the Go exporter when it is an ELF binary (Debian
 * 13: flags `--web.listen-address`, `--pgBouncer.connectionString` in libpq key=value form,
 * the password read from PGPASSFILE by lib/pq) and the Python one otherwise (Debian 12,
 * through {@link PGBOUNCER_EXPORTER_COMMAND}). Found by the EC2 twin booting the Debian 13
 * image: the Python-only command restarted every 10 s and the waiting-clients alarm had no
 * data. Holds no `$` or `%` (systemd would expand them) and is valid for systemd and for `sh`.
 */
export function pgbouncerExporterExecStart(t: PgBouncerExporterTarget): string {
  const go =
    `exec ${PGBOUNCER_EXPORTER_BINARY} --web.listen-address=127.0.0.1:${t.listenPort} --pgBouncer.pid-file=${t.pidFile} ` +
    `"--pgBouncer.connectionString=host=${t.socketDirectory} port=${t.pgbouncerPort} user=${t.user} dbname=pgbouncer sslmode=disable"`;
  const python = `exec ${PGBOUNCER_EXPORTER_COMMAND} --host 127.0.0.1 --port ${t.listenPort} --pgbouncer-host ${t.socketDirectory} --pgbouncer-port ${t.pgbouncerPort} --pgbouncer-user ${t.user}`;
  const text = `/bin/sh -c 'if head -c 4 ${PGBOUNCER_EXPORTER_BINARY} | grep -q ELF; then ${go}; else ${python}; fi'`;
  if (/[$%]/.test(text)) throw new Error(`pgbouncerExporterExecStart: the command holds $ or %, which systemd expands: ${text}`);
  return text;
}
