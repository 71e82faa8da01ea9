import type { AttributeChange } from "./types";

/** Keys that are not resource attributes: cdktf metadata (`//`) and Terraform meta-arguments. */
const META_KEYS = new Set(["lifecycle", "depends_on", "provider", "count", "for_each", "provisioner", "connection", "timeouts"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

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
 * Tags of a resource: `tags` (or plan's `tags_all`), merged with auto scaling group `tag`
 * blocks (`{key, value}`) and launch template `tag_specifications[].tags`.
 */
export function tagsOf(values: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  if (!values) return {};
  const out: Record<string, string> = {};
  const add = (m: unknown) => {
    if (!isObject(m)) return;
    for (const [k, v] of Object.entries(m)) if (typeof v === "string" && out[k] === undefined) out[k] = v;
  };
  add(values.tags);
  add(values.tags_all);
  for (const t of blocks(values.tag)) if (typeof t.key === "string" && typeof t.value === "string") out[t.key] ??= t.value;
  for (const spec of blocks(values.tag_specifications)) add(spec.tags);
  return out;
}

/**
 * A nested block as a list of objects, whatever its JSON shape: Terraform's plan JSON writes
 * every block as a list, cdktf's synth output writes single blocks as an object.
 */
export function blocks(v: unknown): Record<string, unknown>[] {
  if (Array.isArray(v)) return v.filter(isObject);
  if (isObject(v)) return [v];
  return [];
}

/** True for `true` and `"true"` (the AWS provider types some booleans as strings). */
export function isTrue(v: unknown): boolean {
  return v === true || v === "true";
}

/** True for `false` and `"false"`. */
export function isFalse(v: unknown): boolean {
  return v === false || v === "false";
}

/** A list of strings from a value that may be a list, one string, or nothing. */
export function strings(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return typeof v === "string" ? [v] : [];
}

/** Whether a string holds a Terraform expression (synth output references: `${…}`). */
export function isExpression(v: unknown): boolean {
  return typeof v === "string" && v.includes("${");
}

/** A value for a Markdown table cell: JSON, at most `max` characters, pipes escaped. */
export function showCell(v: unknown, max = 60): string {
  if (v === undefined) return "–";
  let text = typeof v === "string" ? v : JSON.stringify(v);
  if (text.length > max) text = `${text.slice(0, max - 1)}…`;
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}
