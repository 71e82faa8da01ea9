/**
 * Part A of the EC2 twin (issue 10, test/twin/TWIN.md in the worktree notes): "applies" a
 * synthesized stack (`<stackDir>/cdk.tf.json`) without AWS, the way `terraform apply` would,
 * and returns the resources it created with AWS-shaped, fully resolved attributes. No render
 * function of the library is called: the JSON is the only input.
 *
 * How:
 * 1. Parses resources, data sources, locals, outputs, variables (the values given in
 *    {@link ApplyOptions.variables}, else their defaults; `validation` blocks checked), the `aws`
 *    provider (none: a module, the account's region) (region, `default_tags` → `tags_all`), `depends_on`, `for_each`, `count` and
 *    `lifecycle` (`precondition`, `postcondition`, `prevent_destroy`).
 * 2. Builds the dependency graph from the references inside `${…}` / `%{…}` (template.ts; never
 *    from literal text, `$${` stays literal) and `depends_on`; a cycle is an error naming it
 *    (`Cycle: a, b`), like Terraform's.
 * 3. Resolves level by level: everything whose dependencies are resolved is evaluated by the
 *    real `terraform` binary in one `terraform console` run (console.ts), with the values of
 *    earlier levels injected as locals (`aws_x.y` / `data.aws_x.y` / `var.v` rewritten to
 *    `local.twin_…`; the stack's own locals keep their names; `each`/`count`/`self` become
 *    per-instance locals; `plantimestamp()`, which the console lacks, becomes `timestamp()`).
 *    `for_each`/`count` take one more level (the expansion, then the instances).
 * 4. Fills what AWS and the provider compute (aws.ts, with the documentation table) and reads
 *    data sources (data-sources.ts, policy-document.ts).
 * 5. Evaluates preconditions before and postconditions after each instance (a false condition
 *    fails the apply with the resource's address and `error_message`), and refuses a launch
 *    template whose base64-decoded user data exceeds 16,384 bytes the way CreateLaunchTemplate
 *    does (`InvalidUserData.Malformed: User data is limited to 16384 bytes`;
 *    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html: "limited to 16 KB, in
 *    raw form, before it is base64-encoded").
 * 6. With `prior` (the state of an earlier apply): an unchanged resource keeps every computed
 *    attribute; a changed one is updated in place (launch template: a new version, `latest_version`
 *    + 1, `default_version` follows with `update_default_version`; S3 object: a new version id)
 *    unless an attribute that forces replacement changed ({@link FORCES_REPLACEMENT}); a resource
 *    with `prevent_destroy` that would be destroyed or replaced fails the apply with Terraform's
 *    message.
 *
 * Not modelled: modules, providers other than `aws` (a resource of another provider is an
 * error), provider aliases (the first `aws` block is used), `ignore_changes`, and Terraform's
 * conversion of values to the provider schema's types (attributes keep the JSON's shapes: a
 * nested block written as one object stays an object).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { ComputeContext, TwinAccount as AccountFull, computeManaged, resolveAccount, tagsAll } from "./aws";
import { ConsoleStats, EvaluationError, evaluateBatch } from "./console";
import { DataContext, VolumeView, readDataSource } from "./data-sources";
import { escapeValue, findReferences, parseTemplate, Reference, rewriteReferences } from "./template";

export type { AccountSubnet, AccountVpc, AccountVolume } from "./aws";
export { allocateAddress, isAssignable, inCidr } from "./aws";

/** The account the stack is applied into (all fields optional: see aws.ts for the defaults). */
export type TwinAccount = AccountFull;

/** One resource instance (or data source instance) the apply created or read. */
export interface TwinResource {
  /** `aws_launch_template.x`, `data.aws_iam_policy_document.y`, plus `["key"]` / `[0]` for for_each / count instances. */
  address: string;
  mode: "managed" | "data";
  /** `aws_launch_template` */
  type: string;
  /** The JSON key. */
  name: string;
  /** The construct path of the cdktf metadata (`"//".metadata.path`). */
  constructPath?: string;
  /** Fully resolved attributes: the configuration's (snake_case, as in the JSON) plus the computed ones (id, arn, …). */
  attributes: Record<string, unknown>;
  /** The resolved configuration alone (what a re-apply compares). */
  config: Record<string, unknown>;
  /** The attributes AWS/the provider computed (the rest of `attributes`). */
  computed: Record<string, unknown>;
  /** `lifecycle.prevent_destroy` */
  preventDestroy: boolean;
  /** How many times this address was created (1, +1 per replacement): part of the id seed. */
  generation: number;
}

