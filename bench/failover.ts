/**
 * Failover and pooler benchmark on the EC2 twin (issues 10, 11): the distributed example's
 * cdk.tf.json applied to the twin, every node the Debian 13 node image (PostgreSQL 17,
 * Patroni 4.0.7) under systemd-nspawn with real systemd and cloud-init (test/twin/live.ts).
 * Needs root, `sudo npm run setup:system`, terraform and the node root: `sudo npm run bench:failover`.
 *
 * Prints the environment (machine + the node image's package versions), a table per
 * measurement, then the summary lines:
 *   failover: median_rto_s=<n> max_rto_s=<n> lost_writes=<n>
 *   replacement: slot_recovered_s=<median n>
 *
 * - Unplanned failover, FAILOVER_ROUNDS (default 3) rounds rotating the victim zone: the
 *   primary's instance fails (every process SIGKILLed; EC2 releases its slot ENI and volume
 *   after 15 s) and its Auto Scaling group launches the replacement at once. RTO = kill →
 *   first write acknowledged through the read-write endpoint; slot_recovered_s = kill → the
 *   replacement streaming in a formed cluster; lost writes = acknowledged ids missing afterwards.
 *   Before each kill the bench waits (≤ 60 s) for the steady state that
 *   `managed-postgres-etcd-leader.timer` keeps, the etcd leader on another member than the
 *   Patroni primary, and prints both per round (as twin-faults does): a real failure strikes at
 *   a random time, almost always in that state. In the ≤ 10 s after a leader change, before
 *   the timer moves the etcd leadership, the primary's node may still lead etcd; a crash then
 *   also costs an etcd election and the renewal of every lease (~2.3 s more, docs/live-harness.md).
 * - Every table row carries the host's load averages (1/5/15 min, as `uptime` prints them)
 *   at its measurement: the numbers are noisy on a loaded machine.
 * - Takes the live tier's host-wide lock (test/support/live-lock.ts) like jest's live global
 *   setup, and fails at once naming the holder when another live run has it.
 * - Planned switchover (Patroni REST): longest gap between acknowledged writes.
 * - pgbench select-only TPS through the read-write and read-only endpoints (one PgBouncer
 *   instance: the NLB is not modelled) and directly to the primary, at 20 and 1000 clients.
 *   Direct at 1000 clients exceeds max_connections by design: its errors are the point.
 *
 * Targets (issue 11): median RTO ≤ 22 s, max ≤ 25 s, 0 lost writes, switchover ≤ 5 s,
 * 1000 clients through the pooler with 0 connection errors. Printed, not asserted.
 */
import { run, waitFor } from "../test/live/harness/exec";
import { APP_USER } from "../test/live/harness/constants";
import { plannedSwitchover, rotatePrimaryAway, unplannedFailover, type FailoverRound, type SwitchoverResult } from "../test/live/harness/scenarios";
import { nodeRoot } from "../test/twin/machine";
import { TwinFaultCluster } from "../test/twin/live";
import { acquireLiveLock } from "../test/support/live-lock";
import { clusterEnvironment } from "./environment";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";

const FAILOVER_ROUNDS = Number(process.env.FAILOVER_ROUNDS ?? 3);
const PGBENCH_SECONDS = Number(process.env.PGBENCH_SECONDS ?? 15);
/** FAILOVER_ONLY=1: only the unplanned failover rounds (no switchover, no pgbench), for tuning runs. */
const FAILOVER_ONLY = process.env.FAILOVER_ONLY === "1";
/** FAILOVER_LOG_DIR=<dir>: copy every node's journal there before the twin stops (timing breakdown). */
const FAILOVER_LOG_DIR = process.env.FAILOVER_LOG_DIR;

function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => "| " + r.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  console.log(`\n${title}`);
  console.log(line(header));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const r of cells.slice(1)) console.log(line(r));
}

/** The host's 1/5/15-minute load averages, as `uptime` prints them. */
function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface PgbenchRow {
  readonly target: string;
  readonly clients: number;
  readonly tps: number | string;
  readonly connectionErrors: number;
  readonly note: string;
}

async function pgbench(target: string, conninfo: string, clients: number): Promise<PgbenchRow> {
  const threads = Math.min(8, clients);
  // One pgbench client = one connection; 1000 need a raised descriptor limit.
  const r = await run(
    ["sh", "-c", `ulimit -n 8192; exec pgbench -n -S -c ${clients} -j ${threads} -T ${PGBENCH_SECONDS} "$0"`, conninfo],
    { env: { PGPASSWORD: APP_USER.password, PGAPPNAME: "bench" }, timeoutMs: (PGBENCH_SECONDS + 240) * 1000 },
  );
  const tps = /tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/.exec(r.stdout)?.[1];
  // PostgreSQL 15's pgbench stops the whole run at the first client that cannot connect.
  const failedConnections = r.stderr.split("\n").filter((l) => /connection to server .* failed/i.test(l));
  const fatal = /FATAL:\s*([^\n]+)/.exec(r.stderr)?.[1]?.trim();
  const connectionErrors = failedConnections.length;
  const note = r.code === 0 ? "" : fatal ? `${fatal} (pgbench stops at the first failed connection)` : r.stderr.split("\n")[0].slice(0, 100);
  return { target, clients, tps: tps ? Number(tps).toFixed(0) : "-", connectionErrors, note };
}

