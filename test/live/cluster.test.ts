/**
 * The live 3-AZ cluster (issue 3): the library's user data boots three database nodes
 * (one per availability zone, each a network namespace) and a PgBouncer tier instance on
 * this machine, against s3rver and a local AWS stand-in. The tests share one cluster and
 * run in order. Needs root and the Debian packages listed in docs/live-harness.md; without
 * them the run fails (never skips).
 *
 * Run: sudo npm run test:live
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "fs";
import { join } from "path";
import { LiveCluster, REPLICA_UP } from "./harness/cluster";
import { APP_USER, BUCKET, POOLER, RUN_ROOT } from "./harness/constants";
import { run, sleep, waitFor } from "./harness/exec";
import { nodeJobs, runJob } from "./harness/library-driver";

jest.setTimeout(600_000);

const cluster = new LiveCluster();
const measurements: Record<string, unknown> = {};

beforeAll(async () => {
  await cluster.start();
}, 900_000);

afterAll(async () => {
  console.log(`live harness measurements: ${JSON.stringify(measurements, null, 2)}`);
  await cluster.stop();
}, 300_000);

/** Every file (recursively) under a directory. */
function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const bucketDir = () => join(cluster.s3Directory, BUCKET);
/** Objects s3rver stores, without its metadata side files. */
const storedObjects = () => walk(bucketDir()).filter((f) => f.endsWith("._S3rver_object"));

