/**
 * The PgBouncer metrics the alarms and the dashboard read (`pgbouncer_waiting_clients`,
 * `pgbouncer_active_clients`), from the exporter command the nodes' units run
 * (`pgbouncerExporterExecStart`) against a real PgBouncer and PostgreSQL on loopback, on both
 * node images' exporters: Debian 12's Python exporter (the host's package) and Debian 13's Go
 * exporter (the binary of the node root, scripts/build-node-root.sh), whose metric names the
 * rendered CloudWatch agent scrape configuration renames. Each counts a client waiting for the
 * pool's only server connection, and the one holding it; the password comes from PGPASSFILE in
 * the bootstrap's format.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { METRICS } from "../../src/monitoring";
import { PGBOUNCER_EXPORTER_BINARY, pgbouncerExporterExecStart } from "../../src/render/monitoring";
import { prometheusConfig } from "../../src/render/monitoring/prometheus";
import { nodeRoot } from "../twin/machine";
import { bash, freePort, samples } from "./helpers";
import { requirePrerequisites } from "../support/prerequisites";

const BIN = "/usr/lib/postgresql/15/bin";

/** $1 stage, $2 PostgreSQL port, $3 PgBouncer port, $4 exporter port, $5 the exporter's command line (a unit's ExecStart). */
const SCRIPT = String.raw`
set -euo pipefail
STAGE=$1; PGP=$2; PBP=$3; EXP=$4; EXEC=$5; BIN=${BIN}
PIDS=()
cleanup() {
  for p in "$${"{"}PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$STAGE/pgbouncer.pid" ] && kill "$(cat "$STAGE/pgbouncer.pid")" 2>/dev/null || true
  runuser -u postgres -- "$BIN/pg_ctl" -D "$STAGE/data" -m immediate stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
chown postgres:postgres "$STAGE"; chmod 0700 "$STAGE"
as_pg() { runuser -u postgres -- "$@"; }
as_pg mkdir -p "$STAGE/sock"
as_pg "$BIN/initdb" -D "$STAGE/data" -A trust -U postgres >/dev/null
as_pg "$BIN/pg_ctl" -D "$STAGE/data" -w -t 30 -l "$STAGE/pg.log" -o "-c listen_addresses='' -c unix_socket_directories=$STAGE/sock -p $PGP" start >/dev/null
printf '"postgres" "app-pw"\n"stats" "stats-pw"\n' > "$STAGE/userlist.txt"
# the exporter's password file as the bootstrap writes it (write_pgbouncer_secret_files)
printf '*:*:pgbouncer:stats:stats-pw\n' > "$STAGE/exporter.pgpass"; chmod 0600 "$STAGE/exporter.pgpass"
printf '%s\n' \
  "[databases]" \
  "app = host=$STAGE/sock port=$PGP dbname=postgres" \
  "[pgbouncer]" \
  "listen_addr = 127.0.0.1" \
  "listen_port = $PBP" \
  "unix_socket_dir = $STAGE/sock" \
  "auth_type = plain" \
  "auth_file = $STAGE/userlist.txt" \
  "stats_users = stats" \
  "pool_mode = session" \
  "ignore_startup_parameters = extra_float_digits" \
  "default_pool_size = 1" \
  "logfile = $STAGE/pgbouncer.log" \
  "pidfile = $STAGE/pgbouncer.pid" > "$STAGE/pgbouncer.ini"
chown postgres "$STAGE/userlist.txt" "$STAGE/pgbouncer.ini"
as_pg /usr/sbin/pgbouncer -d "$STAGE/pgbouncer.ini" >/dev/null 2>&1
for i in $(seq 1 50); do [ -S "$STAGE/sock/.s.PGSQL.$PBP" ] && break; sleep 0.1; done
# As the nodes' unit runs it: the pool's socket directory, the stats user, loopback only.
PGPASSFILE="$STAGE/exporter.pgpass" bash -c "$EXEC" >"$STAGE/exporter.log" 2>&1 &
PIDS+=($!)
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$EXP/metrics"; }
for i in $(seq 1 50); do scrape >/dev/null 2>&1 && break; sleep 0.2; done
# One client holds the only server connection of the pool; a second one waits for it.
PGPASSWORD=app-pw as_pg psql -X -q -h 127.0.0.1 -p "$PBP" -U postgres -d app -c "SELECT pg_sleep(4)" >"$STAGE/client1.log" 2>&1 &
PIDS+=($!)
sleep 0.7
PGPASSWORD=app-pw as_pg psql -X -q -h 127.0.0.1 -p "$PBP" -U postgres -d app -c "SELECT 1" >"$STAGE/client2.log" 2>&1 &
PIDS+=($!)
sleep 0.7
echo "==== waiting"; scrape || { echo "SCRAPE FAILED" >&2; exit 7; }
echo "==== end"
`;

