/**
 * The rolling maintenance on the EC2 twin (issue 12): the distributed example with
 * `applyImmediately: true` (test/twin/apps/roll-distributed) applied and formed, then three
 * changes one after the other, under a continuous writer through the read-write endpoint (one
 * PgBouncer instance, the NLB is not modelled) and a read prober on the read-only endpoint.
 * No operator acts on a node in any of them:
 * 1. **size M → L**: synthesized again and re-applied over the running twin
 *    (TwinCluster.reapply: a new launch template version of every slot). Each node's
 *    `managed-postgres-maintenance.timer` sees its group's LaunchTemplate.Version differ from its
 *    `aws:ec2launchtemplate:version` tag and hands itself to its group
 *    (terminate-instance-in-auto-scaling-group, replacement launched at once) — replicas first,
 *    the primary last after a switchover.
 * 2. **a parameter that needs a restart**: the spec has no PostgreSQL parameter field (every
 *    spec change reaches the nodes as a new launch template version, step 1), so this is the
 *    restart path the construct offers (docs/operations.md, "What rolls"): a change in Patroni's
 *    dynamic configuration (`PATCH /config`, what `patronictl edit-config` does) of
 *    `max_locks_per_transaction` 64 → 128, a postmaster-context parameter Patroni takes from the
 *    DCS only; every member reports `pending_restart` and the agents restart them node by node
 *    (replicas first, the primary after a switchover).
 * 3. **storage 50 → 80 GiB**: synthesized again and re-applied; Terraform grows the three data
 *    volumes in place (the twin extends each backing file and `losetup -c`s its loop device:
 *    ModifyVolume as the NVMe device sees it) and each node's `managed-postgres-grow-fs.timer`
 *    (every 5 minutes) acts on its own. No launch template changes, no node rolls or restarts.
 *    Without CAP_SYS_RESOURCE (this CI container) ext4's online resize is refused ("Permission
 *    denied"), so the device grows and the filesystem stays (test/live/twin-storage.test.ts).
 *
 * Asserted: step 1 replaces every slot exactly once by an instance of the new version and ends
 * with size L's max_connections on every node (a parameter Patroni takes from the DCS only, set
 * by the first replaced node: docs/operations.md, "What rolls"); step 2
 * restarts every member's PostgreSQL on the same instance and none is replaced; step 3 replaces
 * and restarts nothing and keeps the launch template versions; the cluster formed again after
 * each (one leader, two streaming replicas); 0 lost acknowledged writes.
 * Printed: a table per change (write gap, read-only gap, lost writes, nodes replaced, nodes
 * restarted, duration), then one line for the whole roll (the longest gaps, the lost writes
 * summed, the durations summed):
 * `roll: write_gap_s=… ro_gap_s=… lost_writes=… nodes_replaced=… duration_s=…`.
 *
 * Root, `sudo npm run setup:system`, terraform and the node root; fails (never skips) without them.
 */
import { loadavg } from "node:os";
import { ROLL_APP, synthesizeAppAsync } from "../test/twin/apps/synth";
import { TwinFaultCluster } from "../test/twin/live";
import { sleep } from "../test/live/harness/exec";
import type { PatroniMember } from "../test/live/harness/fault-cluster";
import { presentIds } from "../test/live/harness/scenarios";
import { ContinuousWriter, longestGapBounds, lostWrites } from "../test/live/harness/writer";
import { requirePrerequisites } from "../test/support/prerequisites";
import { postgresParametersForSize } from "../src/cluster-spec/sizes";

jest.setTimeout(4_200_000);

/** The budget of each change (issue 12: a roll within 20 minutes); `TWIN_ROLL_BUDGET_MIN` shortens it for an observation run. */
const ROLL_BUDGET_MS = Number(process.env.TWIN_ROLL_BUDGET_MIN ?? 20) * 60_000;
/** The storage change waits for every node's grow-fs timer (every 5 minutes, AccuracySec 30 s) and its run. */
const STORAGE_BUDGET_MS = 8 * 60_000;
const GIB = 2 ** 30;
const iso = (ms: number) => (ms ? new Date(ms).toISOString().slice(11, 23) : "-");
const log = (m: string) => console.log(`${new Date().toISOString()} twin-roll: ${m}`);
let cluster: TwinFaultCluster;

/**
 * The roll app synthesized at `size` and `storageGiB` (its stack directory). Asynchronous: a
 * synchronous synth blocks this process's event loop, which timestamps the writer's
 * acknowledgements, and showed up as a write gap of its duration in the change it preceded.
 */
