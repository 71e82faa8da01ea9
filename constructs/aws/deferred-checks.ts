/**
 * Plan-time checks for cluster spec fields that hold unresolved tokens (Terraform variables,
 * other resources' attributes). Validation cannot see a token's value at synth, so every
 * rule of such a field — the JSON Schema's ranges, enums and patterns, and the cross-field
 * rules (subnet count per deployment model, distinct subnets, CIDR prefix, at least one
 * client source) — becomes a Terraform `lifecycle.precondition`, never a skipped check.
 *
 * The same generator writes the `validation` blocks of the HCL module example's variables
 * ({@link schemaConditions}), so both derive from `cluster-spec.schema.json` and cannot drift.
 */
import { Token, type Precondition, type TerraformResource } from "cdktf";
import type { Construct } from "constructs";
import schema from "../../src/cluster-spec/cluster-spec.schema.json";
import { AWS_RESERVED_TAG_PREFIX, DEFAULTS, RESERVED_TAG_PREFIX, S3_RESERVED_BUCKET_PREFIXES, S3_RESERVED_BUCKET_SUFFIXES, type ClusterSpec, type RestoreFrom } from "../../src/cluster-spec";
import { RESTORE_FROM_PATTERNS } from "../../src/rules";
import { resolveTokens } from "../private/tokens";

/** One plan-time check: a Terraform expression that must be true, and the error shown when not. */
export interface PlanTimeCheck {
  /** Spec field path, e.g. `network.subnetIds`. */
  readonly path: string;
  /** Terraform expression (without `${…}`), e.g. `var.storage_gib >= 2`. */
  readonly condition: string;
  /** Error message: a full sentence naming the field and the rule. */
  readonly errorMessage: string;
}

/** The subset of JSON Schema (draft-07) keywords used by `cluster-spec.schema.json`. */
export interface SchemaNode {
  /** `"integer"`, `"string"`, `"object"`, `"array"`, `"boolean"`; only `integer` yields a condition (`floor(x) == x`). */
  readonly type?: string;
  /** Allowed values → `contains([...], x)`. */
  readonly enum?: readonly (string | number)[];
  /** RE2-compatible regular expression → `can(regex("...", x))`. */
  readonly pattern?: string;
  /** Inclusive lower bound → `x >= n`. */
  readonly minimum?: number;
  /** Inclusive upper bound → `x <= n`. */
  readonly maximum?: number;
  /** Minimum string length → `length(x) >= n`. */
  readonly minLength?: number;
  /** Maximum string length → `length(x) <= n`. */
  readonly maxLength?: number;
  /** Minimum list length → `length(x) >= n`. */
  readonly minItems?: number;
  /** Maximum list length → `length(x) <= n`. */
  readonly maxItems?: number;
  /** No item twice → `length(distinct(x)) == length(x)`. */
  readonly uniqueItems?: boolean;
  /** Maximum map size → `length(x) <= n`. */
  readonly maxProperties?: number;
  /** Schema of every list item → `alltrue([for v in x : ...])`. */
  readonly items?: SchemaNode;
  /** Schemas of an object's fields (walked by {@link schemaAt}). */
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  /** Schema of every map value (maps without `properties`) → `alltrue([for k, v in x : ...])`. */
  readonly additionalProperties?: SchemaNode | boolean;
  /** Schema of every map key → `alltrue([for k, v in x : ...])`. */
  readonly propertyNames?: SchemaNode;
  /** What is allowed, in words (the project's annotation); used in error messages. */
  readonly "x-allowed"?: string;
}

/** The cluster spec's JSON Schema, typed for {@link schemaConditions}. */
export const CLUSTER_SPEC_SCHEMA_NODE: SchemaNode = schema as unknown as SchemaNode;

/** A Terraform string literal: quotes, backslashes and `${` / `%{` template openers escaped. */
export function hclString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{")}"`;
}

/** A Terraform literal for a JSON value (strings, numbers, booleans, lists of them). */
export function hclLiteral(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(hclLiteral).join(", ")}]`;
  if (typeof value === "string") return hclString(value);
  return JSON.stringify(value);
}

