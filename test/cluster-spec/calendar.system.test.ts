/**
 * `backup.logicalDump.schedule`: the OnCalendar validator (src/cluster-spec/calendar.ts)
 * against systemd itself. Everything the validator accepts, `systemd-analyze calendar`
 * accepts (the validator is a subset); everything systemd refuses, the validator refuses.
 * Corpus: documented forms, near misses, and fast-check expressions over the grammar's pieces.
 */
import { spawnSync } from "node:child_process";
import * as fc from "fast-check";
import { onCalendarProblem, validateClusterSpec } from "../../src/cluster-spec";
import { requirePrerequisites } from "../support/prerequisites";

beforeAll(() => requirePrerequisites({ commands: ["systemd-analyze"] }));

/** Whether systemd accepts `expression` as OnCalendar=. */
function systemdAccepts(expression: string): boolean {
  return spawnSync("systemd-analyze", ["calendar", expression], { stdio: "ignore", timeout: 10_000 }).status === 0;
}

const ACCEPTED = [
  "Sun *-*-* 03:00:00",
  "Sun *-*-* 03:00:00 UTC",
  "daily",
  "Weekly",
  "monthly",
  "Mon..Fri 22:30",
  "Mon-Fri 22:30",
  "Sat,Sun 01:00",
  "*-*-* 00/6:00:00",
  "*-*-1 04:00",
  "*-*-1,15 04:00",
  "2030-01-01 00:00:00",
  "*-01,07-01 02:00",
  "12-25",
  "*-*-* 03:00:00.5",
  "Monday 9:5",
  "sun",
  "03:00",
  "*:0/15",
];
const REFUSED = [
  "",
  "Sun *-*-* 25:00:00",
  "Sun *-*-* 03:60",
  "Sund 03:00",
  "Funday",
  "*-13-01",
  "*-*-32",
  "*-*-* */2:00",
  "1..3",
  "every day",
  "03:00 Mars/Olympus",
  "Mon 03:00 extra",
  "*-*-* 03:00:00 UTC UTC",
  "3..1:00",
  "*-*-* 0/0:00",
];

test.each(ACCEPTED.map((e) => [e]))("accepted by both: %s", (expression) => {
  expect(onCalendarProblem(expression)).toBeUndefined();
  expect(systemdAccepts(expression)).toBe(true);
});

test.each(REFUSED.map((e) => [e]))("refused by the validator (and by systemd): %j", (expression) => {
  expect(onCalendarProblem(expression)).toEqual(expect.any(String));
  if (expression !== "") expect(systemdAccepts(expression)).toBe(false);
});

const piece = fc.constantFrom("*", "0", "1", "3", "7", "12", "15", "23", "24", "31", "59", "60", "1..3", "3..1", "0/15", "1,2", "2030", "1969", "x", "");
const day = fc.constantFrom("Mon", "tue", "Sunday", "Mon..Fri", "Sat,Sun", "Fri-Mon", "Mo", "");
const calendar = fc
  .tuple(day, fc.option(fc.tuple(piece, piece, piece)), fc.option(fc.tuple(piece, piece, fc.option(piece))), fc.boolean())
  .map(([d, date, time, utc]) =>
    [d, date && date.join("-"), time && [time[0], time[1], ...(time[2] === null ? [] : [time[2]])].join(":"), utc ? "UTC" : ""].filter(Boolean).join(" "),
  )
  .filter((e) => /^[A-Za-z0-9*:,./ -]+$/.test(e));

test("property: whatever the validator accepts, systemd accepts", () => {
  let accepted = 0;
  fc.assert(
    fc.property(calendar, (expression) => {
      if (onCalendarProblem(expression) === undefined) {
        accepted++;
        expect({ expression, systemd: systemdAccepts(expression) }).toEqual({ expression, systemd: true });
      }
    }),
    { numRuns: 300, seed: 16 },
  );
  expect(accepted).toBeGreaterThan(10);
});

test("a schedule systemd refuses is a spec error naming the field", () => {
  const spec = { name: "orders", deployment: "standalone", size: "S", storageGiB: 20, backup: { logicalDump: { schedule: "Sun *-*-* 25:00" } } };
  expect(() => validateClusterSpec(spec, { requireNetwork: false })).toThrow(/`backup\.logicalDump\.schedule`: got "Sun \*-\*-\* 25:00"; systemd would refuse it/);
});