/** The exposition as the CloudWatch agent keeps it: the rendered scrape configuration's metric renames applied. */
function relabelled(exposition: string): string {
  const config = parse(prometheusConfig({ cluster: "orders", slot: "pooler", streamPrefix: "pooler", database: false, pools: ["rw"] })) as {
    scrape_configs: { job_name: string; metric_relabel_configs?: { source_labels: string[]; regex: string; target_label: string; replacement: string }[] }[];
  };
  const rules = config.scrape_configs.find((j) => j.job_name === "pgbouncer")!.metric_relabel_configs ?? [];
  return exposition
    .split("\n")
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/.exec(line);
      if (!m || line.startsWith("#")) return line;
      const rule = rules.find((r) => r.source_labels.join() === "__name__" && r.target_label === "__name__" && new RegExp(`^(?:${r.regex})$`).test(m[1]));
      return rule ? rule.replacement + m[2] : line;
    })
    .join("\n");
}

describe.each([
  ["Debian 12 (the host's Python exporter 1.7)", () => PGBOUNCER_EXPORTER_BINARY],
  ["Debian 13 (the node root's Go exporter 0.10.2)", () => path.join(nodeRoot(), PGBOUNCER_EXPORTER_BINARY)],
])("PgBouncer exporter, %s, run by the unit's command", (_image, binary) => {
  // Runs PostgreSQL as the postgres user (runuser): root and the Debian packages, or a loud failure.
  beforeAll(() => requirePrerequisites({ files: ["/usr/sbin/pgbouncer", PGBOUNCER_EXPORTER_BINARY, `${BIN}/initdb`], root: true }));
  let scrape = "";
  let stage = "";

  beforeAll(async () => {
    stage = fs.mkdtempSync(path.join(os.tmpdir(), "h6-pbexp-"));
    const ports = [await freePort(), await freePort(), await freePort()];
    const exec = pgbouncerExporterExecStart({
      listenPort: ports[2],
      socketDirectory: path.join(stage, "sock"),
      pgbouncerPort: ports[1],
      user: "stats",
      pidFile: path.join(stage, "pgbouncer.pid"),
    }).split(PGBOUNCER_EXPORTER_BINARY).join(binary());
    const r = bash(SCRIPT, [stage, ...ports.map(String), exec], 60_000);
    if (!r.stdout.includes("==== end")) {
      const logs = fs
        .readdirSync(stage)
        .filter((f) => f.endsWith(".log"))
        .map((f) => `--- ${f}\n${fs.readFileSync(path.join(stage, f), "utf8").slice(-2000)}`);
      throw new Error(`pgbouncer exporter script failed (status ${r.status}):\n${r.stderr}\n${logs.join("\n")}`);
    }
    scrape = relabelled(r.stdout.split("==== waiting\n")[1].split("==== end")[0]);
  }, 600_000);

  afterAll(() => {
    if (stage) fs.rmSync(stage, { recursive: true, force: true });
  });

  const app = (metric: string) => samples(scrape, metric).find((s) => s.labels === '{database="app",user="postgres"}');

  test("exposes pgbouncer_waiting_clients per database and user", () => {
    expect(app(METRICS.poolerWaitingClients)).toBeDefined();
  });

  test("counts a client waiting for the pool's only server connection", () => {
    expect(app(METRICS.poolerWaitingClients)?.value).toBe(1);
  });

  test("counts the client holding the connection as active", () => {
    expect(app(METRICS.poolerActiveClients)?.value).toBe(1);
  });
});
