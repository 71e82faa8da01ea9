/**
 * Terraform value helpers shared by review (src/review), the policy pack (src/rules/policy)
 * and the prior-state rules (src/rules/prior-state.ts): shapes that differ between cdktf's
 * synth output, Terraform's plan JSON and its state (single blocks as objects or one-element
 * lists, booleans as `true` or `"true"`), expressions (`${…}`) and references to resources.
 * Pure; no cdktf import.
 */

/** A JSON object (not null, not a list). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * A nested block as a list of objects, whatever its JSON shape: Terraform's plan JSON and
 * state write every block as a list, cdktf's synth output writes single blocks as an object.
 */
export function blocks(v: unknown): Record<string, unknown>[] {
  if (Array.isArray(v)) return v.filter(isObject);
  return isObject(v) ? [v] : [];
}

/** The first block of an attribute, or undefined. */
export function block(v: unknown): Record<string, unknown> | undefined {
  return blocks(v)[0];
}

/** True for `true` and `"true"` (the AWS provider types some booleans as strings). */
export function isTrue(v: unknown): boolean {
  return v === true || v === "true";
}

/** True for `false` and `"false"`. */
export function isFalse(v: unknown): boolean {
  return v === false || v === "false";
}

/** A non-empty (not only blank) string. */
export function nonEmpty(v: unknown): v is string {
  return typeof v === "string" && v.trim() !== "";
}

/** A list of strings from a value that may be a list, one string, or nothing. */
export function strings(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return typeof v === "string" ? [v] : [];
}

/** Whether a value is a string holding a Terraform expression (`${…}`: a reference, a function call). */
export function isExpression(v: unknown): v is string {
  return typeof v === "string" && v.includes("${");
}

/** The address of a resource or data source: `type.name`, or `data.type.name`. */
export function resourceAddress(type: string, name: string, isData = false): string {
  return `${isData ? "data." : ""}${type}.${name}`;
}

/**
 * Whether `value` (a string, possibly with `${…}` interpolations) references the resource
 * at `address` (`type.name` or `data.type.name`): `${address.attr…}` or `${address}`.
 */
export function referencesAddress(value: unknown, address: string): boolean {
  if (typeof value !== "string") return false;
  return value.includes(`\${${address}.`) || value.includes(`\${${address}}`);
}

/** A plain reference to one attribute of a resource: `${aws_subnet.x.id}`, `${data.aws_x.y.json}`. */
export interface AttributeReference {
  /** `type.name` or `data.type.name`. */
  readonly address: string;
  /** Resource type, e.g. `aws_subnet`. */
  readonly type: string;
  readonly isData: boolean;
  /** Attribute name, e.g. `id`. */
  readonly attribute: string;
}

/**
 * The reference when `expression` is exactly one plain attribute reference
 * (`${aws_subnet.network_private-1_A0649C48.id}`, `${data.aws_iam_policy_document.x.json}`:
 * the form an unresolved cdktf token takes in the synthesized configuration).
 * @returns undefined for anything else (functions, indexes, literals around it)
 */
export function parseAttributeReference(expression: string): AttributeReference | undefined {
  const m = /^\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$/.exec(expression);
  if (!m) return undefined;
  const [, data, type, name, attribute] = m;
  return { address: resourceAddress(type, name, data !== undefined), type, isData: data !== undefined, attribute };
}

/**
 * Every resource address (`type.name`, `module.m.type.name`, `local.x`, `var.x`, …) named in
 * the `${…}` expressions of a JSON value, whether or not it exists.
 */
export function expressionReferences(values: unknown): Set<string> {
  const found = new Set<string>();
  const text = JSON.stringify(values) ?? "";
  for (const expr of text.match(/\$\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}/g) ?? []) {
    for (const m of expr.matchAll(/(?<![.\w-])((?:module\.[A-Za-z0-9_-]+\.)?[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*)/g)) found.add(m[1]);
  }
  return found;
}

/**
 * Tags of a resource: `tags` (or state/plan's `tags_all`; `tags` wins), merged with auto
 * scaling group `tag` blocks (`{key, value}`) and launch template `tag_specifications[].tags`.
 * Non-string values are left out.
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
