/**
 * PITR into a new cluster with the rendered `pgbackrest_restore` bootstrap: cluster "orders"
 * (standalone, Patroni from the rendered files) is backed up and archives WAL; cluster
 * "orders-v2" boots from the rendered files with `restore: { stanza: "orders", target }` and
 * must contain exactly the rows committed before the target — inside a sandbox, PostgreSQL 15.
 *
 * The repository is a directory shared by both simulated hosts and mounted at `/orders`
 * (PGBACKREST_REPO1_TYPE=posix, PGBACKREST_REPO1_PATH=/orders for the source), standing in
 * for the source cluster's bucket path `/orders`.
 */
import { PATHS, renderNodeConfigFiles, type NodeContext } from "../../src/render";
import { members, runtime, spec, TEST_ADDRESSES } from "./fixtures";
import { debugDump, runSandbox, type SandboxResult, reported, TEST_PATRONI_SECRETS_ENV } from "./sandbox";
import { requireTools, startEtcd } from "./tools";

function node(name: string, address: string): NodeContext {
  const s = spec({ name, deployment: "standalone", size: "XS" });
  const m = members(name, 1, [address]);
  return { spec: s, self: m[0]!, members: m, runtime };
}

let r: SandboxResult;
const out = (name: string) => reported(r.stdout, name);

beforeAll(() => {
  const [A, B] = [TEST_ADDRESSES[0], TEST_ADDRESSES[1]];
  const secrets = TEST_PATRONI_SECRETS_ENV;
  const repo = "PGBACKREST_REPO1_TYPE=posix PGBACKREST_REPO1_PATH=/orders PGBACKREST_REPO1_CIPHER_PASS=test-only";
  const asPg = (i: number) => `chroot --userspec=postgres:postgres "$ROOT${i}" env HOME=/var/lib/postgresql ${secrets} ${repo}`;
  const psql = (i: number, sql: string) => `${asPg(i)} /usr/lib/postgresql/15/bin/psql -X -At -d postgres -c "${sql}" 2>&1`;
  const code = (addr: string, path: string) =>
    `$(chroot "$ROOT0" curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert ${PATHS.caCert} https://${addr}:8008${path})`;
  // The target is filled in at run time: the restore file is rendered by the script with sed.
  const target = "2000-01-01 00:00:00+00";
  const restored = renderNodeConfigFiles(node("orders-v2", B), { patroni: { restore: { stanza: "orders", target } } });
  r = runSandbox({
    addresses: [A, B],
    tls: true,
    commonNames: ["orders-0", "orders-v2-0"],
    timeoutSec: 240,
    roots: [renderNodeConfigFiles(node("orders", A)).map((f) => ({ ...f })), restored.map((f) => ({ ...f }))],
    script: `${requireTools("patroni", "etcd", "etcdctl", "curl", "pgbackrest")}
mkdir -p "$STAGE/repo"; chown postgres:postgres "$STAGE/repo"
for i in 0 1; do
  eval root=\\$ROOT$i
  mkdir -p "$root/data/pgdata" "$root/run/postgresql" "$root/orders" "$root${PATHS.pgbackrestSpool}" "$root/var/log/pgbackrest"
  mount --bind "$STAGE/repo" "$root/orders"
  chown postgres:postgres "$root/data/pgdata" "$root/run/postgresql" "$root${PATHS.pgbackrestSpool}" "$root/var/log/pgbackrest"
done
${startEtcd([0], [A])}
${asPg(0)} patroni ${PATHS.patroniConfig} > "$STAGE/patroni0.log" 2>&1 & P0=$!
for n in $(seq 1 120); do [ "${code(A, "/primary")}" = 200 ] && break; sleep 0.5; done
echo "source_primary: ${code(A, "/primary")}"
${asPg(0)} pgbackrest --stanza=orders --log-level-console=warn stanza-create; echo "stanza_create: $?"
${asPg(0)} pgbackrest --stanza=orders --log-level-console=warn --type=full backup; echo "backup: $?"
${psql(0, "create table t (v text); insert into t values ('before-target')")} > /dev/null
${psql(0, "select pg_switch_wal()")} > /dev/null
sleep 1.2
T=$(${psql(0, "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")})
sleep 1.2
${psql(0, "insert into t values ('after-target')")} > /dev/null
${psql(0, "select pg_switch_wal()")} > /dev/null
for n in $(seq 1 40); do
  [ "$(${psql(0, "select count(*) from pg_stat_archiver where last_archived_time > now() - interval '1 second' or failed_count = 0 and archived_count >= 4")})" = 1 ] && break
  sleep 0.5
done
${psql(0, "select archived_count, failed_count from pg_stat_archiver")} | sed 's/^/archiver: /'
kill -TERM $P0; wait $P0
# The new cluster, restored to T.
sed -i "s/2000-01-01 00:00:00+00/$T/g" "$ROOT1${PATHS.patroniConfig}"
${startEtcd([1], [B]).replace(/ETCDCTL=/g, "ETCDCTL1=").replace(/\$ETCDCTL /g, "$ETCDCTL1 ").replace(/chroot \$ROOT0/g, "chroot $ROOT1")}
${asPg(1)} patroni ${PATHS.patroniConfig} > "$STAGE/patroni1.log" 2>&1 & P1=$!
for n in $(seq 1 180); do [ "${code(B, "/primary")}" = 200 ] && break; kill -0 $P1 2>/dev/null || break; sleep 0.5; done
echo "restored_primary: ${code(B, "/primary")}"
echo "restored_rows: $(${psql(1, "select string_agg(v, ',' order by v) from t")})"
echo "restored_auth_role: $(${psql(1, "select rolname from pg_roles where rolname = 'pgbouncer_auth'")})"
echo "restored_archive_command: $(${psql(1, "show archive_command")})"
kill -TERM $P1; wait $P1
[ -n "\${H1_DEBUG:-}" ] && tail -40 "$STAGE/patroni1.log" | sed 's/^/patroni1_log: /'
exit 0
`,
  });
  debugDump("restore", r);
}, 300_000); // the sandbox run has its own time limit (timeoutSec)

describe("PITR into a new cluster with the rendered pgbackrest_restore bootstrap (Patroni 3.0.2, pgBackRest 2.45)", () => {
  test("the source cluster is backed up and archives its WAL", () => {
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(out("source_primary")).toEqual(["200"]);
    expect(out("stanza_create")).toEqual(["0"]);
    expect(out("backup")).toEqual(["0"]);
    expect(out("archiver")[0]).toMatch(/^\d+\|0$/);
  });

  test("the new cluster bootstraps from the backup and becomes primary", () => {
    expect(out("restored_primary")).toEqual(["200"]);
  });

  test("it holds exactly the rows committed before the target", () => {
    expect(out("restored_rows")).toEqual(["before-target"]);
  });

  test("the post-bootstrap step ran and the new cluster archives to its own stanza", () => {
    expect(out("restored_auth_role")).toEqual(["pgbouncer_auth"]);
    expect(out("restored_archive_command")).toEqual(["pgbackrest --stanza=orders-v2 archive-push %p"]);
  });
});
