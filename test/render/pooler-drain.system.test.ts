/**
 * The PgBouncer tier's roll, measured (issue 12: "the pooler tier rolls too, without dropping
 * clients that are idle or between transactions"; target "0 failed connections for clients
 * that retry once").
 *
 * What happens to a pooler instance in a roll (constructs/aws/pooler.ts, docs/operations.md):
 * the instance refresh deregisters it from the NLB's target groups, waits the 30 s
 * deregistration delay (the NLB sends no new connection to it, existing flows keep going:
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-target-groups.html#deregistration-delay),
 * then terminates it; at the shutdown systemd stops `pgbouncer@rw` with the rendered unit's
 * `KillSignal=SIGINT` (src/render/systemd.ts). PgBouncer 1.23+ (the nodes run Debian 13's
 * 1.24.1) takes SIGINT as `SHUTDOWN WAIT_FOR_SERVERS`: it stops listening, lets every client
 * that holds a server connection finish its transaction, disconnects a client without one when
 * it sends its next query, and exits once every server connection is released
 * (pgbouncer/pgbouncer#902).
 *
 * Faithful: PostgreSQL 17 and two PgBouncer 1.24.1 ("A", the instance leaving, and "B", the
 * load balancer's other target) from the Debian 13 node root (an overlay, never written), each
 * PgBouncer in its own root with the rendered read-write pool file of a distributed cluster's
 * pooler (`renderPgBouncerConfig(pooler(), "rw")`: SCRAM through `auth_query`, TLS 1.3 both
 * ways with a throw-away CA), clients over TLS with psycopg2 (the node root's), in a network
 * namespace the sandbox creates.
 * Stand-ins: both instances share one namespace, so each listens on its own address instead
 * of 0.0.0.0 (the only line changed); PostgreSQL listens on 127.0.0.1:15432, where the
 * rendered file expects the instance's HAProxy read-write frontend (a TCP proxy to the
 * primary: a connection to it is a connection to the primary); the NLB is not modelled: every
 * client starts on A, as if connected before A was deregistered, and every new connection
 * after a failure goes to B, as the NLB does once A is deregistered.
 *
 * The load: 20 clients with persistent connections, each committing short write transactions
 * in a loop (insert a row with a unique key, update a counter, commit): 5 "slow" clients
 * sleep 1 s between the two statements (caught inside a transaction when the signal comes),
 * 13 "fast" ones think 5–40 ms between transactions, 2 "idle" ones 1.5 s. A client retries a
 * transaction ONCE, on a new connection to B, only when the connection failed on its first
 * statement (nothing of it reached PostgreSQL or it was rolled back with the connection);
 * a connection lost after the first statement and before COMMIT was sent is a failed
 * transaction (the pooler dropped a client inside a transaction), one lost after COMMIT was
 * sent an "unknown outcome", checked against the table. Every loop is bounded in count and
 * time.
 *
 * Scenarios, in one sandbox: transaction mode + the unit's KillSignal, SIGINT (must lose
 * nothing); transaction mode + SIGQUIT (immediate shutdown: the negative control, must show
 * in-flight transactions failed); transaction mode + SIGTERM (`SHUTDOWN WAIT_FOR_CLIENTS`, the
 * alternative) and session mode + SIGINT: A waits for its clients to disconnect, which
 * persistent clients never do; after 3 s, standing for systemd's TimeoutStopSec (the unit sets
 * none: DefaultTimeoutStopSec, 90 s), the driver sends SIGKILL, as systemd would.
 */
import { PATHS, PGBOUNCER_AUTH_SQL, pgbouncerConfigPath, renderPgBouncerConfig, renderPoolerSystemdUnits } from "../../src/render";
import { pooler } from "./fixtures";
import { debugDump, reported, runSandbox } from "./sandbox";
import { nodeRoot } from "../twin/machine";
import { requirePrerequisites } from "../support/prerequisites";

const A = "10.10.0.11";
const B = "10.10.0.12";
const APP_PASSWORD = "app-pw-drain-1";
const AUTH_PASSWORD = "auth-pw-drain-1";