describe("the cluster forms", () => {
  test("the library's rendered files boot it without harness corrections", () => {
    expect([...cluster.workarounds]).toEqual([]);
  });

  test("one primary, one synchronous standby and one replica, all running", async () => {
    const members = await cluster.waitFormed(120_000);
    expect(members.map((m) => m.role).sort()).toEqual(["leader", "replica", "sync_standby"]);
    for (const m of members.filter((x) => x.role !== "leader")) expect(REPLICA_UP).toContain(m.state);
  });

  test("etcd has 3 of 3 members healthy", async () => {
    const health = await cluster.etcdHealth();
    expect(health.filter((h) => h.health)).toHaveLength(3);
  });

  test("the three first boots stored exactly one version of the cluster secret and of the pooler's (ClientRequestToken races)", async () => {
    const state = (await cluster.standinState())!;
    const secrets = state.secrets as { arn: string; versions: { stages: string[] }[] }[];
    expect(secrets.map((x) => x.arn).sort()).toEqual([cluster.runtime.secretArn, cluster.runtime.poolerSecretArn!].sort());
    for (const secret of secrets) {
      expect(secret.versions).toHaveLength(1);
      expect(secret.versions[0].stages).toEqual(["AWSCURRENT"]);
    }
  });

  test("the pooler reads its own secret only, and holds no CA key", async () => {
    const state = (await cluster.standinState())!;
    const fromPooler = state.calls.filter((c) => c.from === POOLER.address && (c.api === "secretsmanager" || c.api === "ssm"));
    expect(fromPooler.filter((c) => c.action === "GetSecretValue" && c.status === 200).length).toBeGreaterThan(0);
    expect(new Set(fromPooler.map((c) => `${c.action} ${c.target}`))).toEqual(new Set([`GetSecretValue ${cluster.runtime.poolerSecretArn}`]));
    // Its credentials files hold the auth user's password, not a key; the one private key is its own.
    const keys = await cluster.pooler.execOk(["bash", "-c", "grep -rls 'PRIVATE KEY' /etc/managed-postgres /etc/pgbouncer | sort"]);
    expect(keys.trim()).toBe("/etc/managed-postgres/tls/server.key");
    const own = await cluster.pooler.execOk(["openssl", "pkey", "-in", "/etc/managed-postgres/tls/server.key", "-pubout"]);
    const ca = await cluster.pooler.execOk(["openssl", "x509", "-in", "/etc/managed-postgres/tls/ca.crt", "-noout", "-pubkey"]);
    expect(own.trim()).not.toBe(ca.trim());
    // the cluster CA key (from the cluster secret) appears in no file of the pooler
    const caKeyLine = JSON.parse(await cluster.secretValue(cluster.runtime.secretArn)).ca_key_pem.split("\n")[1];
    const found = await cluster.pooler.exec(["grep", "-rlF", caKeyLine, "/etc", "/run", "/var/lib/managed-postgres"]);
    expect(found.stdout.trim()).toBe("");
  });

  test("clients verify the pooler with sslmode=verify-full and the CA the nodes published", async () => {
    const state = (await cluster.standinState())!;
    const pem = state.parameters![cluster.runtime.caCertificateParameter!]!.value;
    expect(pem).toContain("BEGIN CERTIFICATE");
    const file = join(RUN_ROOT, "pki", "published-ca.pem");
    writeFileSync(file, pem);
    const r = await run(["psql", "-X", "-A", "-t", "-d", cluster.endpointConnInfo("rw", `sslmode=verify-full sslrootcert=${file}`), "-c", "select 1"], {
      env: { PGPASSWORD: APP_USER.password },
      timeoutMs: 20_000,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("1");
  });
});

describe("backups", () => {
  const MARKER = `plaintext-marker-${process.pid}-7f3a9c`;
  const jobOutputs: Record<string, string[]> = {};

  beforeAll(async () => {
    await cluster.waitFormed(300_000);
    const ins = await cluster.endpointQuery(
      "rw",
      `CREATE TABLE IF NOT EXISTS secrets_probe (v text); INSERT INTO secrets_probe SELECT '${MARKER}' || g FROM generate_series(1, 2000) g`,
    );
    expect(ins.code).toBe(0);
    const leader = (await cluster.leaderIndex())!;
    await cluster.nodeQueryOk(leader, "CHECKPOINT");
    await cluster.nodeQueryOk(leader, "SELECT pg_switch_wal()");
    for (const unit of ["managed-postgres-backup.service", "managed-postgres-logical-dump.service"]) {
      jobOutputs[unit] = [];
      for (let i = 0; i < 3; i++) {
        const job = nodeJobs(cluster.nodeContext(i)).get(unit)!;
        const r = await runJob(cluster.nodes[i], job);
        jobOutputs[unit].push(`${cluster.members[i].name} exit ${r.code}: ${r.output.slice(-1500)}`);
      }
    }
  }, 900_000);

  test("the stanza exists in the bucket", () => {
    expect(existsSync(join(bucketDir(), "live/archive/live/archive.info._S3rver_object"))).toBe(true);
    expect(existsSync(join(bucketDir(), "live/backup/live/backup.info._S3rver_object"))).toBe(true);
  });

  test("the scheduled backup job takes a full backup (from the synchronous standby)", async () => {
    const leader = (await cluster.leaderIndex())!;
    const r = await cluster.pgbackrest(leader, ["info", "--output=json"]);
    const info = JSON.parse(r.stdout) as { backup: { type: string; error?: boolean }[]; status: { code: number } }[];
    const full = info[0].backup.filter((b) => b.type === "full").length;
    if (full === 0) console.log(`backup job output:\n${jobOutputs["managed-postgres-backup.service"].join("\n")}`);
    expect(full).toBeGreaterThanOrEqual(1);
    expect(info[0].status.code).toBe(0);
  });

  test("WAL is archived to the bucket", async () => {
    const leader = (await cluster.leaderIndex())!;
    const seg = await cluster.nodeQueryOk(leader, "SELECT pg_walfile_name(pg_current_wal_lsn())");
    await cluster.nodeQueryOk(leader, "SELECT pg_switch_wal()");
    await waitFor(
      `WAL segment ${seg} in the archive`,
      async () => (walk(join(bucketDir(), "live/archive/live")).some((f) => f.includes(`/${seg}-`)) ? true : undefined),
      120_000,
      1000,
    );
    const r = await cluster.pgbackrest(leader, ["info", "--output=json"]);
    const info = JSON.parse(r.stdout) as { archive: { min: string | null; max: string | null }[] }[];
    expect(info[0].archive[0].max).not.toBeNull();
  });

  test("the logical dump job puts an encrypted dump of each database in the bucket", () => {
    const dumps = storedObjects().filter((f) => f.includes("/live/logical/"));
    expect({ dumps: dumps.map((f) => f.slice(bucketDir().length)), jobs: jobOutputs["managed-postgres-logical-dump.service"] }).toMatchObject({
      dumps: expect.arrayContaining([expect.stringMatching(/^\/live\/logical\/app\/\d{8}T\d{6}Z\.dump\.enc\._S3rver_object$/)]),
    });
  });

  test("every stored object is encrypted client-side (OpenSSL salted AES-256 format)", () => {
    const objects = storedObjects();
    expect(objects.length).toBeGreaterThan(5);
    const plain = objects.filter((f) => {
      const head = readFileSync(f).subarray(0, 8).toString("latin1");
      return head !== "Salted__";
    });
    expect(plain.map((f) => f.slice(bucketDir().length))).toEqual([]);
  });

  test("no stored object contains the plaintext written to a table", async () => {
    // The marker is in the primary's data files (so a search would find unencrypted copies)...
    const leader = (await cluster.leaderIndex())!;
    const inData = await run(["grep", "-rlF", MARKER, cluster.hostPath(leader, "/data/pgdata")], { timeoutMs: 120_000 });
    expect(inData.stdout.trim()).not.toBe("");
    // ...and nowhere in the bucket.
    const inBucket = await run(["grep", "-rlF", MARKER, bucketDir()], { timeoutMs: 120_000 });
    expect(inBucket.stdout.trim()).toBe("");
  });
});

describe("point-in-time recovery", () => {
  test("a restore to a time returns exactly the rows committed before it", async () => {
    await cluster.waitFormed(300_000);
    const q = async (sql: string) => {
      const r = await cluster.endpointQuery("rw", sql, 60_000);
      if (r.code !== 0) throw new Error(`${sql}: ${r.stderr}`);
      return r.stdout.trim();
    };
    await q("CREATE TABLE IF NOT EXISTS pitr (id int PRIMARY KEY, phase text NOT NULL)");
    await q("INSERT INTO pitr SELECT g, 'before' FROM generate_series(1, 100) g");
    await sleep(1500);
    const target = await q("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
    await sleep(1500);
    await q("INSERT INTO pitr SELECT g, 'after' FROM generate_series(101, 150) g");
    const leader = (await cluster.leaderIndex())!;
    const seg = await cluster.nodeQueryOk(leader, "SELECT pg_walfile_name(pg_current_wal_lsn())");
    await cluster.nodeQueryOk(leader, "SELECT pg_switch_wal()");
    await waitFor(
      `WAL segment ${seg} archived`,
      async () => (walk(join(bucketDir(), "live/archive/live")).some((f) => f.includes(`/${seg}-`)) ? true : undefined),
      120_000,
      1000,
    );

    // Restore into a fresh data directory on a replica's host, as a separate instance.
    const host = (leader + 1) % 3;
    const node = cluster.nodes[host];
    const dir = "/var/lib/postgresql/pitr-restore";
    const sock = "/var/lib/postgresql/pitr-sock";
    await node.execOk(["rm", "-rf", dir, sock]);
    await node.execOk(["install", "-d", "-m", "0700", "-o", "postgres", "-g", "postgres", dir, sock]);
    const restore = await cluster.pgbackrest(host, [`--pg1-path=${dir}`, "--type=time", `--target=${target}`, "--target-action=promote", "restore"], 600_000);
    expect(restore.code).toBe(0);
    const pgctl = "/usr/lib/postgresql/15/bin/pg_ctl";
    const opts = `-p 5499 -c listen_addresses='' -c unix_socket_directories=${sock} -c archive_mode=off -c logging_collector=off -c hot_standby=on -c shared_buffers=64MB`;
    try {
      const start = await node.exec(["sh", "-c", `set -a; . /etc/managed-postgres/harness.env; set +a; exec setpriv --reuid=postgres --regid=postgres --init-groups -- ${pgctl} -D ${dir} -l ${dir}/restore.log -w -t 300 -o "${opts}" start`], { timeoutMs: 330_000 });
      expect(start.code).toBe(0);
      const psql = (sql: string) =>
        node.exec(["psql", "-X", "-A", "-t", "-h", sock, "-p", "5499", "-d", "app", "-c", sql], { user: "postgres", timeoutMs: 30_000 });
      await waitFor("the restored instance is promoted", async () => ((await psql("SELECT pg_is_in_recovery()")).stdout.trim() === "f" ? true : undefined), 300_000, 1000);
      const rows = (await psql("SELECT phase || ':' || count(*) || ':' || min(id) || ':' || max(id) FROM pitr GROUP BY phase ORDER BY phase")).stdout.trim();
      expect(rows).toBe("before:100:1:100");
    } finally {
      await node.exec(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", pgctl, "-D", dir, "-m", "immediate", "stop"], { timeoutMs: 60_000 });
      await node.exec(["rm", "-rf", dir, sock]);
    }
  });
});