async function synthesize(size: "M" | "L", storageGiB: number): Promise<string> {
  return (await synthesizeAppAsync(ROLL_APP, undefined, { TWIN_ROLL_SIZE: size, TWIN_ROLL_STORAGE_GIB: String(storageGiB) })).distributed!;
}

beforeAll(async () => {
  requirePrerequisites({ root: true, commands: ["terraform", "systemd-nspawn", "nft", "ip", "openssl", "debootstrap", "psql", "losetup"] });
  process.env.TWIN_ROLL_SIZE = "M";
  process.env.TWIN_ROLL_STORAGE_GIB = "50";
  cluster = await TwinFaultCluster.start({ prefix: "twr", app: ROLL_APP, log: (m) => log(`twin: ${m}`) });
}, 1_500_000);

afterAll(async () => {
  await cluster?.destroy();
}, 300_000);

/** The last lines of `unit`'s journal on each running database node (diagnostics). */
async function journals(unit: string, lines = 25): Promise<string> {
  const out: string[] = [];
  for (const i of [0, 1, 2]) {
    try {
      const inst = cluster.instanceOf(i);
      out.push(`--- slot ${i} ${inst.id}\n${await inst.machine.journal(unit, lines)}`);
    } catch (e) {
      out.push(`--- slot ${i}: ${String(e)}`);
    }
  }
  return out.join("\n");
}

function holders(): string[] {
  return [0, 1, 2].map((i) => {
    try {
      return cluster.instanceOf(i).id;
    } catch {
      return "";
    }
  });
}

/** One leader and two streaming replicas. */
function formed(members: readonly PatroniMember[]): boolean {
  return members.length === 3 && members.filter((m) => m.role === "leader").length === 1 && members.filter((m) => m.role !== "leader").every((m) => m.state === "streaming");
}

/** Each slot's instance and its PostgreSQL's start time (`pg_postmaster_start_time()`; empty when it does not answer). */
async function postmasters(): Promise<{ instance: string; started: string }[]> {
  const out: { instance: string; started: string }[] = [];
  for (const i of [0, 1, 2]) {
    const instance = holders()[i]!;
    const r = instance ? await cluster.nodeQuery(i, "SELECT pg_postmaster_start_time()").catch(() => undefined) : undefined;
    out.push({ instance, started: r?.code === 0 ? r.stdout.trim() : "" });
  }
  return out;
}

/** " | pending_restart a,b,c" for the three slots (yes, no, or ? when a Patroni does not answer). */
async function pendingRestarts(): Promise<string> {
  const p = await Promise.all([0, 1, 2].map((i) => cluster.patroniRequest(i, "GET", "/patroni").then((r) => (JSON.parse(r.body) as { pending_restart?: boolean }).pending_restart === true).catch(() => undefined)));
  return ` | pending_restart ${p.map((x) => (x === undefined ? "?" : x ? "yes" : "no")).join(",")}`;
}

/** `SHOW <parameter>` on the three slots ("" where it does not answer). */
function showEverywhere(parameter: string): Promise<string[]> {
  return Promise.all([0, 1, 2].map((i) => cluster.nodeQueryOk(i, `SHOW ${parameter}`).catch(() => "")));
}

/** A change, measured. */
interface Change {
  readonly name: string;
  /** When applying the change began (epoch ms): the start of its measurement window (a re-apply grows the volumes at its end). */
  applyStart: number;
  /** When the change was applied (epoch ms): the start of its duration. */
  readonly start: number;
  /** When the cluster had it everywhere and was formed again (epoch ms). */
  end: number;
  /** After the settle time (no further replacement or restart expected): the end of its measurement window. */
  windowEnd: number;
  replaced: number;
  restarted: number;
  done: boolean;
}

/**
 * Polls every 5 s until `isDone` or `budgetMs`, logging each new state (slot holders' launch
 * template versions, the members); returns whether it finished.
 */
