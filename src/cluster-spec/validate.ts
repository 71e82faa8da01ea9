import type { ErrorObject, ValidateFunction } from "ajv";
import schema from "./cluster-spec.schema.json";
import { validate as generatedValidator } from "./schema-validator.generated";
import { DEFAULTS, resolveClusterSpec } from "./defaults";
import { RESERVED_TAG_PREFIX, type ClusterSpec, type ResolvedClusterSpec } from "./types";
import { AWS_RESERVED_TAG_PREFIX, ipv4CidrProblem, parseIpv4Cidr, reservedBucketAffix } from "./aws-names";
import { onCalendarProblem } from "./calendar";

/** One problem with one field of a spec. */
export interface SpecIssue {
  /** Field path in dotted form, e.g. `network.subnetIds[1]`; `(root)` for the document. */
  readonly path: string;
  /** The value received (undefined when the field is missing). */
  readonly value: unknown;
  /** What is wrong and what is allowed. */
  readonly message: string;
}

/** A field whose value is an unresolved token: checked at plan time, not at synth. */
export interface DeferredCheck {
  /** Field path, as in {@link SpecIssue}. */
  readonly path: string;
  /** What must hold, in words (the constructs turn it into a Terraform validation). */
  readonly rule: string;
}

/**
 * Thrown when a spec is invalid. `issues` lists every problem found, not only the first;
 * `message` lists them one per line, each naming the field, the value and what is allowed.
 */
export class SpecValidationError extends Error {
  constructor(
    /** Every problem found. */
    public readonly issues: readonly SpecIssue[],
    /** Where the spec came from (a file path or a construct path), for the message. */
    public readonly source?: string,
  ) {
    super(
      `Invalid cluster spec${source ? ` (${source})` : ""}: ${issues.length} problem${issues.length === 1 ? "" : "s"}\n` +
        issues.map((i) => `  - ${i.message}`).join("\n"),
    );
    this.name = "SpecValidationError";
    // Printed once, without a stack trace, when uncaught (`cdktf synth`): the message lists
    // every problem; `issues` and `source` stay readable but are not printed again by Node.
    this.stack = `${this.name}: ${this.message}`;
    Object.defineProperty(this, "issues", { enumerable: false });
    Object.defineProperty(this, "source", { enumerable: false });
  }
}

/** Options of {@link validateClusterSpec}. */
export interface ValidateOptions {
  /**
   * Whether `network` must be present. Spec files may leave it to the app.
   * @default true
   */
  readonly requireNetwork?: boolean;
  /**
   * Tells unresolved tokens (cdktf `Token.isUnresolved`) from literal values. A field
   * holding one is not checked here; it is returned in `deferred`.
   * @default - no value is a token
   */
  readonly isUnresolved?: (value: unknown) => boolean;
  /** Where the spec came from, for error messages. */
  readonly source?: string;
}

/** Result of a successful validation. */
export interface ValidatedSpec {
  /** The spec with defaults applied. */
  readonly spec: ResolvedClusterSpec;
  /** Fields holding unresolved tokens, with the rule each must satisfy. */
  readonly deferred: readonly DeferredCheck[];
}

/**
 * The schema's validation function, compiled at build time (ajv standalone code, options
 * `allErrors`, `verbose`, `strict`, keyword `x-allowed`: tools/generate-spec-validator.js).
 */
const validateSchema = generatedValidator as unknown as ValidateFunction;

/** The JSON Schema of a cluster spec (draft-07), as shipped in the package. */
export const CLUSTER_SPEC_SCHEMA: object = schema;

/**
 * Renders a value for an error message: JSON, except that `NaN`, `Infinity` and `-Infinity`
 * are shown as such (JSON would print `null`), and `undefined` as "nothing".
 */
export function showValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const marker = "\u0001nonfinite";
  const text = (JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? `${marker}${v}` : v)) ?? String(value)).replace(
    /"\\u0001nonfinite(NaN|-?Infinity)"/g,
    "$1",
  );
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `/network/subnetIds/1` → `network.subnetIds[1]`. */
function toPath(pointer: string): string {
  if (pointer === "") return "(root)";
  return pointer
    .slice(1)
    .split("/")
    .map((seg) => seg.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), "");
}

