/**
 * The fault scenarios on the EC2 twin (issues 10, 11): the distributed example's cdk.tf.json
 * applied to the twin (Debian 13 node image: PostgreSQL 17, Patroni 4.0.7, real systemd and
 * cloud-init), then endpoints and TLS, a planned switchover, the invisible commit while
 * replication is paused, three unplanned failovers — each an instance failure whose Auto
 * Scaling replacement launches at once, waits for the slot's ENI and volume and rejoins — and
 * an availability-zone partition with the Jepsen-style read checks. One shared cluster, in order.
 *
 * The NLB is not modelled: the endpoints are one PgBouncer instance's ports 6432 (rw) / 6433
 * (ro), reached from this machine through the twin's host link (test/twin/live.ts).
 * RTOs, slot recovery times and windows are printed (`twin fault measurements`); lost writes,
 * the partition's read checks and the invisible commits' WARNING are asserted.
 *
 * Root, `sudo npm run setup:system`, terraform and the node root; fails (never skips) without them.
 */
import { COMMITTED_LOCALLY } from "./harness/invisible-commit";
import { run } from "./harness/exec";
import { APP_USER } from "./harness/constants";
import {
  azPartition,
  cancelledCommitsWithReplicationPaused,
  plannedSwitchover,
  rotatePrimaryAway,
  unplannedFailover,
  type FailoverRound,
  type PartitionResult,
  type PausedReplicationResult,
} from "./harness/scenarios";
import { TwinFaultCluster } from "../twin/live";
import { PATHS, pgbouncerConfigPath } from "../../src/render";
import { requirePrerequisites } from "../support/prerequisites";

jest.setTimeout(900_000);

let cluster: TwinFaultCluster;
const measurements: Record<string, unknown> = {};
const started = Date.now();

beforeAll(async () => {
  requirePrerequisites({ root: true, commands: ["terraform", "systemd-nspawn", "nft", "ip", "openssl", "debootstrap", "psql"] });
  cluster = await TwinFaultCluster.start({ prefix: "twf", log: (m) => console.log(`${new Date().toISOString()} twin: ${m}`) });
  measurements.boot_s = cluster.bootSeconds;
}, 1_500_000);

afterAll(async () => {
  measurements.suite_s = (Date.now() - started) / 1000;
  console.log(`twin fault measurements: ${JSON.stringify(measurements, null, 2)}`);
  await cluster?.destroy();
}, 300_000);

const psqlEnv = { PGPASSWORD: APP_USER.password };

/** A file of the PgBouncer instance the endpoints use, as its bootstrap wrote it. */
async function poolerFile(path: string): Promise<string> {
  const r = await cluster.endpointInstance.machine.exec(["cat", path], { timeoutMs: 20_000 });
  if (r.status !== 0) throw new Error(`cat ${path} on ${cluster.endpointInstance.id}: ${r.stderr}`);
  return r.stdout;
}

