/**
 * A distributed cluster from the rendered files alone: three members (etcd + Patroni 3.0.2 +
 * PostgreSQL 15) in one sandbox (own network and mount namespace, one overlay root per member),
 * secrets given as the node bootstrap gives them (PATRONI_* environment). Checks synchronous
 * replication over TLS, then a hard kill of the primary.
 *
 * The pgBackRest repository is a shared directory (PGBACKREST_REPO1_TYPE=posix in the
 * environment) because S3 does not exist in the sandbox.
 */
import { PATHS, renderNodeConfigFiles } from "../../src/render";
import { distributedNode, TEST_ADDRESSES } from "./fixtures";
import { debugDump, runSandbox, type SandboxResult, reported, TEST_PATRONI_SECRETS_ENV } from "./sandbox";
import { requireTools, startEtcd } from "./tools";

let r: SandboxResult;
const out = (name: string) => reported(r.stdout, name);

beforeAll(() => {
  const secrets = TEST_PATRONI_SECRETS_ENV;
  const repo = "PGBACKREST_REPO1_TYPE=posix PGBACKREST_REPO1_PATH=/var/lib/pgbackrest-test-repo PGBACKREST_REPO1_CIPHER_PASS=test-only";
  const code = (addr: string, path: string) =>
    `$(chroot "$ROOT0" curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert ${PATHS.caCert} https://${addr}:8008${path})`;
  const psql = (i: number, sql: string) =>
    `chroot --userspec=postgres:postgres "$ROOT${i}" env HOME=/var/lib/postgresql /usr/lib/postgresql/15/bin/psql -X -At -d postgres -c "${sql}" 2>&1`;
  r = runSandbox({
    addresses: TEST_ADDRESSES,
    tls: true,
    commonNames: ["orders-0", "orders-1", "orders-2"],
    timeoutSec: 240,
    roots: [0, 1, 2].map((i) => renderNodeConfigFiles(distributedNode(i, { size: "XS" })).map((f) => ({ ...f }))),
    script: `${requireTools("patroni", "etcd", "etcdctl", "curl")}
mkdir -p "$STAGE/repo"; chown postgres:postgres "$STAGE/repo"
for i in 0 1 2; do
  eval root=\\$ROOT$i
  mkdir -p "$root/data/pgdata" "$root/run/postgresql" "$root/var/lib/pgbackrest-test-repo" "$root${PATHS.pgbackrestSpool}" "$root/var/log/pgbackrest"
  mount --bind "$STAGE/repo" "$root/var/lib/pgbackrest-test-repo"
  chown postgres:postgres "$root/data/pgdata" "$root/run/postgresql" "$root${PATHS.pgbackrestSpool}" "$root/var/log/pgbackrest"
done
${startEtcd([0, 1, 2], TEST_ADDRESSES)}
start_patroni() {
  eval root=\\$ROOT$1
  chroot --userspec=postgres:postgres "$root" env HOME=/var/lib/postgresql ${secrets} ${repo} patroni ${PATHS.patroniConfig} >> "$STAGE/patroni$1.log" 2>&1 &
  eval PATRONI_$1=$!
}
start_patroni 0
for n in $(seq 1 120); do [ "${code(TEST_ADDRESSES[0], "/primary")}" = 200 ] && break; sleep 0.5; done
echo "first_primary: ${code(TEST_ADDRESSES[0], "/primary")}"
start_patroni 1; start_patroni 2
for n in $(seq 1 180); do
  a=${code(TEST_ADDRESSES[1], "/replica")}; b=${code(TEST_ADDRESSES[2], "/replica")}
  s1=${code(TEST_ADDRESSES[1], "/sync")}; s2=${code(TEST_ADDRESSES[2], "/sync")}
  [ "$a$b" = 200200 ] && { [ "$s1" = 200 ] || [ "$s2" = 200 ]; } && break
  sleep 0.5
done
echo "replicas: $a $b"
echo "sync_standbys: $s1 $s2"
echo "sync_names: $(${psql(0, "show synchronous_standby_names")})"
echo "replication_tls: $(${psql(0, "select count(*) from pg_stat_replication r join pg_stat_ssl s using (pid) where s.ssl and s.version = 'TLSv1.3' and r.state = 'streaming'")})"
${psql(0, "create table t (v text); insert into t values ('committed-before-failover')")} > /dev/null
sleep 1
echo "replica_read: $(${psql(2, "select v from t")})"
# Hard kill of the primary: Patroni and PostgreSQL, no clean shutdown.
PM=$(head -1 "$ROOT0/data/pgdata/15/postmaster.pid")
T0=$(date +%s)
kill -9 $PATRONI_0 $PM
new=""
for n in $(seq 1 120); do
  for i in 1 2; do
    addr=10.10.0.1$((i+1))
    [ "$(chroot "$ROOT0" curl -s -o /dev/null -w '%{http_code}' --max-time 1 --cacert ${PATHS.caCert} https://$addr:8008/primary)" = 200 ] && new=$i
  done
  [ -n "$new" ] && break
  sleep 0.5
done
echo "failover_seconds: $(( $(date +%s) - T0 ))"
echo "new_primary: $new"
[ -n "$new" ] && echo "row_after_failover: $(chroot --userspec=postgres:postgres "$(eval echo \\$ROOT$new)" env HOME=/var/lib/postgresql /usr/lib/postgresql/15/bin/psql -X -At -d postgres -c "select v from t" 2>&1)"
for i in 1 2; do eval p=\\$PATRONI_$i; kill -TERM $p 2>/dev/null; done
for i in 1 2; do eval p=\\$PATRONI_$i; wait $p; echo "patroni_exit_$i: $?"; done
for i in 0 1 2; do
  eval root=\\$ROOT$i
  ls "$root/var/log/postgresql/"*.log > /dev/null 2>&1 && echo "pg_logs_$i: found"
  grep -hE "pg_hba.conf rejects|no pg_hba.conf entry|password authentication failed|certificate verify failed" "$STAGE/patroni$i.log" "$root/var/log/postgresql/"*.log 2>/dev/null | head -3 | sed "s/^/refused_$i: /"
done
exit 0
`,
  });
  debugDump("cluster", r);
}, 300_000); // the sandbox run has its own time limit (timeoutSec)

