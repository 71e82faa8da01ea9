/**
 * The fault scenarios shared by the live tests and the failover benchmark: unplanned
 * failover (hard crash of the primary's availability zone), availability-zone partition,
 * planned switchover. Each runs a continuous writer through the read-write endpoint and
 * returns what it measured; callers assert or print.
 */
import { ZONES } from "./constants";
import type { LiveCluster } from "./cluster";
import { sleep, waitFor } from "./exec";
import { heal, partition } from "./network";
import { ContinuousWriter, lostWrites, longestGap, type WriterResult } from "./writer";

/** Ids of the rows a writer tag has on the current primary (through the read-write endpoint). */
export async function presentIds(cluster: LiveCluster, tag: string): Promise<Set<number>> {
  const r = await waitFor(
    `rows of writer ${tag}`,
    async () => {
      const q = await cluster.endpointQuery("rw", `SELECT id FROM writes WHERE writer = '${tag}'`, 60_000);
      return q.code === 0 ? q.stdout : undefined;
    },
    120_000,
    2000,
  );
  return new Set(r.split("\n").filter(Boolean).map(Number));
}

/** The running leader, asked of the members other than `other`, if it is not `other`. */
async function otherLeader(cluster: LiveCluster, other: number): Promise<number | undefined> {
  const leader = await cluster.leaderIndex([other]);
  return leader !== undefined && leader !== other ? leader : undefined;
}

async function startWriter(cluster: LiveCluster, tag: string, idBase: number): Promise<ContinuousWriter> {
  const w = new ContinuousWriter({ connInfo: cluster.endpointConnInfo("rw"), tag, idBase, maxDurationMs: 600_000 }).start();
  await waitFor(`writer ${tag} acknowledged writes`, async () => (w.ackCount >= 20 ? true : undefined), 60_000, 200);
  return w;
}

/** Result of one unplanned failover. */
export interface FailoverRound {
  readonly victim: string;
  readonly newPrimary: string;
  /** Kill → first acknowledged write through the endpoint, seconds. */
  readonly rtoSeconds: number;
  readonly acknowledged: number;
  readonly lost: number[];
  /** Seconds until the killed node ran again as a streaming member. */
  readonly rejoinSeconds: number;
}

/**
 * Kills every process of the primary's availability zone at once (SIGKILL) under
 * continuous writes, waits for the first write acknowledged through the read-write
 * endpoint, boots the zone again as a replacement instance, waits for the cluster to be
 * whole, and counts acknowledged writes that are missing.
 */
export async function unplannedFailover(cluster: LiveCluster, round: number): Promise<FailoverRound> {
  const victim = await waitFor("a primary", () => cluster.leaderIndex(), 120_000, 1000);
  const tag = `failover${round}`;
  const writer = await startWriter(cluster, tag, round * 1_000_000);
  const tKill = Date.now();
  await cluster.crashNode(victim);
  // Acknowledgements before this instant may still come from the old primary.
  const tKilled = Date.now();
  const newPrimary = await waitFor("a new primary in another zone", () => otherLeader(cluster, victim), 180_000, 500);
  const firstAck = await waitFor("a write acknowledged after the crash", async () => writer.firstAckAfter(tKilled), 180_000, 100).catch(() => undefined);
  await sleep(2000);
  const result: WriterResult = await writer.stop();
  const tRestart = Date.now();
  await cluster.restartNode(victim);
  await cluster.waitFormed(300_000);
  const rejoinSeconds = (Date.now() - tRestart) / 1000;
  const present = await presentIds(cluster, tag);
  return {
    victim: cluster.members[victim].name,
    newPrimary: cluster.members[newPrimary].name,
    rtoSeconds: firstAck ? (firstAck - tKill) / 1000 : Number.POSITIVE_INFINITY,
    acknowledged: result.acks.length,
    lost: lostWrites(result.acks, present),
    rejoinSeconds,
  };
}

/** Result of an availability-zone partition. */
export interface PartitionResult {
  readonly oldPrimary: string;
  readonly newPrimary: string;
  /** Writes acknowledged by the isolated old primary (writer inside its zone) more than 1 s after the cut. */
  readonly ackedByIsolatedAfterCut: number;
  /** Acknowledged writes (endpoint writer and isolated writer) missing after the heal. */
  readonly lost: number[];
  /** Cut → first write acknowledged through the endpoint, seconds. */
  readonly rtoSeconds: number;
  /** Role of the old primary after the link came back (the cluster's view). */
  readonly oldPrimaryRoleAfterHeal: string;
  /** Role the old primary's own Patroni reports after the link came back. */
  readonly oldPrimarySelfRole: string;
}

/**
 * Cuts the primary's zone off the bridge under writes through the endpoint and writes
 * straight into the old primary from inside its zone; heals after a new primary serves
 * writes; checks the old primary rejoins as a replica and nothing acknowledged was lost.
 */
