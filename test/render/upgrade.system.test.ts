/**
 * The node side of `upgradeFrom` (issue 15), for real: the rendered `managed-postgres-upgrade`
 * (src/render/upgrade.ts, scripts/node-upgrade.sh) moves a PostgreSQL 15 "blue" cluster's roles,
 * schema and rows into a PostgreSQL 17 "green" one through logical replication, under a
 * concurrent writer, then cuts over.
 *
 * Faithful: blue is this machine's PostgreSQL 15 (/usr/lib/postgresql/15), green the Debian 13
 * node root's PostgreSQL 17 (an overlay of scripts/build-node-root.sh's root, never written),
 * each on its own address in a render sandbox (own network and mount namespace); TLS with a
 * throw-away CA (blue's secret carries it, as a cluster secret carries its CA); the script runs
 * chrooted in green's root as root, with the root's psql/pg_dump/pg_dumpall 17, curl and jq.
 * Stand-ins: `aws` is a fake printing blue's secret JSON; blue's and green's Patroni REST APIs
 * are a small HTTPS server (Python) answering `GET /primary` (200), `GET /cluster` (the primary
 * alone: no standby whose copy of a slot the script would wait for) and `GET`/`PATCH /config`
 * (basic auth on PATCH), recording each PATCH body and doing what Patroni would do with it at
 * once: create or drop the permanent logical slots, `ALTER SYSTEM` + reload for
 * `default_transaction_read_only`. Blue's pg_hba admits green's address for the superuser over
 * TLS (every address of the sandbox shares one network namespace, so the test's own rule admits
 * the whole subnet; renderPgHba's upgradeTo rule is unit-tested). No etcd, no failover on blue or
 * green (the live test's part). Between the two follow runs blue "fails over": its only server
 * has a second address, whose REST stand-in then answers `GET /primary` with 200 (the first's
 * with 503), and the second run points every subscription there; it also starts without the
 * node's local state, as a replaced node would. Blue's wal_level, max_replication_slots and
 * max_wal_senders are the renderer's (renderPostgresParameters, the settings the preflight checks):
 * blue starts with those of a cluster without upgradeTo (wal_level replica: the preflight names it,
 * with the table) and restarts with those of the same cluster with upgradeTo (logical), as its
 * roll would. Green starts with 3 logical replication workers (fewer than blue's 3 databases plus
 * one: the preflight names it) and restarts with the rendered number of a cluster with upgradeFrom.
 * A first cutover, with shop's subscription disabled and a 2 s catch-up
 * bound, must give blue its writes back and drop nothing (the writer pauses meanwhile). The
 * cutover that works dies once after the redirect (blue's REST stand-in refuses, once, the PATCH
 * that removes the permanent slots): the next run must finish it and never make blue writable. A column
 * added on blue during the follow (DDL is not replicated) is named, and refuses a cutover, until
 * green has it too. A table stranded by a failover on blue during its initial copy (state f, its
 * table-sync slot gone with the former primary) is copied again, though another table references
 * it through a foreign key (ON DELETE CASCADE), whose rows stay as they were. A table whose
 * table-sync worker finishes during that run (PostgreSQL sets its state to s, drops its slot on
 * blue, then commits: the run reads state f and finds no slot) is left as it is, not copied again:
 * crm.segments in state f with an open transaction holding its update to s, committed once the
 * run's reset waits for it.
 *
 * The writer (bash, host psql) commits a transaction to blue every few milliseconds (insert,
 * update, insert into a table without a primary key); once blue refuses writes it waits for the
 * cutover's done marker (standing in for the pooler redirection, not built) and writes to green.
 * The write gap it saw is printed, not asserted (a 2-core machine shared by other runs).
 */
import { spec as clusterSpec, standaloneNode } from "./fixtures";
import { PGBOUNCER_AUTH_SQL } from "../../src/render/sql";
import { debugDump, reported, runSandbox } from "./sandbox";
import { PATHS, renderPostgresParameters, renderUpgradeScript, UPGRADE_POOLER_AUTH_ROLE, UPGRADE_SCRIPT, type UpgradeSource } from "../../src/render";
import { nodeRoot } from "../twin/machine";
import { requirePrerequisites } from "../support/prerequisites";

const BLUE = "10.10.0.11";
/** A second address of blue's only server, standing for blue's replica that a failover promotes. */
const BLUE2 = "10.10.0.12";
const GREEN = "10.10.0.21";
const STATE = "/var/lib/managed-postgres/upgrade";
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:blue-abc";
const BLUE_SECRET = { superuser_password: "blue-su-pw-1f2e", restapi_password: "blueRestPw0123", replication_password: "blue-repl-pw" };

/** A fake Patroni REST API: argv = address cert key state-dir blue-socket-dir rest-password. */
const FAKE_PATRONI = String.raw`
import base64, json, os, ssl, subprocess, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
addr, cert, key, state, sock, pw = sys.argv[1:7]
cfg_path = os.path.join(state, "config.json")
def load():
    return json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
def merge(a, b):
    for k, v in b.items():
        if v is None: a.pop(k, None)
        elif isinstance(v, dict) and isinstance(a.get(k), dict): merge(a[k], v)
        else: a[k] = v
    return a
def sql(db, q):
    subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-h", sock, "-d", db, "-c", q], check=True, stdout=subprocess.DEVNULL)
def apply(cfg):
    # what Patroni does on blue's primary: permanent logical slots, parameters (reload)
    slots = cfg.get("slots", {})
    out = subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/psql", "-X", "-At", "-h", sock, "-d", "postgres", "-c",
                          "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical'"], capture_output=True, text=True, check=True).stdout.split()
    for name, s in slots.items():
        if name not in out: sql(s["database"], "SELECT pg_create_logical_replication_slot('%s', 'pgoutput')" % name)
    for name in out:
        if name.startswith("mp_upgrade_") and name not in slots:
            sql("postgres", "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '%s' AND NOT active" % name)
    ro = cfg.get("postgresql", {}).get("parameters", {}).get("default_transaction_read_only")
    sql("postgres", "ALTER SYSTEM SET default_transaction_read_only = on" if ro == "on" else "ALTER SYSTEM RESET default_transaction_read_only")
    sql("postgres", "SELECT pg_reload_conf()")
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, body=b""):
        self.send_response(code); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if self.path == "/primary": self.reply(503 if os.path.exists(os.path.join(state, "not-primary-" + addr)) else 200, b"{}")
        elif self.path == "/config": self.reply(200, json.dumps(load()).encode())
        elif self.path == "/cluster": self.reply(200, json.dumps({"members": [{"name": "blue", "host": addr, "role": "leader", "state": "running"}]}).encode())
        else: self.reply(404)
    def do_PATCH(self):
        want = "Basic " + base64.b64encode(("patroni:" + pw).encode()).decode()
        if self.headers.get("Authorization") != want: return self.reply(401)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        # the test's crash: blue's Patroni refuses the PATCH that removes the permanent slots, once
        once = os.path.join(state, "refuse-slot-removal-once")
        if "slots" in body and all(v is None for v in body["slots"].values()) and os.path.exists(once):
            os.remove(once)
            return self.reply(503)
        with open(os.path.join(state, "patches.jsonl"), "a") as f: f.write(json.dumps(body) + "\n")
        cfg = merge(load(), body)
        json.dump(cfg, open(cfg_path, "w"))
        if sock != "-": apply(cfg)
        self.reply(200, json.dumps(cfg).encode())
srv = ThreadingHTTPServer((addr, 8008), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(os.path.join(state, "ready-" + addr), "w").close()
srv.serve_forever()
`;