function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === "") return root;
  let cur: any = root;
  for (const seg of pointer.slice(1).split("/")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = cur[seg.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return cur;
}

/** True when the value at `pointer`, or a container of it, is an unresolved token. */
function isDeferred(root: unknown, pointer: string, isUnresolved: (v: unknown) => boolean): boolean {
  const segs = pointer === "" ? [] : pointer.slice(1).split("/");
  for (let n = segs.length; n >= 1; n--) {
    const p = "/" + segs.slice(0, n).join("/");
    const v = valueAt(root, p);
    if (v !== undefined && isUnresolved(v)) return true;
  }
  return false;
}

function describeAjvError(e: ErrorObject, root: unknown): SpecIssue {
  if (e.keyword === "required") {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    const pointer = `${e.instancePath}/${missing}`;
    const sub = (e.schema as unknown) && (e.parentSchema as any)?.properties?.[missing];
    const allowed = sub?.["x-allowed"] ? `; expected ${sub["x-allowed"]}` : "";
    return { path: toPath(pointer), value: undefined, message: `\`${toPath(pointer)}\` is required${allowed}` };
  }
  if (e.keyword === "additionalProperties" && (e.params as any).additionalProperty !== undefined) {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    const pointer = `${e.instancePath}/${extra}`;
    const known = Object.keys((e.parentSchema as any)?.properties ?? {});
    return {
      path: toPath(pointer),
      value: valueAt(root, pointer),
      message: `\`${toPath(pointer)}\` is not a known field; allowed fields${e.instancePath ? ` of \`${toPath(e.instancePath)}\`` : ""}: ${known.join(", ")}`,
    };
  }
  const path = toPath(e.instancePath);
  const value = valueAt(root, e.instancePath);
  const allowed = (e.parentSchema as any)?.["x-allowed"] as string | undefined;
  return {
    path,
    value,
    message: `\`${path}\`: got ${showValue(value)}; expected ${allowed ?? e.message ?? "a valid value"}`,
  };
}

/** Cross-field rules the JSON Schema cannot express. */
function crossFieldIssues(spec: any, requireNetwork: boolean, deferred: (path: string) => boolean): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const net = spec.network;
  if (!net) {
    if (requireNetwork) {
      issues.push({
        path: "network",
        value: undefined,
        message:
          "`network` is required: give `vpcId`, `subnetIds` (3 private subnets in 3 availability zones for distributed, 1 for standalone) and `allowedCidrs` and/or `allowedSecurityGroupIds`",
      });
    }
    return issues;
  }
  if (Array.isArray(net.subnetIds) && !deferred("/network/subnetIds")) {
    const want = spec.deployment === "distributed" ? 3 : spec.deployment === "standalone" ? 1 : undefined;
    if (want !== undefined && net.subnetIds.length !== want) {
      issues.push({
        path: "network.subnetIds",
        value: net.subnetIds,
        message: `\`network.subnetIds\`: got ${net.subnetIds.length} subnet${net.subnetIds.length === 1 ? "" : "s"}; a ${spec.deployment} cluster needs exactly ${want}${want === 3 ? ", one private subnet in each of 3 availability zones" : ""}`,
      });
    }
    const literal = net.subnetIds.filter((s: unknown, i: number) => typeof s === "string" && !deferred(`/network/subnetIds/${i}`));
    const dup = literal.find((s: string, i: number) => literal.indexOf(s) !== i);
    if (dup !== undefined) {
      issues.push({
        path: "network.subnetIds",
        value: net.subnetIds,
        message: `\`network.subnetIds\`: ${showValue(dup)} is listed twice; each slot needs its own subnet in its own availability zone`,
      });
    }
  }
  if (Array.isArray(net.allowedCidrs) && !deferred("/network/allowedCidrs")) {
    net.allowedCidrs.forEach((c: unknown, i: number) => {
      if (typeof c !== "string" || deferred(`/network/allowedCidrs/${i}`)) return;
      const p = parseIpv4Cidr(c);
      const path = `network.allowedCidrs[${i}]`;
      const problem = ipv4CidrProblem(c);
      if (!p) {
        if (/^(?:[0-9]{1,3}\.){3}[0-9]{1,3}\/[0-9]{1,2}$/.test(c)) {
          issues.push({ path, value: c, message: `\`${path}\`: got ${showValue(c)}; ${problem}` });
        }
        return;
      }
      if (problem) issues.push({ path, value: c, message: `\`${path}\`: got ${showValue(c)}; ${problem}` });
      else if (p.prefix < 8) {
        issues.push({
          path,
          value: c,
          message: `\`${path}\`: got ${showValue(c)}; a prefix shorter than /8 would open the database to the internet: allow your private network's CIDRs only`,
        });
      }
    });
  }
  const cidrs = net.allowedCidrs ?? [];
  const sgs = net.allowedSecurityGroupIds ?? [];
  if (Array.isArray(cidrs) && Array.isArray(sgs) && cidrs.length === 0 && sgs.length === 0) {
    issues.push({
      path: "network.allowedCidrs",
      value: cidrs,
      message: "`network.allowedCidrs` and `network.allowedSecurityGroupIds` are both empty: no client could connect; allow at least one private CIDR or security group",
    });
  }
  return issues;
}