export async function azPartition(cluster: LiveCluster): Promise<PartitionResult> {
  const old = await waitFor("a primary", () => cluster.leaderIndex(), 120_000, 1000);
  const zone = ZONES[old];
  const endpointWriter = await startWriter(cluster, "partition-endpoint", 50_000_000);
  const isolatedWriter = new ContinuousWriter({
    psql: ["nsenter", "-t", String(cluster.nodes[old].pid), "-m", "-n", "--", "psql"],
    connInfo: `host=127.0.0.1 port=5432 dbname=app user=app sslmode=require connect_timeout=3`,
    tag: "partition-isolated",
    idBase: 60_000_000,
    maxDurationMs: 600_000,
  }).start();
  await waitFor("isolated-zone writer acknowledged writes", async () => (isolatedWriter.ackCount >= 5 ? true : undefined), 60_000, 200);
  const tCut = Date.now();
  await partition(zone);
  const tCutDone = Date.now();
  let healed = false;
  try {
    const newPrimary = await waitFor("a new primary in another zone", () => otherLeader(cluster, old), 180_000, 500);
    const firstAck = await waitFor("a write acknowledged through the endpoint after the cut", async () => endpointWriter.firstAckAfter(tCutDone), 180_000, 100);
    await sleep(5000); // the isolated side keeps trying while the majority moves on
    const endpointResult = await endpointWriter.stop();
    const isolatedResult = await isolatedWriter.stop();
    await heal(zone);
    healed = true;
    await cluster.waitFormed(300_000);
    // The old primary's own view of itself (not the DCS's): a replica again.
    const selfRole = await waitFor(
      `${cluster.members[old].name} reports itself a replica`,
      async () => {
        const r = await cluster.patroniRequest(old, "GET", "/patroni");
        const role = (JSON.parse(r.body) as { role?: string; state?: string }).role;
        return role === "replica" ? role : undefined;
      },
      300_000,
      1000,
    ).catch(() => "not a replica");
    const members = await cluster.waitFormed(300_000);
    const present = new Set([...(await presentIds(cluster, "partition-endpoint")), ...(await presentIds(cluster, "partition-isolated"))]);
    return {
      oldPrimary: cluster.members[old].name,
      newPrimary: cluster.members[newPrimary].name,
      ackedByIsolatedAfterCut: isolatedResult.acks.filter((a) => a.at > tCut + 1000).length,
      lost: [...lostWrites(endpointResult.acks, present), ...lostWrites(isolatedResult.acks, present)],
      rtoSeconds: (firstAck - tCut) / 1000,
      oldPrimaryRoleAfterHeal: members.find((m) => m.name === cluster.members[old].name)?.role ?? "absent",
      oldPrimarySelfRole: selfRole,
    };
  } finally {
    if (!healed) {
      await heal(zone).catch(() => undefined);
      await endpointWriter.stop();
      await isolatedWriter.stop();
    }
  }
}

/** Result of a planned switchover. */
export interface SwitchoverResult {
  readonly from: string;
  readonly to: string;
  /** Longest gap between two acknowledged writes through the endpoint around the switchover, seconds. */
  readonly windowSeconds: number;
  readonly lost: number[];
  readonly httpStatus: number;
}

/** Planned switchover to the synchronous standby (Patroni REST POST /switchover, authenticated) under writes. */
export async function plannedSwitchover(cluster: LiveCluster, round = 0): Promise<SwitchoverResult> {
  const members = await cluster.waitFormed(300_000);
  const leader = members.find((m) => m.role === "leader")!;
  const candidate = members.find((m) => m.role === "sync_standby")!;
  const tag = `switchover${round}`;
  const writer = await startWriter(cluster, tag, 70_000_000 + round * 1_000_000);
  await sleep(1000);
  const t0 = Date.now();
  const r = await cluster.patroniRequest(cluster.indexOf(leader.name), "POST", "/switchover", { leader: leader.name, candidate: candidate.name }, 60_000);
  await waitFor(`${candidate.name} leads`, async () => ((await cluster.leaderIndex()) === cluster.indexOf(candidate.name) ? true : undefined), 120_000, 500);
  await waitFor("writes after the switchover", async () => writer.firstAckAfter(Date.now() - 1) ? true : undefined, 120_000, 200);
  await sleep(2000);
  const t1 = Date.now();
  const result = await writer.stop();
  await cluster.waitFormed(300_000);
  const present = await presentIds(cluster, tag);
  return {
    from: leader.name,
    to: candidate.name,
    windowSeconds: longestGap(result.acks, t0, t1) / 1000,
    lost: lostWrites(result.acks, present),
    httpStatus: r.status,
  };
}