describe("endpoints", () => {
  test("the read-write endpoint reaches the primary", async () => {
    const r = await cluster.endpointQuery("rw", "SELECT pg_is_in_recovery(), inet_server_addr()");
    expect(r.stderr).toBe("");
    const [recovery, addr] = r.stdout.trim().split("|");
    expect(recovery).toBe("f");
    expect(addr).toBe(cluster.members[(await cluster.leaderIndex())!].address);
  });

  test("the read-only endpoint reaches only replicas", async () => {
    const leader = (await cluster.leaderIndex())!;
    const replicas = cluster.members.filter((_, i) => i !== leader).map((m) => m.address);
    for (let i = 0; i < 6; i++) {
      const r = await cluster.endpointQuery("ro", "SELECT pg_is_in_recovery(), inet_server_addr()");
      expect(r.code).toBe(0);
      const [recovery, addr] = r.stdout.trim().split("|");
      expect(recovery).toBe("t");
      expect(replicas).toContain(addr);
    }
  });

  test("clients verify the pooler with sslmode=verify-full, the load balancer's name and the CA the nodes published in SSM", async () => {
    expect(cluster.caPem).toContain("BEGIN CERTIFICATE");
    expect(cluster.endpointName).toMatch(/\.elb\.[a-z0-9-]+\.amazonaws\.com$/);
    // host = the name the certificate is for; hostaddr = a pooler instance (the NLB is not modelled)
    const conninfo = cluster.endpointConnInfo("rw", "").replace(/host=\S+/, `host=${cluster.endpointName} hostaddr=${cluster.endpointInstance.address}`).replace(/sslmode=\S+/, "sslmode=verify-full");
    const r = await run(["psql", "-X", "-A", "-t", "-d", conninfo, "-c", "SELECT 1"], { env: psqlEnv, timeoutMs: 20_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("1");
  });

  test("clients negotiate TLS 1.3 with the pooler", async () => {
    const r = await run(["psql", "-X", "-d", cluster.endpointConnInfo("rw"), "-c", "\\conninfo"], { env: psqlEnv, timeoutMs: 20_000 });
    expect(r.stdout).toMatch(/SSL connection \(protocol: TLSv1\.3/);
  });

  test("the pooler reaches PostgreSQL over TLS 1.3", async () => {
    const r = await cluster.endpointQuery("rw", "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    expect(r.stdout.trim()).toBe("t|TLSv1.3");
  });

  test("passwords are stored and checked as scram-sha-256", async () => {
    const leader = (await cluster.leaderIndex())!;
    expect(await cluster.nodeQueryOk(leader, "SHOW password_encryption")).toBe("scram-sha-256");
    expect(await cluster.nodeQueryOk(leader, `SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = '${APP_USER.name}'`)).toBe("SCRAM-SHA-256$");
    const methods = await cluster.nodeQueryOk(leader, "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type <> 'local' ORDER BY 1");
    expect(methods.split("\n").sort()).toEqual(["reject", "scram-sha-256"]);
  });

  test("a connection without TLS is refused by the pooler and by the nodes", async () => {
    const noTls = (conninfo: string) => run(["psql", "-X", "-A", "-t", "-d", conninfo.replace(/sslmode=\S+/, "sslmode=disable"), "-c", "SELECT 1"], { env: psqlEnv, timeoutMs: 20_000 });
    expect((await noTls(cluster.endpointConnInfo("rw"))).code).not.toBe(0);
    const direct = await noTls(cluster.directConnInfo((await cluster.leaderIndex())!));
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toMatch(/no encryption|pg_hba\.conf rejects/);
  });
});

describe("planned switchover", () => {
  // The write-unavailability window is printed, not asserted (issue 11's target: ≤ 5 s; the
  // machine is shared); docs/live-harness.md has the measured windows.
  test("moves the primary to the synchronous standby without losing an acknowledged write", async () => {
    const result = await plannedSwitchover(cluster);
    measurements.switchover = { ...result, lost: result.lost.length };
    console.log(`switchover: ${JSON.stringify(measurements.switchover)}`);
    expect(result.httpStatus).toBe(200);
    expect(await cluster.leaderIndex()).toBe(cluster.indexOf(result.to));
    expect(result.lost).toEqual([]);
  });
});

describe("the invisible commit while replication is paused (the primary does not fail)", () => {
  let result: PausedReplicationResult;

  beforeAll(async () => {
    result = await cancelledCommitsWithReplicationPaused(cluster);
    measurements.invisible_commit_replication_paused = result;
  }, 300_000);

  test("a client cancel request through the endpoint ends the wait with the WARNING, not silently; the row replicates once the standbys are back", () => {
    const c = result.cancelled;
    expect(c.sawSyncRepWait).toBe(true);
    expect(c.clientMessages).toMatch(COMMITTED_LOCALLY);
    expect(c.visibleOnPrimary).toBe(true);
    expect(c.onSyncStandbyWhilePaused).toBe(false);
    expect(c.survived).toBe(true);
  });

  test("statement_timeout does not cancel a commit waiting for the synchronous standby: it is acknowledged once replicated", () => {
    const t = result.statementTimeout;
    expect(t.sawSyncRepWait).toBe(true);
    expect(t.stillWaiting).toBe(true);
    expect(t.clientMessages).not.toMatch(/statement timeout/);
    expect(t.clientGotRow).toBe(true);
    expect(t.survived).toBe(true);
  });

  test("the PgBouncer pools the instances run never cut a running query (query_timeout, transaction_timeout, idle_transaction_timeout unset)", async () => {
    for (const pool of ["rw", "ro"] as const) {
      const ini = await poolerFile(pgbouncerConfigPath(pool));
      expect(ini).toMatch(/^\s*listen_port\s*=/m);
      expect(ini).not.toMatch(/^\s*(query_timeout|transaction_timeout|idle_transaction_timeout)\s*=\s*[1-9]/m);
    }
  });
});

describe("unplanned failover: the primary's instance fails, Auto Scaling's replacement takes the slot over", () => {
  const rounds: FailoverRound[] = [];
  const victims = new Set<string>();

  test.each([1, 2, 3])("round %i: a new primary takes writes, no acknowledged write is lost, the replacement streams again", async (round) => {
    await rotatePrimaryAway(cluster, victims); // a zone not crashed yet
    // managed-postgres-etcd-leader (every 10 s) moves the etcd leadership off the primary's node
    const { etcdLeader } = await cluster.waitEtcdLeaderOffPrimary(90_000);
    const result = await unplannedFailover(cluster, round);
    rounds.push(result);
    victims.add(result.victim);
    measurements[`failover_round_${round}`] = { ...result, lost: result.lost.length, etcdLeader };
    console.log(`failover round ${round}: ${JSON.stringify(measurements[`failover_round_${round}`])}`);
    expect(result.newPrimary).not.toBe(result.victim);
    expect(Number.isFinite(result.rtoSeconds)).toBe(true);
    expect(result.lost).toEqual([]);
  }, 1_200_000);

  test("the rounds crashed three different availability zones, and no instance gave its slot up", () => {
    expect(new Set(rounds.map((r) => r.victim)).size).toBe(3);
    expect(cluster.twin.aws!.healthReports).toEqual([]);
  });
});

describe("availability-zone partition of the primary", () => {
  let result: PartitionResult;

  beforeAll(async () => {
    await cluster.waitFormed(300_000);
    result = await azPartition(cluster);
    measurements.partition = { ...result, lost: result.lost.length };
    console.log(`partition: ${JSON.stringify(measurements.partition)}`);
  }, 900_000);

  test("the isolated old primary acknowledges no write after the cut", () => {
    expect(result.ackedByIsolatedAfterCut).toBe(0);
  });

  test("a new primary in another zone serves writes through the endpoint", () => {
    expect(result.newPrimary).not.toBe(result.oldPrimary);
    expect(Number.isFinite(result.rtoSeconds)).toBe(true);
  });

  test("no acknowledged write is lost", () => {
    expect(result.lost).toEqual([]);
  });

  test("after the link returns the old primary rejoins as a replica", () => {
    expect(["replica", "sync_standby"]).toContain(result.oldPrimaryRoleAfterHeal);
    expect(result.oldPrimarySelfRole).toBe("replica");
  });

  // Jepsen-style read checks (issue 11); docs/consistency.md.
  test("reads through the read-write endpoint never return a row the cluster later loses, nor an answer of the old primary", () => {
    expect(result.reads.endpoint.reads).toBeGreaterThan(0);
    expect(result.reads.endpoint.dirtyIds).toBe(0);
    expect(result.reads.endpoint.readsFromOldPrimaryAfterCut).toBe(0);
  });

  test("HAProxy closes the sessions of a server it marks down (no pooled connection keeps reading the old primary)", async () => {
    const cfg = await poolerFile(PATHS.haproxyConfig);
    const rw = cfg.slice(cfg.indexOf("listen postgres-rw"), cfg.indexOf("listen postgres-ro"));
    expect(rw).toMatch(/^\s*default-server .*\bon-marked-down shutdown-sessions\b/m);
  });

  test("reads straight from the isolated old primary: the cancelled commits are dirty reads, and they end with the demotion, within Patroni's ttl", () => {
    const { isolated, patroni } = result.reads;
    expect(isolated.reads).toBeGreaterThan(0);
    expect(isolated.dirtyIdsWhilePrimary).toBeGreaterThanOrEqual(1);
    expect(isolated.lastPrimaryReadSeconds).not.toBeNull();
    expect(isolated.lastPrimaryReadSeconds!).toBeLessThanOrEqual(patroni.ttl);
    expect(isolated.dirtyReadWindowSeconds!).toBeLessThanOrEqual(patroni.ttl);
  });

  test("commits cancelled while they wait for the unreachable standby: each client got the WARNING (never silent), the rows were visible, then lost", () => {
    expect(result.invisibleCommits.length).toBeGreaterThan(0);
    for (const c of result.invisibleCommits) {
      expect(c.sawSyncRepWait).toBe(true);
      expect(c.clientGotRow).toBe(true);
      expect(c.clientMessages).toMatch(/canceling wait for synchronous replication/);
      expect(c.clientMessages).toMatch(COMMITTED_LOCALLY);
      expect(c.visibleOnPrimary).toBe(true);
      expect(c.survived).toBe(false);
    }
  });
});