describe("a distributed cluster runs from the rendered files (Patroni 3.0.2, etcd 3.4, PostgreSQL 15)", () => {
  test("the first member bootstraps and becomes primary", () => {
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(out("first_primary")).toEqual(["200"]);
  });

  test("the two other members become streaming replicas, one of them the synchronous standby", () => {
    expect(out("replicas")).toEqual(["200 200"]);
    expect(out("sync_standbys")[0]).toMatch(/^(200 503|503 200)$/);
    expect(out("sync_names")[0]).toMatch(/orders-[12]/);
  });

  test("replication runs over TLS 1.3", () => {
    expect(out("replication_tls")).toEqual(["2"]);
  });

  test("a write on the primary is readable on a replica", () => {
    expect(out("replica_read")).toEqual(["committed-before-failover"]);
  });

  test("after a hard kill of the primary a replica takes over within 30 s, with the committed row", () => {
    expect(out("new_primary")[0]).toMatch(/^[12]$/);
    expect(Number(out("failover_seconds")[0])).toBeLessThanOrEqual(30);
    expect(out("row_after_failover")).toEqual(["committed-before-failover"]);
  });

  test("no connection between members was refused by pg_hba, authentication or certificate checks", () => {
    expect(out("pg_logs_1")).toEqual(["found"]);
    expect(r.stdout).not.toMatch(/^refused_\d: /m);
  });

  test("the surviving members' Patroni stop cleanly", () => {
    expect(out("patroni_exit_1")).toEqual(["0"]);
    expect(out("patroni_exit_2")).toEqual(["0"]);
  });
});
