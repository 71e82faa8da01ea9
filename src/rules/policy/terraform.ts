/**
 * Reading synthesized Terraform JSON (cdktf's `cdk.tf.json`) for the policy pack: the
 * resources of a stack, links between them (`${aws_s3_bucket.x.id}` references), and
 * suppressions. The value helpers (blocks, booleans as `true` or `"true"`, references) and
 * the reader of `cdktf.out` are the shared ones of src/terraform. Pure apart from
 * {@link loadStacksFromDir}.
 */
import { configResources, configStackName, isExpression, isObject, nonEmpty, readSynthOutputJson, referencesAddress, resourceAddress } from "../../terraform";
import type { PolicySuppression, TfResource, TfStack } from "./types";

/**
 * Key under a resource's `//` object where suppressions travel in the synthesized JSON:
 * `{"//": {"managed_postgres_policy": {"suppressions": [{"id": "MP-IAM-2", "reason": "…"}]}}}`.
 * Terraform ignores `//` keys.
 */
export const SUPPRESSIONS_METADATA_KEY = "managed_postgres_policy";

/**
 * The stack of a parsed `cdk.tf.json`: every `resource` and `data` entry.
 * @param tf the parsed JSON object
 * @param name stack name; defaults to `//.metadata.stackName`, else "stack"
 * @throws Error when `tf` is not an object
 */
export function stackFromTerraformJson(tf: unknown, name?: string): TfStack {
  if (!isObject(tf)) throw new Error("Terraform JSON must be an object");
  return { name: name ?? configStackName(tf) ?? "stack", resources: configResources(tf) };
}

/**
 * Every stack of a cdktf output directory (its `manifest.json`, else
 * `<dir>/stacks/<name>/cdk.tf.json`), through the shared reader (src/terraform). A directory
 * holding `cdk.tf.json` itself is read as one stack.
 * @throws SynthOutputError if no `cdk.tf.json` is found (or only `--hcl` output), or one is not JSON
 */
export function loadStacksFromDir(dir: string): TfStack[] {
  return readSynthOutputJson(dir, "the policy pack").map((s) => stackFromTerraformJson(s.json, s.name));
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

/** Whether `value` (a string, possibly with `${…}` interpolations) references `target`. */
export function references(value: unknown, target: TfResource): boolean {
  return referencesAddress(value, resourceAddress(target.type, target.name, target.isData));
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
      (references(r.config.bucket, bucket) || (nonEmpty(literal) && !isExpression(literal) && r.config.bucket === literal)),
  );
}
