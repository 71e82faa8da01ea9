/**
 * The weekly maintenance window (`maintenanceWindow`: day, "HH:MM" start, duration in minutes,
 * all UTC) as minutes of the week, the same arithmetic the nodes' maintenance job does in bash
 * (`in_window` in src/render/scripts/node-maintenance.sh; test/render/maintenance.system.test.ts
 * checks both agree). A week has 10,080 minutes, Monday 00:00 UTC is minute 0 (ISO 8601 weekday
 * numbering, as `date +%u`); a window that starts late on Sunday wraps into Monday. Pure.
 */
import type { ResolvedClusterSpec, Weekday } from "./types";

/** Minutes in a week. */
export const MINUTES_PER_WEEK = 7 * 24 * 60;

const ISO_DAY: Readonly<Record<Weekday, number>> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };

/** A window as the nodes use it. */
export interface WindowMinutes {
  /** ISO weekday of the start, 1 (Monday) to 7 (Sunday). */
  readonly isoDay: number;
  /** Minutes after 00:00 UTC of that day, 0 to 1439. */
  readonly startMinute: number;
  /** Length in minutes (the spec allows 30 to 480). */
  readonly durationMinutes: number;
}

/**
 * The window of a resolved spec in minutes.
 * @throws Error when `startTime` is not "HH:MM" (validation already refuses it)
 */
export function windowMinutes(w: ResolvedClusterSpec["maintenanceWindow"]): WindowMinutes {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(w.startTime);
  if (!m) throw new Error(`maintenanceWindow.startTime must be "HH:MM" (UTC). Got ${JSON.stringify(w.startTime)}`);
  return { isoDay: ISO_DAY[w.day], startMinute: Number(m[1]) * 60 + Number(m[2]), durationMinutes: w.durationMinutes };
}

/** Minutes since Monday 00:00 UTC of the week of `at` (0 to 10,079). */
export function minuteOfWeek(at: Date): number {
  const isoDay = ((at.getUTCDay() + 6) % 7) + 1;
  return (isoDay - 1) * 1440 + at.getUTCHours() * 60 + at.getUTCMinutes();
}

/** Whether `at` lies in [start, start + duration) of the weekly window, UTC, wrapping over the week's end. */
export function inMaintenanceWindow(w: ResolvedClusterSpec["maintenanceWindow"], at: Date): boolean {
  const { isoDay, startMinute, durationMinutes } = windowMinutes(w);
  const start = (isoDay - 1) * 1440 + startMinute;
  return (((minuteOfWeek(at) - start) % MINUTES_PER_WEEK) + MINUTES_PER_WEEK) % MINUTES_PER_WEEK < durationMinutes;
}

/**
 * The next start of the window at or after `from` (to the minute; `from` itself when it is
 * that minute), as a Date.
 */
export function nextMaintenanceWindow(w: ResolvedClusterSpec["maintenanceWindow"], from: Date): Date {
  const { isoDay, startMinute } = windowMinutes(w);
  const start = (isoDay - 1) * 1440 + startMinute;
  const base = Math.floor(from.getTime() / 60_000) * 60_000;
  const ahead = (((start - minuteOfWeek(from)) % MINUTES_PER_WEEK) + MINUTES_PER_WEEK) % MINUTES_PER_WEEK;
  return new Date(base + ahead * 60_000);
}

/** "sun 02:00–03:00 UTC" (end on the next day when the window wraps past midnight: "sun 23:30–mon 00:30 UTC"). */
export function describeMaintenanceWindow(w: ResolvedClusterSpec["maintenanceWindow"]): string {
  const { isoDay, startMinute, durationMinutes } = windowMinutes(w);
  const days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const end = startMinute + durationMinutes;
  const hhmm = (m: number) => `${String(Math.floor(m / 60) % 24).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
  const endDay = end >= 1440 ? `${days[(isoDay - 1 + Math.floor(end / 1440)) % 7]} ` : "";
  return `${w.day} ${w.startTime}–${endDay}${hhmm(end % 1440)} UTC`;
}
