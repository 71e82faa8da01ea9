/**
 * Live (issue 4): a standalone cluster's backup restored into a new distributed cluster,
 * through `restoreFrom`, and the rows checked.
 *
 * 1. A standalone cluster `livesrc` boots from the library's user data (one node running
 *    its own PgBouncer). Rows are written, the node's backup job takes a full backup, more
 *    rows, a target time is noted, more rows; the WAL past the target is archived.
 * 2. Its processes stop; the bucket (s3rver's directory) and the source secret's value are
 *    kept.
 * 3. A distributed cluster `livedst` boots against the same bucket, its user data carrying
 *    what `ManagedPostgres` adds for `restoreFrom` (`restoreFromUserData`: Patroni's custom
 *    bootstrap `pgbackrest_restore`, the source template, the cipher-pass script and the
 *    patroni.service drop-in whose `ExecStartPre=+…` writes the source pgBackRest config
 *    from the source secret, which the AWS stand-in holds beside the new cluster's own).
 * 4. The new cluster forms; its first primary was restored (the source's system
 *    identifier, a new timeline, the restore source config written by the drop-in); it
 *    holds exactly the rows committed before the target, and so do the replicas.
 *
 * Needs root and the Debian packages of the harness (npm run test:live); fails without.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "fs";
import { join } from "path";
import type { ClusterSpec } from "../../src/cluster-spec";
import type { RestoreFrom } from "../../src/cluster-spec";
import { RESTORE_SOURCE_CONFIG } from "../../src/render/restore";
import { restoreFromIssues } from "../../src/rules/restore";
import { LiveCluster, REPLICA_UP, liveRuntime, releaseRunLock } from "./harness/cluster";
import { BUCKET, PREFIX } from "./harness/constants";
import { sleep, waitFor } from "./harness/exec";
import { nodeJobs, restoreFromUserData, runJob } from "./harness/library-driver";

jest.setTimeout(600_000);

const SOURCE_SPEC: ClusterSpec = { name: "livesrc", deployment: "standalone", size: "XS", storageGiB: 2, majorVersion: 15 };
const TARGET_SPEC: ClusterSpec = { name: "livedst", deployment: "distributed", size: "XS", storageGiB: 2, majorVersion: 15 };
/** The bucket between the two clusters (outside the run directory, which each start empties). */
const CARRY = `/var/tmp/${PREFIX}-restore-bucket`;
const MARKER = `restore-marker-${process.pid}`;
const ROWS = "SELECT phase || ':' || count(*) || ':' || min(id) || ':' || max(id) || ':' || bool_and(marker = '" + MARKER + "') FROM orders GROUP BY phase ORDER BY phase";

let source: LiveCluster | undefined;
let target: LiveCluster | undefined;
const facts = { targetTime: "", systemIdentifier: "", sourceRows: "", backupStop: 0, sourceSecretArn: "" };
const t0 = Date.now();

/** Every file (recursively) under a directory. */
function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