async function watch(change: Change, budgetMs: number, extra: () => Promise<string>, isDone: (members: PatroniMember[]) => Promise<boolean>): Promise<boolean> {
  const tag = (id: string) => cluster.twin.world.instances.find((x) => x.id === id)?.tags["aws:ec2launchtemplate:version"];
  let last = "";
  while (Date.now() - change.start < budgetMs) {
    const members = await cluster.patroniCluster().catch(() => [] as PatroniMember[]);
    const state = `${holders().map((h, i) => `${i}:${h ? tag(h) : "-"}`).join(" ")} | ${members.map((m) => `${m.name}=${m.role}/${m.state}`).join(" ")}${await extra()}`;
    if (state !== last) {
      log(`${change.name} +${((Date.now() - change.start) / 1000).toFixed(0)}s: ${state}`);
      last = state;
    }
    if (await isDone(members)) return true;
    await sleep(5000);
  }
  return false;
}

test("size M → L, a parameter that needs a restart, storage 50 → 80 GiB, with applyImmediately: the nodes roll themselves one at a time (replaced, restarted, untouched), no acknowledged write lost", async () => {
  const twin = cluster.twin;
  const slotGroups = [0, 1, 2].map((i) => cluster.instanceOf(i).group);
  const original = holders();
  const tag = (id: string) => twin.world.instances.find((x) => x.id === id)?.tags["aws:ec2launchtemplate:version"];
  const groupVersions = () => slotGroups.map((g) => twin.world.autoScalingGroups.find((x) => x.name === g)?.launchTemplate?.version);
  expect(original.map(tag)).toEqual(["1", "1", "1"]);
  const leaderBefore = (await cluster.leaderIndex())!;

  const writer = new ContinuousWriter({ connInfo: cluster.endpointConnInfo("rw"), tag: "roll", idBase: 0, maxDurationMs: 2 * ROLL_BUDGET_MS + STORAGE_BUDGET_MS + 900_000, maxStatements: 5_000_000 }).start();
  const roOk: number[] = [];
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const r = await cluster.endpointQuery("ro", "SELECT 1", 5000).catch(() => undefined);
      if (r?.code === 0) roOk.push(Date.now());
      await sleep(500);
    }
  })();
  for (let i = 0; i < 600 && writer.ackCount < 20; i++) await sleep(100);
  expect(writer.ackCount).toBeGreaterThanOrEqual(20);
  const changes: Change[] = [];
  /** Soft checks inside the changes: the table and the line are printed even when one fails; asserted at the end. */
  const failures: string[] = [];
  let step = "";
  const check = (actual: unknown, matcher: "toEqual" | "toBe" | "toHaveLength", expected: unknown) => {
    const a = matcher === "toHaveLength" ? (actual as unknown[]).length : actual;
    if (JSON.stringify(a) !== JSON.stringify(expected)) failures.push(`${step}: ${JSON.stringify(a)} ${matcher} ${JSON.stringify(expected)} (${new Error().stack?.split("\n")[2]?.trim() ?? ""})`);
  };
  const launchesSince = (t: number) => slotGroups.map((g) => twin.launches.filter((l) => l.group === g && l.at >= t).length);
  const restartsBetween = (a: { instance: string; started: string }[], b: { instance: string; started: string }[]) => a.filter((x, i) => x.instance && x.instance === b[i]!.instance && x.started && b[i]!.started && x.started !== b[i]!.started).length;

  // 1. size M → L: a new launch template version; every node replaced once
  const size: Change = { name: "size M → L", applyStart: 0, start: 0, end: 0, windowEnd: 0, replaced: 0, restarted: 0, done: false };
  {
    step = size.name;
    const stack = await synthesize("L", 50);
    size.applyStart = Date.now();
    const changed = await twin.reapply(stack);
    (size as { start: number }).start = Date.now();
    changes.push(size);
    log(`${size.name}: re-applied (${changed.length} resources changed); groups now at ${groupVersions().join(",")}`);
    check(groupVersions(), "toEqual", ["2", "2", "2"]);
    // done: every slot on version 2, formed, and size L's max_connections everywhere with no restart
    // pending (a parameter Patroni takes from the DCS only: the first replaced node PATCHes it,
    // docs/operations.md "What rolls", and restarts once)
    const lConnections = String(postgresParametersForSize("L").maxConnections);
    size.done = await watch(
      size,
      ROLL_BUDGET_MS,
      async () => ` | max_connections ${(await showEverywhere("max_connections")).join(",")}${await pendingRestarts()}`,
      async (members) =>
        holders().every((h) => h && tag(h) === "2") &&
        formed(members) &&
        (await showEverywhere("max_connections")).every((v) => v === lConnections) &&
        !(await pendingRestarts()).match(/yes|\?/),
    );
    size.end = Date.now();
    if (!size.done) log(`${size.name} not finished after ${((size.end - size.start) / 1000).toFixed(0)} s:\n${await journals("managed-postgres-maintenance")}`);
    // exactly once: no further replacement within two more maintenance runs
    if (size.done) await sleep(120_000);
    size.windowEnd = Date.now();
    const perSlot = launchesSince(size.start);
    size.replaced = perSlot.reduce((a, b) => a + b, 0);
    check(size.done, "toBe", true);
    check(perSlot, "toEqual", [1, 1, 1]);
    check(holders().map(tag), "toEqual", ["2", "2", "2"]);
    check(original.every((id) => twin.world.instances.find((x) => x.id === id)?.state !== "running"), "toBe", true);
    check(twin.aws!.scaleIns.map((e) => e.decrement), "toEqual", [false, false, false]);
    const connections = await showEverywhere("max_connections");
    log(`${size.name}: max_connections ${connections.join(",")} (size L: ${lConnections}), shared_buffers ${(await showEverywhere("shared_buffers")).join(",")}`);
    check(connections, "toEqual", [lConnections, lConnections, lConnections]);
  }

  // 2. a parameter that needs a restart, in Patroni's dynamic configuration: every member restarted once, none replaced
  const restart: Change = { name: "max_locks_per_transaction 64 → 128 (restart)", applyStart: 0, start: 0, end: 0, windowEnd: 0, replaced: 0, restarted: 0, done: false };
  if (size.done) {
    step = restart.name;
    const before = await postmasters();
    check(before.every((p) => p.started), "toBe", true);
    check(await cluster.nodeQueryOk(0, "SHOW max_locks_per_transaction"), "toBe", "64");
    const leader = (await cluster.leaderIndex())!;
    restart.applyStart = Date.now();
    const patch = await cluster.patroniRequest(leader, "PATCH", "/config", { postgresql: { parameters: { max_locks_per_transaction: 128 } } }, 15_000);
    (restart as { start: number }).start = Date.now();
    changes.push(restart);
    log(`${restart.name}: PATCH /config on slot ${leader}: ${patch.status}`);
    check(patch.status, "toBe", 200);
    let seenPending = false;
    restart.done = await watch(
      restart,
      ROLL_BUDGET_MS,
      async () => {
        const p = await pendingRestarts();
        if (p.includes("yes")) seenPending = true;
        return p;
      },
      async (members) => {
        if (!formed(members)) return false;
        return (await showEverywhere("max_locks_per_transaction")).every((v) => v === "128") && !(await pendingRestarts()).match(/yes|\?/);
      },
    );
    restart.end = Date.now();
    if (!restart.done) log(`${restart.name} not finished after ${((restart.end - restart.start) / 1000).toFixed(0)} s:\n${await journals("managed-postgres-maintenance")}`);
    if (restart.done) await sleep(90_000);
    restart.windowEnd = Date.now();
    restart.replaced = launchesSince(restart.start).reduce((a, b) => a + b, 0);
    restart.restarted = restartsBetween(before, await postmasters());
    log(`${restart.name}: maintenance journals\n${await journals("managed-postgres-maintenance", 12)}`);
    check(restart.done, "toBe", true);
    check(seenPending, "toBe", true);
    check(restart.replaced, "toBe", 0);
    check(restart.restarted, "toBe", 3);
  }

  // 3. storage 50 → 80 GiB: the volumes grow in place; nothing rolls, nothing restarts
  const storage: Change = { name: "storage 50 → 80 GiB", applyStart: 0, start: 0, end: 0, windowEnd: 0, replaced: 0, restarted: 0, done: false };
  if (restart.done) {
    step = storage.name;
    const before = await postmasters();
    const versions = groupVersions();
    const stack = await synthesize("L", 80);
    storage.applyStart = Date.now();
    const changed = await twin.reapply(stack);
    (storage as { start: number }).start = Date.now();
    changes.push(storage);
    log(`${storage.name}: re-applied (${changed.length} resources changed: ${changed.join(", ")})`);
    check(changed.filter((a) => !a.startsWith("aws_ebs_volume.")), "toEqual", []);
    check(changed, "toHaveLength", 3);
    check(groupVersions(), "toEqual", versions);
    const growFs = async (i: number) => {
      const j = await cluster.instanceOf(i).machine.exec(["bash", "-c", "journalctl -u managed-postgres-grow-fs.service --no-pager -o cat | grep -E 'growing the filesystem|grown|Permission denied' | tail -n 3"], { timeoutMs: 30_000 });
      return j.stdout;
    };
    const target = `to ${80 * GIB} bytes`;
    storage.done = await watch(
      storage,
      STORAGE_BUDGET_MS,
      async () => ` | grow-fs acted ${(await Promise.all([0, 1, 2].map(growFs))).map((s) => (s.includes(target) ? "yes" : "no")).join(",")}`,
      async (members) => formed(members) && (await Promise.all([0, 1, 2].map(growFs))).every((s) => s.includes(target)),
    );
    storage.end = Date.now();
    storage.windowEnd = Date.now();
    const devices = await Promise.all([0, 1, 2].map((i) => cluster.instanceOf(i).machine.exec(["bash", "-c", "blockdev --getsize64 /dev/nvme1n1; df -B1 --output=size /data | tail -n 1"]).then((r) => r.stdout.trim().split(/\s+/).map(Number))));
    log(`${storage.name}: device, filesystem bytes per slot ${devices.map((d) => d.join("/")).join(" ")}; grow-fs:\n${(await Promise.all([0, 1, 2].map(growFs))).join("\n")}`);
    storage.replaced = launchesSince(storage.start).reduce((a, b) => a + b, 0);
    storage.restarted = restartsBetween(before, await postmasters());
    check(storage.done, "toBe", true);
    check(devices.map((d) => d[0]), "toEqual", [80 * GIB, 80 * GIB, 80 * GIB]);
    check(storage.replaced, "toBe", 0);
    check(storage.restarted, "toBe", 0);
  }

  probing = false;
  await prober;
  const result = await writer.stop();
  const present = await presentIds(cluster, "roll");
  const lost = lostWrites(result.acks, present);
  const at = new Map(result.acks.map((a) => [a.id, a.at]));
  const rows = changes.map((c, k) => {
    const from = k === 0 ? -Infinity : c.applyStart;
    const to = k === changes.length - 1 ? Infinity : changes[k + 1]!.applyStart;
    let ro = { from: 0, to: 0 };
    for (let i = 1; i < roOk.length; i++) if (roOk[i]! > c.applyStart && roOk[i - 1]! < c.windowEnd && roOk[i]! - roOk[i - 1]! > ro.to - ro.from) ro = { from: roOk[i - 1]!, to: roOk[i]! };
    const w = longestGapBounds(result.acks, c.applyStart, c.windowEnd);
    return {
      change: c.name,
      write_gap_s: (w.to - w.from) / 1000,
      ro_gap_s: (ro.to - ro.from) / 1000,
      /** when the longest gaps were (to match them with the log above) */
      at: `write gap ${iso(w.from)} → ${iso(w.to)}, ro gap ${iso(ro.from)} → ${iso(ro.to)}`,
      lost_writes: lost.filter((id) => at.get(id)! >= from && at.get(id)! < to).length,
      nodes_replaced: c.replaced,
      nodes_restarted: c.restarted,
      duration_s: (c.end - c.start) / 1000,
    };
  });
  const table = [
    "| change | write gap (s) | ro gap (s) | lost writes | nodes replaced | nodes restarted | duration (s) |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.change} | ${r.write_gap_s.toFixed(1)} | ${r.ro_gap_s.toFixed(1)} | ${r.lost_writes} | ${r.nodes_replaced} | ${r.nodes_restarted} | ${r.duration_s.toFixed(0)} |`),
  ].join("\n");
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0);
  const max = (f: (r: (typeof rows)[number]) => number) => Math.max(...rows.map(f));
  console.log(
    `${table}\n${rows.map((r) => `${r.change}: ${r.at}`).join("\n")}\n(leader before: slot ${leaderBefore}; acks ${result.acks.length}, unacknowledged ${result.unacknowledged}; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")})\n` +
      `roll: write_gap_s=${max((r) => r.write_gap_s).toFixed(1)} ro_gap_s=${max((r) => r.ro_gap_s).toFixed(1)} lost_writes=${sum((r) => r.lost_writes)} nodes_replaced=${sum((r) => r.nodes_replaced)} duration_s=${sum((r) => r.duration_s).toFixed(0)}`,
  );
  expect(sum((r) => r.lost_writes)).toBe(lost.length);
  expect(lost).toEqual([]);
  expect(failures).toEqual([]);
  expect(changes.map((c) => c.done)).toEqual([true, true, true]);
});
