/**
 * Prior-state readers: what is deployed, read from Terraform's own records.
 *
 * Two formats are accepted, told apart by their shape:
 * - Terraform state v4 (`terraform state pull`, or a local backend's `.tfstate`):
 *   `{ version: 4, resources: [{ module?, mode, type, name, instances: [{ index_key?, attributes }] }] }`
 * - JSON output of `terraform show -json <planfile>` (format_version 1.x): the resources of
 *   `prior_state.values.root_module` and its `child_modules`, recursively. The output of
 *   `terraform show -json` without a plan file (`values.root_module`) is read the same way.
 *
 * Pure apart from {@link loadPriorStateFile}, which reads one file. No cdktf import.
 */
import * as fs from "fs";
import { isObject as isJsonObject, parseAttributeReference, tagsOf } from "../terraform";
import { TAG_CLUSTER, TAG_DEPLOYMENT_MODEL, TAG_MAJOR_VERSION, TAG_SLOT, TAG_UPGRADE_FROM, DEPLOYMENT_MODELS, type DeploymentModel } from "../cluster-spec/types";

/** One resource instance from a state or plan file, format-independent. */
export interface PriorResource {
  /** Full address, e.g. `aws_ebs_volume.orders_slot0_data_1A2B3C` or `module.db.aws_ebs_volume.x["a"]`. */
  readonly address: string;
  /** `managed` or `data`. */
  readonly mode: string;
  /** Resource type, e.g. `aws_ebs_volume`. */
  readonly type: string;
  /** The instance's attributes as Terraform recorded them. */
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** Which format a prior state was read from. */
export type PriorStateFormat = "state-v4" | "plan-json" | "show-json";

/** Resources read from one prior-state document. */
export interface PriorState {
  /** Where it came from (a file path), for messages. */
  readonly source: string;
  readonly format: PriorStateFormat;
  readonly resources: readonly PriorResource[];
}

/**
 * Thrown when a prior state cannot be read or parsed. Synth stops: a prior state that
 * cannot be read must never pass silently as "first deployment".
 */
export class PriorStateError extends Error {
  constructor(
    /** The file (or source label) that could not be read. */
    public readonly source: string,
    detail: string,
  ) {
    super(
      `Cannot read the prior Terraform state ${source}: ${detail}. ` +
        "Give a file written by `terraform state pull` (state v4) or by `terraform show -json <planfile>`, " +
        "or unset MANAGED_POSTGRES_PRIOR_STATE / the `managed-postgres:priorState` context key for a first deployment.",
    );
    this.name = "PriorStateError";
  }
}


/** A JSON object whose fields are read loosely (state and plan documents are checked field by field). */
const isObject = (v: unknown): v is Record<string, any> => isJsonObject(v);

function indexSuffix(key: unknown): string {
  if (key === undefined || key === null) return "";
  return typeof key === "number" ? `[${key}]` : `[${JSON.stringify(String(key))}]`;
}

function fromStateV4(doc: Record<string, any>, source: string): PriorResource[] {
  if (doc.version !== 4) {
    throw new PriorStateError(source, `state format version ${JSON.stringify(doc.version)} is not supported; expected 4 (Terraform ≥ 0.12)`);
  }
  const resources = doc.resources ?? [];
  if (!Array.isArray(resources)) throw new PriorStateError(source, "`resources` is not a list");
  const out: PriorResource[] = [];
  resources.forEach((r: unknown, i: number) => {
    if (!isObject(r) || typeof r.type !== "string" || typeof r.name !== "string" || !Array.isArray(r.instances)) {
      throw new PriorStateError(source, `resources[${i}] lacks a string \`type\`, a string \`name\` or an \`instances\` list`);
    }
    const mode = typeof r.mode === "string" ? r.mode : "managed";
    const base = `${r.module ? `${r.module}.` : ""}${mode === "data" ? "data." : ""}${r.type}.${r.name}`;
    r.instances.forEach((inst: unknown, j: number) => {
      if (!isObject(inst) || !isObject(inst.attributes)) {
        throw new PriorStateError(source, `resources[${i}].instances[${j}] (${base}) has no \`attributes\` object`);
      }
      out.push({ address: `${base}${indexSuffix(inst.index_key)}`, mode, type: r.type, attributes: inst.attributes });
    });
  });
  return out;
}

function fromModule(mod: unknown, source: string, where: string, out: PriorResource[]): void {
  if (mod === undefined || mod === null) return;
  if (!isObject(mod)) throw new PriorStateError(source, `${where} is not an object`);
  const resources = mod.resources ?? [];
  if (!Array.isArray(resources)) throw new PriorStateError(source, `${where}.resources is not a list`);
  resources.forEach((r: unknown, i: number) => {
    if (!isObject(r) || typeof r.type !== "string" || typeof r.address !== "string") {
      throw new PriorStateError(source, `${where}.resources[${i}] lacks a string \`address\` or \`type\``);
    }
    out.push({
      address: r.address,
      mode: typeof r.mode === "string" ? r.mode : "managed",
      type: r.type,
      attributes: isObject(r.values) ? r.values : {},
    });
  });
  const children = mod.child_modules ?? [];
  if (!Array.isArray(children)) throw new PriorStateError(source, `${where}.child_modules is not a list`);
  children.forEach((c: unknown, i: number) => fromModule(c, source, `${where}.child_modules[${i}]`, out));
}

/**
 * Parses a prior-state document.
 *
 * @param text file contents (JSON)
 * @param source file path or label, used in error messages
 * @returns the resources it records; an empty list for an empty state or a plan of a
 *   first deployment (no `prior_state` values)
 * @throws PriorStateError naming `source` when the text is not JSON, or not a state v4 /
 *   plan JSON / show JSON document
 */
export function parsePriorState(text: string, source: string): PriorState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PriorStateError(source, `not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw new PriorStateError(source, "the document is not a JSON object");
  if ("version" in doc && !("format_version" in doc)) {
    return { source, format: "state-v4", resources: fromStateV4(doc, source) };
  }
  if ("format_version" in doc) {
    const out: PriorResource[] = [];
    if ("planned_values" in doc || "resource_changes" in doc || "prior_state" in doc) {
      const prior = doc.prior_state;
      if (prior !== undefined && !isObject(prior)) throw new PriorStateError(source, "`prior_state` is not an object");
      fromModule(prior?.values?.root_module, source, "prior_state.values.root_module", out);
      return { source, format: "plan-json", resources: out };
    }
    fromModule(doc.values?.root_module, source, "values.root_module", out);
    return { source, format: "show-json", resources: out };
  }
  throw new PriorStateError(
    source,
    "it is neither a Terraform state (no `version`) nor `terraform show -json` output (no `format_version`)",
  );
}

/**
 * Reads and parses a prior-state file.
 * @throws PriorStateError naming the file when it cannot be read or parsed
 */
export function loadPriorStateFile(file: string): PriorState {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new PriorStateError(file, `the file cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parsePriorState(text, file);
}

/** One deployed slot: its data volume and, when found, its fixed network interface. */
export interface DeployedSlot {
  /** Slot index (tag `managed-postgres:slot`). */
  readonly slot: number;
  /** Address of the slot's data volume in the prior state. */
  readonly volumeAddress: string;
  /** Availability zone of the data volume (a volume cannot leave its zone). */
  readonly availabilityZone?: string;
  /** Volume size in GiB. */
  readonly storageGiB?: number;
  /** Subnet of the slot's network interface, when the state records one. */
  readonly subnetId?: string;
}

/** What is deployed for one cluster, as far as the prior state tells. */
export interface DeployedCluster {
  readonly name: string;
  /** Where the facts come from. */
  readonly source: string;
  /** Deployment model tag of the data volumes (the first one found). */
  readonly deployment?: DeploymentModel;
  /** Largest data volume size, in GiB (all slots have the same size unless an apply was interrupted). */
  readonly storageGiB?: number;
  /** Highest major-version tag of the data volumes. */
  readonly majorVersion?: number;
  /** Slots, by slot index. */
  readonly slots: readonly DeployedSlot[];
  /** The blue cluster of a cluster deployed with `upgradeFrom` (tag `managed-postgres:upgrade-from` of its data volumes). */
  readonly upgradeFrom?: string;
}

/**
 * The deployed facts of cluster `name`: data volumes (`aws_ebs_volume`) and slot network
 * interfaces (`aws_network_interface`) tagged `managed-postgres:cluster = name`.
 *
 * @returns undefined when the prior state holds no data volume of that cluster (first
 *   deployment: no rule applies)
 */
export function deployedCluster(state: PriorState, name: string): DeployedCluster | undefined {
  const mine = state.resources.filter((r) => r.mode === "managed" && tagsOf(r.attributes)[TAG_CLUSTER] === name);
  const volumes = mine.filter((r) => r.type === "aws_ebs_volume");
  if (volumes.length === 0) return undefined;
  const enis = mine.filter((r) => r.type === "aws_network_interface");
  const eniSubnet = new Map<number, string>();
  for (const eni of enis) {
    const slot = Number(tagsOf(eni.attributes)[TAG_SLOT]);
    if (Number.isInteger(slot) && typeof eni.attributes.subnet_id === "string") eniSubnet.set(slot, eni.attributes.subnet_id);
  }
  let deployment: DeploymentModel | undefined;
  let storageGiB: number | undefined;
  let majorVersion: number | undefined;
  let upgradeFrom: string | undefined;
  const slots: DeployedSlot[] = [];
  for (const v of volumes) {
    const tags = tagsOf(v.attributes);
    if (upgradeFrom === undefined && tags[TAG_UPGRADE_FROM]) upgradeFrom = tags[TAG_UPGRADE_FROM];
    const model = tags[TAG_DEPLOYMENT_MODEL];
    if (deployment === undefined && (DEPLOYMENT_MODELS as readonly string[]).includes(model)) deployment = model as DeploymentModel;
    const size = typeof v.attributes.size === "number" ? v.attributes.size : Number(v.attributes.size);
    if (Number.isFinite(size) && size > 0) storageGiB = Math.max(storageGiB ?? 0, size);
    const version = Number(tags[TAG_MAJOR_VERSION]);
    if (Number.isInteger(version) && version > 0) majorVersion = Math.max(majorVersion ?? 0, version);
    const slot = Number(tags[TAG_SLOT]);
    if (Number.isInteger(slot) && slot >= 0) {
      slots.push({
        slot,
        volumeAddress: v.address,
        availabilityZone: typeof v.attributes.availability_zone === "string" ? v.attributes.availability_zone : undefined,
        storageGiB: Number.isFinite(size) ? size : undefined,
        subnetId: eniSubnet.get(slot),
      });
    }
  }
  slots.sort((a, b) => a.slot - b.slot);
  return { name, source: state.source, deployment, storageGiB, majorVersion, slots, ...(upgradeFrom === undefined ? {} : { upgradeFrom }) };
}

/** Names of every cluster whose data volumes the prior state records. */
export function deployedClusterNames(state: PriorState): string[] {
  const names = new Set<string>();
  for (const r of state.resources) {
    if (r.mode === "managed" && r.type === "aws_ebs_volume") {
      const n = tagsOf(r.attributes)[TAG_CLUSTER];
      if (n) names.add(n);
    }
  }
  return [...names].sort();
}

/** Env var naming a prior-state file. */
export const PRIOR_STATE_ENV = "MANAGED_POSTGRES_PRIOR_STATE";
/** cdktf context key naming a prior-state file (`cdktf.json` `context`, or `new App({ context })`). */
export const PRIOR_STATE_CONTEXT_KEY = "managed-postgres:priorState";

/** Where a stack's prior state is read from. */
export interface PriorStateLocation {
  readonly file: string;
  /** How the file was chosen, for messages. */
  readonly origin: "context" | "env" | "local-backend";
}

/**
 * Chooses the prior-state file, in this order: the context value, the env var, the
 * stack's local-backend state file when it exists.
 *
 * @param opts.context value of the `managed-postgres:priorState` context key, if any
 * @param opts.env value of `MANAGED_POSTGRES_PRIOR_STATE`, if any
 * @param opts.localBackendPath the state file of the stack's local backend, if the stack
 *   uses one (cdktf's default: `<cwd>/terraform.<stack id>.tfstate`)
 * @param opts.exists file test (injectable for tests) @default fs.existsSync
 * @returns undefined when nothing names a file and no local state exists (first deployment,
 *   or a remote backend: then name the file explicitly)
 */
export function locatePriorState(opts: {
  readonly context?: unknown;
  readonly env?: string;
  readonly localBackendPath?: string;
  readonly exists?: (file: string) => boolean;
}): PriorStateLocation | undefined {
  if (opts.context !== undefined && opts.context !== null && opts.context !== "") {
    if (typeof opts.context !== "string") {
      throw new PriorStateError(JSON.stringify(opts.context), `the context key "${PRIOR_STATE_CONTEXT_KEY}" must be a file path (string)`);
    }
    return { file: opts.context, origin: "context" };
  }
  if (opts.env) return { file: opts.env, origin: "env" };
  const exists = opts.exists ?? fs.existsSync;
  if (opts.localBackendPath && exists(opts.localBackendPath)) return { file: opts.localBackendPath, origin: "local-backend" };
  return undefined;
}

/**
 * The value a prior state records for a plain Terraform reference, e.g.
 * `${aws_subnet.network_private-1_A0649C48.id}` or `${data.aws_subnet.x.availability_zone}`
 * (the form an unresolved cdktf token takes in the synthesized configuration). Lets the
 * rules compare a requested value that is another resource of the same stack with what is
 * deployed.
 * @returns undefined for anything else (functions, indexes, unknown addresses, non-string
 *   values)
 */
export function resolveReference(state: PriorState, expression: string): string | undefined {
  const ref = parseAttributeReference(expression);
  if (!ref) return undefined;
  const { address, attribute } = ref;
  const found = state.resources.filter((r) => r.address === address);
  if (found.length !== 1) return undefined;
  const v = found[0].attributes[attribute];
  return typeof v === "string" ? v : undefined;
}