/** The clients (argv: scenario signal pid-of-A kill-after-s; prints `<scenario>_<name>: <value>` lines). */
const DRIVER = String.raw`
import os, random, signal, sys, threading, time
import psycopg2
scenario, signame, pid_a, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

def crashed(kind, value, tb):
    # an uncaught exception is reported on stdout too, where the test shows it first
    import traceback
    for line in traceback.format_exception(kind, value, tb)[-3:]:
        print("%s_crash: %s" % (scenario, line.strip().replace("\n", " | ")), flush=True)
    sys.__excepthook__(kind, value, tb)
sys.excepthook = crashed
A, B = "${A}", "${B}"
KINDS = ["slow"] * 5 + ["fast"] * 13 + ["idle"] * 2
HARD_DEADLINE = time.time() + 25          # no client runs longer than this
MAX_TX = 3000                             # per client
stop = threading.Event()
lock = threading.Lock()
records = []

def now():
    return time.time()

def connect(host):
    return psycopg2.connect(host=host, port=6432, dbname="orders", user="app", password="${APP_PASSWORD}",
                            sslmode="require", connect_timeout=3)

def connection_error(e):
    return isinstance(e, (psycopg2.OperationalError, psycopg2.InterfaceError))

class Client(threading.Thread):
    def __init__(self, cid, kind):
        super().__init__(daemon=True)
        self.cid, self.kind, self.stage, self.first_ok, self.conn, self.via = cid, kind, "idle", None, None, None

    def reconnect_b(self):
        try:
            if self.conn is not None: self.conn.close()
        except Exception:
            pass
        self.conn, self.via = None, None
        try:
            self.conn, self.via = connect(B), "B"
        except psycopg2.Error:
            pass

    def once(self, rec):
        """One try of the transaction: returns the stage at which it failed, or None."""
        stage = "first"
        self.stage, self.first_ok = "first", None
        try:
            if self.conn is None: raise psycopg2.InterfaceError("no connection")
            cur = self.conn.cursor()
            cur.execute("INSERT INTO drain_tx (key, client, via) VALUES (%s, %s, %s)", (rec["key"], self.cid, self.via))
            stage, self.stage, self.first_ok = "mid", "mid", now()
            rec["first_ok"] = self.first_ok
            if self.kind == "slow": time.sleep(1.0)
            cur.execute("UPDATE drain_counter SET n = n + 1 WHERE client = %s", (self.cid,))
            stage, self.stage = "commit", "commit"
            rec["commit_sent"] = now()
            self.conn.commit()
            return None, None
        except psycopg2.Error as e:
            return stage, e
        finally:
            self.stage = "idle"

    def run(self):
        try:
            self.conn, self.via = connect(A), "A"
        except psycopg2.Error as e:
            with lock: records.append({"client": self.cid, "kind": self.kind, "outcome": "no-connection", "error": str(e).strip()[:200], "start": now(), "end": now()})
            return
        seq = 0
        while not stop.is_set() and seq < MAX_TX and now() < HARD_DEADLINE:
            seq += 1
            rec = {"key": "%s-%d-%d" % (scenario, self.cid, seq), "client": self.cid, "kind": self.kind, "via": self.via, "start": now(), "retried": False}
            failed_at, err = self.once(rec)
            if failed_at == "first" and connection_error(err):
                # nothing of this transaction is committed: retry it ONCE on a new connection, which
                # the load balancer gives to its other target (A is deregistered)
                rec["first_error"] = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
                rec["retried"] = True
                self.reconnect_b()
                rec["via"] = self.via
                failed_at, err = self.once(rec)
            rec["end"] = now()
            if failed_at is None:
                rec["outcome"] = "ok"
            else:
                rec["outcome"] = "unknown" if failed_at == "commit" else "failed"
                rec["failed_at"] = failed_at
                rec["error"] = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
                if connection_error(err) or (self.conn is not None and self.conn.closed): self.reconnect_b()
                else:
                    try: self.conn.rollback()
                    except psycopg2.Error: self.reconnect_b()
            with lock: records.append(rec)
            if self.kind == "fast": stop.wait(random.uniform(0.005, 0.04))
            elif self.kind == "idle": stop.wait(1.5)
        try:
            if self.conn is not None: self.conn.close()
        except Exception:
            pass

def a_alive():
    # A exits and the script's shell reaps it at any moment: the open fails with ENOENT, or a
    # read of the already-open file with ESRCH (ProcessLookupError); both mean "gone"
    try:
        with open("/proc/%d/stat" % pid_a) as f: return f.read().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False

def out(name, value):
    print("%s_%s: %s" % (scenario, name, value), flush=True)

clients = [Client(i, k) for i, k in enumerate(KINDS)]
t_begin = now()
for c in clients: c.start()
time.sleep(1.5)
# the signal comes while at least 3 slow clients are inside a transaction (first statement done)
for _ in range(300):
    if sum(1 for c in clients if c.kind == "slow" and c.stage == "mid") >= 3: break
    time.sleep(0.01)
caught = sum(1 for c in clients if c.stage == "mid")
t_sig = now()
os.kill(pid_a, getattr(signal, signame))
t_exit, killed = None, False
while now() - t_sig < 15:
    if not a_alive():
        t_exit = now(); break
    if kill_after > 0 and not killed and now() - t_sig >= kill_after:
        # systemd: SIGKILL once TimeoutStopSec has passed
        t_kill = now(); os.kill(pid_a, signal.SIGKILL); killed = True
    time.sleep(0.002)
time.sleep(2.5)                            # load continues on B (longer than the idle clients' 1.5 s)
stop.set()
for c in clients: c.join(timeout=5)
t_end = now()

with lock: recs = list(records)
db = psycopg2.connect(host="127.0.0.1", port=15432, dbname="orders", user="app", password="${APP_PASSWORD}", sslmode="require", connect_timeout=3)
cur = db.cursor()
cur.execute("SELECT key FROM drain_tx WHERE key LIKE %s", (scenario + "-%",))
in_table = set(r[0] for r in cur.fetchall())
db.close()
ok = [r for r in recs if r["outcome"] == "ok"]
failed = [r for r in recs if r["outcome"] in ("failed", "no-connection")]
unknown = [r for r in recs if r["outcome"] == "unknown"]
inflight = [r for r in recs if r.get("via") == "A" and not r["retried"] and r.get("first_ok") and r["first_ok"] < t_sig < r["end"]]
inflight_done = [r for r in inflight if r["outcome"] == "ok" and (t_exit is None or r["end"] <= t_exit)]
gaps = []
for c in clients:
    ends = sorted(r["end"] for r in ok if r["client"] == c.cid)
    gaps += [(b - a, c.kind) for a, b in zip(ends, ends[1:])]
fast_gaps = [g for g, k in gaps if k == "fast"]
out("signal", signame)
out("caught_in_transaction", caught)
out("transactions", len(recs))
out("ok", len(ok))
out("ok_first_try", sum(1 for r in ok if not r["retried"]))
out("retried_ok", sum(1 for r in ok if r["retried"]))
out("failed", len(failed))
out("failed_in_transaction", sum(1 for r in failed if r.get("failed_at") == "mid"))
out("unknown", len(unknown))
out("unknown_committed", sum(1 for r in unknown if r["key"] in in_table))
out("acked_lost", sum(1 for r in ok if r["key"] not in in_table))
out("failed_but_committed", sum(1 for r in failed if r.get("key") in in_table))
out("committed_on_a_after_signal", sum(1 for r in ok if r["via"] == "A" and r["end"] > t_sig))
out("inflight_on_a", len(inflight))
out("inflight_committed_before_exit", len(inflight_done))
out("a_exit_ms", "%.0f" % ((t_exit - t_sig) * 1000) if t_exit else "none")
out("a_killed", "yes" if killed else "no")
out("failed_before_kill", sum(1 for r in failed + unknown if not killed or r["end"] < t_kill))
out("max_gap_ms", "%.0f" % (max(g for g, _ in gaps) * 1000) if gaps else "none")
out("max_gap_fast_ms", "%.0f" % (max(fast_gaps) * 1000) if fast_gaps else "none")
out("max_tx_ms", "%.0f" % (max(r["end"] - r["start"] for r in ok) * 1000) if ok else "none")
out("on_b_at_end", sum(1 for c in clients if c.via == "B"))
out("clients_alive", sum(1 for c in clients if c.is_alive()))
out("load_s", "%.1f" % (t_end - t_begin))
for r in (failed + unknown)[:8]:
    out("problem", "%s %s %s at=%s %s" % (r.get("key"), r["kind"], r["outcome"], r.get("failed_at"), r.get("error")))
for r in [r for r in ok if r["retried"]][:3]:
    out("retry_cause", r.get("first_error"))
`;

