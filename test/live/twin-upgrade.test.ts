/**
 * Issue 15 on the EC2 twin: PostgreSQL 15 → 17 blue/green through logical replication, under
 * write load, with one failover on blue during the catch-up (blue's primary's instance killed;
 * test/live/harness/upgrade-flow.ts:
 * the fixture app test/twin/apps/upgrade, both clusters in one stack; blue distributed on the
 * Debian 12 root, green standalone on the Debian 13 root). A modest database
 * (`TWIN_UPGRADE_LOAD_MIB`, default 100 MiB) so the file fits the live tier's budget;
 * `npm run bench:upgrade` runs the same flow with 1 GiB.
 *
 * Asserted: blue and green run the versions of their images; every database of blue got its
 * slot; after the crash of blue's primary the synchronous standby led, and held every
 * `mp_upgrade_*` slot as it was before the failover (Patroni's permanent logical slots, copied to
 * the standby: none created anew after the promotion); green caught up after the failover; the re-apply with `cutover: true` made blue
 * read-only and green's done mark appeared; one writer on blue's read-write endpoint for the
 * whole run (blue's PgBouncers pause at the cutover and then follow green: blue's `upgradeTo`
 * names green's endpoint): no error after the re-apply, at most 5 s between two
 * acknowledgements, 0 acknowledged writes lost, the writes acknowledged after the cutover on
 * green only; per table (`app.writes` up to blue's last row, `shop.items`, `shop.events`) the
 * same count and checksum on blue and green; every sequence on green at least blue's value.
 *
 * Root, `sudo npm run setup:system`, terraform and the node roots; fails (never skips) without them.
 */
import { requirePrerequisites } from "../support/prerequisites";
import { runUpgradeFlow, type UpgradeFlowResult } from "./harness/upgrade-flow";

jest.setTimeout(2_400_000);

const LOAD_MIB = Number(process.env.TWIN_UPGRADE_LOAD_MIB ?? 100);
const log = (m: string) => console.log(`twin-upgrade: ${m}`);
let result: UpgradeFlowResult;

beforeAll(async () => {
  requirePrerequisites({ root: true, commands: ["terraform", "systemd-nspawn", "nft", "ip", "openssl", "debootstrap", "psql"] });
  const started = Date.now();
  result = await runUpgradeFlow({ prefix: "twu", loadMiB: LOAD_MIB, log, catchUpTimeoutMs: 900_000, cutoverTimeoutMs: 900_000 });
  const { greenLog, blueWriter, ...rest } = result;
  console.log(
    `twin upgrade measurements: ${JSON.stringify({ ...rest, blueAcks: blueWriter.acks.length, file_s: (Date.now() - started) / 1000 }, null, 2)}\n--- green's upgrade journal (last 60 lines)\n${greenLog.split("\n").slice(-60).join("\n")}`,
  );
}, 2_400_000);

test("blue runs PostgreSQL 15 (Debian 12 image), green PostgreSQL 17 (Debian 13 image)", () => {
  expect(result.images.blue).toMatch(/^PostgreSQL 15\.\d+ .*Debian.*/);
  expect(result.images.green).toMatch(/^PostgreSQL 17\.\d+ .*Debian.*/);
});

test("a failover on blue during the catch-up: the synchronous standby led, holding every mp_upgrade slot from before the failover", () => {
  const f = result.failover;
  expect(f.newLeader).not.toBe(f.crashed);
  expect(f.newLeader).toBe(f.syncStandby);
  expect(f.seconds).toBeGreaterThan(0);
  expect(f.databases).toBeGreaterThanOrEqual(3);
  expect(f.slotsOnNewPrimary.map((s) => ({ slot: s.slot, copied: s.copied }))).toEqual(f.slotsOnStandbyBeforeCrash.map((slot) => ({ slot, copied: true })));
  expect(f.slotsOnNewPrimary).toHaveLength(f.databases);
});

test("the catch-up ended after the failover on blue, and the cutover made green the holder of blue's data", () => {
  expect(result.catchupSeconds).toBeGreaterThan(0);
  expect(result.doneMark).toMatch(/^managed-postgres upgrade: cutover done from orders: blue read-only at \d+ ms, done at \d+ ms/);
  expect(result.greenLog).toMatch(/cutover done in \d+ ms/);
});

test("0 acknowledged writes lost: every write acknowledged through blue's read-write endpoint, before and after the cutover, is on green; those after it went to green only", () => {
  expect(result.blueWriter.acks.length).toBeGreaterThan(100);
  expect(result.writesAfterCutover).toBeGreaterThanOrEqual(20);
  expect(result.writesAfterCutoverOnBlue).toBe(0);
  expect(result.lostWrites).toEqual([]);
});

test("0 mismatched rows: per table the same count and checksum on blue and green; sequences on green at least blue's", () => {
  expect(result.tables.map((t) => t.table)).toEqual(["app.writes", "shop.items", "shop.events"]);
  for (const t of result.tables) expect({ table: t.table, green: t.green }).toEqual({ table: t.table, green: t.blue });
  expect(result.rowsMismatched).toBe(0);
  expect(result.sequences.length).toBeGreaterThanOrEqual(2);
  for (const s of result.sequences) expect(BigInt(s.green === "missing" ? -1 : s.green)).toBeGreaterThanOrEqual(BigInt(s.blue));
});

test("clients change nothing: the writer stays on blue's read-write endpoint, sees no error through the cutover (its PgBouncers pause, then follow green), and waits at most 5 s", () => {
  expect(result.cutoverErrors).toEqual([]);
  expect(result.cutoverWriteGapSeconds).toBeGreaterThan(0);
  expect(result.cutoverWriteGapSeconds).toBeLessThanOrEqual(5);
});