async function rw(cluster: LiveCluster, sql: string): Promise<string> {
  const r = await cluster.endpointQuery("rw", sql, 60_000);
  if (r.code !== 0) throw new Error(`[${cluster.spec.name}] ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

beforeAll(async () => {
  rmSync(CARRY, { recursive: true, force: true });
  // 1. The standalone source.
  source = new LiveCluster({ spec: SOURCE_SPEC });
  await source.start();
  expect(source.nodes).toHaveLength(1);
  const src = source;
  await rw(src, `CREATE TABLE orders (id int PRIMARY KEY, phase text NOT NULL, marker text NOT NULL)`);
  await rw(src, `INSERT INTO orders SELECT g, 'before', '${MARKER}' FROM generate_series(1, 100) g`);
  const job = nodeJobs(src.nodeContext(0)).get("managed-postgres-backup.service")!;
  const backup = await runJob(src.nodes[0], job);
  if (backup.code !== 0) throw new Error(`source backup job failed (exit ${backup.code}):\n${backup.output.slice(-3000)}`);
  const info = JSON.parse((await src.pgbackrest(0, ["info", "--output=json"])).stdout) as { backup: { type: string; timestamp: { stop: number } }[] }[];
  const full = info[0].backup.filter((b) => b.type === "full");
  if (full.length !== 1) throw new Error(`source: expected one full backup, pgbackrest info: ${JSON.stringify(info)}\njob output:\n${backup.output.slice(-2000)}`);
  facts.backupStop = full[0].timestamp.stop;
  // Replayed from the WAL after the backup, before the target.
  await rw(src, `INSERT INTO orders SELECT g, 'before', '${MARKER}' FROM generate_series(101, 150) g`);
  await sleep(1500);
  facts.targetTime = await rw(src, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
  await sleep(1500);
  await rw(src, `INSERT INTO orders SELECT g, 'after', '${MARKER}' FROM generate_series(151, 200) g`);
  facts.sourceRows = await rw(src, ROWS);
  facts.systemIdentifier = await src.nodeQueryOk(0, "SELECT system_identifier FROM pg_control_system()");
  // The WAL holding the 'after' rows (past the target) is archived.
  const seg = await src.nodeQueryOk(0, "SELECT pg_walfile_name(pg_current_wal_lsn())");
  await src.nodeQueryOk(0, "SELECT pg_switch_wal()");
  const archiveDir = join(src.s3Directory, BUCKET, SOURCE_SPEC.name, "archive", SOURCE_SPEC.name);
  await waitFor(`source WAL segment ${seg} archived`, async () => (walk(archiveDir).some((f) => f.includes(`/${seg}-`)) ? true : undefined), 120_000, 1000);
  facts.sourceSecretArn = src.runtime.secretArn;
  const sourceSecret = await src.secretValue(facts.sourceSecretArn);

  // 2. The source stops; its bucket and its secret stay (the lock too: one harness run).
  await src.stop({ keepBucketIn: CARRY, releaseLock: false });
  source = undefined;

  // 3. The distributed cluster restored from it.
  const restore: RestoreFrom = { backupBucket: BUCKET, stanza: SOURCE_SPEC.name, secretArn: facts.sourceSecretArn, target: facts.targetTime };
  expect(restoreFromIssues(restore, TARGET_SPEC.name, new Date())).toEqual([]);
  target = new LiveCluster({
    spec: TARGET_SPEC,
    userData: restoreFromUserData(restore, liveRuntime(TARGET_SPEC.name)),
    extraSecrets: [{ arn: facts.sourceSecretArn, name: `${SOURCE_SPEC.name}-cluster`, secretString: sourceSecret }],
    bucketFrom: CARRY,
  });
  await target.start();
  console.log(`restore into distributed: both clusters up after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 900_000);

afterAll(async () => {
  await source?.stop({ releaseLock: false });
  await target?.stop({ releaseLock: false });
  releaseRunLock();
  rmSync(CARRY, { recursive: true, force: true });
  console.log(`restore-into-distributed: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 300_000);

describe("a standalone cluster's backup restored into a new distributed cluster", () => {
  test("the source held the rows before and after the target, and a full backup taken before it", () => {
    expect(facts.sourceRows).toBe("after:50:151:200:true\nbefore:150:1:150:true");
    expect(facts.backupStop * 1000).toBeLessThan(Date.parse(facts.targetTime));
  });

  test("the new cluster forms: one primary, a synchronous standby and a replica", async () => {
    const members = await target!.waitFormed(120_000);
    expect(members.map((m) => m.role).sort()).toEqual(["leader", "replica", "sync_standby"]);
    for (const m of members.filter((x) => x.role !== "leader")) expect(REPLICA_UP).toContain(m.state);
  });

  test("its first primary was bootstrapped by a pgBackRest restore of the source", async () => {
    const dst = target!;
    const leader = (await dst.leaderIndex())!;
    // The source's database system (initdb would have made a new one), promoted onto a new timeline.
    for (const i of dst.nodeIndexes) {
      expect(await dst.nodeQueryOk(i, "SELECT system_identifier FROM pg_control_system()")).toBe(facts.systemIdentifier);
    }
    expect(Number(await dst.nodeQueryOk(leader, "SELECT timeline_id FROM pg_control_checkpoint()"))).toBeGreaterThan(1);
    // Patroni ran the custom bootstrap method on one member (the first primary).
    const logs = dst.nodes.map((n) => {
      const f = join(n.logDir, "patroni.log");
      return existsSync(f) ? readFileSync(f, "utf8") : "";
    });
    const bootstrapped = logs.filter((l) => /Running custom bootstrap script: pgbackrest --config=\/etc\/pgbackrest\/restore-source\.conf --stanza=livesrc /.test(l));
    if (bootstrapped.length !== 1) console.log(logs.map((l, i) => `== ${dst.members[i].name}\n${l.slice(-3000)}`).join("\n"));
    expect(bootstrapped).toHaveLength(1);
    // The drop-in's ExecStartPre wrote the source config (with the cipher pass) before Patroni started.
    for (const i of dst.nodeIndexes) {
      const conf = readFileSync(dst.hostPath(i, RESTORE_SOURCE_CONFIG), "utf8");
      expect(conf.split("\n").slice(0, 2)).toEqual(["[global]", expect.stringMatching(/^repo1-cipher-pass=.+/)]);
      expect(statSync(dst.hostPath(i, RESTORE_SOURCE_CONFIG)).mode & 0o777).toBe(0o640);
    }
  });

  test("the table holds exactly the rows committed before the target", async () => {
    expect(await rw(target!, ROWS)).toBe("before:150:1:150:true");
  });

  test("the replicas hold the same rows", async () => {
    const dst = target!;
    const leader = (await dst.leaderIndex())!;
    const replicas = dst.nodeIndexes.filter((i) => i !== leader);
    expect(replicas).toHaveLength(2);
    for (const i of replicas) {
      const rows = await waitFor(
        `${dst.members[i].name} has the rows`,
        async () => {
          const r = await dst.nodeQuery(i, ROWS, "app");
          return r.code === 0 && r.stdout.trim() === "before:150:1:150:true" ? r.stdout.trim() : undefined;
        },
        60_000,
        1000,
      ).catch(async () => (await dst.nodeQuery(i, ROWS, "app")).stdout.trim() + (await dst.nodeQuery(i, ROWS, "app")).stderr);
      expect(rows).toBe("before:150:1:150:true");
      expect(await dst.nodeQueryOk(i, "SELECT pg_is_in_recovery()")).toBe("t");
    }
  });
});