/**
 * The schema node at a dotted spec path (`network.subnetIds`, `backup.retentionDays`);
 * `[i]` segments descend into `items`.
 * @throws Error when the path is not in the schema
 */
export function schemaAt(path: string): SchemaNode {
  let node: SchemaNode | undefined = CLUSTER_SPEC_SCHEMA_NODE;
  for (const seg of path.replace(/\[\d+\]/g, ".[]").split(".").filter(Boolean)) {
    node = seg === "[]" ? node?.items : node?.properties?.[seg];
    if (!node) throw new Error(`\`${path}\` is not a field of the cluster spec schema`);
  }
  return node;
}

/**
 * Terraform conditions equivalent to a JSON Schema node, for the value of expression `expr`:
 * `integer` → `floor(x) == x`; `minimum`/`maximum`; `enum` → `contains([...], x)`;
 * `pattern` → `can(regex("...", x))` (the schema's patterns use RE2-compatible syntax);
 * `minLength`/`maxLength`/`minItems`/`maxItems`/`maxProperties` → `length(x)`; `uniqueItems` →
 * `length(distinct(x)) == length(x)`; `items` →
 * `alltrue([for v in x : ...])`; map values and `propertyNames` → `alltrue([for k, v in x : ...])`.
 * Types themselves are left to the variable's `type`.
 *
 * @param node the schema node
 * @param expr a Terraform expression, e.g. `var.storage_gib`
 * @returns one condition per keyword, in a stable order (empty when the node has none)
 */
export function schemaConditions(node: SchemaNode, expr: string): string[] {
  const out: string[] = [];
  if (node.type === "integer") out.push(`floor(${expr}) == ${expr}`);
  if (node.minimum !== undefined) out.push(`${expr} >= ${node.minimum}`);
  if (node.maximum !== undefined) out.push(`${expr} <= ${node.maximum}`);
  if (node.enum) out.push(`contains(${hclLiteral(node.enum)}, ${expr})`);
  if (node.pattern !== undefined) out.push(`can(regex(${hclString(node.pattern)}, ${expr}))`);
  if (node.minLength !== undefined) out.push(`length(${expr}) >= ${node.minLength}`);
  if (node.maxLength !== undefined) out.push(`length(${expr}) <= ${node.maxLength}`);
  if (node.minItems !== undefined) out.push(`length(${expr}) >= ${node.minItems}`);
  if (node.maxItems !== undefined) out.push(`length(${expr}) <= ${node.maxItems}`);
  if (node.maxProperties !== undefined) out.push(`length(${expr}) <= ${node.maxProperties}`);
  if (node.uniqueItems === true) out.push(`length(distinct(${expr})) == length(${expr})`);
  if (node.items) {
    const inner = schemaConditions(node.items, "v");
    if (inner.length) out.push(`alltrue([for v in ${expr} : ${inner.join(" && ")}])`);
  }
  if (typeof node.additionalProperties === "object" && !node.properties) {
    const inner = schemaConditions(node.additionalProperties, "v");
    if (inner.length) out.push(`alltrue([for k, v in ${expr} : ${inner.join(" && ")}])`);
  }
  if (node.propertyNames) {
    const inner = schemaConditions(node.propertyNames, "k");
    if (inner.length) out.push(`alltrue([for k, v in ${expr} : ${inner.join(" && ")}])`);
  }
  return out;
}

/** Condition: every CIDR of list `expr` parses and has a prefix of /8 or longer (never the internet). */
export function privateCidrListCondition(expr: string): string {
  // try(): Terraform's && does not short-circuit, so a CIDR without "/" must not raise.
  return `alltrue([for c in ${expr} : can(cidrhost(c, 0)) && try(tonumber(split("/", c)[1]), 0) >= 8])`;
}

/** Condition: no key of map `expr` starts with the library's reserved tag prefix. */
export function reservedTagCondition(expr: string): string {
  return `alltrue([for k, v in ${expr} : !startswith(k, ${hclString(RESERVED_TAG_PREFIX)})])`;
}