/** The signal systemd sends PgBouncer at the instance's shutdown: the rendered pooler unit's KillSignal. */
function unitKillSignal(): string {
  const unit = renderPoolerSystemdUnits(pooler()).find((f) => f.path.endsWith("/pgbouncer@.service"));
  const signal = /^KillSignal=(\S+)$/m.exec(unit?.content ?? "")?.[1];
  if (!signal) throw new Error("the rendered pgbouncer@.service has no KillSignal line");
  return signal;
}
const UNIT_SIGNAL = unitKillSignal();

interface Scenario {
  readonly name: string;
  readonly poolMode: "transaction" | "session";
  readonly signal: string;
  /** Seconds after the signal at which the driver sends SIGKILL (systemd's TimeoutStopSec, scaled down); 0: never. */
  readonly killAfter: number;
}

const SCENARIOS: readonly Scenario[] = [
  { name: "tx_sigint", poolMode: "transaction", signal: UNIT_SIGNAL, killAfter: 0 },
  { name: "tx_sigquit", poolMode: "transaction", signal: "SIGQUIT", killAfter: 0 },
  { name: "tx_sigterm", poolMode: "transaction", signal: "SIGTERM", killAfter: 3 },
  { name: "session_sigint", poolMode: "session", signal: UNIT_SIGNAL, killAfter: 3 },
];