describe("managed-postgres-upgrade: PostgreSQL 15 blue -> PostgreSQL 17 green through logical replication", () => {
  test("preflight names a table without a primary key; follow copies roles, schema and rows under a writer; cutover copies sequences, leaves blue read-only, drops the subscription", () => {
    requirePrerequisites({ root: true, commands: ["chroot", "unshare", "ip", "openssl", "runuser", "/usr/lib/postgresql/15/bin/postgres", "/usr/bin/python3"] });
    const root = nodeRoot("trixie");
    const ctx = standaloneNode({ name: "shop-green", majorVersion: 17 }, [GREEN]);
    const from: UpgradeSource = { cluster: "shop-blue", majorVersion: 15, secretArn: SECRET_ARN, addresses: [BLUE, BLUE2], cutover: false };
    const overrides = { catchupTimeoutSeconds: 30, slotTimeoutSeconds: 10, poolerPauseTimeoutSeconds: 1 };
    const follow = renderUpgradeScript(ctx, from, overrides);
    const cutover = renderUpgradeScript(ctx, { ...from, cutover: true }, overrides);
    const hastyCutover = renderUpgradeScript(ctx, { ...from, cutover: true }, { ...overrides, catchupTimeoutSeconds: 2 });
    const B15 = "/usr/lib/postgresql/15/bin";
    // blue's replication settings as rendered, before and after upgradeTo admits green
    const blueConf = (upgradeTo?: { nodeAddresses: string[] }) => {
      const p = renderPostgresParameters(clusterSpec({ name: "shop-blue", deployment: "standalone", majorVersion: 15, ...(upgradeTo ? { upgradeTo } : {}) }));
      return (["wal_level", "max_replication_slots", "max_wal_senders"] as const).map((k) => `${k} = '${p[k]}'`).join("\n");
    };
    const blueBefore = blueConf();
    const blueAdmitting = blueConf({ nodeAddresses: [GREEN] });
    expect(blueBefore).toContain("wal_level = 'replica'");
    const greenParameters = renderPostgresParameters(
      clusterSpec({ name: "shop-green", deployment: "standalone", majorVersion: 17, upgradeFrom: { clusterName: "shop-blue", majorVersion: 15, secretArn: SECRET_ARN, nodeAddresses: [BLUE], securityGroupId: "sg-0abc12345" } }),
    );
    const greenWorkers = `max_logical_replication_workers = '${greenParameters.max_logical_replication_workers}'`;
    const script = String.raw`
set -u
chmod 0755 "$STAGE"
B="$STAGE/blue"; mkdir -p "$B/sock" "$B/rest" "$B/green-rest"; chown -R postgres:postgres "$B"
T="$STAGE/tls"
cp "$T/server0.crt" "$B/server.crt"; cp "$T/server0.key" "$B/server.key"; chown postgres:postgres "$B/server.crt" "$B/server.key"; chmod 0600 "$B/server.key"
jq -n --arg su ${BLUE_SECRET.superuser_password} --arg rest ${BLUE_SECRET.restapi_password} --arg repl ${BLUE_SECRET.replication_password} --rawfile ca "$T/ca.crt" \
  '{superuser_password: $su, restapi_password: $rest, replication_password: $repl, ca_cert_pem: $ca}' > "$ROOT0/etc/blue-secret.json"
chmod 0600 "$ROOT0/etc/blue-secret.json"
printf '#!/bin/sh\necho "$*" >> /tmp/aws-calls\ncat /etc/blue-secret.json\n' > "$ROOT0/usr/local/bin/aws"; chmod 0755 "$ROOT0/usr/local/bin/aws"
bp() { runuser -u postgres -- ${B15}/psql -X -At -v ON_ERROR_STOP=1 -h "$B/sock" "$@"; }
gp() { chroot --userspec=postgres:postgres "$ROOT0" env HOME=/var/lib/postgresql psql -X -At -v ON_ERROR_STOP=1 -h /var/run/postgresql "$@"; }
UP="chroot $ROOT0 env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ${UPGRADE_SCRIPT}"

# --- blue: PostgreSQL 15 of this machine
runuser -u postgres -- ${B15}/initdb -D "$B/data" -A peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null || { echo "blue initdb failed"; exit 1; }
cat >> "$B/data/postgresql.conf" <<EOF
listen_addresses = '${BLUE},${BLUE2}'
port = 5432
unix_socket_directories = '$B/sock'
${blueBefore}
ssl = on
ssl_cert_file = '$B/server.crt'
ssl_key_file = '$B/server.key'
EOF
printf 'local all all peer\nhostssl all all 10.10.0.0/24 scram-sha-256\n' > "$B/data/pg_hba.conf"
runuser -u postgres -- ${B15}/pg_ctl -D "$B/data" -l "$B/log" -w start >/dev/null || { echo "blue start failed"; cat "$B/log"; exit 1; }
bp -d postgres <<'EOF' >/dev/null
ALTER ROLE postgres PASSWORD '${BLUE_SECRET.superuser_password}';
CREATE ROLE replicator LOGIN REPLICATION PASSWORD 'blue-repl-pw';
CREATE ROLE rewind_user LOGIN PASSWORD 'blue-rewind-pw';
CREATE ROLE pgbouncer_auth LOGIN PASSWORD 'blue-pgb-pw';
CREATE ROLE reporting NOLOGIN;
CREATE ROLE app LOGIN PASSWORD 'app-pw-77' IN ROLE reporting;
CREATE ROLE crm_user LOGIN PASSWORD 'crm-pw-88';
CREATE SCHEMA pgbouncer;
CREATE FUNCTION pgbouncer.get_auth(p text) RETURNS TABLE (username text, password text) LANGUAGE sql SECURITY DEFINER AS 'SELECT usename::text, passwd::text FROM pg_shadow WHERE usename = p';
CREATE DATABASE shop OWNER app;
CREATE DATABASE crm OWNER crm_user;
EOF
bp -d shop <<'EOF' >/dev/null
SET ROLE app;
CREATE TABLE orders (id bigserial PRIMARY KEY, item text NOT NULL, qty int NOT NULL, created timestamptz NOT NULL DEFAULT now());
CREATE TABLE events (at timestamptz NOT NULL DEFAULT now(), what text);
CREATE SEQUENCE invoice_no START 1000;
SELECT count(nextval('invoice_no')) FROM generate_series(1, 37);
INSERT INTO orders (item, qty) SELECT 'item-' || g, g % 97 FROM generate_series(1, 50000) g;
INSERT INTO events (what) SELECT 'seed-' || g FROM generate_series(1, 500) g;
GRANT SELECT ON orders TO reporting;
EOF
bp -d crm -c "SET ROLE crm_user; CREATE TABLE contacts (id int PRIMARY KEY, name text); INSERT INTO contacts SELECT g, 'c' || g FROM generate_series(1, 2000) g;" >/dev/null
# notes references contacts (ON DELETE CASCADE: a delete of contacts' rows that fired the key would take notes' rows with it)
bp -d crm -c "SET ROLE crm_user; CREATE TABLE segments (id int PRIMARY KEY, name text); INSERT INTO segments SELECT g, 's' || g FROM generate_series(1, 300) g;" >/dev/null
bp -d crm -c "SET ROLE crm_user; CREATE TABLE notes (id int PRIMARY KEY, contact_id int NOT NULL REFERENCES contacts (id) ON DELETE CASCADE, body text); INSERT INTO notes SELECT g, g % 2000 + 1, 'n' || g FROM generate_series(1, 3000) g;" >/dev/null

# --- green: PostgreSQL 17 of the Debian 13 root
chroot "$ROOT0" bash -c 'mkdir -p /data/green /var/run/postgresql /var/log/managed-postgres && chown postgres:postgres /data/green /var/run/postgresql'
chroot --userspec=postgres:postgres "$ROOT0" /usr/lib/postgresql/17/bin/initdb -D /data/green -A peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null || { echo "green initdb failed"; exit 1; }
cat >> "$ROOT0/data/green/postgresql.conf" <<EOF
listen_addresses = '${GREEN}'
port = 5432
unix_socket_directories = '/var/run/postgresql'
ssl = on
ssl_cert_file = '${PATHS.serverCert}'
ssl_key_file = '${PATHS.serverKey}'
max_logical_replication_workers = 3
EOF
printf 'local all all peer\nhostssl all all 10.10.0.0/24 scram-sha-256\n' > "$ROOT0/data/green/pg_hba.conf"
chroot --userspec=postgres:postgres "$ROOT0" env HOME=/var/lib/postgresql /usr/lib/postgresql/17/bin/pg_ctl -D /data/green -l /tmp/green.log -w start >/dev/null || { echo "green start failed"; cat "$ROOT0/tmp/green.log"; exit 1; }
gp -d postgres <<'EOF' >/dev/null
CREATE ROLE replicator LOGIN REPLICATION PASSWORD 'green-repl-pw';
CREATE ROLE rewind_user LOGIN PASSWORD 'green-rewind-pw';
CREATE ROLE pgbouncer_auth LOGIN PASSWORD 'green-pgb-pw';
${PGBOUNCER_AUTH_SQL}
\connect template1
${PGBOUNCER_AUTH_SQL}
EOF
echo "green_repl_before: $(gp -d postgres -c "SELECT md5(rolpassword) FROM pg_authid WHERE rolname = 'replicator'")"

# --- Patroni REST stand-ins (blue's applies its configuration to blue; green's only answers /primary)
touch "$B/rest/not-primary-${BLUE2}"
/usr/bin/python3 "$ROOT0/opt/fake-patroni.py" ${BLUE} "$T/server0.crt" "$T/server0.key" "$B/rest" "$B/sock" ${BLUE_SECRET.restapi_password} 2>"$B/rest/err" &
/usr/bin/python3 "$ROOT0/opt/fake-patroni.py" ${BLUE2} "$T/server0.crt" "$T/server0.key" "$B/rest" "$B/sock" ${BLUE_SECRET.restapi_password} 2>"$B/rest/err2" &
/usr/bin/python3 "$ROOT0/opt/fake-patroni.py" ${GREEN} "$T/server0.crt" "$T/server0.key" "$B/green-rest" - green-rest-pw 2>"$B/green-rest/err" &
for i in $(seq 1 50); do [ -e "$B/rest/ready-${BLUE}" ] && [ -e "$B/rest/ready-${BLUE2}" ] && [ -e "$B/green-rest/ready-${GREEN}" ] && break; sleep 0.1; done

# --- 1. preflight: events has no primary key
cp "$ROOT0/opt/upgrade-follow" "$ROOT0${UPGRADE_SCRIPT}"
rc=0; $UP run > "$STAGE/run1.log" 2>&1 || rc=$?
echo "preflight_rc: $rc"
echo "preflight_blocking: $(grep -c 'BLOCKING' "$STAGE/run1.log")"
grep 'BLOCKING' "$STAGE/run1.log" | sed 's/^.*BLOCKING: /preflight_line: /'
echo "subscriptions_after_refusal: $(gp -d postgres -c "SELECT count(*) FROM pg_subscription")"
bp -d shop -c "ALTER TABLE events REPLICA IDENTITY FULL" >/dev/null
# green with its rendered logical replication workers (it started with fewer than blue's databases + 1)
printf '%s\n' "${greenWorkers}" >> "$ROOT0/data/green/postgresql.conf"
chroot --userspec=postgres:postgres "$ROOT0" env HOME=/var/lib/postgresql /usr/lib/postgresql/17/bin/pg_ctl -D /data/green -l /tmp/green.log -w restart >/dev/null || { echo "green restart failed"; exit 1; }
echo "green_workers: $(gp -d postgres -c "SHOW max_logical_replication_workers")"
# blue's roll with upgradeTo: each member restarts with the rendered settings (the last line of a setting wins)
printf '%s\n' "${blueAdmitting}" >> "$B/data/postgresql.conf"
echo "blue_settings: $(bp -d postgres -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('wal_level', 'max_replication_slots', 'max_wal_senders')")"
runuser -u postgres -- ${B15}/pg_ctl -D "$B/data" -l "$B/log" -w restart >/dev/null || { echo "blue restart failed"; exit 1; }
echo "blue_settings_restarted: $(bp -d postgres -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('wal_level', 'max_replication_slots', 'max_wal_senders')")"

# --- the writer: blue until it refuses, then (after the done marker) green
W="$STAGE/writer"; mkdir -p "$W"; chown postgres:postgres "$W"
printf '*:*:*:app:app-pw-77\n' > "$W/pgpass"; chmod 0600 "$W/pgpass"
(
  export PGPASSFILE="$W/pgpass" PGSSLMODE=require PGCONNECT_TIMEOUT=3
  i=0; green=0; refused=""
  while [ "$i" -lt 20000 ] && [ "$green" -lt 20 ] && [ ! -e "$W/stop" ]; do
    i=$((i + 1))
    if [ -e "$W/pause" ]; then
      :
    elif [ -z "$refused" ]; then
      if out=$(${B15}/psql -X -At -q -v ON_ERROR_STOP=1 -h ${BLUE} -U app -d shop -c "BEGIN; INSERT INTO orders (item, qty) VALUES ('w-$i', $i) RETURNING id; UPDATE orders SET qty = qty + 1 WHERE id = $((i % 5000 + 1)); INSERT INTO events (what) VALUES ('w-$i'); COMMIT;" 2>"$W/err"); then
        echo "$(head -n 1 <<<"$out")" >> "$W/acked-blue"
      elif grep -q 'read-only transaction' "$W/err"; then
        refused=$(date +%s%3N); echo "$refused" > "$W/refused"
      fi
    elif [ -n "$(gp -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'postgres' AND shobj_description(oid, 'pg_database') LIKE 'managed-postgres upgrade: cutover done%'")" ]; then
      if out=$(${B15}/psql -X -At -q -v ON_ERROR_STOP=1 -h ${GREEN} -U app -d shop -c "INSERT INTO orders (item, qty) VALUES ('green-$i', $i) RETURNING id" 2>"$W/err"); then
        [ "$green" -gt 0 ] || date +%s%3N > "$W/first-green"
        green=$((green + 1)); echo "$(head -n 1 <<<"$out")" >> "$W/acked-green"
      fi
    fi
    sleep 0.01
  done
  echo done > "$W/finished"
) &

# --- 2. follow (twice: the second run, without the node's local state, changes nothing), until every table's initial copy is done
rc=0; $UP run > "$STAGE/run2.log" 2>&1 || rc=$?
echo "follow_rc: $rc"
# a failover on blue: its Patroni now names ${BLUE2} the primary
touch "$B/rest/not-primary-${BLUE}"; rm -f "$B/rest/not-primary-${BLUE2}"
rm -rf "$ROOT0${STATE}"  # as on a replaced node: the progress is in green's databases, not on its root volume
rc=0; $UP run > "$STAGE/run3.log" 2>&1 || rc=$?
echo "follow_again_rc: $rc"
echo "follow_again_creates: $(grep -c 'created\|copied from blue\|added to blue' "$STAGE/run3.log")"
echo "follow_again_repointed: $(grep -c 'now connects to blue.s primary ${BLUE2}' "$STAGE/run3.log")"
echo "subscription_hosts: $(gp -d postgres -c "SELECT string_agg(DISTINCT substring(subconninfo from 'host=([0-9.]+)'), ',') FROM pg_subscription")"
# DDL on blue is not replicated: the next run names the column, publishes the drift, and a cutover is refused until green has it
bp -d shop -c "ALTER TABLE orders ADD COLUMN note text" >/dev/null
cp "$ROOT0/opt/upgrade-cutover" "$ROOT0${UPGRADE_SCRIPT}"
rc=0; $UP run > "$STAGE/run-drift.log" 2>&1 || rc=$?
echo "drift_rc: $rc"
grep 'schema drift' "$STAGE/run-drift.log" | sed 's/^.*schema drift: /drift_line: /'
echo "drift_cutover_refused: $(grep -c 'not while blue.s and green.s tables differ' "$STAGE/run-drift.log")"
echo "drift_blue_read_only: $(bp -d postgres -c "SHOW default_transaction_read_only")"
gp -d shop -c "ALTER TABLE orders ADD COLUMN note text" >/dev/null
cp "$ROOT0/opt/upgrade-follow" "$ROOT0${UPGRADE_SCRIPT}"
rc=0; $UP run > "$STAGE/run-nodrift.log" 2>&1 || rc=$?
echo "nodrift_rc: $rc $(grep -c 'schema drift' "$STAGE/run-nodrift.log")"
# nothing is stranded in these runs (no failover during an initial copy: the second address is the same server)
echo "copied_again_unstranded: $(cat "$STAGE/run2.log" "$STAGE/run3.log" "$STAGE/run-drift.log" "$STAGE/run-nodrift.log" | grep -c 'copied again')"
for i in $(seq 1 60); do
  p=$(gp -d shop -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')")
  q=$(gp -d crm -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')")
  [ "$p$q" = 00 ] && break; sleep 1
done
echo "initial_copy_pending: $p $q"
# a failover on blue during the initial copy strands a table whose copy had finished (state f) on the former primary: its
# table-sync slot is gone with it. Simulated on crm.contacts (static): state f, some rows missing on green; the next run copies it again.
# notes references contacts through a foreign key, so TRUNCATE refuses contacts: its rows go otherwise, and notes keeps its own
gp -d crm -c "UPDATE pg_catalog.pg_subscription_rel SET srsubstate = 'f', srsublsn = NULL WHERE srrelid = 'contacts'::regclass" >/dev/null
gp -d crm -c "BEGIN; SET LOCAL session_replication_role = replica; DELETE FROM contacts WHERE id > 1500; COMMIT" >/dev/null
notes_q="SELECT count(*) || ' ' || md5(string_agg(x::text, '|' ORDER BY id)) FROM notes x"
echo "stranded_notes_before: $(gp -d crm -c "$notes_q")"
# a table-sync worker finishing during that run: it sets its table's state to s, drops its slot on blue, and only then commits
# (tablesync.c), so the run can read state f and find no slot. Simulated on crm.segments: state f committed (its slot long gone),
# and an open transaction (the worker's) holding its update to s, committed once the run's reset waits for it (bounded: 60 s)
seg_q="SELECT pg_relation_filenode('segments') || ' ' || count(*) || ' ' || md5(string_agg(x::text, '|' ORDER BY id)) FROM segments x"
gp -d crm -c "UPDATE pg_catalog.pg_subscription_rel SET srsubstate = 'f', srsublsn = NULL WHERE srrelid = 'segments'::regclass" >/dev/null
echo "race_before: $(gp -d crm -c "$seg_q")"
gp -d "dbname=crm application_name=race-holder" > "$STAGE/race-holder.out" 2>&1 <<'EOF' &
BEGIN;
UPDATE pg_catalog.pg_subscription_rel SET srsubstate = 's', srsublsn = NULL WHERE srrelid = 'segments'::regclass;
DO $$ BEGIN FOR i IN 1..600 LOOP EXIT WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = pg_current_xact_id()::text); PERFORM pg_sleep(0.1); END LOOP; END $$;
SELECT 'race_waited: ' || EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = pg_current_xact_id()::text);
COMMIT;
EOF
holder=$!
for i in $(seq 1 100); do
  [ "$(gp -d crm -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'race-holder' AND query LIKE 'DO %'")" = 1 ] && break; sleep 0.1
done
rc=0; $UP run > "$STAGE/run-stranded.log" 2>&1 || rc=$?
echo "stranded_rc: $rc"
grep 'copied again' "$STAGE/run-stranded.log" | sed 's/^.*follow: /stranded_line: /'
grep 'left as it is' "$STAGE/run-stranded.log" | sed 's/^.*follow: /race_line: /'
wait $holder
grep '^race_waited: ' "$STAGE/race-holder.out"
echo "race_state: $(gp -d crm -c "SELECT srsubstate FROM pg_subscription_rel WHERE srrelid = 'segments'::regclass")"
for i in $(seq 1 60); do
  q=$(gp -d crm -c "SELECT srsubstate FROM pg_subscription_rel WHERE srrelid = 'segments'::regclass")
  [ "$q" = r ] && break; sleep 1
done
echo "race_after: $(gp -d crm -c "$seg_q") $q"
for i in $(seq 1 60); do
  q=$(gp -d crm -c "SELECT srsubstate FROM pg_subscription_rel WHERE srrelid = 'contacts'::regclass")
  [ "$q" = r ] && break; sleep 1
done
echo "stranded_after: $q $(gp -d crm -c "SELECT count(*) FROM contacts")"
echo "stranded_notes_after: $(gp -d crm -c "$notes_q")"
echo "stranded_notes_blue: $(bp -d crm -c "$notes_q")"
echo "stranded_notes_orphans: $(gp -d crm -c "SELECT count(*) FROM notes n WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = n.contact_id)")"
# PgBouncer runs its auth_query in the client's database: every database green created has the lookup function (as template1 has it)
echo "green_auth_function: $(for d in shop crm; do printf '%s=%s ' "$d" "$(gp -d "$d" -c "SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgbouncer' AND p.proname = 'get_auth'")"; done)"
sleep 2
echo "acked_blue_before_cutover: $(wc -l < "$W/acked-blue")"

# --- 3a. a cutover whose catch-up does not finish in time (shop's subscription disabled) gives blue back its writes
touch "$W/pause"; sleep 0.5
gp -d shop -c "ALTER SUBSCRIPTION $(gp -d shop -c "SELECT subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = 'shop'") DISABLE" >/dev/null
bp -d shop -c "INSERT INTO events (what) VALUES ('while green is not applying')" >/dev/null
cp "$ROOT0/opt/upgrade-hasty-cutover" "$ROOT0${UPGRADE_SCRIPT}"
rc=0; $UP run > "$STAGE/run-hasty.log" 2>&1 || rc=$?
echo "hasty_cutover_rc: $rc"
echo "hasty_cutover_says: $(grep -c 'cutover abandoned: blue is writable again' "$STAGE/run-hasty.log")"
echo "hasty_blue_read_only: $(bp -d postgres -c "SHOW default_transaction_read_only")"
echo "hasty_subscriptions_left: $(gp -d shop -c "SELECT count(*) FROM pg_subscription")"
echo "hasty_permanent_slots: $(jq -c '.slots | length' "$B/rest/config.json")"
gp -d shop -c "ALTER SUBSCRIPTION $(gp -d shop -c "SELECT subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = 'shop'") ENABLE" >/dev/null
rm -f "$W/pause"; sleep 1

# --- 3. cutover: the first run dies after the redirect (blue's Patroni refuses to remove the
# permanent slots, once); the next finishes it, blue read-only throughout
cp "$ROOT0/opt/upgrade-cutover" "$ROOT0${UPGRADE_SCRIPT}"
touch "$B/rest/refuse-slot-removal-once"
t0=$(date +%s%3N)
rc=0; $UP run > "$STAGE/run4.log" 2>&1 || rc=$?
echo "crashed_cutover_rc: $rc"
echo "crashed_cutover_says: $(grep -c 'PATCH /config of blue (remove the permanent slots) failed' "$STAGE/run4.log")"
echo "crashed_blue_read_only: $(bp -d postgres -c "SHOW default_transaction_read_only")"
echo "crashed_pooler_state: $(jq -r '.managed_postgres_upgrade.state' "$B/rest/config.json")"
echo "crashed_done_marker: $(gp -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'postgres' AND shobj_description(oid, 'pg_database') LIKE 'managed-postgres upgrade: cutover done%'")"
rc=0; $UP run > "$STAGE/run5.log" 2>&1 || rc=$?
echo "cutover_rc: $rc"
echo "cutover_ms: $(($(date +%s%3N) - t0))"
echo "finish_says: $(grep -c 'already follow green; finishing it (blue stays read-only)' "$STAGE/run5.log")"
echo "finish_steps: $(grep -o 'step [a-z-]*: done' "$STAGE/run5.log" | cut -d' ' -f2 | tr -d : | paste -sd' ')"
for i in $(seq 1 100); do [ -e "$W/finished" ] && break; sleep 0.1; done
touch "$W/stop"; sleep 0.3
echo "writer_refused_ms: $(cat "$W/refused" 2>/dev/null)"
echo "writer_first_green_ms: $(cat "$W/first-green" 2>/dev/null)"
echo "acked_blue: $(wc -l < "$W/acked-blue")"
echo "acked_green: $(wc -l < "$W/acked-green" 2>/dev/null || echo 0)"
cat "$STAGE/run4.log" "$STAGE/run5.log" | grep 'step \|cutover done\|told to follow' | sed 's/^[^ ]* managed-postgres-upgrade: /cutover_log: /'

# --- checks
ids=$(paste -sd, "$W/acked-blue")
echo "lost_writes: $(gp -d shop -c "SELECT count(*) FROM unnest('{$ids}'::bigint[]) a(id) WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = a.id)")"
for t in "shop orders id WHERE item NOT LIKE 'green-%'" "shop events at,what" "crm contacts id" "crm notes id" "crm segments id"; do
  set -- $t; db=$1; tbl=$2; ord=$3; shift 3; w="$*"
  q="SELECT count(*) || ' ' || md5(COALESCE(string_agg(x::text, '|' ORDER BY $ord), '')) FROM (SELECT * FROM $tbl $w) x"
  echo "rows_blue_$tbl: $(bp -d "$db" -c "$q")"
  echo "rows_green_$tbl: $(gp -d "$db" -c "$q")"
done
echo "green_orders_total: $(gp -d shop -c "SELECT count(*) FROM orders")"
echo "seq_blue_invoice: $(bp -d shop -c "SELECT last_value FROM invoice_no")"
echo "seq_green_invoice: $(gp -d shop -c "SELECT last_value FROM invoice_no")"
echo "seq_blue_orders: $(bp -d shop -c "SELECT last_value FROM orders_id_seq")"
echo "green_ids_above_blue: $(gp -d shop -c "SELECT count(*) FROM orders WHERE item LIKE 'green-%' AND id > (SELECT max(id) FROM orders WHERE item NOT LIKE 'green-%')")"
echo "blue_read_only: $(bp -d postgres -c "SHOW default_transaction_read_only")"
rc=0; PGPASSFILE="$W/pgpass" PGSSLMODE=require ${B15}/psql -X -At -h ${BLUE} -U app -d shop -c "INSERT INTO orders (item, qty) VALUES ('late', 1)" >/dev/null 2>"$STAGE/late.err" || rc=$?
echo "blue_write_refused: $rc $(grep -c 'read-only' "$STAGE/late.err")"
echo "green_subscriptions: $(gp -d shop -c "SELECT count(*) FROM pg_subscription")"
echo "blue_slots: $(bp -d postgres -c "SELECT count(*) FROM pg_replication_slots")"
echo "blue_permanent_slots: $(jq -c '.slots // {}' "$B/rest/config.json")"
echo "patch_bodies: $(jq -c . "$B/rest/patches.jsonl" | paste -sd';')"
for u in app:app-pw-77 crm_user:crm-pw-88; do
  printf '*:*:*:%s\n' "$u" > "$W/login"; chmod 0600 "$W/login"
  echo "login_green_$(cut -d: -f1 <<<"$u"): $(PGPASSFILE="$W/login" PGSSLMODE=require ${B15}/psql -X -At -h ${GREEN} -U "$(cut -d: -f1 <<<"$u")" -d postgres -c "SELECT current_user" 2>&1)"
done
echo "green_member_of_reporting: $(gp -d postgres -c "SELECT pg_has_role('app', 'reporting', 'member')")"
# the role blue's PgBouncers use at green after the cutover: blue's pgbouncer_auth secret, a member of green's pgbouncer_auth, nothing more
echo "pooler_auth_secret_is_blues: $([ "$(gp -d postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = '${UPGRADE_POOLER_AUTH_ROLE}'")" = "$(bp -d postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'pgbouncer_auth'")" ] && echo yes || echo no)"
echo "pooler_auth_role: $(gp -d postgres -c "SELECT rolcanlogin, rolsuper, rolreplication, rolcreaterole, rolcreatedb, pg_has_role(oid, 'pgbouncer_auth', 'MEMBER') FROM pg_roles WHERE rolname = '${UPGRADE_POOLER_AUTH_ROLE}'")"
echo "green_pgbouncer_auth_untouched: $(gp -d postgres -c "SELECT rolpassword <> (SELECT rolpassword FROM pg_authid WHERE rolname = '${UPGRADE_POOLER_AUTH_ROLE}') FROM pg_authid WHERE rolname = 'pgbouncer_auth'")"
echo "green_repl_after: $(gp -d postgres -c "SELECT md5(rolpassword) FROM pg_authid WHERE rolname = 'replicator'")"
echo "done_marker: $(gp -d postgres -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'postgres'" | sed 's/[0-9][0-9]* ms/N ms/g')"
echo "schema_marks: $(gp -d postgres -c "SELECT string_agg(datname || '=' || shobj_description(oid, 'pg_database'), ';' ORDER BY datname) FROM pg_database WHERE datname IN ('shop', 'crm')")"
echo "pgpass_left: $(ls "$ROOT0${STATE}" | grep -c pgpass)"
echo "metrics: $(jq -r 'keys[] | select(startswith("mp_"))' "$ROOT0/var/log/managed-postgres/events.log" | sort -u | paste -sd' ')"
# every run's outcome (mp_upgrade_run_failed), in order, with the failed runs' events
echo "run_outcomes: $(jq -r 'select(has("mp_upgrade_run_failed")) | .mp_upgrade_run_failed' "$ROOT0/var/log/managed-postgres/events.log" | paste -sd' ')"
jq -r 'select(.mp_upgrade_run_failed == 1) | "run_failed_event: " + .event' "$ROOT0/var/log/managed-postgres/events.log"
echo "aws_calls: $(sort -u "$ROOT0/tmp/aws-calls" | paste -sd';')"
echo "secrets_in_logs: $(cat "$STAGE"/run*.log | grep -c -e '${BLUE_SECRET.superuser_password}' -e '${BLUE_SECRET.restapi_password}' -e 'app-pw-77' -e 'SCRAM-SHA-256')"
echo "run_again: $($UP run 2>&1 | grep -c 'is done')"
runuser -u postgres -- ${B15}/pg_ctl -D "$B/data" -m immediate stop >/dev/null 2>&1
chroot --userspec=postgres:postgres "$ROOT0" /usr/lib/postgresql/17/bin/pg_ctl -D /data/green -m immediate stop >/dev/null 2>&1
for f in run1 run2 run3 run-drift run-nodrift run-stranded run-hasty run4 run5; do echo "=== $f"; cat "$STAGE/$f.log"; done >&2
kill $(jobs -p) 2>/dev/null; wait
`;
    const r = runSandbox({ addresses: [BLUE, BLUE2, GREEN], roots: [
        [
          { path: "/opt/fake-patroni.py", content: FAKE_PATRONI },
          { path: "/opt/upgrade-follow", content: follow, mode: "0755" },
          { path: "/opt/upgrade-cutover", content: cutover, mode: "0755" },
          { path: "/opt/upgrade-hasty-cutover", content: hastyCutover, mode: "0755" },
        ],
      ], lowerRoot: root, tls: true, script, timeoutSec: 300 });
    debugDump("upgrade", r);
    const one = (name: string) => reported(r.stdout, name)[0] ?? `(no ${name}; stderr: ${r.stderr.slice(-3000)})`;

    // preflight refused, naming the table, and created nothing
    expect(one("preflight_rc")).toBe("1");
    expect(reported(r.stdout, "preflight_line")).toEqual([
      "blue's wal_level is replica: logical decoding needs wal_level = logical (a restart of blue's members)",
      "green's max_logical_replication_workers is 3: following 3 database(s) of blue needs 4 (an apply worker per database and one for the initial copy)",
      "shop: table public.events has no primary key and REPLICA IDENTITY DEFAULT: UPDATE and DELETE would fail on blue and not reach green (add a primary key, or ALTER TABLE ... REPLICA IDENTITY FULL or USING INDEX)",
    ]);
    expect(one("preflight_blocking")).toBe("3");
    expect(one("green_workers")).toBe("7");
    // blue ran the rendered settings without upgradeTo, then restarted with those with upgradeTo
    expect(one("blue_settings")).toBe("max_replication_slots=10 max_wal_senders=10 wal_level=replica");
    expect(one("blue_settings_restarted")).toBe("max_replication_slots=10 max_wal_senders=10 wal_level=logical");
    expect(one("subscriptions_after_refusal")).toBe("0");
    // follow, twice
    expect(one("follow_rc")).toBe("0");
    expect(one("follow_again_rc")).toBe("0");
    expect(one("follow_again_creates")).toBe("0");
    expect(one("follow_again_repointed")).toBe("3");
    expect(one("subscription_hosts")).toBe(BLUE2);
    expect(one("initial_copy_pending")).toBe("0 0");
    // found on the EC2 twin (bench:upgrade, a switchover on blue during the initial copy of 1 GiB): the table stayed in state f for ever
    expect(one("stranded_rc")).toBe("0");
    // notes references contacts: TRUNCATE ONLY contacts was refused and the table stayed in state f for ever
    expect(reported(r.stdout, "stranded_line")).toEqual([
      `crm: table contacts finished its initial copy from a former primary of blue (its table-sync slot is gone there): its rows on green deleted (a foreign key references it: TRUNCATE would be refused; the referencing tables keep theirs), to be copied again from ${BLUE2}`,
    ]);
    expect(one("stranded_after")).toBe("r 2000");
    expect(one("stranded_notes_before")).toMatch(/^3000 [0-9a-f]{32}$/);
    expect(one("stranded_notes_after")).toBe(one("stranded_notes_before"));
    expect(one("stranded_notes_after")).toBe(one("stranded_notes_blue"));
    expect(one("stranded_notes_orphans")).toBe("0");
    // a table whose table-sync worker finished during the run (state f read, its slot gone, then s
    // committed): seen in the first follow run as shop.events "copied again", nothing stranded
    expect(one("copied_again_unstranded")).toBe("0");
    expect(one("race_waited")).toBe("true");
    expect(reported(r.stdout, "race_line")).toEqual([
      "crm: table segments left as it is: its state had moved on from f (finished copy) when it was to be reset, so its table-sync slot was gone because its worker had finished (it drops the slot before its state s commits), not because of a failover",
    ]);
    expect(one("race_state")).toMatch(/^[sr]$/);
    // same file (no TRUNCATE), same rows, then ready
    expect(one("race_before")).toMatch(/^\d+ 300 [0-9a-f]{32}$/);
    expect(one("race_after")).toBe(`${one("race_before")} r`);
    // found on the EC2 twin: databases created from template0 had no pgbouncer.get_auth, so clients could not log in through green's PgBouncer
    expect(one("green_auth_function")).toBe("shop=1 crm=1");
    // DDL on blue: named, refused for the cutover, gone once green has the column
    expect(one("drift_rc")).toBe("1");
    expect(reported(r.stdout, "drift_line")).toEqual(["shop: blue has column public.orders.note text that green lacks: make the same change on green (DDL is not replicated)"]);
    expect(one("drift_cutover_refused")).toBe("1");
    expect(one("drift_blue_read_only")).toBe("off");
    expect(one("nodrift_rc")).toBe("0 0");
    // a catch-up that does not finish in time: blue writable again, nothing dropped
    expect(one("hasty_cutover_rc")).toBe("1");
    expect(one("hasty_cutover_says")).toBe("1");
    expect(one("hasty_blue_read_only")).toBe("off");
    expect(one("hasty_subscriptions_left")).toBe("3");
    expect(one("hasty_permanent_slots")).toBe("3");
    // cutover: a run dying after the redirect leaves blue read-only and its PgBouncers on green; the next one finishes
    expect(one("crashed_cutover_rc")).toBe("1");
    expect(one("crashed_cutover_says")).toBe("1");
    expect(one("crashed_blue_read_only")).toBe("on");
    expect(one("crashed_pooler_state")).toBe("redirect");
    expect(one("crashed_done_marker")).toBe("0");
    expect(one("cutover_rc")).toBe("0");
    expect(one("finish_says")).toBe("1");
    expect(one("finish_steps")).toBe("drop-subscriptions drop-blue-slots");
    expect(one("lost_writes")).toBe("0");
    for (const t of ["orders", "events", "contacts", "notes", "segments"]) expect(one(`rows_green_${t}`)).toBe(one(`rows_blue_${t}`));
    expect(Number(one("acked_blue"))).toBeGreaterThan(0);
    expect(one("seq_green_invoice")).toBe(one("seq_blue_invoice"));
    expect(one("seq_blue_invoice")).toBe("1036");
    expect(Number(one("acked_green"))).toBeGreaterThan(0);
    expect(one("green_ids_above_blue")).toBe(one("acked_green"));
    expect(one("blue_read_only")).toBe("on");
    expect(one("blue_write_refused")).toMatch(/^[1-9]\d* 1$/);
    expect(one("green_subscriptions")).toBe("0");
    expect(one("blue_slots")).toBe("0");
    expect(one("blue_permanent_slots")).toBe("{}");
    const patches = one("patch_bodies");
    expect(patches).toMatch(/"slots":\{"mp_upgrade_[0-9a-f]{12}":\{"type":"logical","database":"shop","plugin":"pgoutput"\}\}/);
    // blue read-only, then blue's PgBouncer hosts told to go to green (green's CA, when blue became
    // read-only); the last PATCH (the second run's: the first one's was refused) removes the three permanent slots
    expect(patches).toMatch(
      /;\{"postgresql":\{"parameters":\{"default_transaction_read_only":"on"\}\}\};\{"managed_postgres_upgrade":\{"state":"redirect","green":"shop-green","since_ms":\d+,"ca_pem":"-----BEGIN CERTIFICATE-----\\n[^"]+-----END CERTIFICATE-----\\n","read_only_ms":\d+\}\};\{"slots":\{"mp_upgrade_[0-9a-f]{12}":null,"mp_upgrade_[0-9a-f]{12}":null,"mp_upgrade_[0-9a-f]{12}":null\}\}$/,
    );
    // each cutover attempt pauses blue's PgBouncer hosts before blue becomes read-only; the abandoned one (the 2 s catch-up bound) clears the key after blue is writable again
    const pause = '\\{"managed_postgres_upgrade":\\{"state":"pause","green":"shop-green","since_ms":\\d+\\}\\}';
    const readOnly = (v: string) => `\\{"postgresql":\\{"parameters":\\{"default_transaction_read_only":${v}\\}\\}\\}`;
    expect(patches).toMatch(new RegExp(`${pause};${readOnly('"on"')};${readOnly("null")};\\{"managed_postgres_upgrade":null\\};`));
    expect(patches.match(new RegExp(`${pause};${readOnly('"on"')}`, "g"))).toHaveLength(2);
    expect(one("pooler_auth_secret_is_blues")).toBe("yes");
    expect(one("pooler_auth_role")).toBe("t|f|f|f|f|t");
    expect(one("green_pgbouncer_auth_untouched")).toBe("t");
    expect(patches).toContain('{"postgresql":{"parameters":{"default_transaction_read_only":"on"}}}');
    expect(patches).toContain('{"postgresql":{"parameters":{"default_transaction_read_only":null}}}');
    // roles: blue's passwords work on green; managed roles keep green's
    expect(one("login_green_app")).toBe("app");
    expect(one("login_green_crm_user")).toBe("crm_user");
    expect(one("green_member_of_reporting")).toBe("t");
    expect(one("green_repl_after")).toBe(one("green_repl_before"));
    expect(one("done_marker")).toBe("managed-postgres upgrade: cutover done from shop-blue: blue read-only at N ms, done at N ms (Unix time)");
    expect(one("schema_marks")).toBe("crm=managed-postgres upgrade: schema copied from shop-blue;shop=managed-postgres upgrade: schema copied from shop-blue");
    expect(one("pgpass_left")).toBe("0");
    expect(one("metrics").split(" ")).toEqual(expect.arrayContaining(["mp_upgrade_preflight_problems", "mp_upgrade_lag_bytes", "mp_upgrade_schema_drift", "mp_upgrade_cutover_seconds"]));
    // each run that took the lock ends with its outcome: the abandoned cutover (the 2 s catch-up
    // bound) is a failed run with its error; the runs that worked are 0; the preflight's refusal
    // has its own metric and adds none
    expect(one("run_outcomes").split(" ")).toEqual(expect.arrayContaining(["0", "1"]));
    expect(reported(r.stdout, "run_failed_event")).toContainEqual(expect.stringMatching(/^a run of managed-postgres-upgrade following shop-blue failed \(exit 1\): cutover abandoned: blue is writable again/));
    expect(one("aws_calls")).toBe(`--region eu-west-1 secretsmanager get-secret-value --secret-id ${SECRET_ARN} --query SecretString --output text`);
    expect(one("secrets_in_logs")).toBe("0");
    expect(one("run_again")).toBe("1");

    const refused = Number(one("writer_refused_ms"));
    const firstGreen = Number(one("writer_first_green_ms"));
    console.table({
      "cutover run (ms)": { value: Number(one("cutover_ms")) },
      "write gap: blue refused -> green accepted (ms)": { value: firstGreen - refused },
      "writes acked by blue": { value: Number(one("acked_blue")) },
      "writes acked by blue before the cutover run": { value: Number(one("acked_blue_before_cutover")) },
      "writes acked by green": { value: Number(one("acked_green")) },
    });
    console.log(reported(r.stdout, "cutover_log").join("\n"));
    expect(r.status).toBe(0);
  });
});
