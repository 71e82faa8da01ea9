/**
 * A validator of systemd `OnCalendar` expressions (systemd.time(7), "Calendar Events"),
 * for `backup.logicalDump.schedule`: what the schema's characters allow
 * (`[A-Za-z0-9*:,./ -]`) and systemd accepts. It is deliberately a subset — no 2-digit
 * years, no `~` (last days), no time zones other than `UTC` — so that everything it accepts
 * systemd accepts too (cross-checked with `systemd-analyze calendar` on a corpus in
 * test/cluster-spec/calendar.system.test.ts). Pure.
 *
 * Grammar accepted: `[WEEKDAYS] [[YYYY-]MM-DD] [HH:MM[:SS[.ffffff]]] [UTC]` with at least one of
 * the first three, or one of the shorthands `minutely`, `hourly`, `daily`, `weekly`,
 * `monthly`, `quarterly`, `semiannually`, `yearly`, `annually` (any case). WEEKDAYS: a comma
 * list of day names (`Mon` or `Monday`, any case) and ranges (`Mon..Fri`, `Mon-Fri`). Each
 * date or time component: `*`, or a comma list of values, ranges `a..b` and repetitions
 * `a/r` / `a..b/r`, within the component's bounds (year 1970–2199, month 1–12, day 1–31,
 * hour 0–23, minute 0–59, second 0–59).
 */

const SHORTHANDS = ["minutely", "hourly", "daily", "weekly", "monthly", "quarterly", "semiannually", "yearly", "annually"];
const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/** Index of a day name (Mon = 0 … Sun = 6), or -1. */
function dayIndex(word: string): number {
  const w = word.toLowerCase();
  return DAYS.findIndex((d) => w === d || w === d.slice(0, 3));
}

function weekdaysProblem(text: string): string | undefined {
  for (const item of text.split(",")) {
    const ends = (item.includes("..") ? item.split("..") : item.split("-")).map(dayIndex);
    if (ends.length > 2 || ends.some((i) => i < 0)) return `"${item}" is not a weekday (Mon or Monday) or a range of them (Mon..Fri)`;
    if (ends.length === 2 && ends[1] < ends[0]) return `weekday range "${item}" wraps around the week; systemd wants Mon..Sun order`;
  }
  return undefined;
}

/** One date or time component: `*` or a list of `v`, `a..b`, `v/r`, `a..b/r` within [min, max]. */
function componentProblem(text: string, what: string, min: number, max: number, digits: RegExp): string | undefined {
  if (text === "*") return undefined;
  for (const item of text.split(",")) {
    const m = /^([^./]+)(?:\.\.([^./]+))?(?:\/(\d{1,4}))?$/.exec(item);
    const ok = (v: string | undefined) => v === undefined || (digits.test(v) && Number(v) >= min && Number(v) <= max);
    if (!m || !ok(m[1]) || !ok(m[2])) return `${what} "${item}" is not a value from ${min} to ${max}, a range a..b or a repetition a/r`;
    if (m[2] !== undefined && Number(m[2]) < Number(m[1])) return `${what} range "${item}" ends before it starts`;
    if (m[3] !== undefined && Number(m[3]) === 0) return `${what} repetition "${item}" repeats every 0`;
  }
  return undefined;
}

function dateProblem(text: string): string | undefined {
  const parts = text.split("-");
  if (parts.length < 2 || parts.length > 3) return `"${text}" is not a date [YYYY-]MM-DD`;
  const [year, month, day] = parts.length === 3 ? parts : [undefined, ...parts];
  return (
    (year === undefined ? undefined : componentProblem(year, "year", 1970, 2199, /^\d{4}$/)) ??
    componentProblem(month!, "month", 1, 12, /^\d{1,2}$/) ??
    componentProblem(day!, "day", 1, 31, /^\d{1,2}$/)
  );
}

function timeProblem(text: string): string | undefined {
  const parts = text.split(":");
  if (parts.length < 2 || parts.length > 3) return `"${text}" is not a time HH:MM[:SS]`;
  const [hour, minute, second] = parts;
  const sec = second?.replace(/^(\d{1,2})\.\d{1,6}$/, "$1");
  return (
    componentProblem(hour, "hour", 0, 23, /^\d{1,2}$/) ??
    componentProblem(minute, "minute", 0, 59, /^\d{1,2}$/) ??
    (sec === undefined ? undefined : componentProblem(sec, "second", 0, 59, /^\d{1,2}$/))
  );
}

/**
 * Why systemd would refuse `expression` as `OnCalendar=` (or why this validator's subset
 * does not accept it), in words; undefined when it is accepted.
 */
export function onCalendarProblem(expression: string): string | undefined {
  const words = expression.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return "it is empty";
  if (words.length === 1 && SHORTHANDS.includes(words[0].toLowerCase())) return undefined;
  if (words[words.length - 1] === "UTC") words.pop();
  if (words.length === 0 || words.length > 3) return "expected [weekdays] [date] [time] [UTC]";
  let i = 0;
  if (/^[A-Za-z]/.test(words[0])) {
    const p = weekdaysProblem(words[0]);
    if (p) return p;
    i++;
  }
  if (i < words.length && words[i].includes("-") && !words[i].includes(":")) {
    const p = dateProblem(words[i]);
    if (p) return p;
    i++;
  }
  if (i < words.length && words[i].includes(":")) {
    const p = timeProblem(words[i]);
    if (p) return p;
    i++;
  }
  if (i === 0) return `"${words[0]}" is not a weekday, date or time`;
  if (i < words.length) return `unexpected "${words[i]}"; expected [weekdays] [date] [time] [UTC]`;
  return undefined;
}
