/**
 * The PgBouncer metric the dashboard reads (`pgbouncer_waiting_clients`), from the exporter
 * the nodes run (Debian's prometheus-pgbouncer-exporter through PGBOUNCER_EXPORTER_COMMAND), against a real PgBouncer and
 * PostgreSQL on loopback: it exists per pool and counts a client waiting for a server
 * connection.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { METRICS } from "../../src/monitoring";
import { PGBOUNCER_EXPORTER_COMMAND } from "../../src/render/monitoring";
import { bash, freePort, samples } from "./helpers";
import { requirePrerequisites } from "../support/prerequisites";

const BIN = "/usr/lib/postgresql/15/bin";

/** $1 stage, $2 PostgreSQL port, $3 PgBouncer port, $4 exporter port. */
const SCRIPT = String.raw`
set -euo pipefail
STAGE=$1; PGP=$2; PBP=$3; EXP=$4; BIN=${BIN}
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
printf '"postgres" ""\n"stats" ""\n' > "$STAGE/userlist.txt"
printf '%s\n' \
  "[databases]" \
  "app = host=$STAGE/sock port=$PGP dbname=postgres" \
  "[pgbouncer]" \
  "listen_addr = 127.0.0.1" \
  "listen_port = $PBP" \
  "unix_socket_dir = $STAGE/sock" \
  "auth_type = trust" \
  "auth_file = $STAGE/userlist.txt" \
  "stats_users = stats" \
  "pool_mode = session" \
  "default_pool_size = 1" \
  "logfile = $STAGE/pgbouncer.log" \
  "pidfile = $STAGE/pgbouncer.pid" > "$STAGE/pgbouncer.ini"
chown postgres "$STAGE/userlist.txt" "$STAGE/pgbouncer.ini"
as_pg /usr/sbin/pgbouncer -d "$STAGE/pgbouncer.ini" >/dev/null 2>&1
for i in $(seq 1 50); do [ -S "$STAGE/sock/.s.PGSQL.$PBP" ] && break; sleep 0.1; done
# As the nodes run it: the pool's socket directory, the stats user, loopback only.
${PGBOUNCER_EXPORTER_COMMAND} --host 127.0.0.1 --port "$EXP" --pgbouncer-host "$STAGE/sock" --pgbouncer-port "$PBP" --pgbouncer-user stats >"$STAGE/exporter.log" 2>&1 &
PIDS+=($!)
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$EXP/metrics"; }
for i in $(seq 1 50); do scrape >/dev/null 2>&1 && break; sleep 0.2; done
# One client holds the only server connection of the pool; a second one waits for it.
as_pg psql -X -q -h 127.0.0.1 -p "$PBP" -U postgres -d app -c "SELECT pg_sleep(4)" >"$STAGE/client1.log" 2>&1 &
PIDS+=($!)
sleep 0.7
as_pg psql -X -q -h 127.0.0.1 -p "$PBP" -U postgres -d app -c "SELECT 1" >"$STAGE/client2.log" 2>&1 &
PIDS+=($!)
sleep 0.7
echo "==== waiting"; scrape || { echo "SCRAPE FAILED" >&2; exit 7; }
echo "==== end"
`;

describe("PgBouncer exporter", () => {
  // Runs PostgreSQL as the postgres user (runuser): root and the Debian packages, or a loud failure.
  beforeAll(() => requirePrerequisites({ files: ["/usr/sbin/pgbouncer", "/usr/bin/prometheus-pgbouncer-exporter", `${BIN}/initdb`], root: true }));
  let scrape = "";
  let stage = "";

  beforeAll(async () => {
    stage = fs.mkdtempSync(path.join(os.tmpdir(), "h6-pbexp-"));
    const ports = [await freePort(), await freePort(), await freePort()];
    const r = bash(SCRIPT, [stage, ...ports.map(String)], 60_000);
    if (!r.stdout.includes("==== end")) {
      const logs = fs
        .readdirSync(stage)
        .filter((f) => f.endsWith(".log"))
        .map((f) => `--- ${f}\n${fs.readFileSync(path.join(stage, f), "utf8").slice(-2000)}`);
      throw new Error(`pgbouncer exporter script failed (status ${r.status}):\n${r.stderr}\n${logs.join("\n")}`);
    }
    scrape = r.stdout.split("==== waiting\n")[1].split("==== end")[0];
  }, 90_000);

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
