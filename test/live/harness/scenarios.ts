/**
 * The fault scenarios shared by the live tests and the failover benchmark: unplanned
 * failover (hard crash of the primary's availability zone), availability-zone partition,
 * planned switchover. Each runs a continuous writer through the read-write endpoint and
 * returns what it measured; callers assert or print. They drive a {@link FaultCluster}: the
 * EC2 twin's adapter (test/twin/live.ts).
 */
import { APP_USER } from "./constants";
import { sleep, waitFor } from "./exec";
import type { FaultCluster, PatroniTiming } from "./fault-cluster";
import {
  INVISIBLE_TAG,
  cancelCommitOnIsolatedPrimary,
  rowOnNode,
  settle,
  signalOnNode,
  startCommit,
  syncRepWaiter,
  walSenderPids,
  type CancelledCommit,
  type PendingCommit,
} from "./invisible-commit";
import { ContinuousReader, dirtyReads, type ReaderResult } from "./reader";
import { ContinuousWriter, lostWrites, longestGap, longestGapBounds, type WriterResult } from "./writer";

/** Ids of the rows a writer tag has on the current primary (through the read-write endpoint). */
export async function presentIds(cluster: FaultCluster, tag: string): Promise<Set<number>> {
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
async function otherLeader(cluster: FaultCluster, other: number): Promise<number | undefined> {
  const leader = await cluster.leaderIndex([other]);
  return leader !== undefined && leader !== other ? leader : undefined;
}

async function startWriter(cluster: FaultCluster, tag: string, idBase: number): Promise<ContinuousWriter> {
  const w = new ContinuousWriter({ connInfo: cluster.endpointConnInfo("rw"), tag, idBase, maxDurationMs: 900_000 }).start();
  await waitFor(`writer ${tag} acknowledged writes`, async () => (w.ackCount >= 20 ? true : undefined), 60_000, 200);
  return w;
}

/**
 * Before a failover round that must crash a zone not crashed yet: when the leader is one of
 * `victims` (member names), a planned switchover (REST, authenticated) moves it to a member
 * that is not, and the cluster is formed again. No-op otherwise.
 * @throws Error when the switchover is refused or does not complete
 */
export async function rotatePrimaryAway(cluster: FaultCluster, victims: ReadonlySet<string>): Promise<void> {
  const members = await cluster.waitFormed(300_000);
  const leader = members.find((m) => m.role === "leader")!;
  const target = members.find((m) => m.role !== "leader" && !victims.has(m.name));
  if (!victims.has(leader.name) || !target) return;
  const r = await cluster.patroniRequest(cluster.indexOf(leader.name), "POST", "/switchover", { leader: leader.name, candidate: target.name }, 60_000);
  if (r.status !== 200) throw new Error(`switchover ${leader.name} → ${target.name}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  await waitFor(`${target.name} leads`, async () => ((await cluster.leaderIndex()) === cluster.indexOf(target.name) ? true : undefined), 120_000, 500);
  await cluster.waitFormed(300_000);
}

/** Result of one unplanned failover. */
export interface FailoverRound {
  readonly victim: string;
  readonly newPrimary: string;
  /** Kill → first acknowledged write through the endpoint, seconds. */
  readonly rtoSeconds: number;
  /** Kill → Patroni reports a running leader in another zone (polled every 0.5 s), seconds: the part of the RTO before the endpoint. */
  readonly newLeaderSeconds: number;
  /** ms since the epoch of the kill (to line up with the hosts' logs). */
  readonly killedAt: number;
  readonly acknowledged: number;
  readonly lost: number[];
  /** Kill → the slot's replacement instance streaming in a formed cluster again, seconds (`slot_recovered_s`). */
  readonly slotRecoveredSeconds: number;
}

/**
 * Kills the primary's instance (every process at once) under continuous writes, waits for the
 * first write acknowledged through the read-write endpoint, waits for the slot's replacement
 * instance to run as a streaming member (the twin launches it at the crash, as Auto Scaling's
 * default instance maintenance policy does), and counts acknowledged writes that are missing.
 */
export async function unplannedFailover(cluster: FaultCluster, round: number): Promise<FailoverRound> {
  const victim = await waitFor("a primary", () => cluster.leaderIndex(), 120_000, 1000);
  const tag = `failover${round}`;
  const writer = await startWriter(cluster, tag, round * 1_000_000);
  const tKill = Date.now();
  await cluster.crashNode(victim);
  // Acknowledgements before this instant may still come from the old primary.
  const tKilled = Date.now();
  const newPrimary = await waitFor("a new primary in another zone", () => otherLeader(cluster, victim), 180_000, 500);
  const tLeader = Date.now();
  const firstAck = await waitFor("a write acknowledged after the crash", async () => writer.firstAckAfter(tKilled), 180_000, 100).catch(() => undefined);
  // The writer goes on while the replacement rejoins, as applications do. It also matters: a
  // member rewound from an idle primary whose WAL ends at a segment boundary waits for the next
  // WAL record (pg_rewind sets minRecoveryPoint to the source's insert position, just past the
  // page header), so without writes the replacement never reaches a consistent state.
  await cluster.recoverNode(victim);
  await cluster.waitFormed(600_000);
  const slotRecoveredSeconds = (Date.now() - tKill) / 1000;
  await sleep(2000);
  const result: WriterResult = await writer.stop();
  const present = await presentIds(cluster, tag);
  return {
    victim: cluster.members[victim].name,
    newPrimary: cluster.members[newPrimary].name,
    rtoSeconds: firstAck ? (firstAck - tKill) / 1000 : Number.POSITIVE_INFINITY,
    newLeaderSeconds: (tLeader - tKill) / 1000,
    killedAt: tKill,
    acknowledged: result.acks.length,
    lost: lostWrites(result.acks, present),
    slotRecoveredSeconds,
  };
}

/** Ids each writer of the partition scenario uses: `lo < id <= hi`. */
const PARTITION_IDS = {
  endpoint: { lo: 50_000_000, hi: 50_999_999 },
  isolated: { lo: 60_000_000, hi: 60_999_999 },
  /** The commits cancelled inside the partition (ids lo + 1, lo + 2). */
  invisible: { lo: 61_000_000, hi: 61_000_999 },
} as const;

/** Commits cancelled on the isolated old primary per partition. */
const CANCELLED_COMMITS_IN_PARTITION = 2;

/** What the partition scenario's readers saw (issue 11). */
export interface PartitionReads {
  /** Reader (a): inside the isolated node, straight to the old primary (127.0.0.1:5432). */
  readonly isolated: {
    readonly reads: number;
    readonly failures: number;
    /**
     * Distinct ids it read while the old primary still served as primary and that the cluster
     * lost. A commit that waits for the synchronous standby is not visible to other sessions
     * (RecordTransactionCommit in xact.c waits while the xid still shows as running in the
     * procarray); it becomes visible when its wait is cancelled, so these are the cancelled commits.
     */
    readonly dirtyIdsWhilePrimary: number;
    /** Cut → the last read (as primary) that returned a lost id, seconds; null without dirty reads. */
    readonly dirtyReadWindowSeconds: number | null;
    /** Cut → the last answer of the old primary as primary (not in recovery), seconds: the demotion as a reader sees it. */
    readonly lastPrimaryReadSeconds: number | null;
    /** Cut → the first answer after it restarted in recovery (demoted), seconds. */
    readonly firstReplicaReadSeconds: number | null;
    /** Distinct lost ids it still read after the demotion (the demoted node keeps them until pg_rewind after the heal). */
    readonly dirtyIdsAfterDemotion: number;
  };
  /** Reader (b): through the read-write endpoint (PgBouncer → HAProxy → the primary). */
  readonly endpoint: {
    readonly reads: number;
    readonly failures: number;
    /** Distinct ids it read that the cluster lost. Must be 0. */
    readonly dirtyIds: number;
    /** Reads sent after the cut and answered by the old primary. Must be 0. */
    readonly readsFromOldPrimaryAfterCut: number;
  };
  /** The Patroni timing in effect (`patroniTiming` of the spec), seconds: the demotion bound is ttl. */
  readonly patroni: PatroniTiming;
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
  /** Dirty-read checks of the two readers. */
  readonly reads: PartitionReads;
  /** Commits into the isolated old primary, each cancelled while it waited for the (unreachable) synchronous standby. */
  readonly invisibleCommits: (CancelledCommit & { readonly survived: boolean })[];
}

/** Seconds from `t0` to `t` (ms), one decimal; null for undefined. */
function secondsAfter(t0: number, t: number | undefined): number | null {
  return t === undefined ? null : Math.round((t - t0) / 100) / 10;
}

/** The partition's reader measurements from what the two readers saw and the ids the cluster kept. */
function partitionReads(
  cluster: FaultCluster,
  patroni: PatroniTiming,
  old: number,
  tCut: number,
  tCutDone: number,
  isolated: ReaderResult,
  endpoint: ReaderResult,
  present: ReadonlySet<number>,
): PartitionReads {
  const asPrimary = dirtyReads(isolated.reads, present, (r) => !r.inRecovery);
  const afterDemotion = dirtyReads(isolated.reads, present, (r) => r.inRecovery);
  const primaryAfterCut = isolated.reads.filter((r) => !r.inRecovery && r.sentAt > tCutDone);
  const endpointDirty = dirtyReads(endpoint.reads, present);
  return {
    isolated: {
      reads: isolated.reads.length,
      failures: isolated.failures.length,
      dirtyIdsWhilePrimary: asPrimary.ids.length,
      dirtyReadWindowSeconds: secondsAfter(tCut, asPrimary.reads.at(-1)?.at),
      lastPrimaryReadSeconds: secondsAfter(tCut, primaryAfterCut.at(-1)?.at),
      firstReplicaReadSeconds: secondsAfter(tCut, isolated.reads.find((r) => r.inRecovery && r.at > tCut)?.at),
      dirtyIdsAfterDemotion: afterDemotion.ids.length,
    },
    endpoint: {
      reads: endpoint.reads.length,
      failures: endpoint.failures.length,
      dirtyIds: endpointDirty.ids.length,
      readsFromOldPrimaryAfterCut: endpoint.reads.filter((r) => r.sentAt > tCutDone && r.server === cluster.members[old].address).length,
    },
    patroni,
  };
}

/**
 * Cuts the primary's zone off the bridge under writes through the endpoint and writes
 * straight into the old primary from inside its zone; heals after a new primary serves
 * writes; checks the old primary rejoins as a replica and nothing acknowledged was lost.
 *
 * Jepsen-style checks on the same cut (issue 11): two readers record every id they read —
 * (a) inside the isolated zone straight from the old primary, (b) through the read-write
 * endpoint — and are compared after the heal with the ids the cluster kept (a lost id that
 * was read is a dirty read). Right after the cut, a commit into the isolated old primary
 * waits for the unreachable synchronous standby and is cancelled (the "invisible commit").
 */
export async function azPartition(cluster: FaultCluster): Promise<PartitionResult> {
  const old = await waitFor("a primary", () => cluster.leaderIndex(), 120_000, 1000);
  const patroni = await cluster.patroniTiming();
  cluster.endpointAvoiding(old);
  const inZone = [...cluster.nodeCommand(old), "psql"];
  const inZoneConnInfo = `host=127.0.0.1 port=5432 dbname=${APP_USER.name} user=${APP_USER.name} sslmode=require connect_timeout=3`;
  const endpointWriter = await startWriter(cluster, "partition-endpoint", PARTITION_IDS.endpoint.lo);
  const isolatedWriter = new ContinuousWriter({
    psql: inZone,
    connInfo: inZoneConnInfo,
    tag: "partition-isolated",
    idBase: PARTITION_IDS.isolated.lo,
    maxDurationMs: 600_000,
  }).start();
  const ranges = [PARTITION_IDS.endpoint, PARTITION_IDS.isolated, PARTITION_IDS.invisible];
  const isolatedReader = new ContinuousReader({ psql: inZone, connInfo: inZoneConnInfo, name: "isolated", ranges }).start();
  const endpointReader = new ContinuousReader({ connInfo: cluster.endpointConnInfo("rw"), name: "endpoint", ranges }).start();
  const stopAll = async () => {
    const r = await Promise.all([endpointWriter.stop(), isolatedWriter.stop(), isolatedReader.stop(), endpointReader.stop()]);
    return { endpointResult: r[0], isolatedResult: r[1], isolatedReads: r[2], endpointReads: r[3] };
  };
  let healed = false;
  try {
    await waitFor("isolated-zone writer acknowledged writes", async () => (isolatedWriter.ackCount >= 5 ? true : undefined), 60_000, 200);
    await waitFor("both readers answered", async () => (isolatedReader.readCount >= 3 && endpointReader.readCount >= 3 ? true : undefined), 60_000, 200);
    const tCut = Date.now();
    await cluster.partitionZone(old);
    const tCutDone = Date.now();
    // Replication to both standbys is cut now: a commit into the old primary waits for the
    // synchronous standby; cancel it before Patroni demotes the old primary (retry_timeout).
    const cancelled: CancelledCommit[] = [];
    for (let i = 1; i <= CANCELLED_COMMITS_IN_PARTITION; i++) cancelled.push(await cancelCommitOnIsolatedPrimary(cluster, old, PARTITION_IDS.invisible.lo + i));
    const newPrimary = await waitFor("a new primary in another zone", () => otherLeader(cluster, old), 180_000, 500);
    const firstAck = await waitFor("a write acknowledged through the endpoint after the cut", async () => endpointWriter.firstAckAfter(tCutDone), 180_000, 100);
    await sleep(5000); // the isolated side keeps trying while the majority moves on
    const { endpointResult, isolatedResult, isolatedReads, endpointReads } = await stopAll();
    await cluster.healZone(old);
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
    const invisibleKept = await presentIds(cluster, INVISIBLE_TAG);
    const present = new Set([...(await presentIds(cluster, "partition-endpoint")), ...(await presentIds(cluster, "partition-isolated")), ...invisibleKept]);
    return {
      oldPrimary: cluster.members[old].name,
      newPrimary: cluster.members[newPrimary].name,
      ackedByIsolatedAfterCut: isolatedResult.acks.filter((a) => a.at > tCut + 1000).length,
      lost: [...lostWrites(endpointResult.acks, present), ...lostWrites(isolatedResult.acks, present)],
      rtoSeconds: (firstAck - tCut) / 1000,
      oldPrimaryRoleAfterHeal: members.find((m) => m.name === cluster.members[old].name)?.role ?? "absent",
      oldPrimarySelfRole: selfRole,
      reads: partitionReads(cluster, patroni, old, tCut, tCutDone, isolatedReads, endpointReads, present),
      invisibleCommits: cancelled.map((c) => ({ ...c, survived: invisibleKept.has(c.id) })),
    };
  } finally {
    if (!healed) {
      await cluster.healZone(old).catch(() => undefined);
      await stopAll();
    }
  }
}

/** Result of {@link cancelledCommitsWithReplicationPaused}. */
export interface PausedReplicationResult {
  readonly primary: string;
  /** How long the primary's WAL senders were stopped, seconds. */
  readonly pausedSeconds: number;
  /**
   * A commit through the read-write endpoint whose client sent a cancel request (SIGINT to
   * psql; PgBouncer forwards it) while the commit waited; then replication resumed.
   */
  readonly cancelled: CancelledCommit & { readonly onSyncStandbyWhilePaused: boolean | undefined; readonly survived: boolean };
  /**
   * A commit straight into the primary with `statement_timeout = 1s` in its session: still
   * waiting well after the timeout (statement_timeout does not end a wait for synchronous
   * replication), acknowledged once replication resumed.
   */
  readonly statementTimeout: CancelledCommit & { readonly waitingAfterMs: number; readonly stillWaiting: boolean; readonly survived: boolean };
}

/**
 * The invisible commit when the primary does not fail (issue 11): both WAL senders of the
 * primary are stopped (SIGSTOP; the standbys receive nothing, so with
 * synchronous_mode_strict every commit waits), one commit is cancelled by its client and
 * one runs under a 1 s statement_timeout; then the WAL senders continue and the test looks
 * for both rows on both standbys. Takes a few seconds; the cluster stays formed.
 */
export async function cancelledCommitsWithReplicationPaused(cluster: FaultCluster, idBase = 61_100_000): Promise<PausedReplicationResult> {
  const members = await cluster.waitFormed(300_000);
  const primary = cluster.indexOf(members.find((m) => m.role === "leader")!.name);
  const sync = cluster.indexOf(members.find((m) => m.role === "sync_standby")!.name);
  const replica = cluster.indexOf(members.find((m) => m.role === "replica")!.name);
  const senders = await walSenderPids(cluster, primary);
  if (senders.length !== 2) throw new Error(`expected 2 WAL senders on ${cluster.members[primary].name}, found ${senders.length}`);
  const idCancel = idBase + 1;
  const idTimeout = idBase + 2;
  const waitingAfterMs = 3000;
  await signalOnNode(cluster, primary, "STOP", senders);
  const tPause = Date.now();
  let timed: PendingCommit | undefined;
  let cancelled: CancelledCommit | undefined;
  let onSyncStandbyWhilePaused: boolean | undefined;
  let stillWaiting = false;
  let sawTimedWait = false;
  try {
    const viaEndpoint = startCommit(["psql"], cluster.endpointConnInfo("rw"), idCancel, `invisible-${idCancel}`);
    timed = startCommit(
      [...cluster.nodeCommand(primary), "psql"],
      `host=127.0.0.1 port=5432 dbname=${APP_USER.name} user=${APP_USER.name} sslmode=require connect_timeout=3`,
      idTimeout,
      `invisible-${idTimeout}`,
      ["SET statement_timeout = '1s'"],
    );
    const waiting = await syncRepWaiter(cluster, primary, viaEndpoint.appName);
    sawTimedWait = (await syncRepWaiter(cluster, primary, timed.appName)) !== undefined;
    viaEndpoint.child.kill("SIGINT"); // psql sends a CancelRequest; PgBouncer forwards it to the server connection
    cancelled = await settle(cluster, viaEndpoint, primary, "client cancel request (SIGINT to psql)", "read-write endpoint (PgBouncer → HAProxy → primary)", waiting !== undefined);
    onSyncStandbyWhilePaused = await rowOnNode(cluster, sync, idCancel);
    await sleep(Math.max(0, timed.sentAt + waitingAfterMs - Date.now()));
    stillWaiting = (await syncRepWaiter(cluster, primary, timed.appName, 1)) !== undefined;
  } finally {
    await signalOnNode(cluster, primary, "CONT", senders);
  }
  const pausedSeconds = (Date.now() - tPause) / 1000;
  const timedResult = await settle(cluster, timed, primary, "none: statement_timeout = 1s", "direct to the primary", sawTimedWait);
  const onBoth = (id: number) =>
    waitFor(
      `row ${id} on both standbys`,
      async () => ((await rowOnNode(cluster, sync, id)) && (await rowOnNode(cluster, replica, id)) ? true : undefined),
      30_000,
      200,
    ).catch(() => false);
  return {
    primary: cluster.members[primary].name,
    pausedSeconds,
    cancelled: { ...cancelled, onSyncStandbyWhilePaused, survived: await onBoth(idCancel) },
    statementTimeout: { ...timedResult, waitingAfterMs, stillWaiting, survived: await onBoth(idTimeout) },
  };
}

/** Result of a planned switchover. */
export interface SwitchoverResult {
  readonly from: string;
  readonly to: string;
  /** Longest gap between two acknowledged writes through the endpoint around the switchover, seconds. */
  readonly windowSeconds: number;
  readonly lost: number[];
  readonly httpStatus: number;
  /** ms since the epoch: POST /switchover sent, and the two acknowledgements that bound the longest gap. */
  readonly postedAt: number;
  readonly gap: { readonly from: number; readonly to: number };
  /** The writer's failed attempts (ms since the epoch) and what its client saw. */
  readonly failures: number[];
  readonly errors: WriterResult["errors"];
}

/** Planned switchover to the synchronous standby (Patroni REST POST /switchover, authenticated) under writes. */
export async function plannedSwitchover(cluster: FaultCluster, round = 0): Promise<SwitchoverResult> {
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
    postedAt: t0,
    gap: longestGapBounds(result.acks, t0, t1),
    failures: result.failures,
    errors: result.errors,
  };
}