/** Measurements of one apply. */
export interface ApplyStats {
  /** Evaluation levels (one console run each when nothing fails). */
  levels: number;
  consoleRuns: number;
  consoleMillis: number;
  totalMillis: number;
}

/** The result of {@link applyStack}. */
export interface TwinState {
  stackDir: string;
  stackName: string;
  region: string;
  accountId: string;
  partition: "aws";
  account: TwinAccount;
  /** Managed resources and data sources, in creation (dependency) order. */
  resources: TwinResource[];
  /** @throws Error naming the address when there is no such resource */
  get(address: string): TwinResource;
  ofType(type: string): TwinResource[];
  /** Output values by name. */
  outputs: Record<string, unknown>;
  /** Resolved locals by name. */
  locals: Record<string, unknown>;
  /** Provider default_tags. */
  defaultTags: Record<string, string>;
  stats: ApplyStats;
}

/**
 * The addresses the applied resources hold in each subnet (network interfaces, interface VPC
 * endpoints, load balancer nodes), by subnet id: what an instance launch must not take
 * (pass the set to {@link allocateAddress}).
 */
export function addressesInUse(state: TwinState): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const add = (subnetId: string, ip: string) => {
    if (!used.has(subnetId)) used.set(subnetId, new Set());
    used.get(subnetId)!.add(ip);
  };
  for (const r of state.resources) {
    if (r.mode !== "managed") continue;
    if (r.type === "aws_network_interface") for (const ip of asList(r.attributes.private_ips as string[])) add(String(r.attributes.subnet_id), ip);
    for (const i of asList(r.computed.twin_interfaces as { subnet_id: string; private_ip: string }[])) add(i.subnet_id, i.private_ip);
  }
  return used;
}

/** Error of a failed apply: the address of the resource (or the cycle) and why. */
export class ApplyError extends Error {
  constructor(public readonly address: string, message: string) {
    super(`${address}: ${message}`);
  }
}

/**
 * Attributes whose change replaces the resource (the provider schemas' ForceNew, for the types
 * that carry data or identity; provider resource pages, "Argument Reference").
 */
export const FORCES_REPLACEMENT: Readonly<Record<string, readonly string[]>> = {
  aws_ebs_volume: ["availability_zone", "encrypted", "kms_key_id", "snapshot_id", "outpost_arn"],
  aws_network_interface: ["subnet_id", "private_ip", "private_ips", "private_ip_list"],
  aws_kms_key: ["customer_master_key_spec", "key_usage", "multi_region"],
  aws_s3_bucket: ["bucket", "bucket_prefix", "object_lock_enabled"],
  aws_secretsmanager_secret: ["name", "name_prefix"],
  aws_subnet: ["vpc_id", "cidr_block", "availability_zone", "availability_zone_id"],
  aws_vpc: ["cidr_block", "instance_tenancy"],
  aws_iam_role: ["name", "name_prefix", "path"],
  aws_iam_instance_profile: ["name", "name_prefix", "path"],
  aws_launch_template: ["name", "name_prefix"],
  aws_s3_object: ["bucket", "key"],
  aws_security_group: ["name", "name_prefix", "vpc_id", "description"],
  aws_autoscaling_group: ["name", "name_prefix"],
  aws_lb: ["name", "name_prefix", "internal", "load_balancer_type"],
  aws_lb_target_group: ["name", "name_prefix", "port", "protocol", "vpc_id", "target_type"],
  aws_cloudwatch_log_group: ["name", "name_prefix"],
  aws_sns_topic: ["name", "name_prefix"],
};

/** EC2's user data limit, in bytes of the decoded (raw) user data. */
export const USER_DATA_LIMIT_BYTES = 16_384;

const META_KEYS = new Set(["//", "depends_on", "lifecycle", "for_each", "count", "provider", "provisioner", "connection"]);

type NodeKind = "managed" | "data" | "local" | "output" | "var";

/** Further inputs of {@link applyStack}. */
export interface ApplyOptions {
  /** Values of the stack's input variables, by name (a module's `vpc_id`, `subnet_ids`, …). @default - each variable's default */
  variables?: Record<string, unknown>;
}

