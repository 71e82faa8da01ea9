/**
 * `npm run bench:upgrade` (issue 15): the blue/green major upgrade PostgreSQL 15 (Debian 12 node
 * image) → 17 (Debian 13 node image) on the EC2 twin, under write load, with one failover on
 * blue during the catch-up (its primary's instance killed): test/live/harness/upgrade-flow.ts (the flow of
 * test/live/twin-upgrade.test.ts) with a database of `BENCH_UPGRADE_LOAD_MIB` MiB (default 1024).
 * Prints a table (environment, load, each step) and ends with the line
 * `upgrade: catchup_s=… failover_s=… cutover_write_gap_s=… lost_writes=… rows_mismatched=…`.
 * Root, the live tier's prerequisites and the node roots.
 */
import { run } from "../test/live/harness/exec";
import { runUpgradeFlow } from "../test/live/harness/upgrade-flow";
import { requirePrerequisites } from "../test/support/prerequisites";

jest.setTimeout(5_400_000);

const LOAD_MIB = Number(process.env.BENCH_UPGRADE_LOAD_MIB ?? 1024);

test("bench:upgrade", async () => {
  requirePrerequisites({ root: true, commands: ["terraform", "systemd-nspawn", "nft", "ip", "openssl", "debootstrap", "psql"] });
  const started = Date.now();
  const r = await runUpgradeFlow({ prefix: "bup", loadMiB: LOAD_MIB, log: (m) => console.log(`bench:upgrade: ${m}`), catchUpTimeoutMs: 2_400_000, cutoverTimeoutMs: 900_000 });
  const load = (await run(["uptime"], { timeoutMs: 10_000 })).stdout.trim();
  const rows: [string, string][] = [
    ["blue (PostgreSQL, image)", `${r.images.blue.split(" on ")[0]} (Debian 12 node root), distributed, 3 nodes + 2 PgBouncer instances`],
    ["green (PostgreSQL, image)", `${r.images.green.split(" on ")[0]} (Debian 13 node root), standalone`],
    ["machine", `2 cores shared by both clusters; ${load}`],
    ["boot (synth, apply, both clusters)", `${r.bootSeconds.toFixed(0)} s`],
    ["database shop on blue", `${(r.blueDatabaseBytes / 2 ** 20).toFixed(0)} MiB, loaded in ${r.loadSeconds.toFixed(0)} s`],
    ["writes during the run (one writer on blue's read-write endpoint)", `${r.blueWriter.acks.length} acknowledged, ${r.writesAfterCutover} of them after the cutover (on green: blue has ${r.writesAfterCutoverOnBlue}); ${r.updates} updates of shop before the re-apply`],
    ["failover on blue (primary's instance killed → new leader running)", `${r.failover.crashed} → ${r.failover.newLeader}, ${r.failover.seconds.toFixed(1)} s (out of recovery after ${r.failover.promotedSeconds.toFixed(1)} s, formed again after ${r.failover.formedSeconds.toFixed(0)} s)`],
    ["mp_upgrade slots on blue's new primary (copied before the failover)", `${r.failover.slotsOnNewPrimary.length} of ${r.failover.databases} (${r.failover.slotsOnNewPrimary.filter((s) => s.copied).length} copied); on the standby before the crash: ${r.failover.slotsOnStandbyBeforeCrash.length}`],
    ["catch-up (slots on blue → every table ready, lag ≤ 1 MiB)", `${r.catchupSeconds.toFixed(0)} s`],
    ["re-apply (cutover: true) → blue read-only", `${r.reapplyToReadOnlySeconds.toFixed(0)} s (green's node replaced, its timer)`],
    ["cutover write gap (the writer's longest wait between acknowledgements, blue's PgBouncers paused then on green)", `${r.cutoverWriteGapSeconds.toFixed(2)} s; ${r.cutoverErrors.length} error(s) after the re-apply`],
    ["blue read-only → green's done mark (sequences copied, subscriptions dropped)", `${r.readOnlyToDoneSeconds.toFixed(2)} s`],
    ["lost acknowledged writes", String(r.lostWrites.length)],
    ["tables (count|checksum blue = green)", r.tables.map((t) => `${t.table} ${t.blue === t.green ? "=" : `${t.blue} ≠ ${t.green}`}`).join("; ")],
    ["sequences (blue → green)", r.sequences.map((s) => `${s.name} ${s.blue} → ${s.green}`).join("; ")],
    ["run", `${((Date.now() - started) / 1000).toFixed(0)} s`],
  ];
  console.log(
    [
      "| step | value |",
      "|---|---|",
      ...rows.map(([k, v]) => `| ${k} | ${v} |`),
      "",
      `upgrade: catchup_s=${r.catchupSeconds.toFixed(0)} failover_s=${r.failover.seconds.toFixed(1)} cutover_write_gap_s=${r.cutoverWriteGapSeconds.toFixed(2)} lost_writes=${r.lostWrites.length} rows_mismatched=${r.rowsMismatched}`,
    ].join("\n"),
  );
  expect(r.lostWrites).toEqual([]);
  expect(r.rowsMismatched).toBe(0);
});