/** Condition: no key of map `expr` starts with `aws:` in any case (AWS refuses them). */
export function awsTagCondition(expr: string): string {
  return `alltrue([for k, v in ${expr} : !startswith(lower(k), ${hclString(AWS_RESERVED_TAG_PREFIX)})])`;
}

/** The plan-time rule of each `restoreFrom` field: a Terraform condition on `x` and the rule in words. */
const RESTORE_FROM_RULES: Record<keyof RestoreFrom, { condition: (x: string) => string; rule: string }> = {
  backupBucket: {
    condition: (x) =>
      [
        `can(regex(${hclString(RESTORE_FROM_PATTERNS.backupBucket)}, ${x}))`,
        `length(regexall("\\\\.\\\\.", ${x})) == 0`,
        `!can(regex("^[0-9]+\\\\.[0-9]+\\\\.[0-9]+\\\\.[0-9]+$", ${x}))`,
        ...S3_RESERVED_BUCKET_PREFIXES.map((p) => `!startswith(${x}, ${hclString(p)})`),
        ...S3_RESERVED_BUCKET_SUFFIXES.map((p) => `!endswith(${x}, ${hclString(p)})`),
      ].join(" && "),
    rule: "an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens, S3's naming rules; not an ARN)",
  },
  stanza: { condition: (x) => `can(regex(${hclString(RESTORE_FROM_PATTERNS.stanza)}, ${x}))`, rule: "the source cluster's name (its pgBackRest stanza)" },
  target: {
    condition: (x) => `can(regex(${hclString(RESTORE_FROM_PATTERNS.target)}, ${x}))`,
    rule: '"latest" or an ISO 8601 timestamp with a time zone, e.g. "2026-11-20T10:00:00Z"',
  },
  secretArn: { condition: (x) => `can(regex(${hclString(RESTORE_FROM_PATTERNS.secretArn)}, ${x}))`, rule: "a Secrets Manager secret ARN" },
  backupKmsKeyArn: { condition: (x) => `can(regex(${hclString(RESTORE_FROM_PATTERNS.backupKmsKeyArn)}, ${x}))`, rule: "a KMS key ARN" },
  region: { condition: (x) => `can(regex(${hclString(RESTORE_FROM_PATTERNS.region)}, ${x}))`, rule: 'an AWS region such as "eu-west-1"' },
};

/**
 * The plan-time checks of the `restoreFrom` fields holding tokens: the same character rules
 * as the synth-time check of literals (`RESTORE_FROM_PATTERNS`), so a value written into the
 * nodes' restore script, pgBackRest INI file and `restore_command` is checked before any
 * instance exists, whether it is a literal or a Terraform variable.
 */
export function restoreFromPlanTimeChecks(restoreFrom: RestoreFrom | undefined, expressionOf: (token: unknown) => string): PlanTimeCheck[] {
  if (!restoreFrom || typeof restoreFrom !== "object" || Token.isUnresolved(restoreFrom)) return [];
  return (Object.keys(RESTORE_FROM_RULES) as (keyof RestoreFrom)[])
    .filter((field) => restoreFrom[field] !== undefined && Token.isUnresolved(restoreFrom[field]))
    .map((field) => ({
      path: `restoreFrom.${field}`,
      condition: RESTORE_FROM_RULES[field].condition(expressionOf(restoreFrom[field])),
      errorMessage: `The field \`restoreFrom.${field}\` must be ${RESTORE_FROM_RULES[field].rule}.`,
    }));
}

/**
 * The plan-time checks of the `upgradeFrom` and `upgradeTo` rules beyond each field's schema
 * (which {@link planTimeChecks} covers), for fields holding tokens: the rules
 * `upgradeFromIssues` (src/rules/upgrade.ts) checks on literals at synth — blue's
 * `majorVersion` lower than green's, blue's `clusterName` another cluster than green — and the
 * distinct addresses of a literal address list whose items are tokens (each address is a
 * pg_hba rule or a connection target). A literal field was checked at synth and yields nothing;
 * so does a token green `name` or `majorVersion` (nothing to compare with).
 */
