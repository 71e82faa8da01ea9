/**
 * Failover and pooler benchmark on the live 3-AZ harness (needs root and the Debian
 * packages of docs/live-harness.md): `sudo npm run bench:failover`.
 *
 * Prints a table per measurement, then exactly one summary line:
 *   failover: median_rto_s=<n> max_rto_s=<n> lost_writes=<n>
 *
 * - Unplanned failover, FAILOVER_ROUNDS (default 3) rounds rotating the victim zone:
 *   RTO = SIGKILL of every process of the primary's zone → first write acknowledged
 *   through the read-write endpoint; lost writes = acknowledged ids missing afterwards.
 * - Planned switchover (Patroni REST): longest gap between acknowledged writes.
 * - pgbench select-only TPS through the read-write and read-only endpoints (PgBouncer) and
 *   directly to the primary, at 20 and 1000 clients, with connection errors. Direct at
 *   1000 clients exceeds max_connections (80 for XS) by design: its errors are the point.
 *
 * Targets (issue 3): median RTO ≤ 20 s, max ≤ 30 s, 0 lost writes, switchover ≤ 5 s,
 * 1000 clients through the pooler with 0 connection errors. Printed, not asserted.
 */
import { LiveCluster } from "../test/live/harness/cluster";
import { APP_USER, RUN_ROOT } from "../test/live/harness/constants";
import { run, waitFor } from "../test/live/harness/exec";
import { plannedSwitchover, unplannedFailover, type FailoverRound, type SwitchoverResult } from "../test/live/harness/scenarios";
import { clusterEnvironment } from "./environment";

const FAILOVER_ROUNDS = Number(process.env.FAILOVER_ROUNDS ?? 3);
const PGBENCH_SECONDS = Number(process.env.PGBENCH_SECONDS ?? 15);
/** FAILOVER_ONLY=1: only the unplanned failover rounds (no switchover, no pgbench), for tuning runs. */
const FAILOVER_ONLY = process.env.FAILOVER_ONLY === "1";
/** FAILOVER_LOG_DIR=<dir>: copy every host's logs there before the harness stops (timing breakdown). */
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

async function pgbench(cluster: LiveCluster, target: string, conninfo: string, clients: number): Promise<PgbenchRow> {
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
  void cluster;
  return { target, clients, tps: tps ? Number(tps).toFixed(0) : "-", connectionErrors, note };
}

async function main(): Promise<void> {
  console.log(clusterEnvironment());
  const cluster = new LiveCluster({ log: (m) => console.error(`${new Date().toISOString()} ${m}`) });
  let exitCode = 0;
  await cluster.start();
  try {
    // ---- unplanned failover, rotating the victim
    const rounds: FailoverRound[] = [];
    const victims = new Set<string>();
    for (let round = 1; round <= FAILOVER_ROUNDS; round++) {
      const members = await cluster.waitFormed(300_000);
      const leader = members.find((m) => m.role === "leader")!;
      const fresh = members.find((m) => m.role !== "leader" && !victims.has(m.name));
      if (victims.has(leader.name) && fresh) {
        await cluster.patroniRequest(cluster.indexOf(leader.name), "POST", "/switchover", { leader: leader.name, candidate: fresh.name }, 60_000);
        await waitFor(`${fresh.name} leads`, async () => ((await cluster.leaderIndex()) === cluster.indexOf(fresh.name) ? true : undefined), 120_000, 500);
        await cluster.waitFormed(300_000);
      }
      const r = await unplannedFailover(cluster, round);
      victims.add(r.victim);
      rounds.push(r);
      console.error(`round ${round}: ${JSON.stringify({ ...r, lost: r.lost.length, killedAtIso: new Date(r.killedAt).toISOString() })}`);
    }
    table(
      "Unplanned failover (SIGKILL of every process in the primary's availability zone, writes through the rw endpoint)",
      ["round", "victim", "new primary", "RTO s", "acked writes", "lost writes", "rejoin s"],
      rounds.map((r, i) => [i + 1, r.victim, r.newPrimary, r.rtoSeconds.toFixed(1), r.acknowledged, r.lost.length, r.rejoinSeconds.toFixed(1)]),
    );
    const rtos = rounds.map((r) => r.rtoSeconds);
    const lost = rounds.reduce((n, r) => n + r.lost.length, 0);
    table("Failover summary", ["runs", "median RTO s", "max RTO s", "lost writes", "target"], [
      [rounds.length, median(rtos).toFixed(1), Math.max(...rtos).toFixed(1), lost, "median ≤ 20, max ≤ 30, lost 0"],
    ]);

    if (FAILOVER_ONLY) {
      console.log(`failover: median_rto_s=${median(rtos).toFixed(1)} max_rto_s=${Math.max(...rtos).toFixed(1)} lost_writes=${lost}`);
      return;
    }

    // ---- planned switchover
    const switchovers: SwitchoverResult[] = [];
    for (let i = 0; i < 2; i++) switchovers.push(await plannedSwitchover(cluster, i));
    table(
      "Planned switchover (Patroni REST POST /switchover to the synchronous standby)",
      ["run", "from", "to", "write-unavailability window s", "lost writes", "target"],
      switchovers.map((s, i) => [i + 1, s.from, s.to, s.windowSeconds.toFixed(2), s.lost.length, "≤ 5 s"]),
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
    const rows: PgbenchRow[] = [];
    for (const clients of [20, 1000]) {
      rows.push(await pgbench(cluster, "rw endpoint (PgBouncer 6432)", cluster.endpointConnInfo("rw"), clients));
      rows.push(await pgbench(cluster, "ro endpoint (PgBouncer 6433)", cluster.endpointConnInfo("ro"), clients));
      rows.push(await pgbench(cluster, "direct to the primary (5432)", cluster.directConnInfo(leader), clients));
    }
    table(
      `pgbench -S (select-only), ${PGBENCH_SECONDS} s per run, TLS 1.3 + scram-sha-256, XS nodes (max_connections 80)`,
      ["target", "clients", "TPS", "connection errors", "note"],
      rows.map((r) => [r.target, r.clients, r.tps, r.connectionErrors, r.note]),
    );

    console.log(`failover: median_rto_s=${median(rtos).toFixed(1)} max_rto_s=${Math.max(...rtos).toFixed(1)} lost_writes=${lost}`);
  } catch (err) {
    console.error(`benchmark failed: ${String(err)}`);
    console.error(cluster.diagnostics());
    exitCode = 1;
  } finally {
    if (FAILOVER_LOG_DIR) await run(["sh", "-c", `mkdir -p "$0" && cp -r ${RUN_ROOT}/hosts "$0"/`, FAILOVER_LOG_DIR], { timeoutMs: 60_000 });
    await cluster.stop();
  }
  process.exit(exitCode);
}

void main();