/**
 * Patroni's timing rule `loop_wait + 2 × retry_timeout ≤ ttl` (Patroni 4.0.7
 * `patroni/config.py`, which otherwise lowers loop_wait or retry_timeout with a warning). Checked only when all three
 * resolved values are literal integers (the schema checks each range).
 */
function patroniTimingIssues(spec: any, deferred: (path: string) => boolean): SpecIssue[] {
  const t = spec.patroni;
  if (t === undefined || t === null || typeof t !== "object") return [];
  if (["ttl", "loopWait", "retryTimeout"].some((k) => deferred(`/patroni/${k}`))) return [];
  const d = DEFAULTS.patroni;
  const ttl: unknown = t.ttl ?? d.ttl;
  const loopWait: unknown = t.loopWait ?? d.loopWait;
  const retryTimeout: unknown = t.retryTimeout ?? d.retryTimeout;
  if (![ttl, loopWait, retryTimeout].every((v) => Number.isInteger(v))) return [];
  const need = (loopWait as number) + 2 * (retryTimeout as number);
  if (need <= (ttl as number)) return [];
  const path = t.ttl !== undefined ? "patroni.ttl" : t.retryTimeout !== undefined ? "patroni.retryTimeout" : "patroni.loopWait";
  return [
    {
      path,
      value: valueAt(spec, `/${path.replace(".", "/")}`),
      message:
        `\`${path}\`: ttl ${ttl} s, loopWait ${loopWait} s, retryTimeout ${retryTimeout} s break Patroni's rule ` +
        `loopWait + 2 × retryTimeout ≤ ttl (${loopWait} + 2 × ${retryTimeout} = ${need} > ${ttl}); ` +
        `raise ttl to at least ${need} or lower loopWait or retryTimeout`,
    },
  ];
}

function tagIssues(spec: any, deferred: (pointer: string) => boolean): SpecIssue[] {
  const tags = spec.tags;
  if (!tags || typeof tags !== "object" || deferred("/tags")) return [];
  return Object.keys(tags).flatMap((k) => {
    const issue = (why: string) => [{ path: `tags.${k}`, value: tags[k], message: `\`tags.${k}\`: ${why}; choose another key` }];
    if (k.startsWith(RESERVED_TAG_PREFIX)) return issue(`tag keys starting with "${RESERVED_TAG_PREFIX}" are set by the library`);
    if (k.toLowerCase().startsWith(AWS_RESERVED_TAG_PREFIX)) return issue(`tag keys starting with "${AWS_RESERVED_TAG_PREFIX}" are reserved for AWS, which refuses them`);
    return [];
  });
}

/** `name` (it prefixes the backup bucket's name) and `backup.logicalDump.schedule` beyond their patterns. */
function nameAndScheduleIssues(spec: any, deferred: (pointer: string) => boolean): SpecIssue[] {
  const issues: SpecIssue[] = [];
  if (typeof spec.name === "string" && !deferred("/name")) {
    const why = reservedBucketAffix(spec.name);
    if (why) issues.push({ path: "name", value: spec.name, message: `\`name\`: got ${showValue(spec.name)}; it begins the backup bucket's name and ${why}` });
  }
  const schedule = spec.backup?.logicalDump?.schedule;
  if (typeof schedule === "string" && !deferred("/backup/logicalDump/schedule") && /^[A-Za-z0-9*:,./ -]+$/.test(schedule)) {
    const why = onCalendarProblem(schedule);
    if (why) {
      issues.push({
        path: "backup.logicalDump.schedule",
        value: schedule,
        message: `\`backup.logicalDump.schedule\`: got ${showValue(schedule)}; systemd would refuse it as OnCalendar (${why}); expected e.g. "Sun *-*-* 03:00:00" (systemd.time(7))`,
      });
    }
  }
  return issues;
}

/**
 * The pairing rules of `upgradeTo`'s endpoint fields (the schema checks each field's shape):
 * a host comes with its port and a port with its host (`readWriteEndpoint` with
 * `readWritePort`, `readOnlyEndpoint` with `readOnlyPort`), `readOnlyEndpoint` only with
 * `readWriteEndpoint`, and the two ports of one green cluster (5432 with 5433 for a
 * distributed green, 6432 with 6432 for a standalone one). Presence is known at synth even
 * for a field holding a token; the port pair is compared only when both are literal. Nothing
 * when `upgradeTo` is not an object literal.
 */