export function upgradePlanTimeChecks(spec: ClusterSpec, expressionOf: (token: unknown) => string): PlanTimeCheck[] {
  const checks: PlanTimeCheck[] = [];
  const plain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v) && !Token.isUnresolved(v);
  const distinctItems = (path: string, list: unknown) => {
    if (!Array.isArray(list) || Token.isUnresolved(list) || !list.some((a) => Token.isUnresolved(a))) return;
    const x = `[${list.map((a) => (Token.isUnresolved(a) ? expressionOf(a) : hclString(String(a)))).join(", ")}]`;
    checks.push({ path, condition: `length(distinct(${x})) == length(${x})`, errorMessage: sentence(path, "a list of distinct addresses") });
  };
  const from = (spec as { upgradeFrom?: unknown }).upgradeFrom;
  if (plain(from)) {
    const green = spec.majorVersion ?? DEFAULTS.majorVersion;
    if (Token.isUnresolved(from.majorVersion) && !Token.isUnresolved(green)) {
      checks.push({
        path: "upgradeFrom.majorVersion",
        condition: `${expressionOf(from.majorVersion)} < ${green}`,
        errorMessage: sentence("upgradeFrom.majorVersion", `lower than this cluster's majorVersion ${green}: the upgrade goes up a major version only`),
      });
    }
    if (Token.isUnresolved(from.clusterName) && typeof spec.name === "string" && !Token.isUnresolved(spec.name)) {
      checks.push({
        path: "upgradeFrom.clusterName",
        condition: `${expressionOf(from.clusterName)} != ${hclString(spec.name)}`,
        errorMessage: sentence("upgradeFrom.clusterName", `another cluster's name than this cluster's ("${spec.name}"): the green cluster upgrades the blue one`),
      });
    }
    distinctItems("upgradeFrom.nodeAddresses", from.nodeAddresses);
  }
  const to = (spec as { upgradeTo?: unknown }).upgradeTo;
  if (plain(to)) distinctItems("upgradeTo.nodeAddresses", to.nodeAddresses);
  return checks;
}

function sentence(path: string, rule: string): string {
  return `The cluster spec field \`${path}\` must be ${rule}.`;
}

/**
 * The plan-time checks of a spec whose fields may hold tokens. For each field holding a
 * token: its JSON Schema rules. For token-valued network fields: the cross-field rules too.
 * Literal fields are left out (validation checked them at synth).
 *
 * @param spec the spec as given (tokens in place), `deployment` a literal
 * @param expressionOf the Terraform expression of a token (e.g. `var.subnet_ids`), without `${}`
 * @param skip field paths checked elsewhere (e.g. `storageGiB`, which the slots check)
 */