interface Condition {
  condition: unknown;
  error_message: unknown;
}

interface Node {
  address: string;
  kind: NodeKind;
  type: string;
  name: string;
  body: unknown;
  forEach?: unknown;
  count?: unknown;
  pre: Condition[];
  post: Condition[];
  preventDestroy: boolean;
  constructPath?: string;
  deps: Set<string>;
  /** for_each/count expansion result: instance keys (undefined key: a single instance). */
  instances?: { key: string | number | undefined; value?: unknown }[];
  /** Instances evaluated, waiting for their postconditions. */
  created?: TwinResource[];
}

function asList<T>(v: T | T[] | undefined | null): T[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** A stable text of a JSON value (object keys sorted). */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

function short(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 10);
}

/** The local that carries the resolved value of an address (`aws_vpc.main` → `twin_aws_vpc_main_<hash>`). */
function injectName(address: string): string {
  return `twin_${address.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 60)}_${short(address)}`;
}

/** Applies `f` to every string of a JSON value (object keys included). */
function mapStrings(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === "string") return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [f(k), mapStrings(x, f)]));
  return v;
}

function eachString(v: unknown, f: (s: string) => void): void {
  mapStrings(v, (s) => {
    f(s);
    return s;
  });
}

/** `plantimestamp()` (plan time, absent from the console) becomes `timestamp()` inside expressions. */
function replacePlanTimestamp(template: string): string {
  if (!template.includes("plantimestamp")) return template;
  let out = "";
  let at = 0;
  for (const p of parseTemplate(template)) {
    if (p.kind === "literal") continue;
    out += template.slice(at, p.exprStart) + template.slice(p.exprStart, p.exprEnd).replace(/\bplantimestamp\s*\(\s*\)/g, "timestamp()");
    at = p.exprEnd!;
  }
  return out + template.slice(at);
}

/** The stack's parsed configuration. */
interface Parsed {
  stackName: string;
  region?: string;
  defaultTags: Record<string, string>;
  nodes: Map<string, Node>;
}

