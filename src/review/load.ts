import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { PlanFormatError, reviewInputFromPlan } from "./plan";
import type { SynthStack } from "./synth";
import type { ReviewInput } from "./types";

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new PlanFormatError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Reads a synth output: a stack directory holding `cdk.tf.json`, or a `cdktf.out` directory
 * (every stack of `manifest.json`, else every `stacks/<name>/cdk.tf.json`).
 *
 * @param dir the directory
 * @returns one entry per stack, sorted by name
 * @throws Error when the directory holds no `cdk.tf.json` (e.g. it was synthesized with `--hcl`: review needs the JSON form)
 */
export function readSynthOutput(dir: string): SynthStack[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: no such directory`);
  if (existsSync(join(dir, "cdk.tf.json"))) return [{ name: basename(dir), config: readJson(join(dir, "cdk.tf.json")) }];
  const stacks: SynthStack[] = [];
  const manifest = join(dir, "manifest.json");
  if (existsSync(manifest)) {
    const m = readJson(manifest) as { stacks?: Record<string, { synthesizedStackPath?: string }> };
    for (const [name, s] of Object.entries(m.stacks ?? {})) {
      const file = s.synthesizedStackPath ? join(dir, s.synthesizedStackPath) : join(dir, "stacks", name, "cdk.tf.json");
      if (existsSync(file) && file.endsWith(".json")) stacks.push({ name, config: readJson(file) });
    }
  }
  if (stacks.length === 0 && existsSync(join(dir, "stacks"))) {
    for (const name of readdirSync(join(dir, "stacks"))) {
      const file = join(dir, "stacks", name, "cdk.tf.json");
      if (existsSync(file)) stacks.push({ name, config: readJson(file) });
    }
  }
  if (stacks.length === 0) {
    const hcl = existsSync(join(dir, "cdk.tf")) ? " (found cdk.tf: synthesize without --hcl for review)" : "";
    throw new Error(`${dir}: no cdk.tf.json found; give a cdktf.out directory or a stack directory${hcl}`);
  }
  return stacks.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Reads a Terraform plan file in `terraform show -json` format.
 * @throws PlanFormatError when the file is not JSON or not a plan
 */
export function readPlanFile(path: string): ReviewInput {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  return reviewInputFromPlan(readJson(path));
}