export function planTimeChecks(spec: ClusterSpec, expressionOf: (token: unknown) => string, skip: readonly string[] = []): PlanTimeCheck[] {
  const checks: PlanTimeCheck[] = [];
  const add = (path: string, condition: string, rule: string) => {
    if (!skip.includes(path.replace(/\[\d+\]$/, ""))) checks.push({ path, condition, errorMessage: sentence(path, rule) });
  };
  const fromSchema = (path: string, value: unknown) => {
    const node = schemaAt(path);
    const conds = schemaConditions(node, expressionOf(value));
    if (conds.length) add(path, conds.join(" && "), node["x-allowed"] ?? "valid");
  };
  /** Walks literal containers down to token leaves. */
  const walk = (path: string, value: unknown) => {
    if (value === undefined || value === null) return;
    if (Token.isUnresolved(value)) {
      fromSchema(path, value);
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => walk(`${path}[${i}]`, v));
    else if (typeof value === "object") for (const [k, v] of Object.entries(value)) if (!(path === "tags")) walk(path ? `${path}.${k}` : k, v);
  };
  const known = CLUSTER_SPEC_SCHEMA_NODE.properties ?? {};
  for (const [k, v] of Object.entries(spec)) if (k in known && k !== "network" && k !== "tags") walk(k, v);
  if (spec.tags !== undefined && Token.isUnresolved(spec.tags)) {
    fromSchema("tags", spec.tags);
    add("tags", reservedTagCondition(expressionOf(spec.tags)), `free of keys starting with "${RESERVED_TAG_PREFIX}" (set by the library)`);
    add("tags", awsTagCondition(expressionOf(spec.tags)), `free of keys starting with "${AWS_RESERVED_TAG_PREFIX}" (reserved for AWS)`);
  }

  const net = spec.network;
  if (!net) return checks;
  walk("network.vpcId", net.vpcId);
  walk("network.allowedSecurityGroupIds", net.allowedSecurityGroupIds);
  walk("network.subnetIds", net.subnetIds);
  walk("network.allowedCidrs", net.allowedCidrs);
  const want = spec.deployment === "distributed" ? 3 : 1;
  const listExpr = (list: readonly string[] | undefined): string =>
    list === undefined ? "[]" : Token.isUnresolved(list) ? expressionOf(list) : `[${list.map((s) => (Token.isUnresolved(s) ? expressionOf(s) : hclString(s))).join(", ")}]`;
  const anyToken = (list: readonly string[] | undefined) => list !== undefined && (Token.isUnresolved(list) || list.some((s) => Token.isUnresolved(s)));
  if (anyToken(net.subnetIds)) {
    const x = listExpr(net.subnetIds);
    if (Token.isUnresolved(net.subnetIds)) {
      add("network.subnetIds", `length(${x}) == ${want}`, `a list of exactly ${want} subnet id${want === 1 ? "" : "s"} for a ${spec.deployment} cluster${want === 3 ? " (one private subnet in each of 3 availability zones)" : ""}`);
    }
    add("network.subnetIds", `length(distinct(${x})) == length(${x})`, "a list of distinct subnets: each slot needs its own subnet in its own availability zone");
  }
  if (net.allowedCidrs !== undefined && anyToken(net.allowedCidrs)) {
    add("network.allowedCidrs", privateCidrListCondition(listExpr(net.allowedCidrs)), "a list of IPv4 CIDRs with a prefix of /8 or longer (never 0.0.0.0/0: allow your private network's CIDRs only)");
  }
  if (anyToken(net.allowedCidrs) || anyToken(net.allowedSecurityGroupIds)) {
    add(
      "network.allowedCidrs",
      `length(concat(${listExpr(net.allowedCidrs)}, ${listExpr(net.allowedSecurityGroupIds)})) > 0`,
      "non-empty, or `network.allowedSecurityGroupIds` non-empty: otherwise no client could connect",
    );
  }
  return checks;
}

/**
 * Adds the plan-time checks of `spec` to `resource` as `lifecycle.precondition` entries (after
 * any it has). Tokens are resolved to their Terraform expressions now (variables, resource
 * attributes), so call it once the tokens' targets exist.
 *
 * @param scope any construct of the stack (to resolve tokens)
 * @param resource the resource whose plan the checks guard (e.g. a slot's network interface)
 * @param spec the spec as given to the construct (a `restoreFrom` prop in it gets
 *   {@link restoreFromPlanTimeChecks}, `upgradeFrom` and `upgradeTo` {@link upgradePlanTimeChecks})
 * @param skip field paths checked elsewhere
 * @returns the checks added (their conditions with tokens already resolved)
 */
export function addPlanTimeChecks(scope: Construct, resource: TerraformResource, spec: ClusterSpec, skip: readonly string[] = []): PlanTimeCheck[] {
  const expressionOf = (token: unknown): string => {
    const text = resolveTokens(scope, token);
    const s = typeof text === "string" ? text : JSON.stringify(text);
    return s.startsWith("${") && s.endsWith("}") ? s.slice(2, -1) : hclLiteral(text);
  };
  const checks = [
    ...planTimeChecks(spec, expressionOf, skip),
    ...restoreFromPlanTimeChecks((spec as { restoreFrom?: RestoreFrom }).restoreFrom, expressionOf),
    ...upgradePlanTimeChecks(spec, expressionOf),
  ];
  if (checks.length === 0) return checks;
  const preconditions: Precondition[] = checks.map((c) => ({
    condition: `\${${c.condition}}`,
    errorMessage: c.errorMessage,
  }));
  resource.lifecycle = { ...(resource.lifecycle ?? {}), precondition: [...(resource.lifecycle?.precondition ?? []), ...preconditions] };
  return checks;
}
