/**
 * A standalone node's rendered files working together on real software: PostgreSQL 15 with
 * the rendered parameters and pg_hba, the rendered post-bootstrap script and SQL, and
 * PgBouncer with the rendered rw pool — inside a sandbox (own network and mount namespace).
 */
import {
  PATHS,
  PATRONI_POST_BOOTSTRAP_SCRIPT,
  pgBinDir,
  pgDataDir,
  pgbouncerConfigPath,
  pgbouncerRunDir,
  renderNodeConfigFiles,
  renderPgHba,
  renderPostgresParameters,
} from "../../src/render";
import { standaloneNode, TEST_ADDRESSES } from "./fixtures";
import { runSandbox, type SandboxResult } from "./sandbox";
import { requireTools } from "./tools";

const ctx = standaloneNode({ size: "XS" });
const A = TEST_ADDRESSES[0];

function postgresqlConf(): string {
  const params = renderPostgresParameters(ctx.spec);
  const lines = Object.entries(params).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`);
  lines.push(`listen_addresses = '${A},127.0.0.1'`, "port = 5432");
  return lines.join("\n") + "\n";
}

let result: SandboxResult;
/** Lines the script printed as `name: value`. */
function out(name: string): string[] {
  return result.stdout
    .split("\n")
    .filter((l) => l.startsWith(`${name}: `))
    .map((l) => l.slice(name.length + 2).trim());
}

beforeAll(() => {
  const files = renderNodeConfigFiles(ctx).map((f) => ({ ...f }));
  const bin = pgBinDir(ctx.spec.majorVersion);
  const data = pgDataDir(ctx.spec.majorVersion);
  const asPg = `chroot --userspec=postgres:postgres "$ROOT0" env HOME=/var/lib/postgresql`;
  const psql = (conn: string, sql: string, name: string) =>
    `r=$(${asPg} env PGCONNECT_TIMEOUT=3 ${bin}/psql -X -At "${conn}" -c "${sql}" 2>&1); echo "${name}: $(echo $r | tr '\\n' ' ')"`;
  result = runSandbox({
    addresses: [A],
    tls: true,
    timeoutSec: 120,
    roots: [
      [
        ...files,
        { path: "/opt/test/postgresql.conf.add", content: postgresqlConf() },
        { path: "/opt/test/pg_hba.conf", content: renderPgHba(ctx.spec, ctx.members).join("\n") + "\n" },
        { path: PATHS.pgbouncerUserlist, content: '"pgbouncer_auth" "auth-secret-1"\n', mode: "0600", owner: "postgres:postgres" },
      ],
    ],
    script: `${requireTools("openssl", "pgbouncer")}
set -u
[ -x "$ROOT0${bin}/postgres" ] || { echo "MISSING TOOL: ${bin}/postgres" >&2; exit 97; }
mkdir -p "$ROOT0${data}" "$ROOT0/run/postgresql" "$ROOT0${pgbouncerRunDir("rw")}" "$ROOT0/var/log/pgbouncer"
chown -R postgres:postgres "$ROOT0/data" "$ROOT0/run/postgresql" "$ROOT0${pgbouncerRunDir("rw")}" "$ROOT0/var/log/pgbouncer" "$ROOT0/etc/patroni"
chmod 0700 "$ROOT0${data}"
${asPg} ${bin}/initdb -D ${data} --data-checksums -E UTF8 --locale=C.UTF-8 -U postgres > "$STAGE/initdb.log" 2>&1 || { cat "$STAGE/initdb.log"; exit 1; }
cat "$ROOT0/opt/test/postgresql.conf.add" >> "$ROOT0${data}/postgresql.conf"
cp "$ROOT0/opt/test/pg_hba.conf" "$ROOT0${data}/pg_hba.conf"
${asPg} ${bin}/pg_ctl -D ${data} -l /tmp/pg.log -w -t 30 start > /dev/null 2>&1; echo "pg_start: $?"
cat "$ROOT0/tmp/pg.log" 2>/dev/null | grep -E "FATAL|ERROR|WARNING" | sed 's/^/pg_log: /'
# Patroni would run this once with a superuser connection URL.
${asPg} env PGBOUNCER_AUTH_PASSWORD=auth-secret-1 ${PATRONI_POST_BOOTSTRAP_SCRIPT} "postgresql:///postgres?host=/var/run/postgresql" > "$STAGE/pb.log" 2>&1; echo "post_bootstrap: $?"; sed 's/^/post_bootstrap_out: /' "$STAGE/pb.log"
${asPg} env PGBOUNCER_AUTH_PASSWORD=auth-secret-1 ${PATRONI_POST_BOOTSTRAP_SCRIPT} "postgresql:///postgres?host=/var/run/postgresql" > /dev/null 2>&1; echo "post_bootstrap_again: $?"
${asPg} ${bin}/psql -X -q -d postgres -c "CREATE ROLE app LOGIN PASSWORD 'app-pw'" -c "CREATE DATABASE appdb"
${psql(`host=${A} sslmode=require user=app password=app-pw dbname=appdb`, "select version from pg_stat_ssl where pid = pg_backend_pid()", "tls_app")}
${psql(`host=${A} sslmode=disable user=app password=app-pw dbname=appdb`, "select 1", "plain_app")}
${psql(`host=${A} sslmode=require user=postgres password=x dbname=postgres`, "select 1", "tls_superuser")}
${psql(`host=${A} sslmode=require user=pgbouncer_auth password=auth-secret-1 dbname=appdb`, "select username || ' ' || left(password, 13) from pgbouncer.get_auth('app')", "auth_app")}
${psql(`host=${A} sslmode=require user=pgbouncer_auth password=auth-secret-1 dbname=appdb`, "select count(*) from pgbouncer.get_auth('postgres')", "auth_superuser")}
${psql(`host=${A} sslmode=require user=app password=app-pw dbname=appdb`, "select * from pgbouncer.get_auth('app')", "app_calls_get_auth")}
${psql(`host=${A} sslmode=require user=pgbouncer_auth password=auth-secret-1 dbname=appdb`, "select count(*) from pg_shadow", "auth_reads_pg_shadow")}
grep -c "auth-secret-1" "$ROOT0/var/log/postgresql/"* 2>/dev/null | awk -F: '{s+=$2} END {print "password_in_log: " s+0}'
# PgBouncer with the rendered standalone rw pool in front of it.
${asPg} pgbouncer ${pgbouncerConfigPath("rw")} > "$STAGE/pgb.log" 2>&1 & PGB=$!
for n in $(seq 1 50); do (exec 3<>/dev/tcp/${A}/6432) 2>/dev/null && break; sleep 0.2; done
${psql(`host=${A} port=6432 sslmode=require user=app password=app-pw dbname=appdb`, "select current_user || ' ' || ssl from pg_stat_ssl where pid = pg_backend_pid()", "via_pgbouncer")}
${psql(`host=${A} port=6432 sslmode=disable user=app password=app-pw dbname=appdb`, "select 1", "via_pgbouncer_plain")}
${psql(`host=${A} port=6432 sslmode=require user=postgres password=x dbname=appdb`, "select 1", "via_pgbouncer_superuser")}
kill $PGB; wait $PGB
${asPg} ${bin}/pg_ctl -D ${data} -m fast -w stop > /dev/null 2>&1
exit 0
`,
  });
}, 300_000); // the sandbox run has its own time limit (timeoutSec)

describe("standalone node stack on PostgreSQL 15 and PgBouncer 1.18", () => {
  test("PostgreSQL starts with every rendered parameter and logs no error", () => {
    expect(result.stderr).not.toContain("MISSING TOOL");
    expect(out("pg_start")).toEqual(["0"]);
    expect(out("pg_log")).toEqual([]);
  });

  test("the post-bootstrap script succeeds, and succeeds again (idempotent, as after a restore)", () => {
    expect(out("post_bootstrap")).toEqual(["0"]);
    expect(out("post_bootstrap_out")).toEqual([]);
    expect(out("post_bootstrap_again")).toEqual(["0"]);
  });

  test("applications connect over TLS 1.3 with scram-sha-256", () => {
    expect(out("tls_app")).toEqual(["TLSv1.3"]);
  });

  test("a connection without TLS is rejected by pg_hba", () => {
    expect(out("plain_app")[0]).toMatch(/no pg_hba.conf entry|rejects connection/);
  });

  test("the superuser cannot log in over the network", () => {
    expect(out("tls_superuser")[0]).toMatch(/pg_hba.conf rejects connection/);
  });

  test("the auth function returns an application role's SCRAM secret, in a database created after bootstrap", () => {
    expect(out("auth_app")).toEqual(["app SCRAM-SHA-256"]);
  });

  test("the auth function never returns a superuser's secret", () => {
    expect(out("auth_superuser")).toEqual(["0"]);
  });

  test("other roles cannot execute the auth function", () => {
    expect(out("app_calls_get_auth")[0]).toMatch(/permission denied for (schema pgbouncer|function get_auth)/);
  });

  test("the auth role cannot read pg_shadow directly", () => {
    expect(out("auth_reads_pg_shadow")[0]).toMatch(/permission denied for (view|table) pg_shadow/);
  });

  test("the auth role's password never reaches the server log", () => {
    expect(out("password_in_log")).toEqual(["0"]);
  });

  test("clients reach PostgreSQL through PgBouncer (auth_query, SCRAM pass-through), and PgBouncer uses TLS to PostgreSQL", () => {
    expect(out("via_pgbouncer")).toEqual(["app true"]);
  });

  test("PgBouncer refuses clients without TLS", () => {
    expect(out("via_pgbouncer_plain")[0]).toMatch(/SSL required|server does not support SSL|FATAL/);
  });

  test("PgBouncer refuses the superuser (the auth function hides its secret)", () => {
    expect(out("via_pgbouncer_superuser")[0]).toMatch(/FATAL|password authentication failed|no such user/);
  });
});
