/**
 * The resources of one Terraform JSON configuration (cdktf's `cdk.tf.json`). Pure; no cdktf
 * import.
 */
import { isObject, resourceAddress } from "./values";

/** One `resource` or `data` entry of a Terraform JSON configuration. */
export interface ConfigResource {
  /** Terraform resource type, e.g. `aws_s3_bucket`. */
  readonly type: string;
  /** Terraform resource name (cdktf's friendly unique id). */
  readonly name: string;
  /** `<type>.<name>`, or `data.<type>.<name>` for data sources. */
  readonly address: string;
  /** Construct path from cdktf's `//.metadata.path`, when present. */
  readonly constructPath?: string;
  /** The body as synthesized (arguments and blocks; the `//` key included). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly isData: boolean;
}

function metadataOf(v: Record<string, unknown>): Record<string, unknown> {
  const meta = v["//"];
  return isObject(meta) && isObject(meta.metadata) ? meta.metadata : {};
}

/** The stack name cdktf records in a configuration (`//.metadata.stackName`), if any. */
export function configStackName(config: unknown): string | undefined {
  if (!isObject(config)) return undefined;
  const name = metadataOf(config).stackName;
  return typeof name === "string" ? name : undefined;
}

/**
 * Every `resource` entry, then every `data` entry, of a parsed Terraform JSON configuration,
 * in the file's order. Entries that are not objects are skipped.
 * @param options.data include data sources @default true
 */
export function configResources(config: unknown, options: { readonly data?: boolean } = {}): ConfigResource[] {
  const out: ConfigResource[] = [];
  if (!isObject(config)) return out;
  const sections = options.data === false ? ([["resource", false]] as const) : ([["resource", false], ["data", true]] as const);
  for (const [section, isData] of sections) {
    const byType = config[section];
    if (!isObject(byType)) continue;
    for (const [type, byName] of Object.entries(byType)) {
      if (!isObject(byName)) continue;
      for (const [name, body] of Object.entries(byName)) {
        if (!isObject(body)) continue;
        const path = metadataOf(body).path;
        out.push({ type, name, address: resourceAddress(type, name, isData), constructPath: typeof path === "string" ? path : undefined, config: body, isData });
      }
    }
  }
  return out;
}

/** `${local.<name>}` as a whole interpolation, not escaped (an even number of `$` before it). */
const BARE_LOCAL_REFERENCE = /(?<=(?:^|[^$])(?:\$\$)*)\$\{local\.([A-Za-z_][A-Za-z0-9_-]*)\}/g;

/**
 * The `locals` of a parsed Terraform JSON configuration, each string local with every bare
 * reference to another string local (`${local.<name>}`, the whole interpolation) replaced by
 * that local's text, recursively: the text as one template, as it was before the library
 * wrote the lines that several slots share once (`shareTextRuns` in constructs/aws/launch.ts).
 * Terraform evaluates both forms to the same value. Other locals and other interpolations
 * (`${sha256(local.x)}`, escaped `$${local.x}`) are left as they are; a reference cycle, which
 * Terraform would refuse, is left unexpanded where it closes.
 * @returns a new object (empty when the configuration has no `locals` object)
 */
export function configLocals(config: unknown): Record<string, unknown> {
  const raw = isObject(config) && isObject(config.locals) ? config.locals : {};
  const out: Record<string, unknown> = {};
  const expanding = new Set<string>();
  const expand = (name: string): unknown => {
    if (name in out) return out[name];
    const value = raw[name];
    if (typeof value !== "string" || !value.includes("${local.")) return (out[name] = value);
    expanding.add(name);
    const text = value.replace(BARE_LOCAL_REFERENCE, (whole, ref: string) => {
      if (expanding.has(ref) || !Object.prototype.hasOwnProperty.call(raw, ref)) return whole;
      const v = expand(ref);
      return typeof v === "string" ? v : whole;
    });
    expanding.delete(name);
    return (out[name] = text);
  };
  for (const name of Object.keys(raw)) expand(name);
  return out;
}