function parseStack(stackDir: string, variables: Readonly<Record<string, unknown>>): Parsed {
  const file = join(stackDir, "cdk.tf.json");
  const doc = JSON.parse(readFileSync(file, "utf8")) as Record<string, any>;
  const stackName: string = doc["//"]?.metadata?.stackName ?? basename(stackDir);
  const providers = Object.keys(doc.provider ?? {});
  const foreign = providers.filter((p) => p !== "aws");
  if (foreign.length > 0) throw new ApplyError(`provider.${foreign[0]}`, "the twin models the aws provider only");
  const aws = asList(doc.provider?.aws).find((p: any) => !p.alias) as Record<string, any> | undefined;
  const region = aws?.region as string | undefined;
  if (region !== undefined && findReferences(region).length > 0) throw new ApplyError("provider.aws", "a region computed from references is not modelled");
  const dt = asList(aws?.default_tags)[0] as { tags?: Record<string, string> } | undefined;
  const defaultTags = dt?.tags ?? {};

  const nodes = new Map<string, Node>();
  const add = (n: Omit<Node, "deps">) => nodes.set(n.address, { ...n, deps: new Set() });
  for (const mode of ["resource", "data"] as const) {
    for (const [type, byName] of Object.entries((doc[mode] ?? {}) as Record<string, Record<string, any>>)) {
      if (!type.startsWith("aws_")) throw new ApplyError(`${type}`, "the twin models resources of the aws provider only");
      for (const [name, block] of Object.entries(byName)) {
        const lifecycle = (asList(block.lifecycle)[0] ?? {}) as Record<string, unknown>;
        const body = Object.fromEntries(Object.entries(block).filter(([k]) => !META_KEYS.has(k)));
        add({
          address: mode === "data" ? `data.${type}.${name}` : `${type}.${name}`,
          kind: mode === "data" ? "data" : "managed",
          type,
          name,
          body,
          forEach: block.for_each,
          count: block.count,
          pre: asList(lifecycle.precondition as Condition[]),
          post: asList(lifecycle.postcondition as Condition[]),
          preventDestroy: lifecycle.prevent_destroy === true || lifecycle.prevent_destroy === "true",
          constructPath: block["//"]?.metadata?.path,
        });
        const node = nodes.get(mode === "data" ? `data.${type}.${name}` : `${type}.${name}`)!;
        for (const d of asList(block.depends_on as string[])) node.deps.add(d.replace(/\[.*$/, ""));
      }
    }
  }
  for (const [name, value] of Object.entries((doc.locals ?? {}) as Record<string, unknown>)) {
    if (name.startsWith("twin_")) throw new ApplyError(`local.${name}`, "local names starting with twin_ are reserved by the twin");
    add({ address: `local.${name}`, kind: "local", type: "local", name, body: value, pre: [], post: [], preventDestroy: false });
  }
  for (const [name, o] of Object.entries((doc.output ?? {}) as Record<string, any>)) {
    add({ address: `output.${name}`, kind: "output", type: "output", name, body: o.value, pre: asList(o.precondition), post: [], preventDestroy: false });
    for (const d of asList(o.depends_on as string[])) nodes.get(`output.${name}`)!.deps.add(d);
  }
  for (const [name, v] of Object.entries((doc.variable ?? {}) as Record<string, any>)) {
    const given = variables[name];
    if (given === undefined && !("default" in v)) throw new ApplyError(`var.${name}`, "No value for required variable: pass it in the options' variables");
    const value = given === undefined ? v.default : given;
    if (value === null && v.nullable === false) throw new ApplyError(`var.${name}`, "Required variable not set: the variable may not be null (nullable = false)");
    // A variable's value is a value, not a template: escaped so that the console reads it literally.
    add({ address: `var.${name}`, kind: "var", type: "variable", name, body: escapeValue(value), pre: asList(v.validation as Condition[]), post: [], preventDestroy: false });
  }
  const unknown = Object.keys(variables).filter((n) => !(doc.variable ?? {})[n]);
  if (unknown.length > 0) throw new ApplyError(`var.${unknown[0]}`, "Value for undeclared variable");

  // References → dependencies.
  const managedTypes = new Set(Object.keys(doc.resource ?? {}));
  for (const node of nodes.values()) {
    const texts: unknown[] = [node.body, node.forEach, node.count, ...node.pre.flatMap((c) => [c.condition, c.error_message]), ...node.post.flatMap((c) => [c.condition, c.error_message])];
    for (const t of texts) {
      eachString(t, (s) => {
        for (const r of findReferences(s, (n) => managedTypes.has(n) || n.startsWith("aws_"))) {
          if (r.kind === "each" || r.kind === "count" || r.kind === "self") continue;
          if (r.kind === "path" || r.kind === "terraform" || r.kind === "module") throw new ApplyError(node.address, `references to ${r.address} are not modelled by the twin`);
          if (!nodes.has(r.address)) throw new ApplyError(node.address, `Reference to undeclared ${r.kind === "local" ? "local value" : r.kind === "var" ? "input variable" : "resource"} ${r.address}`);
          if (r.address !== node.address) node.deps.add(r.address); // a variable's validation names the variable itself
        }
      });
    }
    for (const d of node.deps) if (!nodes.has(d)) throw new ApplyError(node.address, `depends_on names ${d}, which is not declared`);
  }
  return { stackName, region, defaultTags, nodes };
}

/**
 * Terraform's cycle check: every strongly connected component of more than one node (or a node
 * depending on itself).
 * @throws ApplyError `Cycle: a, b, …` naming the nodes of the first cycle found
 */
export function checkCycles(deps: ReadonlyMap<string, ReadonlySet<string>>): void {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of deps.get(v) ?? []) {
      if (!deps.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (deps.get(v) ?? new Set()).has(v)) cycles.push(scc.sort());
    }
  };
  for (const v of [...deps.keys()].sort()) if (!idx.has(v)) visit(v);
  if (cycles.length > 0) throw new ApplyError("Cycle", cycles[0].join(", "));
}

function instanceAddress(base: string, key: string | number | undefined): string {
  if (key === undefined) return base;
  return typeof key === "number" ? `${base}[${key}]` : `${base}[${JSON.stringify(key)}]`;
}

function decodedUserDataLength(userData: string): number {
  return Buffer.from(userData, "base64").length;
}

/**
 * Applies the stack in `stackDir` (its `cdk.tf.json`) to the twin.
 * @param account - the account (defaults: aws.ts {@link resolveAccount})
 * @param prior - the state of an earlier apply of the same stack (a re-apply)
 * @throws ApplyError naming the resource for a failed precondition or postcondition, a value
 *   AWS refuses (user data over 16,384 bytes, bucket name, address outside its subnet), an
 *   expression Terraform cannot evaluate, a `prevent_destroy` resource the apply would destroy
 *   or replace, or a dependency cycle (`Cycle: …`)
 */
