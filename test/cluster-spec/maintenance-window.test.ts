/**
 * The weekly maintenance window as minutes of the week (src/cluster-spec/maintenance-window.ts):
 * boundaries, the wrap from Sunday into Monday, UTC whatever the clock's zone. Property tests
 * (fast-check); the bash twin of `inMaintenanceWindow` is checked against it in
 * test/render/maintenance.system.test.ts.
 */
import fc from "fast-check";
import { WEEKDAYS, describeMaintenanceWindow, inMaintenanceWindow, minuteOfWeek, nextMaintenanceWindow, type ResolvedClusterSpec } from "../../src/cluster-spec";

type Window = ResolvedClusterSpec["maintenanceWindow"];
const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
const windowArb: fc.Arbitrary<Window> = fc.record({
  day: fc.constantFrom(...WEEKDAYS),
  startTime: fc.integer({ min: 0, max: 1439 }).map(hhmm),
  durationMinutes: fc.integer({ min: 30, max: 480 }),
});
/** Any minute from 2020 to 2040, as a Date. */
const instantArb = fc.integer({ min: Date.UTC(2020, 0, 1) / 60_000, max: Date.UTC(2040, 0, 1) / 60_000 }).map((m) => new Date(m * 60_000));
const MINUTE = 60_000;

describe("inMaintenanceWindow", () => {
  test("the first minute of the window is in it, the minute before and the minute at start + duration are not", () => {
    fc.assert(
      fc.property(windowArb, instantArb, (w, from) => {
        const start = nextMaintenanceWindow(w, from);
        expect(inMaintenanceWindow(w, start)).toBe(true);
        expect(inMaintenanceWindow(w, new Date(start.getTime() + (w.durationMinutes - 1) * MINUTE + 59_999))).toBe(true);
        expect(inMaintenanceWindow(w, new Date(start.getTime() - 1))).toBe(false);
        expect(inMaintenanceWindow(w, new Date(start.getTime() + w.durationMinutes * MINUTE))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  test("exactly durationMinutes minutes of every week are in the window, and they are consecutive", () => {
    fc.assert(
      fc.property(windowArb, instantArb, (w, from) => {
        const monday = from.getTime() - minuteOfWeek(from) * MINUTE;
        const inside: number[] = [];
        for (let m = 0; m < 7 * 1440; m++) if (inMaintenanceWindow(w, new Date(monday + m * MINUTE))) inside.push(m);
        expect(inside.length).toBe(w.durationMinutes);
        // consecutive modulo the week (a window may wrap from Sunday into Monday)
        const gaps = inside.filter((m, i) => i > 0 && m !== inside[i - 1]! + 1).length;
        expect(gaps).toBeLessThanOrEqual(1);
        if (gaps === 1) expect(inside[0]).toBe(0);
      }),
      { numRuns: 20 },
    );
  });

  test("a Sunday 23:30 window of 60 minutes wraps into Monday 00:29 UTC", () => {
    const w: Window = { day: "sun", startTime: "23:30", durationMinutes: 60 };
    expect(inMaintenanceWindow(w, new Date("2026-12-06T23:30:00Z"))).toBe(true); // a Sunday
    expect(inMaintenanceWindow(w, new Date("2026-12-07T00:29:59Z"))).toBe(true); // Monday
    expect(inMaintenanceWindow(w, new Date("2026-12-07T00:30:00Z"))).toBe(false);
    expect(inMaintenanceWindow(w, new Date("2026-11-30T00:15:00Z"))).toBe(true); // the Monday of the week before, same wrap
    expect(describeMaintenanceWindow(w)).toBe("sun 23:30–mon 00:30 UTC");
  });

  test("UTC: the same instant written in another zone gives the same answer", () => {
    const w: Window = { day: "sun", startTime: "02:00", durationMinutes: 60 };
    expect(inMaintenanceWindow(w, new Date("2026-12-06T03:30:00+01:00"))).toBe(true); // 02:30 UTC
    expect(inMaintenanceWindow(w, new Date("2026-12-06T02:30:00+01:00"))).toBe(false); // 01:30 UTC
    expect(describeMaintenanceWindow(w)).toBe("sun 02:00–03:00 UTC");
  });

  test("nextMaintenanceWindow is at or after `from`, less than a week ahead, and starts the window", () => {
    fc.assert(
      fc.property(windowArb, instantArb, (w, from) => {
        const next = nextMaintenanceWindow(w, from);
        expect(next.getTime()).toBeGreaterThanOrEqual(from.getTime() - (from.getTime() % MINUTE));
        expect(next.getTime() - from.getTime()).toBeLessThan(7 * 1440 * MINUTE);
        expect(next.getUTCHours() * 60 + next.getUTCMinutes()).toBe(Number(w.startTime.slice(0, 2)) * 60 + Number(w.startTime.slice(3)));
        expect(["sun", "mon", "tue", "wed", "thu", "fri", "sat"][next.getUTCDay()]).toBe(w.day);
      }),
      { numRuns: 300 },
    );
  });
});
