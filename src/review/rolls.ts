/**
 * What a change rolls through the running nodes (docs/operations.md): a database node whose
 * slot launch template changes is replaced by the rolling maintenance, one node at a time,
 * replicas first and the primary after a switchover; a data volume that grows is modified in
 * place and its filesystem grown online; the PgBouncer tier's launch template is not rolled by
 * the nodes. When: the cluster's maintenance window or at once (`applyImmediately`), read from
 * the header of the nodes' bootstrap script as the change leaves it (`MW_DAY`,
 * `MW_START_MINUTE`, `MW_DURATION`, `APPLY_IMMEDIATELY`). Pure.
 */
import type { Placement, ResourceChange, ResourceSnapshot, RollInWindow, RollPlan, RollTiming, StorageGrowth } from "./types";
import { firstTextMatch } from "./values";

const str = (v: unknown) => (v === undefined || v === null ? "(none)" : typeof v === "string" ? v : JSON.stringify(v));

/** Words for the changed attributes of a launch template. */
function reasons(c: ResourceChange): string[] {
  const out = new Set<string>();
  for (const a of c.attributes) {
    if (a.path === "instance_type") out.add(`instance type ${str(a.before)} → ${str(a.after)}`);
    else if (a.path === "image_id") out.add(`image ${str(a.before)} → ${str(a.after)}`);
    else if (a.path.startsWith("user_data") || a.path.startsWith("local.")) out.add("node configuration (user data, bootstrap script)");
    else out.add(a.path.replace(/\[\d+\]/g, ""));
  }
  return [...out];
}

const HEADER = /readonly MW_DAY=(\d)\nreadonly MW_START_MINUTE=(\d+)\nreadonly MW_DURATION=(\d+)\nreadonly APPLY_IMMEDIATELY='(yes|no)'/;

/** The timing in the first string value of `resources` holding the bootstrap header (`unknown` when none does). */
export function rollTiming(resources: Iterable<ResourceSnapshot>): RollTiming {
  const m = firstTextMatch(resources, "readonly MW_DAY=", HEADER);
  if (!m) return { kind: "unknown" };
  if (m[4] === "yes") return { kind: "immediately" };
  return { kind: "window", isoDay: Number(m[1]), startMinute: Number(m[2]), durationMinutes: Number(m[3]) };
}

/**
 * The roll plan of one cluster's changes (no-ops excluded), or undefined when nothing rolls
 * (e.g. a new cluster: its nodes start with the new version).
 * @param head the cluster's resources after the change (for the window)
 */
export function rollPlan(changes: readonly ResourceChange[], placement: ReadonlyMap<string, Placement>, head: Iterable<ResourceSnapshot>): RollPlan | undefined {
  const replaced = new Map<string, Set<string>>();
  const growth: StorageGrowth[] = [];
  let pooler = false;
  for (const c of changes) {
    if (c.action !== "update" && c.action !== "replace") continue;
    const slot = placement.get(c.address)?.slot;
    if (c.type === "aws_launch_template") {
      if (slot === undefined) pooler = true;
      else {
        const set = replaced.get(slot) ?? new Set<string>();
        for (const r of reasons(c)) set.add(r);
        replaced.set(slot, set);
      }
    } else if (c.type === "aws_ebs_volume" && slot !== undefined && c.action === "update") {
      const size = c.attributes.find((a) => a.path === "size");
      if (size && Number(size.after) > Number(size.before)) growth.push({ slot, from: str(size.before), to: str(size.after) });
    }
  }
  if (replaced.size === 0 && growth.length === 0 && !pooler) return undefined;
  return {
    replacedNodes: [...replaced.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([slot, because]) => ({ slot, because: [...because] })),
    storageGrowth: growth.sort((a, b) => a.slot.localeCompare(b.slot)),
    poolerTemplateChanged: pooler,
    timing: rollTiming(head),
  };
}

/** "sun 02:00–03:00 UTC" from a {@link RollTiming} window (end on the next day when it wraps). */
export function windowText(t: RollInWindow): string {
  const days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const hhmm = (m: number) => `${String(Math.floor(m / 60) % 24).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
  const end = t.startMinute + t.durationMinutes;
  const endDay = end >= 1440 ? `${days[(t.isoDay - 1 + Math.floor(end / 1440)) % 7]} ` : "";
  return `${days[t.isoDay - 1]} ${hhmm(t.startMinute)}–${endDay}${hhmm(end % 1440)} UTC`;
}