export async function applyStack(stackDir: string, account?: Partial<TwinAccount>, prior?: TwinState, options: ApplyOptions = {}): Promise<TwinState> {
  const t0 = Date.now();
  const acct = resolveAccount(account);
  const parsed = parseStack(stackDir, options.variables ?? {});
  const region = parsed.region ?? acct.region;
  const { nodes, defaultTags } = parsed;
  const managedTypes = new Set([...nodes.values()].filter((n) => n.kind === "managed").map((n) => n.type));

  checkCycles(new Map([...nodes].map(([a, n]) => [a, n.deps])));

  // prevent_destroy: a prior resource whose block is gone would be destroyed.
  if (prior) {
    for (const r of prior.resources) {
      const base = r.address.replace(/\[.*$/, "");
      if (r.mode === "managed" && r.preventDestroy && !nodes.has(base)) {
        throw new ApplyError(r.address, "Instance cannot be destroyed: Resource has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed.");
      }
    }
  }

  const stats: ConsoleStats = { runs: 0, millis: 0 };
  const values = new Map<string, unknown>(); // address → resolved value (variables, locals, resources, data)
  const done = new Set<string>();
  const created: TwinResource[] = [];
  const priorByAddress = new Map((prior?.resources ?? []).map((r) => [r.address, r]));
  const taken = new Map<string, Set<string>>();
  const takenIn = (subnetId: string) => {
    if (!taken.has(subnetId)) taken.set(subnetId, new Set());
    return taken.get(subnetId)!;
  };
  // Addresses of prior resources that stay keep their addresses.
  for (const r of prior?.resources ?? []) {
    if (!nodes.has(r.address.replace(/\[.*$/, ""))) continue;
    if (r.type === "aws_network_interface") for (const ip of asList(r.attributes.private_ips as string[])) takenIn(String(r.attributes.subnet_id)).add(ip);
    for (const i of asList(r.computed.twin_interfaces as { subnet_id: string; private_ip: string }[])) takenIn(i.subnet_id).add(i.private_ip);
  }

  const accountSubnets = acct.subnets.map((s) => ({ ...s, tags: s.tags ?? {} }) as Record<string, unknown>);
  const accountVpcs = acct.vpcs.map((v) => ({ ...v, tags: v.tags ?? {} }) as Record<string, unknown>);
  const computeCtx: ComputeContext = {
    accountId: acct.accountId,
    region,
    partition: "aws",
    findResource: (type, predicate) => {
      const own = [...created].reverse().find((r) => r.mode === "managed" && r.type === type && predicate(r.attributes));
      if (own) return own.attributes;
      if (type === "aws_subnet") return accountSubnets.find(predicate);
      if (type === "aws_vpc") return accountVpcs.find(predicate);
      return undefined;
    },
    takenAddresses: takenIn,
  };
  const priorVolumes: VolumeView[] = [
    ...(prior?.resources ?? [])
      .filter((r) => r.mode === "managed" && r.type === "aws_ebs_volume")
      .map((r) => ({
        id: String(r.attributes.id),
        availability_zone: String(r.attributes.availability_zone),
        size: Number(r.attributes.size),
        tags: (r.attributes.tags_all ?? r.attributes.tags ?? {}) as Record<string, string>,
        encrypted: r.attributes.encrypted === true || r.attributes.encrypted === "true",
        kms_key_id: String(r.attributes.kms_key_id ?? ""),
        volume_type: String(r.attributes.type ?? "gp2"),
        arn: String(r.attributes.arn),
      })),
    ...acct.volumes.map((v) => ({ encrypted: false, kms_key_id: "", volume_type: "gp3", arn: `arn:aws:ec2:${region}:${acct.accountId}:volume/${v.id}`, ...v })),
  ];
  const dataCtx: DataContext = {
    ...computeCtx,
    amiId: acct.amiId,
    images: acct.images,
    volumes: priorVolumes,
    subnets: () => [...created.filter((r) => r.mode === "managed" && r.type === "aws_subnet").map((r) => r.attributes), ...accountSubnets],
    vpcs: () => [...created.filter((r) => r.mode === "managed" && r.type === "aws_vpc").map((r) => r.attributes), ...accountVpcs],
  };

  /** A template string rewritten for the console: references → injected locals. */
  const rewrite = (template: string, locals: { each?: string; count?: string; self?: string }, owner: string): string => {
    const t = replacePlanTimestamp(template);
    const refs = findReferences(t, (n) => managedTypes.has(n) || n.startsWith("aws_"));
    return rewriteReferences(t, refs, (r: Reference) => {
      switch (r.kind) {
        case "managed":
        case "data":
        case "var":
          return `local.${injectName(r.address)}`;
        case "local":
          return undefined;
        case "each":
        case "count":
        case "self": {
          const name = locals[r.kind];
          if (!name) throw new ApplyError(owner, `${r.kind} is not available here (no ${r.kind === "self" ? "postcondition" : r.kind === "each" ? "for_each" : "count"})`);
          return `local.${name}`;
        }
        default:
          throw new ApplyError(owner, `references to ${r.address} are not modelled by the twin`);
      }
    });
  };
  const contextFor = (addresses: Iterable<string>, into: Record<string, unknown>) => {
    for (const a of addresses) {
      if (!values.has(a)) continue;
      const v = escapeValue(values.get(a));
      if (a.startsWith("local.")) into[a.slice("local.".length)] = v;
      else into[injectName(a)] = v;
    }
  };

  const pending = new Set([...nodes.values()].filter((n) => n.kind !== "output"));
  let levels = 0;
  while (pending.size > 0) {
    const ready = [...pending].filter((n) => [...n.deps].every((d) => done.has(d) || nodes.get(d)?.kind === "output"));
    if (ready.length === 0) throw new ApplyError("Cycle", [...pending].map((n) => n.address).join(", "));
    levels++;
    const items: Record<string, unknown> = {};
    const context: Record<string, unknown> = {};
    const itemOwner = new Map<string, string>();
    for (const n of ready) {
      contextFor(n.deps, context);
      const id = short(n.address);
      if ((n.forEach !== undefined || n.count !== undefined) && !n.instances) {
        items[`x${id}`] = mapStrings(n.forEach ?? n.count, (s) => rewrite(s, {}, n.address));
        itemOwner.set(`x${id}`, n.address);
        continue;
      }
      if (n.kind === "var") context[injectName(n.address)] = n.body;
      const instances = n.instances ?? [{ key: undefined }];
      instances.forEach((inst, i) => {
        const locals: { each?: string; count?: string; self?: string } = {};
        if (n.forEach !== undefined) {
          locals.each = `twin_each_${id}_${i}`;
          context[locals.each] = escapeValue({ key: inst.key, value: inst.value });
        }
        if (n.count !== undefined) {
          locals.count = `twin_count_${id}_${i}`;
          context[locals.count] = { index: inst.key };
        }
        const key = `e${id}_${i}`;
        itemOwner.set(key, instanceAddress(n.address, inst.key));
        if (n.created) {
          locals.self = `twin_self_${id}_${i}`;
          context[locals.self] = escapeValue(n.created[i].attributes);
          items[key] = { post: n.post.map((c) => mapStrings(c.condition, (s) => rewrite(s, locals, n.address))), msg: n.post.map((c) => mapStrings(c.error_message, (s) => rewrite(s, locals, n.address))) };
        } else {
          items[key] = {
            config: mapStrings(n.body, (s) => rewrite(s, locals, n.address)),
            pre: n.pre.map((c) => mapStrings(c.condition, (s) => rewrite(s, locals, n.address))),
            msg: n.pre.map((c) => mapStrings(c.error_message, (s) => rewrite(s, locals, n.address))),
          };
        }
      });
    }
    let results: Record<string, unknown>;
    try {
      results = await evaluateBatch(context, items, stats);
    } catch (e) {
      if (e instanceof EvaluationError) {
        const f = e.failures[0];
        throw new ApplyError(itemOwner.get(f.key) ?? f.key, `Terraform could not evaluate it:\n${f.message}`);
      }
      throw e;
    }
    for (const n of ready) {
      const id = short(n.address);
      if ((n.forEach !== undefined || n.count !== undefined) && !n.instances) {
        const v = results[`x${id}`];
        if (n.count !== undefined) {
          if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new ApplyError(n.address, `Invalid count argument: ${JSON.stringify(v)}`);
          n.instances = Array.from({ length: v }, (_, i) => ({ key: i }));
        } else if (Array.isArray(v)) {
          if (v.some((x) => typeof x !== "string")) throw new ApplyError(n.address, "Invalid for_each argument: a set must contain strings");
          n.instances = [...new Set(v as string[])].sort().map((k) => ({ key: k, value: k }));
        } else if (v !== null && typeof v === "object") {
          n.instances = Object.keys(v).sort().map((k) => ({ key: k, value: (v as Record<string, unknown>)[k] }));
        } else throw new ApplyError(n.address, `Invalid for_each argument: ${JSON.stringify(v)}`);
        continue;
      }
      const instances = n.instances ?? [{ key: undefined }];
      if (n.created) {
        instances.forEach((inst, i) => {
          const r = results[`e${id}_${i}`] as { post: unknown[]; msg: unknown[] };
          checkConditions(instanceAddress(n.address, inst.key), "Resource postcondition failed", r.post, r.msg);
        });
        finish(n, n.created);
        continue;
      }
      const made: TwinResource[] = [];
      const nodeValues: unknown[] = [];
      instances.forEach((inst, i) => {
        const r = results[`e${id}_${i}`] as { config: unknown; pre: unknown[]; msg: unknown[] };
        const address = instanceAddress(n.address, inst.key);
        checkConditions(address, n.kind === "var" ? "Invalid value for variable" : "Resource precondition failed", r.pre, r.msg);
        if (n.kind === "local" || n.kind === "var") {
          nodeValues.push(r.config);
          return;
        }
        const config = r.config as Record<string, unknown>;
        const resource = n.kind === "data" ? readData(n, address, config) : createManaged(n, address, config);
        created.push(resource);
        made.push(resource);
        nodeValues.push(resource.attributes);
      });
      if (n.kind === "local" || n.kind === "var") {
        values.set(n.address, nodeValues[0]);
        done.add(n.address);
        pending.delete(n);
        continue;
      }
      if (n.post.length > 0) {
        n.created = made;
        continue;
      }
      finish(n, made);
    }
  }

  function finish(n: Node, made: TwinResource[]) {
    let value: unknown;
    if (n.forEach !== undefined) value = Object.fromEntries(made.map((r, i) => [String(n.instances![i].key), r.attributes]));
    else if (n.count !== undefined) value = made.map((r) => r.attributes);
    else value = made[0].attributes;
    values.set(n.address, value);
    done.add(n.address);
    pending.delete(n);
  }

  function checkConditions(address: string, summary: string, conditions: unknown[], messages: unknown[]) {
    conditions.forEach((c, i) => {
      if (typeof c !== "boolean") throw new ApplyError(address, `Invalid condition result: ${JSON.stringify(c)} (a condition must be true or false)`);
      if (!c) throw new ApplyError(address, `${summary}: ${String(messages[i])}`);
    });
  }

  function readData(n: Node, address: string, config: Record<string, unknown>): TwinResource {
    let computed: Record<string, unknown>;
    try {
      computed = readDataSource(dataCtx, n.type, config, address);
    } catch (e) {
      throw new ApplyError(address, (e as Error).message);
    }
    return { address: `${address}`, mode: "data", type: n.type, name: n.name, constructPath: n.constructPath, attributes: { ...config, ...computed }, config, computed, preventDestroy: false, generation: 1 };
  }

  function createManaged(n: Node, address: string, config: Record<string, unknown>): TwinResource {
    if (n.type === "aws_launch_template" && typeof config.user_data === "string") {
      const bytes = decodedUserDataLength(config.user_data);
      if (bytes > USER_DATA_LIMIT_BYTES) {
        throw new ApplyError(address, `creating EC2 Launch Template (${String(config.name ?? n.name)}): InvalidUserData.Malformed: User data is limited to ${USER_DATA_LIMIT_BYTES} bytes. (decoded user data: ${bytes} bytes)`);
      }
    }
    const before = priorByAddress.get(address);
    const seedOf = (generation: number) => `${acct.accountId}:${region}:${parsed.stackName}:${address}${generation > 1 ? `#${generation}` : ""}`;
    const tags = tagsAll(n.type, config.tags, defaultTags);
    const build = (computed: Record<string, unknown>, generation: number): TwinResource => ({
      address,
      mode: "managed",
      type: n.type,
      name: n.name,
      constructPath: n.constructPath,
      attributes: { ...config, ...computed, ...(tags ? { tags_all: tags } : {}) },
      config,
      computed,
      preventDestroy: n.preventDestroy,
      generation,
    });
    const compute = (generation: number) => {
      try {
        return computeManaged(computeCtx, n.type, config, seedOf(generation));
      } catch (e) {
        throw new ApplyError(address, (e as Error).message);
      }
    };
    if (!before) return build(compute(1), 1);
    if (stable(before.config) === stable(config)) return build(before.computed, before.generation);
    const replaced = (FORCES_REPLACEMENT[n.type] ?? []).filter((k) => stable(before.config[k]) !== stable(config[k]));
    if (replaced.length > 0) {
      if (before.preventDestroy || n.preventDestroy) {
        throw new ApplyError(address, `Instance cannot be destroyed: Resource has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed (replaced: ${replaced.join(", ")} changed).`);
      }
      return build(compute(before.generation + 1), before.generation + 1);
    }
    // In place: the identity stays; what the update changes is recomputed.
    const computed = { ...before.computed };
    if (n.type === "aws_launch_template") {
      const latest = Number(before.computed.latest_version) + 1;
      computed.latest_version = latest;
      computed.default_version = config.update_default_version === true ? latest : before.computed.default_version;
    }
    if (n.type === "aws_s3_object") {
      const fresh = compute(before.generation);
      computed.etag = fresh.etag;
      computed.version_id = fresh.version_id === before.computed.version_id ? `${String(fresh.version_id).slice(0, 31)}2` : fresh.version_id;
    }
    return build(computed, before.generation);
  }

  // Instance-level prevent_destroy (for_each / count instances that are gone).
  if (prior) {
    const now = new Set(created.map((r) => r.address));
    for (const r of prior.resources) {
      if (r.mode === "managed" && r.preventDestroy && !now.has(r.address)) {
        throw new ApplyError(r.address, "Instance cannot be destroyed: Resource has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed.");
      }
    }
  }

  // Outputs: one last level.
  const outputs: Record<string, unknown> = {};
  const outputNodes = [...nodes.values()].filter((n) => n.kind === "output");
  if (outputNodes.length > 0) {
    levels++;
    const context: Record<string, unknown> = {};
    const items: Record<string, unknown> = {};
    for (const n of outputNodes) {
      contextFor(n.deps, context);
      items[`o${short(n.address)}`] = mapStrings(n.body, (s) => rewrite(s, {}, n.address));
    }
    let results: Record<string, unknown>;
    try {
      results = await evaluateBatch(context, items, stats);
    } catch (e) {
      if (e instanceof EvaluationError) throw new ApplyError(outputNodes.find((n) => `o${short(n.address)}` === e.failures[0].key)?.address ?? "output", e.failures[0].message);
      throw e;
    }
    for (const n of outputNodes) outputs[n.name] = results[`o${short(n.address)}`];
  }

  const locals = Object.fromEntries([...nodes.values()].filter((n) => n.kind === "local").map((n) => [n.name, values.get(n.address)]));
  return withLookups({
    stackDir,
    stackName: parsed.stackName,
    region,
    accountId: acct.accountId,
    partition: "aws",
    account: acct,
    resources: created,
    outputs,
    locals,
    defaultTags,
    stats: { levels, consoleRuns: stats.runs, consoleMillis: stats.millis, totalMillis: Date.now() - t0 },
  });
}

type StateData = Omit<TwinState, "get" | "ofType">;

function withLookups(data: StateData): TwinState {
  return {
    ...data,
    get(address: string): TwinResource {
      const r = data.resources.find((x) => x.address === address);
      if (!r) throw new Error(`the twin state of ${data.stackName} has no resource ${address}`);
      return r;
    },
    ofType: (type: string) => data.resources.filter((r) => r.type === type),
  };
}

/** The state as JSON text (for another process, e.g. the live harness's services, or a later re-apply). */
export function serializeState(state: TwinState): string {
  const { get: _get, ofType: _ofType, ...data } = state;
  return JSON.stringify(data);
}

/**
 * A state from {@link serializeState}'s text.
 * @throws Error when the text is not a serialized twin state
 */
export function parseState(text: string): TwinState {
  const data = JSON.parse(text) as StateData;
  if (!Array.isArray(data.resources) || typeof data.stackName !== "string") throw new Error("not a serialized twin state (serializeState)");
  return withLookups(data);
}
