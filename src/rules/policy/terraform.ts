/**
 * Reading synthesized Terraform JSON (cdktf's `cdk.tf.json`) for the policy pack: the
 * resources of a stack, links between them (`${aws_s3_bucket.x.id}` references), and
 * value helpers that accept cdktf's shapes (single blocks as objects or one-element
 * arrays, booleans as `true` or `"true"`). Pure apart from {@link loadStacksFromDir}.
 */
import * as fs from "fs";
import * as path from "path";
import type { PolicySuppression, TfResource, TfStack } from "./types";

/**
 * Key under a resource's `//` object where suppressions travel in the synthesized JSON:
 * `{"//": {"managed_postgres_policy": {"suppressions": [{"id": "MP-IAM-2", "reason": "…"}]}}}`.
 * Terraform ignores `//` keys.
 */
export const SUPPRESSIONS_METADATA_KEY = "managed_postgres_policy";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The stack of a parsed `cdk.tf.json`: every `resource` and `data` entry.
 * @param tf the parsed JSON object
 * @param name stack name; defaults to `//.metadata.stackName`, else "stack"
 */
export function stackFromTerraformJson(tf: unknown, name?: string): TfStack {
  if (!isObject(tf)) throw new Error("Terraform JSON must be an object");
  const meta = isObject(tf["//"]) && isObject((tf["//"] as Json).metadata) ? ((tf["//"] as Json).metadata as Json) : {};
  const stackName = name ?? (typeof meta.stackName === "string" ? meta.stackName : "stack");
  const resources: TfResource[] = [];
  for (const [section, isData] of [["resource", false], ["data", true]] as const) {
    const byType = tf[section];
    if (!isObject(byType)) continue;
    for (const [type, byName] of Object.entries(byType)) {
      if (!isObject(byName)) continue;
      for (const [rname, config] of Object.entries(byName)) {
        if (!isObject(config)) continue;
        const m = isObject(config["//"]) && isObject((config["//"] as Json).metadata) ? ((config["//"] as Json).metadata as Json) : {};
        resources.push({
          type,
          name: rname,
          address: `${isData ? "data." : ""}${type}.${rname}`,
          constructPath: typeof m.path === "string" ? m.path : undefined,
          config,
          isData,
        });
      }
    }
  }
  return { name: stackName, resources };
}

/**
 * Every stack of a cdktf output directory: `<dir>/stacks/<name>/cdk.tf.json`. A directory
 * holding `cdk.tf.json` itself is read as one stack.
 * @throws Error if no `cdk.tf.json` is found
 */
export function loadStacksFromDir(dir: string): TfStack[] {
  const direct = path.join(dir, "cdk.tf.json");
  if (fs.existsSync(direct)) {
    return [stackFromTerraformJson(JSON.parse(fs.readFileSync(direct, "utf8")), path.basename(path.resolve(dir)))];
  }
  const stacksDir = path.join(dir, "stacks");
  const stacks: TfStack[] = [];
  if (fs.existsSync(stacksDir)) {
    for (const entry of fs.readdirSync(stacksDir).sort()) {
      const file = path.join(stacksDir, entry, "cdk.tf.json");
      if (fs.existsSync(file)) stacks.push(stackFromTerraformJson(JSON.parse(fs.readFileSync(file, "utf8")), entry));
    }
  }
  if (stacks.length === 0) {
    throw new Error(`${dir}: no synthesized stack found (expected ${path.join(dir, "stacks", "<stack>", "cdk.tf.json")}); run \`cdktf synth\` first`);
  }
  return stacks;
}

/** The suppressions carried by a resource (see {@link SUPPRESSIONS_METADATA_KEY}); malformed entries are ignored. */
export function suppressionsOf(resource: TfResource): PolicySuppression[] {
  const meta = resource.config["//"];
  if (!isObject(meta)) return [];
  const carrier = meta[SUPPRESSIONS_METADATA_KEY];
  if (!isObject(carrier) || !Array.isArray(carrier.suppressions)) return [];
  return carrier.suppressions.filter(
    (s): s is PolicySuppression => isObject(s) && typeof s.id === "string" && typeof s.reason === "string" && s.reason.trim() !== "",
  );
}

/** A block as a list: cdktf writes single blocks as objects and repeated blocks as arrays. */
export function blocks(value: unknown): Json[] {
  if (Array.isArray(value)) return value.filter(isObject);
  return isObject(value) ? [value] : [];
}

/** The first block of an attribute, or undefined. */
export function block(value: unknown): Json | undefined {
  return blocks(value)[0];
}

/** `true` or `"true"`. */
export function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

/** `false` or `"false"`. */
export function isFalse(value: unknown): boolean {
  return value === false || value === "false";
}

/** A non-empty string. */
export function nonEmpty(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/** Strings of a value that may be a string or a list of strings. */
export function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/** Whether `value` (a string, possibly with `${…}` interpolations) references `target`. */
export function references(value: unknown, target: TfResource): boolean {
  if (typeof value !== "string") return false;
  const prefix = `${target.isData ? "data." : ""}${target.type}.${target.name}`;
  return value.includes(`\${${prefix}.`) || value.includes(`\${${prefix}}`);
}

/** The resource of `stack` that `value` references (`${type.name.attr}`), if any. */
export function referencedResource(value: unknown, stack: TfStack, type?: string): TfResource | undefined {
  if (typeof value !== "string") return undefined;
  return stack.resources.find((r) => (type === undefined || r.type === type) && references(value, r));
}

/**
 * Resources of `type` in `stack` that configure `bucket` through their `bucket` argument:
 * a reference to the bucket resource, or its literal name.
 */
export function bucketCompanions(stack: TfStack, bucket: TfResource, type: string): TfResource[] {
  const literal = bucket.config.bucket;
  return stack.resources.filter(
    (r) =>
      r.type === type &&
      !r.isData &&
      (references(r.config.bucket, bucket) || (nonEmpty(literal) && !literal.includes("${") && r.config.bucket === literal)),
  );
}
