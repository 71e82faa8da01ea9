/**
 * `data "aws_iam_policy_document"`: the `json`, `minified_json` and `id` the AWS provider
 * computes from the (resolved) configuration (pure; unit-tested in policy-document.test.ts).
 *
 * Rendered as hashicorp/terraform-provider-aws does it (internal/service/iam/
 * policy_document_data_source.go and policy_model.go; data source docs:
 * https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/iam_policy_document):
 * - document keys `Version` (default `2012-10-17`), `Id` (`policy_id`, omitted when empty),
 *   `Statement`; statement keys in this order, each omitted when empty: `Sid`, `Effect`
 *   (default `Allow`), `Action`, `NotAction`, `Resource`, `NotResource`, `Principal`,
 *   `NotPrincipal`, `Condition`;
 * - `actions`, `not_actions`, `resources`, `not_resources` and principal `identifiers` are
 *   sets: one element → a string, several → a list sorted in reverse (`slices.Sort` then
 *   `slices.Reverse`); `&{` in resources, principals and condition values becomes `${`
 *   (IAM policy variables);
 * - `Principal`: a map type → identifiers (keys sorted, as Go marshals maps), except a single
 *   `{ type = "*", identifiers = ["*"] }`, which is the string `"*"`;
 * - `Condition`: test → variable → values (keys sorted), values in configuration order, one
 *   value → a string;
 * - `json` is Go's `json.MarshalIndent(doc, "", "  ")` (HTML-safe escapes `\u003c`, `\u003e`,
 *   `\u0026`, and `\u2028`, `\u2029`), `minified_json` Go's `json.Marshal`, and `id` the
 *   CRC-32 (IEEE) of `json` in decimal (`create.StringHashcode`).
 *
 * Not modelled: `source_policy_documents` / `override_policy_documents` merging (the library
 * does not use them: an error says so), and Terraform's set ordering of two condition or
 * principal blocks with the same test/variable or type (the provider's order there follows
 * its set hash; here configuration order).
 */
import { crc32 } from "node:zlib";

/** The configuration of one `statement` block, resolved (snake_case, as in the JSON). */
export interface PolicyStatementConfig {
  sid?: string;
  effect?: string;
  actions?: string[];
  not_actions?: string[];
  resources?: string[];
  not_resources?: string[];
  principals?: { type: string; identifiers: string[] }[];
  not_principals?: { type: string; identifiers: string[] }[];
  condition?: { test: string; variable: string; values: string[] }[];
}

/** The resolved configuration of a `data "aws_iam_policy_document"`. */
export interface PolicyDocumentConfig {
  version?: string;
  policy_id?: string;
  statement?: PolicyStatementConfig[];
  source_policy_documents?: string[];
  override_policy_documents?: string[];
}

/** What the provider computes: the attributes a reference like `data.aws_iam_policy_document.x.json` reads. */
export interface PolicyDocumentAttributes {
  json: string;
  minified_json: string;
  id: string;
}

const VERSIONS = ["2008-10-17", "2012-10-17"];

/**
 * Renders a policy document like the AWS provider.
 * @throws Error for what the provider refuses (a duplicate Sid, an unknown version or effect,
 *   a Sid with other than alphanumerics) and for source/override documents (not modelled)
 */
