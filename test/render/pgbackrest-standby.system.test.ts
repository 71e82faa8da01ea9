/**
 * The backup-from-standby design of `renderPgBackRestConfig`, on real software: a primary and
 * two streaming standbys (PostgreSQL 15, rendered parameters and pg_hba), a pgBackRest TLS
 * server on every member (rendered `tls-server-*`, member-name certificates), and a full
 * backup started on a standby with its own rendered file, reaching the primary through TLS.
 *
 * Only the repository differs from production: a directory shared by the three simulated
 * hosts (PGBACKREST_REPO1_TYPE=posix / PGBACKREST_REPO1_PATH in the environment, which take
 * precedence over the file) instead of S3, which does not exist in the sandbox.
 */
import { PATHS, pgBinDir, pgDataDir, renderPgBackRestConfig, renderPgHba, renderPostgresParameters } from "../../src/render";
import { distributedNode, TEST_ADDRESSES } from "./fixtures";
import { debugDump, runSandbox, type SandboxResult, reported } from "./sandbox";
import { requireTools } from "./tools";

const nodes = [0, 1, 2].map((i) => distributedNode(i, { size: "XS" }));
const bin = pgBinDir(15);
const data = pgDataDir(15);
const REPO = "/var/lib/pgbackrest-test-repo";