function upgradeToEndpointIssues(spec: any, deferred: (pointer: string) => boolean): SpecIssue[] {
  const u = spec.upgradeTo;
  if (u === null || typeof u !== "object" || Array.isArray(u) || deferred("/upgradeTo")) return [];
  const issues: SpecIssue[] = [];
  const has = (k: string) => u[k] !== undefined;
  const pair = (host: string, port: string, output: string, ports: string) => {
    if (has(host) && !has(port)) {
      issues.push({
        path: `upgradeTo.${port}`,
        value: undefined,
        message: `\`upgradeTo.${port}\` is required with \`upgradeTo.${host}\`: green's \`<id>_${output}\` output, ${ports}`,
      });
    } else if (has(port) && !has(host)) {
      issues.push({
        path: `upgradeTo.${port}`,
        value: u[port],
        message: `\`upgradeTo.${port}\`: got ${showValue(u[port])} without \`upgradeTo.${host}\`; expected it only together with \`upgradeTo.${host}\` (the green cluster's endpoint host)`,
      });
    }
  };
  pair("readWriteEndpoint", "readWritePort", "read_write_port", "5432 (distributed green) or 6432 (standalone green)");
  pair("readOnlyEndpoint", "readOnlyPort", "read_only_port", "5433 (distributed green) or 6432 (standalone green)");
  if (has("readOnlyEndpoint") && !has("readWriteEndpoint")) {
    issues.push({
      path: "upgradeTo.readOnlyEndpoint",
      value: u.readOnlyEndpoint,
      message:
        `\`upgradeTo.readOnlyEndpoint\`: got ${showValue(u.readOnlyEndpoint)} without \`upgradeTo.readWriteEndpoint\`; ` +
        "expected it only together with `upgradeTo.readWriteEndpoint` (green's `<id>_read_write_endpoint` output): blue's read-write pool must follow green too",
    });
  }
  const rw = u.readWritePort;
  const ro = u.readOnlyPort;
  if (Number.isInteger(rw) && Number.isInteger(ro) && !deferred("/upgradeTo/readWritePort") && !deferred("/upgradeTo/readOnlyPort")) {
    const want = rw === 5432 ? 5433 : rw === 6432 ? 6432 : undefined;
    if (want !== undefined && (ro === 5433 || ro === 6432) && ro !== want) {
      issues.push({
        path: "upgradeTo.readOnlyPort",
        value: ro,
        message:
          `\`upgradeTo.readOnlyPort\`: got ${ro} with \`upgradeTo.readWritePort\` ${rw}; expected ${want}: ` +
          `one green cluster serves 5432 and 5433 (distributed) or 6432 alone (standalone); give both of green's outputs (\`<id>_read_write_port\`, \`<id>_read_only_port\`)`,
      });
    }
  }
  return issues;
}

/**
 * Validates a cluster spec (from TypeScript props or a parsed spec file) against the JSON
 * Schema and the cross-field rules, and applies defaults.
 *
 * @returns the resolved spec and the checks deferred to plan time (unresolved tokens)
 * @throws SpecValidationError listing every invalid field (path, value, what is allowed)
 */
export function validateClusterSpec(input: unknown, options: ValidateOptions = {}): ValidatedSpec {
  const isUnresolved = options.isUnresolved ?? (() => false);
  const requireNetwork = options.requireNetwork ?? true;
  const deferred: DeferredCheck[] = [];
  const issues: SpecIssue[] = [];

  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new SpecValidationError(
      [{ path: "(root)", value: input, message: `the spec must be an object (mapping); got ${showValue(input)}` }],
      options.source,
    );
  }

  const seen = new Set<string>();
  if (!validateSchema(input)) {
    for (const e of validateSchema.errors ?? []) {
      if (e.keyword !== "required" && isDeferred(input, e.instancePath, isUnresolved)) {
        const sub = (e.parentSchema as any)?.["x-allowed"];
        const path = toPath(e.instancePath);
        if (!deferred.some((d) => d.path === path)) deferred.push({ path, rule: sub ?? e.message ?? "valid value" });
        continue;
      }
      const issue = describeAjvError(e, input);
      if (seen.has(issue.path)) continue; // one issue per field, even when several keywords fail
      seen.add(issue.path);
      issues.push(issue);
    }
  }
  const isDef = (pointer: string) => isDeferred(input, pointer, isUnresolved);
  for (const issue of [...crossFieldIssues(input, requireNetwork, isDef), ...patroniTimingIssues(input, isDef), ...tagIssues(input, isDef), ...nameAndScheduleIssues(input, isDef), ...upgradeToEndpointIssues(input, isDef)]) {
    if (!seen.has(issue.path) || issue.path === "network.subnetIds") issues.push(issue);
    seen.add(issue.path);
  }
  if (issues.length > 0) throw new SpecValidationError(issues, options.source);
  return { spec: resolveClusterSpec(input as ClusterSpec), deferred };
}