async function main(): Promise<void> {
  const lock = await acquireLiveLock();
  console.log(clusterEnvironment(nodeRoot()));
  const log = (m: string) => console.error(`${new Date().toISOString()} ${m}`);
  // own prefix: twin-backups.test.ts uses "twb"
  const cluster = await TwinFaultCluster.start({ prefix: "tbf", log }).catch(async (e: unknown) => {
    await lock.release();
    throw e;
  });
  console.log(`cluster: the distributed example on the EC2 twin, apply → formed with the application schema in ${cluster.bootSeconds.toFixed(0)} s`);
  let exitCode = 0;
  try {
    // ---- unplanned failover, rotating the victim
    const rounds: (FailoverRound & { readonly etcdLeader: string; readonly load: string })[] = [];
    const victims = new Set<string>();
    for (let round = 1; round <= FAILOVER_ROUNDS; round++) {
      await rotatePrimaryAway(cluster, victims);
      const { primary, etcdLeader } = await cluster.waitEtcdLeaderOffPrimary(60_000);
      console.error(`round ${round}: primary ${primary}, etcd leader ${etcdLeader}`);
      const atKill = load();
      const r = await unplannedFailover(cluster, round);
      victims.add(r.victim);
      rounds.push({ ...r, etcdLeader, load: atKill });
      console.error(`round ${round}: ${JSON.stringify({ ...r, lost: r.lost.length, killedAtIso: new Date(r.killedAt).toISOString(), etcdLeader, load: atKill })}`);
    }
    table(
      "Unplanned failover (the primary's instance fails; its group's replacement launches at once and takes the slot over; writes through the rw endpoint)",
      ["round", "victim", "etcd leader", "new primary", "new leader s", "RTO s", "acked writes", "lost writes", "slot recovered s", "load 1/5/15 min"],
      rounds.map((r, i) => [i + 1, r.victim, r.etcdLeader, r.newPrimary, r.newLeaderSeconds.toFixed(1), r.rtoSeconds.toFixed(1), r.acknowledged, r.lost.length, r.slotRecoveredSeconds.toFixed(1), r.load]),
    );
    const rtos = rounds.map((r) => r.rtoSeconds);
    const lost = rounds.reduce((n, r) => n + r.lost.length, 0);
    table("Failover summary", ["runs", "median RTO s", "max RTO s", "lost writes", "target", "load 1/5/15 min"], [
      [rounds.length, median(rtos).toFixed(1), Math.max(...rtos).toFixed(1), lost, "median ≤ 22, max ≤ 25, lost 0", load()],
    ]);

    const summary = () => {
      console.log(`failover: median_rto_s=${median(rtos).toFixed(1)} max_rto_s=${Math.max(...rtos).toFixed(1)} lost_writes=${lost}`);
      console.log(`replacement: slot_recovered_s=${median(rounds.map((r) => r.slotRecoveredSeconds)).toFixed(1)}`);
    };
    if (FAILOVER_ONLY) {
      summary();
      return;
    }

    // ---- planned switchover
    const switchovers: (SwitchoverResult & { readonly load: string })[] = [];
    for (let i = 0; i < 2; i++) {
      const atStart = load();
      switchovers.push({ ...(await plannedSwitchover(cluster, i)), load: atStart });
    }
    table(
      "Planned switchover (Patroni REST POST /switchover to the synchronous standby)",
      ["run", "from", "to", "write-unavailability window s", "lost writes", "target", "load 1/5/15 min"],
      switchovers.map((s, i) => [i + 1, s.from, s.to, s.windowSeconds.toFixed(2), s.lost.length, "≤ 5 s", s.load]),
    );

    // ---- pgbench select-only
    await cluster.waitFormed(300_000);
    const leader = (await cluster.leaderIndex())!;
    const init = await run(["pgbench", "-i", "-s", "1", "-q", cluster.directConnInfo(leader)], { env: { PGPASSWORD: APP_USER.password }, timeoutMs: 300_000 });
    if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    await waitFor("replicas caught up", async () => {
      const ms = await cluster.patroniCluster();
      return ms.every((m) => m.role === "leader" || m.lag === 0) ? true : undefined;
    }, 120_000, 1000).catch(() => undefined);
    const rows: (PgbenchRow & { readonly load: string })[] = [];
    for (const clients of [20, 1000]) {
      for (const [target, conninfo] of [
        ["rw endpoint (PgBouncer 6432)", cluster.endpointConnInfo("rw")],
        ["ro endpoint (PgBouncer 6433)", cluster.endpointConnInfo("ro")],
        ["direct to the primary (5432)", cluster.directConnInfo(leader)],
      ] as const) {
        const atStart = load();
        rows.push({ ...(await pgbench(target, conninfo, clients)), load: atStart });
      }
    }
    table(
      `pgbench -S (select-only), ${PGBENCH_SECONDS} s per run, TLS 1.3 + scram-sha-256, the example's nodes`,
      ["target", "clients", "TPS", "connection errors", "note", "load 1/5/15 min"],
      rows.map((r) => [r.target, r.clients, r.tps, r.connectionErrors, r.note, r.load]),
    );

    summary();
  } catch (err) {
    console.error(`benchmark failed: ${String(err)}`);
    exitCode = 1;
  } finally {
    if (FAILOVER_LOG_DIR) {
      await run(["mkdir", "-p", FAILOVER_LOG_DIR]);
      for (const i of cluster.twin.instances.values()) {
        const j = await i.machine.exec(["journalctl", "--no-pager", "-o", "short-iso-precise"], { timeoutMs: 60_000 }).catch(() => undefined);
        writeFileSync(join(FAILOVER_LOG_DIR, `${i.group}-${i.id}.journal`), j?.stdout ?? "");
      }
    }
    await cluster.destroy();
    await lock.release();
  }
  process.exit(exitCode);
}

void main();
