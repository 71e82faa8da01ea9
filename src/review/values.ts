import { isObject } from "../terraform";
import type { AttributeChange, ResourceSnapshot } from "./types";

/** Keys that are not resource attributes: cdktf metadata (`//`) and Terraform meta-arguments. */
const META_KEYS = new Set(["lifecycle", "depends_on", "provider", "count", "for_each", "provisioner", "connection", "timeouts"]);

/**
 * Flattens attribute values to leaf paths: `{a: {b: [1]}}` → `a.b[0]` = 1. Empty lists and
 * objects are leaves (so that "removed every rule" is a change). Skips `//` metadata keys
 * and meta-arguments at the top level.
 */
export function flattenValues(values: unknown, prefix = "", top = true): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, path: string, isTop: boolean) => {
    if (Array.isArray(v)) {
      if (v.length === 0) out.set(path, []);
      v.forEach((item, i) => walk(item, `${path}[${i}]`, false));
      return;
    }
    if (isObject(v)) {
      const keys = Object.keys(v).filter((k) => !k.startsWith("//") && !(isTop && META_KEYS.has(k)));
      if (keys.length === 0 && path !== "") out.set(path, {});
      for (const k of keys) walk(v[k], path ? `${path}.${k}` : k, false);
      return;
    }
    if (path !== "") out.set(path, v);
  };
  walk(values, prefix, top);
  return out;
}

/** Marks in plan JSON `after_unknown`, flattened like {@link flattenValues} (true leaves only). */
function unknownPaths(afterUnknown: unknown): Set<string> {
  const set = new Set<string>();
  for (const [p, v] of flattenValues(afterUnknown, "", false)) if (v === true) set.add(p);
  return set;
}

/**
 * The attributes that differ between `before` and `after`, in path order. `null` and a
 * missing attribute count as equal. Values Terraform knows only after apply (`afterUnknown`)
 * are reported with `afterUnknown: true`.
 */
export function diffValues(before: unknown, after: unknown, afterUnknown?: unknown): AttributeChange[] {
  const b = flattenValues(before ?? {});
  const a = flattenValues(after ?? {});
  const unknown = unknownPaths(afterUnknown ?? {});
  const paths = new Set([...b.keys(), ...a.keys(), ...unknown]);
  const changes: AttributeChange[] = [];
  for (const p of [...paths].sort()) {
    if (p === "tags_all" || p.startsWith("tags_all.")) continue; // mirrors tags + provider default_tags
    const bv = b.get(p);
    const av = a.get(p);
    if (unknown.has(p)) {
      changes.push({ path: p, before: bv, after: undefined, afterUnknown: true });
      continue;
    }
    if ((bv ?? null) === (av ?? null)) continue;
    if (JSON.stringify(bv ?? null) === JSON.stringify(av ?? null)) continue;
    changes.push({ path: p, before: bv, after: av });
  }
  return changes;
}

/**
 * The match of `pattern` in the first top-level string value of `resources` that contains
 * `marker` and matches (the nodes' bootstrap header, their patroni.yml: texts in a resource or
 * a local it reads); undefined when none does.
 */
export function firstTextMatch(resources: Iterable<ResourceSnapshot>, marker: string, pattern: RegExp): RegExpExecArray | undefined {
  for (const r of resources) {
    for (const v of Object.values(r.values)) {
      if (typeof v !== "string" || !v.includes(marker)) continue;
      const m = pattern.exec(v);
      if (m) return m;
    }
  }
  return undefined;
}