/** The rendered rw pool file of a distributed cluster's pooler, listening on one instance's address. */
function instanceConfig(poolMode: Scenario["poolMode"], address: string): string {
  const rendered = renderPgBouncerConfig(pooler({ pooler: { poolMode } }), "rw");
  if (!rendered.includes("listen_addr = 0.0.0.0\n")) throw new Error("the rendered file no longer has listen_addr = 0.0.0.0");
  return rendered.replace("listen_addr = 0.0.0.0\n", `listen_addr = ${address}\n`);
}

function runDrain() {
  const cfg = pgbouncerConfigPath("rw");
  const userlist = { path: PATHS.pgbouncerUserlist, content: `"pgbouncer_auth" "${AUTH_PASSWORD}"\n`, mode: "0600", owner: "postgres:postgres" };
  const poolerRoot = (address: string) => [
    userlist,
    ...SCENARIOS.map((s) => ({ path: `/opt/drain/${s.name}.ini`, content: instanceConfig(s.poolMode, address), mode: "0640", owner: "postgres:postgres" })),
  ];
  const scenarios = SCENARIOS.map(
    (s) => String.raw`
# --- scenario ${s.name}: ${s.poolMode} mode, A gets ${s.signal}
for i in 0 1; do eval r=\$ROOT$i; cp "$r/opt/drain/${s.name}.ini" "$r${cfg}"; chroot "$r" chown postgres:postgres ${cfg}; done
start_pgb 0 ${A}; PID_A=$STARTED
start_pgb 1 ${B}; PID_B=$STARTED
if [ -z "$PID_A" ] || [ -z "$PID_B" ]; then echo "PGBOUNCER NOT LISTENING (${s.name})" >&2; tail -20 "$ROOT0/var/log/pgbouncer/pgbouncer-rw.log" "$ROOT1/var/log/pgbouncer/pgbouncer-rw.log" "$STAGE"/pgb*.out >&2; exit 1; fi
echo "${s.name}_version: $(chroot "$ROOT0" pgbouncer --version | head -n 1)"
timeout 60 chroot "$ROOT2" python3 /opt/drain/driver.py ${s.name} ${s.signal} $PID_A ${s.killAfter} 2>"$STAGE/driver-${s.name}.err"
echo "${s.name}_driver_rc: $?"
if kill -0 $PID_A 2>/dev/null; then echo "${s.name}_a_left_running: yes"; kill -KILL $PID_A; fi
wait $PID_A; echo "${s.name}_a_status: $?"
kill -INT $PID_B; for n in $(seq 1 100); do kill -0 $PID_B 2>/dev/null || break; sleep 0.05; done
kill -0 $PID_B 2>/dev/null && kill -KILL $PID_B; wait $PID_B
echo "=== ${s.name}: A's log" >&2; grep -v -e 'login attempt' -e 'closing because: client close request' -e 'new connection to server' "$ROOT0/var/log/pgbouncer/pgbouncer-rw.log" | tail -40 >&2
cat "$STAGE/driver-${s.name}.err" >&2
for i in 0 1; do eval r=\$ROOT$i; : > "$r/var/log/pgbouncer/pgbouncer-rw.log"; done
`,
  ).join("");
  const script = String.raw`
set -u
echo "uptime_before: $(uptime)"
# --- PostgreSQL 17 on 127.0.0.1:15432 (where the pooler's HAProxy read-write frontend listens)
chroot "$ROOT2" bash -c 'mkdir -p /data/pg /var/run/postgresql && chown postgres:postgres /data/pg /var/run/postgresql'
chroot --userspec=postgres:postgres "$ROOT2" /usr/lib/postgresql/17/bin/initdb -D /data/pg -A peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null || { echo "initdb failed" >&2; exit 1; }
cat >> "$ROOT2/data/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = 15432
unix_socket_directories = '/var/run/postgresql'
max_connections = 120
ssl = on
ssl_cert_file = '${PATHS.serverCert}'
ssl_key_file = '${PATHS.serverKey}'
EOF
printf 'local all all peer\nhostssl all all 127.0.0.1/32 scram-sha-256\n' > "$ROOT2/data/pg/pg_hba.conf"
chroot --userspec=postgres:postgres "$ROOT2" /usr/lib/postgresql/17/bin/pg_ctl -D /data/pg -l /tmp/pg.log -w start >/dev/null || { echo "PostgreSQL did not start" >&2; cat "$ROOT2/tmp/pg.log" >&2; exit 1; }
psql() { chroot --userspec=postgres:postgres "$ROOT2" env HOME=/var/lib/postgresql psql -X -q -At -v ON_ERROR_STOP=1 -h /var/run/postgresql -p 15432 "$@"; }
psql -d postgres <<'EOF' || { echo "database setup failed" >&2; exit 1; }
CREATE ROLE pgbouncer_auth LOGIN PASSWORD '${AUTH_PASSWORD}';
CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD}';
CREATE DATABASE orders OWNER app;
EOF
psql -d orders < "$ROOT2/opt/drain/auth.sql" >/dev/null || { echo "auth function failed" >&2; exit 1; }
psql -d orders <<'EOF' || { echo "tables failed" >&2; exit 1; }
SET ROLE app;
CREATE TABLE drain_tx (key text PRIMARY KEY, client int NOT NULL, via text, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE drain_counter (client int PRIMARY KEY, n bigint NOT NULL);
INSERT INTO drain_counter SELECT g, 0 FROM generate_series(0, 19) g;
EOF

# Starts PgBouncer as postgres in root $1 on the rendered file; STARTED = its PID once it
# accepts TCP on $2:6432 (≤ 10 s), empty otherwise.
start_pgb() {
  local r; eval r=\$ROOT$1
  chroot "$r" install -d -o postgres -g postgres /run/pgbouncer-rw /var/log/pgbouncer
  chroot --userspec=postgres:postgres "$r" pgbouncer ${cfg} >> "$STAGE/pgb$1.out" 2>&1 &
  local pid=$! n
  STARTED=""
  for n in $(seq 1 50); do
    kill -0 $pid 2>/dev/null || return 0
    if (exec 3<>/dev/tcp/$2/6432) 2>/dev/null; then STARTED=$pid; return 0; fi
    sleep 0.2
  done
}
${scenarios}
echo "uptime_after: $(uptime)"
chroot --userspec=postgres:postgres "$ROOT2" /usr/lib/postgresql/17/bin/pg_ctl -D /data/pg -m fast stop >/dev/null 2>&1
`;
  return runSandbox({
    addresses: [A, B],
    tls: true,
    lowerRoot: nodeRoot("trixie"),
    roots: [
      poolerRoot(A),
      poolerRoot(B),
      [
        { path: "/opt/drain/driver.py", content: DRIVER },
        { path: "/opt/drain/auth.sql", content: PGBOUNCER_AUTH_SQL },
      ],
    ],
    script,
    timeoutSec: 100,
  });
}

