/**
 * Patroni 3.0.2 boots a standalone node from the rendered files alone: etcd (one member, TLS),
 * Patroni with the rendered patroni.yml (initdb, parameters, pg_hba, post-bootstrap script),
 * REST API over TLS — inside a sandbox (own network and mount namespace), PostgreSQL 15.
 * Secrets are given as the node bootstrap gives them: PATRONI_* variables in Patroni's
 * environment.
 */
import { PATHS, renderNodeConfigFiles } from "../../src/render";
import { standaloneNode, TEST_ADDRESSES } from "./fixtures";
import { debugDump, runSandbox, type SandboxResult, reported, TEST_PATRONI_SECRETS_ENV } from "./sandbox";
import { requireTools, startEtcd } from "./tools";

const A = TEST_ADDRESSES[0];
const ctx = standaloneNode({ size: "XS" });
let r: SandboxResult;
const out = (name: string) => reported(r.stdout, name);

beforeAll(() => {
  const secrets = TEST_PATRONI_SECRETS_ENV;
  const repo = "PGBACKREST_REPO1_TYPE=posix PGBACKREST_REPO1_PATH=/var/lib/pgbackrest-test-repo PGBACKREST_REPO1_CIPHER_PASS=test-only";
  const curl = `chroot "$ROOT0" curl -s -o /dev/null -w '%{http_code}' --max-time 3 --cacert ${PATHS.caCert}`;
  r = runSandbox({
    addresses: [A],
    tls: true,
    commonNames: ["orders-0"],
    timeoutSec: 150,
    roots: [renderNodeConfigFiles(ctx).map((f) => ({ ...f }))],
    script: `${requireTools("patroni", "etcd", "etcdctl", "curl")}
mkdir -p "$ROOT0/data/pgdata" "$ROOT0/run/postgresql" "$ROOT0/var/lib/pgbackrest-test-repo" "$ROOT0${PATHS.pgbackrestSpool}" "$ROOT0/var/log/pgbackrest"
chmod 0755 "$ROOT0/data"
chown postgres:postgres "$ROOT0/data/pgdata" "$ROOT0/run/postgresql" "$ROOT0/var/lib/pgbackrest-test-repo" "$ROOT0${PATHS.pgbackrestSpool}" "$ROOT0/var/log/pgbackrest"
${startEtcd([0], [A])}
chroot --userspec=postgres:postgres "$ROOT0" env HOME=/var/lib/postgresql ${secrets} ${repo} patroni ${PATHS.patroniConfig} > "$STAGE/patroni.log" 2>&1 &
PATRONI=$!
code=000
for n in $(seq 1 120); do
  code=$(${curl} https://${A}:8008/primary)
  [ "$code" = 200 ] && break
  kill -0 $PATRONI 2>/dev/null || break
  sleep 0.5
done
echo "primary: $code"
echo "replica: $(${curl} https://${A}:8008/replica)"
echo "restart_without_auth: $(${curl} -X POST https://${A}:8008/restart)"
echo "restart_wrong_auth: $(${curl} -u patroni:wrong -X POST https://${A}:8008/reload)"
echo "reload_with_auth: $(${curl} -u patroni:rest-pw -X POST https://${A}:8008/reload)"
PSQL="chroot --userspec=postgres:postgres $ROOT0 env HOME=/var/lib/postgresql /usr/lib/postgresql/15/bin/psql -X -At -d postgres"
echo "sync_mode: $($PSQL -c "show synchronous_standby_names")"
echo "checksums: $($PSQL -c "show data_checksums")"
echo "ssl_min: $($PSQL -c "show ssl_min_protocol_version")"
echo "max_connections: $($PSQL -c "show max_connections")"
echo "archive_command: $($PSQL -c "show archive_command")"
echo "auth_role: $($PSQL -c "select rolname from pg_roles where rolname = 'pgbouncer_auth'")"
echo "auth_function: $($PSQL -d template1 -c "select proname from pg_proc where proname = 'get_auth'")"
echo "rewind_user: $($PSQL -c "select rolname from pg_roles where rolname = 'rewind_user'")"
echo "hba_reject_plain: $($PSQL -c "select count(*) from pg_hba_file_rules where type = 'host' and auth_method = 'reject'")"
echo "tls_replication: $(chroot "$ROOT0" env HOME=/tmp PGPASSWORD=repl-pw PGCONNECT_TIMEOUT=3 /usr/lib/postgresql/15/bin/psql -X -At "host=${A} user=replicator dbname=postgres sslmode=verify-ca sslrootcert=${PATHS.caCert} replication=true" -c "IDENTIFY_SYSTEM" 2>&1 | head -1 | cut -c1-120)"
kill -TERM $PATRONI; wait $PATRONI; echo "patroni_exit: $?"
[ -n "\${H1_DEBUG:-}" ] && sed 's/^/patroni_log: /' "$STAGE/patroni.log" | tail -40
grep -E "ERROR|FATAL|Traceback" "$STAGE/patroni.log" | grep -v "archive" | head -5 | sed 's/^/patroni_error: /'
`,
  });
  debugDump("boot", r);
}, 300_000); // the sandbox run has its own time limit (timeoutSec)

describe("Patroni 3.0.2 boots a standalone node from the rendered files", () => {
  test("the node becomes primary and its REST API answers over TLS", () => {
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(out("primary")).toEqual(["200"]);
    expect(out("replica")).toEqual(["503"]);
  });

  test("unsafe REST endpoints need the REST API password", () => {
    expect(out("restart_without_auth")).toEqual(["401"]);
    expect(out("restart_wrong_auth")).toEqual(["401"]);
    expect(out("reload_with_auth")).toEqual(["202"]);
  });

  test("PostgreSQL runs with the rendered parameters: checksums, TLS 1.3 minimum, size's connections, archiving", () => {
    expect(out("checksums")).toEqual(["on"]);
    expect(out("ssl_min")).toEqual(["TLSv1.3"]);
    expect(out("max_connections")).toEqual(["80"]);
    expect(out("archive_command")).toEqual(["pgbackrest --stanza=orders archive-push %p"]);
  });

  test("standalone runs without a synchronous standby", () => {
    expect(out("sync_mode")).toEqual([""]);
  });

  test("the post-bootstrap script ran with Patroni's environment: auth role and function exist", () => {
    expect(out("auth_role")).toEqual(["pgbouncer_auth"]);
    expect(out("auth_function")).toEqual(["get_auth"]);
  });

  test("Patroni created the rewind role and wrote the rendered pg_hba", () => {
    expect(out("rewind_user")).toEqual(["rewind_user"]);
    expect(Number(out("hba_reject_plain")[0])).toBeGreaterThanOrEqual(2);
  });

  test("the replication role connects over TLS with CA verification", () => {
    expect(out("tls_replication")[0]).toMatch(/^\d{10,}/);
  });

  test("Patroni stops cleanly and logged no error", () => {
    expect(out("patroni_exit")).toEqual(["0"]);
    expect(out("patroni_error")).toEqual([]);
  });
});
