/**
 * Blue's PgBouncer follows the upgrade's cutover to green (issue 15: "blue's poolers send the
 * read-write and read-only endpoints' traffic to green, so clients change nothing"), for real:
 * the rendered agent `managed-postgres-upgrade-redirect` (src/render/upgrade-redirect.ts,
 * scripts/upgrade-redirect.sh) and the rendered pool files of a blue cluster with
 * `upgradeTo.readWriteEndpoint`, under a client that keeps ONE connection to blue's PgBouncer
 * and writes every 25 ms.
 *
 * Faithful: blue is the Debian 12 node root (the image of PostgreSQL 15 clusters: PostgreSQL 15,
 * PgBouncer 1.18, psql, curl, jq), its PgBouncer on the rendered read-write pool file of a
 * standalone blue and the rendered upgrade pool file, the agent rendered for that node, run as
 * postgres as its unit runs it; green is the Debian 13 node root (PostgreSQL 17, PgBouncer 1.24)
 * with its own CA, its PgBouncer on the rendered pool file of a standalone green (green's
 * read-write endpoint). TLS everywhere (blue's CA on blue, green's on green); SCRAM through
 * `auth_query` on both sides.
 * Stand-ins: both roots share one network namespace, so each PgBouncer listens on its host's
 * address instead of 0.0.0.0, and green's PgBouncer reaches green's PostgreSQL on green's
 * address instead of 127.0.0.1 (blue's PostgreSQL has 127.0.0.1); blue's Patroni REST API is a
 * small HTTPS server answering `GET /config` from a JSON file (Patroni serves GET /config without
 * authentication: patroni/api.py do_GET_config has no check_access, 3.0.2 and 4.0.7); the test
 * writes that file as green's cutover PATCHes it (node-upgrade.sh `blue_poolers`, whose bodies the
 * upgrade system test checks), makes blue read-only itself, and gives green the role
 * `mp_upgrade_pooler_auth` and the application role with blue's SCRAM secrets as green's follow
 * does (`pooler_auth_role`, `copy_roles`). No data is replicated: each write lands on one side.
 *
 * Phases: (A) pause, then the key removed (the cutover abandoned): the pool resumes on blue;
 * (B) pause and nothing more: the agent gives the attempt up after `pauseMaxSeconds` (4 s here)
 * and resumes on blue; (C) pause, blue read-only, then redirect: the pool moves to green. The
 * client sees no error in any phase (a query sent while paused waits), every acknowledged write
 * is on the side that acknowledged it, the writes after the redirect are on green.
 */
import { PATHS, PGBOUNCER_AUTH_SQL, pgbouncerConfigPath, renderPgBouncerConfig } from "../../src/render";
import { UPGRADE_POOLER_AUTH_ROLE, UPGRADE_REDIRECT_SCRIPT, UPGRADE_TARGET_CA, renderUpgradeRedirectFiles, upgradePoolConfigPath } from "../../src/render/upgrade-redirect";
import { standaloneNode } from "./fixtures";
import { debugDump, reported, runSandbox } from "./sandbox";
import { nodeRoot } from "../twin/machine";
import { requirePrerequisites } from "../support/prerequisites";

const BLUE = "10.10.0.11";
const GREEN = "10.10.0.21";
const APP_PASSWORD = "app-pw-redirect-1";
const BLUE_AUTH_PASSWORD = "blue-auth-pw-1";
const GREEN_AUTH_PASSWORD = "green-auth-pw-2";
const PAUSE_MAX_SECONDS = 4;

/** A fake Patroni REST API: argv = address cert key config-file; GET /config answers the file. */
const FAKE_REST = String.raw`
import ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
addr, cert, key, path = sys.argv[1:5]
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path != "/config":
            self.send_response(404); self.end_headers(); return
        body = open(path, "rb").read()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
srv = ThreadingHTTPServer((addr, 8008), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
`;

