import { MAX_TERRAFORM_FILE_BYTES, readBoundedText, readSynthOutputJson } from "../terraform";
import { PlanFormatError, reviewInputFromPlan } from "./plan";
import type { SynthStack } from "./synth";
import type { ReviewInput } from "./types";

function readJson(path: string): unknown {
  const text = readBoundedText(path, MAX_TERRAFORM_FILE_BYTES);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PlanFormatError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Reads a synth output: a stack directory holding `cdk.tf.json`, or a `cdktf.out` directory
 * (every stack of `manifest.json`, else every `stacks/<name>/cdk.tf.json`), through the
 * shared reader (src/terraform).
 *
 * @param dir the directory
 * @returns one entry per stack, sorted by name
 * @throws SynthOutputError when the directory holds no `cdk.tf.json` (e.g. it was
 *   synthesized with `--hcl`: review needs the JSON form) or a file is not valid JSON
 */
export function readSynthOutput(dir: string): SynthStack[] {
  return readSynthOutputJson(dir, "review").map((s) => ({ name: s.name, config: s.json }));
}

/**
 * Reads a Terraform plan file in `terraform show -json` format.
 * @throws InputFileError when the file is missing, not a regular file, or larger than
 *   {@link MAX_TERRAFORM_FILE_BYTES} (256 MiB)
 * @throws PlanFormatError when the file is not JSON or not a plan
 */
export function readPlanFile(path: string): ReviewInput {
  return reviewInputFromPlan(readJson(path));
}