function postgresqlConf(i: number): string {
  const params = renderPostgresParameters(nodes[i]!.spec);
  const lines = Object.entries(params).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`);
  lines.push(`listen_addresses = '${TEST_ADDRESSES[i]},127.0.0.1'`, "port = 5432", "shared_buffers = '128MB'");
  return lines.join("\n") + "\n";
}

let r: SandboxResult;
const out = (name: string) => reported(r.stdout, name);

beforeAll(() => {
  const env = `env HOME=/var/lib/postgresql PGBACKREST_REPO1_TYPE=posix PGBACKREST_REPO1_PATH=${REPO} PGBACKREST_REPO1_CIPHER_PASS=test-only-pass`;
  const asPg = (i: number) => `chroot --userspec=postgres:postgres "$ROOT${i}" ${env}`;
  const conninfo = `host=${TEST_ADDRESSES[0]} user=replicator password=repl-pw sslmode=verify-ca sslrootcert=${PATHS.caCert}`;
  r = runSandbox({
    addresses: TEST_ADDRESSES,
    tls: true,
    commonNames: ["orders-0", "orders-1", "orders-2"],
    timeoutSec: Number(process.env.H1_TIMEOUT ?? 240),
    roots: nodes.map((ctx, i) => [
      { path: PATHS.pgbackrestConfig, content: renderPgBackRestConfig(ctx) },
      { path: "/opt/test/postgresql.conf.add", content: postgresqlConf(i) },
      { path: "/opt/test/pg_hba.conf", content: renderPgHba(ctx.spec, ctx.members).join("\n") + "\n" },
    ]),
    script: `${requireTools("pgbackrest")}
[ -n "\${H1_DEBUG:-}" ] && set -x
[ -x "$ROOT0${bin}/postgres" ] || { echo "MISSING TOOL: ${bin}/postgres" >&2; exit 97; }
mkdir -p "$STAGE/repo"; chown postgres:postgres "$STAGE/repo"
for i in 0 1 2; do
  eval root=\\$ROOT$i
  mkdir -p "$root${REPO}" "$root${data}" "$root/run/postgresql" "$root${PATHS.pgbackrestSpool}" "$root/var/log/pgbackrest"
  mount --bind "$STAGE/repo" "$root${REPO}"
  chown -R postgres:postgres "$root/data" "$root/run/postgresql" "$root/var/log/pgbackrest"
  chmod 0700 "$root${data}"
done
# pgBackRest TLS server on every member.
for i in 0 1 2; do
  eval root=\\$ROOT$i
  chroot --userspec=postgres:postgres "$root" ${env} pgbackrest --log-level-console=warn server > "$STAGE/server$i.log" 2>&1 &
done
# Primary.
${asPg(0)} ${bin}/initdb -D ${data} --data-checksums -E UTF8 --locale=C.UTF-8 -U postgres > "$STAGE/initdb.log" 2>&1 || { cat "$STAGE/initdb.log"; exit 1; }
cat "$ROOT0/opt/test/postgresql.conf.add" >> "$ROOT0${data}/postgresql.conf"; cp "$ROOT0/opt/test/pg_hba.conf" "$ROOT0${data}/pg_hba.conf"
${asPg(0)} ${bin}/pg_ctl -D ${data} -l /tmp/pg.log -w -t 30 start > /dev/null 2>&1; echo "primary_start: $?"
${asPg(0)} ${bin}/psql -X -q -d postgres -c "CREATE ROLE replicator REPLICATION LOGIN PASSWORD 'repl-pw'" -c "CREATE TABLE t AS SELECT generate_series(1, 10000) AS n"
${asPg(0)} pgbackrest --stanza=orders --log-level-console=warn stanza-create; echo "stanza_create: $?"
# Two streaming standbys, cloned over TLS with the rendered pg_hba.
for i in 1 2; do
  eval root=\\$ROOT$i
  chroot --userspec=postgres:postgres "$root" env HOME=/var/lib/postgresql ${bin}/pg_basebackup -D ${data} -R -X stream -c fast -d "${conninfo}" > "$STAGE/bb$i.log" 2>&1; echo "basebackup_$i: $?"
  cat "$root/opt/test/postgresql.conf.add" >> "$root${data}/postgresql.conf"
  sed -i "s/^listen_addresses = .*/listen_addresses = '10.10.0.1$((i+1)),127.0.0.1'/" "$root${data}/postgresql.conf"
  chroot --userspec=postgres:postgres "$root" ${env} ${bin}/pg_ctl -D ${data} -l /tmp/pg.log -w -t 30 start > /dev/null 2>&1; echo "standby_start_$i: $?"
done
sleep 2
${asPg(0)} ${bin}/psql -X -At -d postgres -c "select count(*) from pg_stat_replication where state = 'streaming'" | sed 's/^/streaming: /'
# The scheduled backup, run on a standby (orders-1) with its own rendered file.
${asPg(1)} pgbackrest --stanza=orders --type=full --log-level-console=info --log-level-file=off backup > "$STAGE/backup.log" 2>&1; echo "backup_rc: $?"
sed 's/^/backup_log: /' "$STAGE/backup.log"
${asPg(1)} pgbackrest --stanza=orders --output=json info | python3 -c "import json,sys; b=json.load(sys.stdin)[0]['backup']; print('backups:', len(b), b[-1]['type'] if b else '-')"
for i in 1 2; do eval root=\\$ROOT$i; chroot "$root" ${bin}/pg_ctl -D ${data} -m immediate stop > /dev/null 2>&1 || true; done
for i in 0 1 2; do eval root=\\$ROOT$i; chroot --userspec=postgres:postgres "$root" ${bin}/pg_ctl -D ${data} -m fast -w stop > /dev/null 2>&1; done
exit 0
`,
  });
  debugDump("standby", r);
}, 300_000); // the sandbox run has its own time limit (timeoutSec)

describe("backup from a standby with the rendered pgBackRest files (pgBackRest 2.45, PostgreSQL 15)", () => {
  test("the primary archives through pgBackRest and both standbys stream over TLS", () => {
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(out("primary_start")).toEqual(["0"]);
    expect(out("stanza_create")).toEqual(["0"]);
    expect(out("basebackup_1")).toEqual(["0"]);
    expect(out("basebackup_2")).toEqual(["0"]);
    expect(out("streaming")).toEqual(["2"]);
  });

  test("a full backup started on a standby succeeds and is recorded in the repository", () => {
    expect(out("backup_rc")).toEqual(["0"]);
    expect(out("backups")).toEqual(["1 full"]);
  });

  test("the backup is taken from the standby: pgBackRest waits for the standby to replay the start point", () => {
    expect(out("backup_log").join("\n")).toMatch(/wait for replay on the standby/);
  });
});