export function renderPolicyDocument(config: PolicyDocumentConfig): PolicyDocumentAttributes {
  if ((config.source_policy_documents ?? []).length > 0 || (config.override_policy_documents ?? []).length > 0) {
    throw new Error("aws_iam_policy_document: source_policy_documents / override_policy_documents are not modelled by the twin");
  }
  const version = config.version ?? "2012-10-17";
  if (!VERSIONS.includes(version)) throw new Error(`aws_iam_policy_document: version must be one of ${VERSIONS.join(", ")}, got ${JSON.stringify(version)}`);
  const seen = new Set<string>();
  const statements = asList(config.statement).map((s) => {
    const sid = s.sid ?? "";
    if (!/^[a-zA-Z0-9]*$/.test(sid)) throw new Error(`aws_iam_policy_document: sid must only include alphanumeric characters, got ${JSON.stringify(sid)}`);
    if (sid !== "") {
      if (seen.has(sid)) throw new Error(`writing IAM Policy Document: duplicate Sid (${sid}). Remove the Sid or ensure the Sid is unique.`);
      seen.add(sid);
    }
    const effect = s.effect ?? "Allow";
    if (effect !== "Allow" && effect !== "Deny") throw new Error(`aws_iam_policy_document: effect must be Allow or Deny, got ${JSON.stringify(effect)}`);
    const out: Record<string, unknown> = {};
    if (sid !== "") out.Sid = sid;
    out.Effect = effect;
    putSet(out, "Action", s.actions, false);
    putSet(out, "NotAction", s.not_actions, false);
    putSet(out, "Resource", s.resources, true);
    putSet(out, "NotResource", s.not_resources, true);
    const principals = principalSet(asList(s.principals));
    if (principals !== undefined) out.Principal = principals;
    const notPrincipals = principalSet(asList(s.not_principals));
    if (notPrincipals !== undefined) out.NotPrincipal = notPrincipals;
    const conditions = conditionSet(asList(s.condition));
    if (conditions !== undefined) out.Condition = conditions;
    return out;
  });
  const doc: Record<string, unknown> = { Version: version };
  if (config.policy_id) doc.Id = config.policy_id;
  if (statements.length > 0) doc.Statement = statements;
  const json = goJson(JSON.stringify(doc, null, 2));
  return { json, minified_json: goJson(JSON.stringify(doc)), id: String(crc32(Buffer.from(json, "utf8")) >>> 0) };
}

/** Blocks come as a list (or, from cdktf for a single block, sometimes as one object). */
function asList<T>(v: T[] | T | undefined | null): T[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** A set of strings as the provider writes it: one → the string, several → reverse-sorted list (duplicates dropped: a set). */
export function decodeStringSet(values: readonly string[]): string | string[] {
  const set = [...new Set(values)];
  if (set.length === 1) return set[0];
  return set.sort(goCompare).reverse();
}

function putSet(out: Record<string, unknown>, key: string, values: string[] | undefined, vars: boolean): void {
  if (!values || values.length === 0) return;
  const v = decodeStringSet(values);
  out[key] = vars ? replaceVars(v) : v;
}

/** IAM policy variables: `&{aws:username}` in the configuration is `${aws:username}` in the document. */
function replaceVars<T extends string | string[]>(v: T): T {
  return (typeof v === "string" ? v.split("&{").join("${") : (v as string[]).map((x) => x.split("&{").join("${"))) as T;
}

function principalSet(blocks: { type: string; identifiers: string[] }[]): unknown {
  if (blocks.length === 0) return undefined;
  const decoded = blocks.map((b) => ({ type: b.type, ids: replaceVars(decodeStringSet(asList(b.identifiers))) }));
  if (decoded.length === 1 && decoded[0].type === "*" && (decoded[0].ids === "*" || (Array.isArray(decoded[0].ids) && decoded[0].ids.length === 1 && decoded[0].ids[0] === "*"))) {
    return "*";
  }
  const raw: Record<string, string | string[]> = {};
  for (const p of decoded) {
    const have = raw[p.type];
    if (Array.isArray(p.ids)) {
      const ids = [...p.ids].sort(goCompare).reverse();
      raw[p.type] = have === undefined ? ids : [...(Array.isArray(have) ? have : [have]), ...ids];
    } else {
      raw[p.type] = have === undefined ? p.ids : [...(Array.isArray(have) ? have : [have]), p.ids];
    }
  }
  return sortKeys(raw);
}

function conditionSet(blocks: { test: string; variable: string; values: string[] }[]): unknown {
  if (blocks.length === 0) return undefined;
  const raw: Record<string, Record<string, string[]>> = {};
  for (const c of blocks) {
    (raw[c.test] ??= {})[c.variable] = [...(raw[c.test]?.[c.variable] ?? []), ...replaceVars(asList(c.values).map(String))];
  }
  const flat: Record<string, Record<string, string | string[]>> = {};
  for (const test of Object.keys(raw).sort(goCompare)) {
    flat[test] = {};
    for (const variable of Object.keys(raw[test]).sort(goCompare)) {
      const items = raw[test][variable];
      flat[test][variable] = items.length === 1 ? items[0] : items;
    }
  }
  return flat;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(o).sort(goCompare).map((k) => [k, o[k]]));
}

/** Go's string order: by bytes of the UTF-8 encoding. */
function goCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * JSON.stringify output turned into Go's encoding/json output: Go also escapes `<`, `>`, `&`,
 * U+2028 and U+2029 (HTML-safe by default). Those characters only occur inside strings.
 */
function goJson(text: string): string {
  return text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