function listenOn(ini: string, address: string): string {
  if (!ini.includes("listen_addr = 0.0.0.0\n")) throw new Error("the rendered file no longer has listen_addr = 0.0.0.0");
  return ini.replace("listen_addr = 0.0.0.0\n", `listen_addr = ${address}\n`);
}

describe("blue's PgBouncer follows the upgrade's cutover (upgradeTo.readWriteEndpoint): PgBouncer 1.18 (Debian 12) → green's PgBouncer 1.24 (Debian 13)", () => {
  test("pause then abandon, pause then give up, pause then redirect: one client connection, no error, every write on the side that acknowledged it, the last ones on green", () => {
    requirePrerequisites({ root: true, commands: ["chroot", "unshare", "ip", "openssl"] });
    const blue = standaloneNode({ name: "shop-blue", majorVersion: 15, upgradeTo: { nodeAddresses: [GREEN], readWriteEndpoint: GREEN, readWritePort: 6432 } }, [BLUE]);
    const green = standaloneNode({ name: "shop-green", majorVersion: 17 }, [GREEN]);
    const files = renderUpgradeRedirectFiles(blue);
    expect(files.map((f) => f.path)).toEqual([UPGRADE_REDIRECT_SCRIPT, upgradePoolConfigPath("rw")]);
    const agent = files[0]!.content.replace(/^readonly PAUSE_MAX_SECONDS=.*$/m, `readonly PAUSE_MAX_SECONDS=${PAUSE_MAX_SECONDS}`);
    expect(agent).toContain(`readonly PAUSE_MAX_SECONDS=${PAUSE_MAX_SECONDS}\n`);
    const upgradeIni = files[1]!.content;
    expect(upgradeIni).toContain(`* = host=${GREEN} port=6432 auth_user=${UPGRADE_POOLER_AUTH_ROLE}\n`);
    expect(upgradeIni).toContain(`server_tls_ca_file = ${UPGRADE_TARGET_CA}\n`);
    const blueIni = renderPgBouncerConfig(blue, "rw");
    const greenIni = renderPgBouncerConfig(green, "rw");
    if (!greenIni.includes("* = host=127.0.0.1 port=5432\n")) throw new Error("green's rendered pool file no longer forwards to 127.0.0.1:5432");
    const cfg = pgbouncerConfigPath("rw");
    const trixie = nodeRoot("trixie");

    const script = String.raw`
set -u
T="$STAGE/tls"; R="$ROOT0"
# start_pg ROOT MAJOR LISTEN: PostgreSQL MAJOR of ROOT in /data/pg on LISTEN:5432, with the root's
# certificate and key; SCRAM over TLS from any address, peer on the socket
start_pg() {
  local r=$1 v=$2 listen=$3
  chroot "$r" bash -c 'mkdir -p /data/pg /var/run/postgresql && chown postgres:postgres /data/pg /var/run/postgresql'
  chroot --userspec=postgres:postgres "$r" /usr/lib/postgresql/$v/bin/initdb -D /data/pg -A peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null || { echo "initdb of PostgreSQL $v failed" >&2; exit 1; }
  printf "listen_addresses = '%s'\nport = 5432\nunix_socket_directories = '/var/run/postgresql'\nssl = on\nssl_cert_file = '${PATHS.serverCert}'\nssl_key_file = '${PATHS.serverKey}'\n" "$listen" >> "$r/data/pg/postgresql.conf"
  printf 'local all all peer\nhostssl all all 0.0.0.0/0 scram-sha-256\n' > "$r/data/pg/pg_hba.conf"
  chroot --userspec=postgres:postgres "$r" /usr/lib/postgresql/$v/bin/pg_ctl -D /data/pg -l /tmp/pg.log -w start >/dev/null || { echo "PostgreSQL $v did not start" >&2; cat "$r/tmp/pg.log" >&2; exit 1; }
}
# root_psql ROOT ARGS…: psql as postgres over ROOT's socket
root_psql() { local r=$1; shift; chroot --userspec=postgres:postgres "$r" env HOME=/var/lib/postgresql psql -X -q -At -v ON_ERROR_STOP=1 -h /var/run/postgresql "$@"; }
blue_psql() { root_psql "$R" "$@"; }
# --- blue: PostgreSQL 15 of the Debian 12 root, on 127.0.0.1 (its PgBouncer's upstream) and its address
chroot "$R" bash -c 'mkdir -p /var/lib/managed-postgres-upgrade-redirect && chown postgres:postgres /var/lib/managed-postgres-upgrade-redirect && chmod 0750 /var/lib/managed-postgres-upgrade-redirect'
start_pg "$R" 15 "127.0.0.1,${BLUE}"
blue_psql -d postgres <<'EOF' >/dev/null || { echo "blue setup failed" >&2; exit 1; }
CREATE ROLE pgbouncer_auth LOGIN PASSWORD '${BLUE_AUTH_PASSWORD}';
CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD}';
CREATE DATABASE shop OWNER app;
EOF
blue_psql -d shop < "$R/opt/redirect/auth.sql" >/dev/null || { echo "blue auth function failed" >&2; exit 1; }
blue_psql -d shop -c "SET ROLE app; CREATE TABLE pw (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())" >/dev/null
APP_SECRET=$(blue_psql -d postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")
AUTH_SECRET=$(blue_psql -d postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'pgbouncer_auth'")

# --- green: an overlay of the Debian 13 node root (never written), its own CA
G="$STAGE/green"; mkdir -p "$G/u" "$G/w" "$G/r"; GR="$G/r"
mount -t overlay overlay -o lowerdir=${trixie},upperdir="$G/u",workdir="$G/w" "$GR"
mount --rbind /proc "$GR/proc"; mount --rbind /dev "$GR/dev"; mount -t tmpfs tmpfs "$GR/run"; mount -t tmpfs tmpfs "$GR/tmp"
GT="$STAGE/green-tls"; mkdir -p "$GT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=green-ca" -keyout "$GT/ca.key" -out "$GT/ca.crt" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=shop-green-0" -keyout "$GT/server.key" -out "$GT/server.csr" 2>/dev/null
printf 'subjectAltName=IP:${GREEN},DNS:${GREEN}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' > "$GT/ext"
openssl x509 -req -in "$GT/server.csr" -CA "$GT/ca.crt" -CAkey "$GT/ca.key" -CAcreateserial -days 2 -extfile "$GT/ext" -out "$GT/server.crt" 2>/dev/null
mkdir -p "$GR$(dirname ${PATHS.caCert})" "$GR/etc/pgbouncer"
cp "$GT/ca.crt" "$GR${PATHS.caCert}"; cp "$GT/server.crt" "$GR${PATHS.serverCert}"; cp "$GT/server.key" "$GR${PATHS.serverKey}"
chroot "$GR" chown postgres:postgres ${PATHS.serverCert} ${PATHS.serverKey}; chmod 0600 "$GR${PATHS.serverKey}"
green_psql() { root_psql "$GR" "$@"; }
start_pg "$GR" 17 "${GREEN}"
# green's own auth role; the application role and mp_upgrade_pooler_auth with blue's secrets (green's follow copies them)
green_psql -d postgres <<EOF >/dev/null || { echo "green setup failed" >&2; exit 1; }
CREATE ROLE pgbouncer_auth LOGIN PASSWORD '${GREEN_AUTH_PASSWORD}';
CREATE ROLE app LOGIN PASSWORD '$APP_SECRET';
CREATE ROLE ${UPGRADE_POOLER_AUTH_ROLE} LOGIN PASSWORD '$AUTH_SECRET';
GRANT pgbouncer_auth TO ${UPGRADE_POOLER_AUTH_ROLE};
CREATE DATABASE shop OWNER app;
EOF
cp "$R/opt/redirect/auth.sql" "$GR/tmp/auth.sql"; chmod 0644 "$GR/tmp/auth.sql"
green_psql -d shop -f /tmp/auth.sql >/dev/null || { echo "green auth function failed" >&2; exit 1; }
green_psql -d shop -c "SET ROLE app; CREATE TABLE pw (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())" >/dev/null

# --- the PgBouncers: blue's (1.18, the rendered file of blue) and green's (1.24, green's endpoint)
cp "$R/opt/redirect/green.ini" "$GR${cfg}"; printf '"pgbouncer_auth" "${GREEN_AUTH_PASSWORD}"\n' > "$GR${PATHS.pgbouncerUserlist}"
chroot "$GR" chown postgres:postgres ${cfg} ${PATHS.pgbouncerUserlist}; chmod 0600 "$GR${PATHS.pgbouncerUserlist}"
PGB_PIDS=""
start_pgb() {
  local r=$1 addr=$2 n
  chroot "$r" install -d -o postgres -g postgres /run/pgbouncer-rw /var/log/pgbouncer
  chroot --userspec=postgres:postgres "$r" pgbouncer ${cfg} >> "$STAGE/pgb-$addr.out" 2>&1 &
  PGB_PIDS="$PGB_PIDS $!"
  for n in $(seq 1 50); do (exec 3<>/dev/tcp/$addr/6432) 2>/dev/null && return 0; sleep 0.2; done
  echo "PgBouncer on $addr did not start" >&2; tail -20 "$STAGE/pgb-$addr.out" "$r/var/log/pgbouncer/pgbouncer-rw.log" >&2; exit 1
}
start_pgb "$GR" ${GREEN}
start_pgb "$R" ${BLUE}
echo "blue_pgbouncer: $(chroot "$R" pgbouncer --version | head -n 1)"
echo "green_pgbouncer: $(chroot "$GR" pgbouncer --version | head -n 1)"

# --- blue's Patroni REST stand-in (GET /config) and the agent
echo '{"loop_wait":10,"ttl":30}' > "$R/tmp/dcs.json"
chroot "$R" python3 /opt/redirect/rest.py ${BLUE} ${PATHS.serverCert} ${PATHS.serverKey} /tmp/dcs.json > /dev/null 2> "$STAGE/rest.err" &
REST=$!
for n in $(seq 1 50); do (exec 3<>/dev/tcp/${BLUE}/8008) 2>/dev/null && break; sleep 0.1; done
chroot "$R" chmod 0755 ${UPGRADE_REDIRECT_SCRIPT}
chroot --userspec=postgres:postgres "$R" ${UPGRADE_REDIRECT_SCRIPT} > /dev/null 2> "$STAGE/agent.log" &
AGENT=$!

echo "blue_login: $(chroot --userspec=postgres:postgres "$R" env PGPASSWORD=${APP_PASSWORD} PGCONNECT_TIMEOUT=5 timeout 10 psql -X -At "host=${BLUE} port=6432 dbname=shop user=app sslmode=verify-ca sslrootcert=${PATHS.caCert}" -c "SELECT host(inet_server_addr())" 2>&1 | tr '\n' ' ')"
# --- the client: ONE connection to blue's PgBouncer, a write every 25 ms or so for 17 s (1,600 at most);
# the loop also plays green's cutover (blue's configuration file, blue read-only) at fixed writes
CLIENT="host=${BLUE} port=6432 dbname=shop user=app sslmode=verify-ca sslrootcert=${PATHS.caCert}"
t0=$(date +%s%3N)
dcs() { echo "$1" > "$R/tmp/dcs.json"; echo "phase_at: $(( $(date +%s%3N) - t0 )) $2" >> "$STAGE/phases"; }
(
  i=0; phase=0
  while [ "$i" -lt 1600 ] && [ "$phase" -lt 7 ]; do
    i=$((i + 1))
    printf "INSERT INTO pw (id) VALUES (%d) RETURNING id || ' ' || host(inet_server_addr()) || ' ' || (extract(epoch FROM clock_timestamp()) * 1000)::bigint;\n" "$i"
    e=$(( $(date +%s%3N) - t0 ))
    # the phases at fixed times (ms since the first write): A 2000-3500, B from 5000 (the agent gives up 4 s later), C 12000-14000 (blue read-only from 13000 once the agent paused), the end at 17000
    # blue read-only only once the agent has paused a third time (C), as green's cutover waits for
    # blue's PgBouncers to hold no server connection: the agent reads once a second until then
    if [ "$phase" = 4 ] && [ "$e" -ge 13000 ] && [ "$(grep -c 'pool rw paused' "$STAGE/agent.log")" -ge 3 ]; then
      blue_psql -d postgres -c "ALTER SYSTEM SET default_transaction_read_only = on" -c "SELECT pg_reload_conf()" >/dev/null; echo "phase_at: $(( $(date +%s%3N) - t0 )) C-blue-read-only" >> "$STAGE/phases"; phase=5
    fi
    case "$phase:$((e >= 2000)):$((e >= 3500)):$((e >= 5000)):$((e >= 12000)):$((e >= 13000)):$((e >= 14000)):$((e >= 17000))" in
      0:1:*) dcs '{"loop_wait":10,"managed_postgres_upgrade":{"state":"pause","green":"shop-green","since_ms":1}}' "A-pause"; phase=1 ;;
      1:1:1:*) dcs '{"loop_wait":10}' "A-abandon"; phase=2 ;;
      2:1:1:1:*) dcs '{"loop_wait":10,"managed_postgres_upgrade":{"state":"pause","green":"shop-green","since_ms":2}}' "B-pause"; phase=3 ;;
      3:1:1:1:1:*) dcs '{"loop_wait":10,"managed_postgres_upgrade":{"state":"pause","green":"shop-green","since_ms":3}}' "C-pause"; phase=4 ;;
      5:1:1:1:1:1:1:*) dcs "$(jq -n -c --rawfile ca "$GT/ca.crt" '{loop_wait: 10, managed_postgres_upgrade: {state: "redirect", green: "shop-green", since_ms: 3, ca_pem: $ca}}')" "C-redirect"; phase=6 ;;
      6:1:1:1:1:1:1:1) phase=7 ;;
    esac
    sleep 0.025
  done
  echo "$i" > "$STAGE/sent"
) | chroot --userspec=postgres:postgres "$R" env HOME=/var/lib/postgresql PGPASSWORD=${APP_PASSWORD} timeout 60 psql -X -q -At -v ON_ERROR_STOP=0 "$CLIENT" > "$STAGE/acks" 2> "$STAGE/writer.err"
echo "writer_rc: $?"
cat "$STAGE/phases"
echo "sent: $(cat "$STAGE/sent")"
echo "acked: $(wc -l < "$STAGE/acks")"
echo "acked_blue: $(grep -c ' 127.0.0.1 ' "$STAGE/acks")"
echo "acked_green: $(grep -c ' ${GREEN} ' "$STAGE/acks")"
echo "last_acked: $(tail -n 1 "$STAGE/acks" | cut -d' ' -f1)"
# the last write acknowledged by blue comes before the first acknowledged by green, and no write of blue comes after
echo "order_ok: $(awk '{ if ($2 == "${GREEN}") g = 1; else if (g) bad = 1 } END { print bad ? "no" : "yes" }' "$STAGE/acks")"
echo "max_gap_ms: $(awk 'NR > 1 { d = $3 - p; if (d > m) m = d } { p = $3 } END { print m + 0 }' "$STAGE/acks")"
# the cutover's gap: blue's last acknowledgement → green's first
echo "cutover_gap_ms: $(awk '$2 == "${GREEN}" && !g { print $3 - p; g = 1 } { p = $3 }' "$STAGE/acks")"
awk 'NR > 1 { d = $3 - p; if (d > 1000) print "gap: " $1 " " d } { p = $3 }' "$STAGE/acks"
echo "writer_errors: $(grep -c . "$STAGE/writer.err")"
head -5 "$STAGE/writer.err" | sed 's/^/writer_error: /'
# every acknowledged write is on the side that acknowledged it
blue_ids=$(blue_psql -d shop -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM pw")
green_ids=$(green_psql -d shop -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM pw")
echo "blue_rows_match: $([ "$blue_ids" = "$(awk '$2 == "127.0.0.1" { print $1 }' "$STAGE/acks" | sort -n | paste -sd' ')" ] && echo yes || echo no)"
echo "green_rows_match: $([ "$green_ids" = "$(awk '$2 == "${GREEN}" { print $1 }' "$STAGE/acks" | sort -n | paste -sd' ')" ] && echo yes || echo no)"
# a new client login after the redirect: auth_query at green as ${UPGRADE_POOLER_AUTH_ROLE}
echo "new_login_server: $(chroot --userspec=postgres:postgres "$R" env HOME=/var/lib/postgresql PGPASSWORD=${APP_PASSWORD} PGCONNECT_TIMEOUT=5 timeout 10 psql -X -At "$CLIENT" -c "SELECT host(inet_server_addr())" 2>&1)"
echo "live_is_upgrade: $(cmp -s "$R${cfg}" "$R${upgradePoolConfigPath("rw")}" && echo yes || echo no)"
echo "userlist_roles: $(cut -d'"' -f2 "$R${PATHS.pgbouncerUserlist}" | paste -sd' ')"
echo "target_ca_is_green: $(cmp -s "$R${UPGRADE_TARGET_CA}" "$GT/ca.crt" && echo yes || echo no)"
# a restarted agent finds the pools on green and leaves them there
kill $AGENT; wait $AGENT 2>/dev/null
run_agent() { chroot --userspec=postgres:postgres "$R" timeout "$1" ${UPGRADE_REDIRECT_SCRIPT} > /dev/null 2> "$STAGE/$2.log"; echo "$2_rc: $?"; }
run_agent 3 agent2
echo "restart_login_server: $(chroot --userspec=postgres:postgres "$R" env HOME=/var/lib/postgresql PGPASSWORD=${APP_PASSWORD} PGCONNECT_TIMEOUT=5 timeout 10 psql -X -At "$CLIENT" -c "SELECT host(inet_server_addr())" 2>&1)"
# a reboot: the bootstrap writes the userlist again (pgbouncer_auth only); the agent adds the role back
REDIRECT_DCS=$(cat "$R/tmp/dcs.json")
printf '"pgbouncer_auth" "${BLUE_AUTH_PASSWORD}"\n' > "$R${PATHS.pgbouncerUserlist}"
run_agent 3 agent3
echo "reboot_userlist_roles: $(cut -d'"' -f2 "$R${PATHS.pgbouncerUserlist}" | paste -sd' ')"
echo "reboot_login_server: $(chroot --userspec=postgres:postgres "$R" env HOME=/var/lib/postgresql PGPASSWORD=${APP_PASSWORD} PGCONNECT_TIMEOUT=5 timeout 10 psql -X -At "$CLIENT" -c "SELECT host(inet_server_addr())" 2>&1)"
# an agent killed while its pools are paused, the key then removed (the cutover called off): the
# next agent RESUMEs them
echo '{"loop_wait":10,"managed_postgres_upgrade":{"state":"pause","green":"shop-green","since_ms":4}}' > "$R/tmp/dcs.json"
chroot --userspec=postgres:postgres "$R" ${UPGRADE_REDIRECT_SCRIPT} > /dev/null 2> "$STAGE/agent4.log" &
AGENT=$!
for n in $(seq 1 50); do grep -q 'pool rw paused' "$STAGE/agent4.log" && break; sleep 0.1; done
kill -9 $AGENT; wait $AGENT 2>/dev/null
echo "killed_paused_write: $(chroot --userspec=postgres:postgres "$R" env HOME=/var/lib/postgresql PGPASSWORD=${APP_PASSWORD} PGCONNECT_TIMEOUT=5 timeout 3 psql -X -At "$CLIENT" -c "SELECT 1" >/dev/null 2>&1; echo $?)"
echo '{"loop_wait":10}' > "$R/tmp/dcs.json"
run_agent 3 agent5
echo "resumed_write: $(chroot --userspec=postgres:postgres "$R" env HOME=/var/lib/postgresql PGPASSWORD=${APP_PASSWORD} PGCONNECT_TIMEOUT=5 timeout 10 psql -X -At "$CLIENT" -c "SELECT host(inet_server_addr())" 2>&1)"
# blue's configuration with a key that is not an object, and a green name carrying a newline: no crash, one log line
echo '{"loop_wait":10,"managed_postgres_upgrade":"pause"}' > "$R/tmp/dcs.json"
run_agent 2 agent6
printf '%s' '{"loop_wait":10,"managed_postgres_upgrade":{"state":"pause","green":"x\nforged line","since_ms":5}}' > "$R/tmp/dcs.json"
run_agent 2 agent7
echo "$REDIRECT_DCS" > "$R/tmp/dcs.json"
for a in agent agent2 agent3 agent4 agent5 agent6 agent7; do sed "s/^[^ ]* managed-postgres-upgrade-redirect: /$a: /" "$STAGE/$a.log"; done
echo "=== blue's PgBouncer log" >&2; grep -v -e 'login attempt' -e 'closing because: client close request' -e 'new connection to server' -e 'SSL established' "$R/var/log/pgbouncer/pgbouncer-rw.log" | tail -40 >&2
cat "$STAGE/writer.err" "$STAGE/rest.err" >&2
# stop what this script started, by PID
kill $REST $PGB_PIDS 2>/dev/null; wait $REST $PGB_PIDS 2>/dev/null
chroot --userspec=postgres:postgres "$R" /usr/lib/postgresql/15/bin/pg_ctl -D /data/pg -m fast stop >/dev/null 2>&1
chroot --userspec=postgres:postgres "$GR" /usr/lib/postgresql/17/bin/pg_ctl -D /data/pg -m fast stop >/dev/null 2>&1
umount -l "$GR/proc" "$GR/dev" "$GR/run" "$GR/tmp" "$GR" 2>/dev/null
echo "done: yes"
`;
    const r = runSandbox({
      addresses: [BLUE, GREEN],
      tls: true,
      lowerRoot: nodeRoot("bookworm"),
      roots: [
        [
          { path: cfg, content: listenOn(blueIni, BLUE), mode: "0640", owner: "postgres:postgres" },
          { path: upgradePoolConfigPath("rw"), content: listenOn(upgradeIni, BLUE), mode: "0640", owner: "postgres:postgres" },
          { path: PATHS.pgbouncerUserlist, content: `"pgbouncer_auth" "${BLUE_AUTH_PASSWORD}"\n`, mode: "0600", owner: "postgres:postgres" },
          { path: UPGRADE_REDIRECT_SCRIPT, content: agent, mode: "0755" },
          { path: "/opt/redirect/rest.py", content: FAKE_REST },
          { path: "/opt/redirect/auth.sql", content: PGBOUNCER_AUTH_SQL },
          { path: "/opt/redirect/green.ini", content: listenOn(greenIni, GREEN).replace("* = host=127.0.0.1 port=5432\n", `* = host=${GREEN} port=5432\n`) },
        ],
      ],
      script,
      timeoutSec: 150,
    });
    debugDump("upgrade-redirect", r);
    const one = (name: string) => reported(r.stdout, name)[0] ?? "(missing)";
    console.log(
      [
        ...reported(r.stdout, "phase_at").map((p) => `phase at ${p} ms`),
        ...["acked", "acked_blue", "acked_green", "max_gap_ms", "cutover_gap_ms", "writer_errors"].map((k) => `${k}: ${one(k)}`),
        ...reported(r.stdout, "gap").map((g) => `gap (id ms): ${g}`),
        ...reported(r.stdout, "agent"),
      ].join("\n"),
    );
    // a run that did not get through fails here with the script's stderr
    expect({ done: one("done"), stderr: r.stderr.slice(-6000) }).toEqual({ done: "yes", stderr: expect.anything() });
    expect(one("blue_pgbouncer")).toMatch(/^PgBouncer 1\.18\./);
    expect(one("green_pgbouncer")).toMatch(/^PgBouncer 1\.24\./);
    // the client: one connection for the whole run, no error, every write acknowledged
    expect({ errors: one("writer_errors"), lines: reported(r.stdout, "writer_error") }).toEqual({ errors: "0", lines: [] });
    expect(one("writer_rc")).toBe("0");
    expect(one("acked")).toBe(one("sent"));
    expect(one("last_acked")).toBe(one("sent"));
    // blue until the redirect, green after; each write on the side that acknowledged it
    expect(Number(one("acked_blue"))).toBeGreaterThan(100);
    expect(reported(r.stdout, "phase_at").map((p) => p.split(" ")[1])).toEqual(["A-pause", "A-abandon", "B-pause", "C-pause", "C-blue-read-only", "C-redirect"]);
    expect(Number(one("acked_green"))).toBeGreaterThan(0);
    expect(one("order_ok")).toBe("yes");
    expect(one("blue_rows_match")).toBe("yes");
    expect(one("green_rows_match")).toBe("yes");
    // the agent: phases A and B resumed on blue, C moved the pool to green
    const agentLog = reported(r.stdout, "agent").join("\n");
    expect(agentLog).toMatch(/pool rw resumed \(the cutover was called off\)/);
    expect(agentLog).toMatch(new RegExp(`no redirect ${PAUSE_MAX_SECONDS} s after the pause: giving up this cutover attempt`));
    expect(agentLog).toMatch(/pool rw resumed \(cutover attempt given up\)/);
    expect(agentLog).toMatch(/the pools \(rw\) of shop-blue point at green in \d+ ms/);
    expect(one("live_is_upgrade")).toBe("yes");
    expect(one("userlist_roles")).toBe(`pgbouncer_auth ${UPGRADE_POOLER_AUTH_ROLE}`);
    expect(one("target_ca_is_green")).toBe("yes");
    expect(one("new_login_server")).toBe(GREEN);
    // restarted, the agent finds the pools on green and leaves them there (timeout ends it: 124)
    expect(one("agent2_rc")).toBe("124");
    expect(reported(r.stdout, "agent2").join("\n")).toMatch(/the pools \(rw\) of shop-blue point at green in \d+ ms/);
    expect(one("restart_login_server")).toBe(GREEN);
    // after a reboot (the userlist written again by the bootstrap) the role is back and logins reach green
    expect(one("agent3_rc")).toBe("124");
    expect(one("reboot_userlist_roles")).toBe(`pgbouncer_auth ${UPGRADE_POOLER_AUTH_ROLE}`);
    expect(one("reboot_login_server")).toBe(GREEN);
    // killed while paused: the pools stay paused (a query waits: timeout 124); the next agent, no key, RESUMEs
    expect(reported(r.stdout, "agent4").join("\n")).toMatch(/pool rw paused in \d+ ms/);
    expect(one("killed_paused_write")).toBe("124");
    expect(one("agent5_rc")).toBe("124");
    expect(reported(r.stdout, "agent5").join("\n")).toMatch(/pool rw resumed \(the cutover was called off\)/);
    expect(one("resumed_write")).toBe(GREEN);
    // odd values in blue's configuration: the agent keeps running (124: the timeout ended it), the name is one line
    expect([one("agent6_rc"), one("agent7_rc")]).toEqual(["124", "124"]);
    expect(reported(r.stdout, "agent7")).toContain("cutover to x?nforged?line begins: pausing the pools");
    // the client waited at most through a pause: phase B's (until the agent gave up) is the longest
    expect(Number(one("max_gap_ms"))).toBeLessThan(PAUSE_MAX_SECONDS * 1000 + 3000);
    // phase C: blue's last acknowledgement → green's first, the pause until the redirect (about 1–2 s
    // of the test's own pacing plus up to a second of polling): within the 5 s
    expect(Number(one("cutover_gap_ms"))).toBeGreaterThan(0);
    expect(Number(one("cutover_gap_ms"))).toBeLessThan(5000);
    expect(r.status).toBe(0);
  });
});