describe("the PgBouncer tier's roll: PgBouncer 1.24 (Debian 13) with the rendered pool file, under write load", () => {
  test("SIGINT (the unit's KillSignal) drains A with no failed transaction for clients that retry once; SIGQUIT loses in-flight ones; SIGTERM and session mode wait for the clients until SIGKILL", () => {
    requirePrerequisites({ root: true, commands: ["chroot", "unshare", "ip", "openssl"] });
    // what the scenarios named *_sigint send is what the rendered unit sends
    expect(UNIT_SIGNAL).toBe("SIGINT");
    const r = runDrain();
    debugDump("pooler-drain", r);
    const one = (name: string) => reported(r.stdout, name)[0] ?? "(missing)";
    const num = (name: string) => Number(one(name));

    const rows = [
      "caught_in_transaction",
      "transactions",
      "ok_first_try",
      "retried_ok",
      "failed",
      "failed_in_transaction",
      "unknown",
      "unknown_committed",
      "acked_lost",
      "inflight_on_a",
      "inflight_committed_before_exit",
      "committed_on_a_after_signal",
      "a_exit_ms",
      "a_killed",
      "max_gap_ms",
      "max_gap_fast_ms",
      "max_tx_ms",
      "on_b_at_end",
    ];
    console.table(Object.fromEntries(rows.map((row) => [row, Object.fromEntries(SCENARIOS.map((s) => [s.name, one(`${s.name}_${row}`)]))])));
    console.log(
      [one("uptime_before"), one("uptime_after"), ...SCENARIOS.flatMap((s) => reported(r.stdout, `${s.name}_problem`).map((p) => `${s.name} problem: ${p}`))].join("\n"),
    );

    // a run that did not get through every scenario fails here with the script's stderr
    expect({ status: r.status, stderr: r.stderr.slice(-6000), uptimeAfter: one("uptime_after") }).toEqual({ status: 0, stderr: expect.anything(), uptimeAfter: expect.stringMatching(/load average/) });
    for (const s of SCENARIOS) {
      expect(one(`${s.name}_version`)).toMatch(/^PgBouncer 1\.24\./);
      // an uncaught exception in the driver, named first (its traceback's last lines)
      expect({ scenario: s.name, crash: reported(r.stdout, `${s.name}_crash`) }).toEqual({ scenario: s.name, crash: [] });
      // on a failure, the script's stderr (it holds each driver's own stderr) says why the driver exited
      expect({ scenario: s.name, driverRc: one(`${s.name}_driver_rc`), stderr: r.stderr.slice(-8000) }).toEqual({ scenario: s.name, driverRc: "0", stderr: expect.anything() });
      expect(one(`${s.name}_clients_alive`)).toBe("0");
      expect(reported(r.stdout, `${s.name}_a_left_running`)).toEqual([]);
      expect(num(`${s.name}_caught_in_transaction`)).toBeGreaterThanOrEqual(3);
      // no acknowledged commit is ever lost, no failed transaction committed
      expect(one(`${s.name}_acked_lost`)).toBe("0");
      expect(one(`${s.name}_failed_but_committed`)).toBe("0");
    }

    // SIGINT, transaction mode (the rendered unit): nothing failed after the one retry, every
    // transaction in flight on A committed before A exited, every client ended on B
    expect(one("tx_sigint_failed")).toBe("0");
    expect(one("tx_sigint_unknown")).toBe("0");
    expect(num("tx_sigint_inflight_on_a")).toBeGreaterThanOrEqual(3);
    expect(one("tx_sigint_inflight_committed_before_exit")).toBe(one("tx_sigint_inflight_on_a"));
    expect(one("tx_sigint_a_killed")).toBe("no");
    expect(num("tx_sigint_a_exit_ms")).toBeLessThan(5000);
    expect(num("tx_sigint_retried_ok")).toBeGreaterThan(0);
    expect(one("tx_sigint_on_b_at_end")).toBe("20");
    // a client between transactions loses only its reconnection to B (TLS + SCRAM through B)
    expect(num("tx_sigint_max_gap_fast_ms")).toBeLessThan(3000);
    expect(one("tx_sigint_a_status")).toBe("0");

    // the negative control: an immediate shutdown drops the clients inside a transaction
    expect(num("tx_sigquit_failed_in_transaction")).toBeGreaterThanOrEqual(3);
    expect(num("tx_sigquit_inflight_committed_before_exit")).toBeLessThan(num("tx_sigquit_inflight_on_a"));

    // SIGTERM (SHUTDOWN WAIT_FOR_CLIENTS), the alternative: A keeps serving its connected
    // clients and never exits on its own, so the stop ends with systemd's SIGKILL
    expect(one("tx_sigterm_a_killed")).toBe("yes");
    expect(one("tx_sigterm_failed_before_kill")).toBe("0");
    expect(num("tx_sigterm_committed_on_a_after_signal")).toBeGreaterThan(100);

    // session mode: SIGINT does not end A while its clients stay connected (they keep
    // committing through it, nothing fails), so the stop ends with systemd's SIGKILL
    expect(one("session_sigint_a_killed")).toBe("yes");
    expect(one("session_sigint_failed_before_kill")).toBe("0");
    expect(num("session_sigint_committed_on_a_after_signal")).toBeGreaterThan(100);
    expect(r.status).toBe(0);
  });
});
