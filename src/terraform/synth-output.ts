/**
 * The one reader of cdktf's synth output (`cdktf.out`): `manifest.json`, each stack's
 * `cdk.tf.json`, and the `cdk.tf` that `cdktf synth --hcl` writes instead. Used by
 * `managed-postgres review` and `managed-postgres policy`. Pure apart from reading files;
 * no cdktf import.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join, resolve, sep } from "node:path";
import { isObject } from "./values";
import { InputFileError, MAX_TERRAFORM_FILE_BYTES, readBoundedText } from "./read-file";

/** Thrown when a synth output cannot be read: no such directory, no stack, a file that is not JSON. */
export class SynthOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SynthOutputError";
  }
}

/** One synthesized stack of a synth output. */
export interface SynthOutputStack {
  /** Stack name (manifest key, else the directory name under `stacks/`, else the directory's own name). */
  readonly name: string;
  /** The file read: `…/cdk.tf.json`, or `…/cdk.tf` for `--hcl` output. */
  readonly file: string;
  /** `json` (`cdk.tf.json`) or `hcl` (`cdk.tf`, from `cdktf synth --hcl`). */
  readonly format: "json" | "hcl";
  /** The parsed configuration (format `json`). */
  readonly json?: unknown;
  /** The configuration's text (format `hcl`). */
  readonly hcl?: string;
}

/** Most stacks read from one synth output. */
export const MAX_SYNTH_OUTPUT_STACKS = 1000;

function readStack(name: string, file: string): SynthOutputStack {
  let text: string;
  try {
    text = readBoundedText(file, MAX_TERRAFORM_FILE_BYTES);
  } catch (err) {
    throw err instanceof InputFileError ? new SynthOutputError(err.message) : err;
  }
  if (!file.endsWith(".json")) return { name, file, format: "hcl", hcl: text };
  try {
    return { name, file, format: "json", json: JSON.parse(text) };
  } catch (err) {
    throw new SynthOutputError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/** `cdk.tf.json`, else `cdk.tf`, in `dir`. */
function stackFile(dir: string): string | undefined {
  return ["cdk.tf.json", "cdk.tf"].map((f) => join(dir, f)).find((f) => existsSync(f));
}

/**
 * Reads a synth output: a stack directory holding `cdk.tf.json` (or `cdk.tf`), or a
 * `cdktf.out` directory — every stack of its `manifest.json` (`synthesizedStackPath`, else
 * `stacks/<name>/`), else every `stacks/<name>/`.
 *
 * @param dir the directory
 * @returns one entry per stack, sorted by name; JSON stacks parsed, HCL stacks as text
 * @throws SynthOutputError when `dir` is not a directory, holds no stack or more than
 *   {@link MAX_SYNTH_OUTPUT_STACKS}, or a file (`manifest.json`, `cdk.tf.json`, `cdk.tf`) is not
 *   a regular file, is larger than `MAX_TERRAFORM_FILE_BYTES` (256 MiB) or is not valid JSON
 *   (naming the file)
 */
export function readSynthOutputDir(dir: string): SynthOutputStack[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new SynthOutputError(`${dir}: no such directory`);
  const direct = stackFile(dir);
  if (direct) return [readStack(basename(resolve(dir)), direct)];
  const stacks: SynthOutputStack[] = [];
  const manifest = join(dir, "manifest.json");
  if (existsSync(manifest)) {
    const m = readStack("manifest", manifest).json;
    const entries = isObject(m) && isObject(m.stacks) ? Object.entries(m.stacks) : [];
    if (entries.length > MAX_SYNTH_OUTPUT_STACKS) throw new SynthOutputError(`${manifest}: ${entries.length} stacks; at most ${MAX_SYNTH_OUTPUT_STACKS} are read`);
    for (const [name, s] of entries) {
      const declared = isObject(s) && typeof s.synthesizedStackPath === "string" ? join(dir, s.synthesizedStackPath) : undefined;
      // a manifest only points inside its own directory
      if (declared !== undefined && !resolve(declared).startsWith(resolve(dir) + sep)) {
        throw new SynthOutputError(`${manifest}: stack ${JSON.stringify(name)}: synthesizedStackPath ${JSON.stringify((s as { synthesizedStackPath: string }).synthesizedStackPath)} leads outside ${dir}`);
      }
      const file = declared && existsSync(declared) ? declared : stackFile(join(dir, "stacks", name));
      if (file) stacks.push(readStack(name, file));
    }
  }
  if (stacks.length === 0 && existsSync(join(dir, "stacks"))) {
    const names = readdirSync(join(dir, "stacks"));
    if (names.length > MAX_SYNTH_OUTPUT_STACKS) throw new SynthOutputError(`${join(dir, "stacks")}: ${names.length} entries; at most ${MAX_SYNTH_OUTPUT_STACKS} stacks are read`);
    for (const name of names) {
      const file = stackFile(join(dir, "stacks", name));
      if (file) stacks.push(readStack(name, file));
    }
  }
  if (stacks.length === 0) {
    throw new SynthOutputError(
      `${dir}: no synthesized stack found (no cdk.tf.json found: expected ${join(dir, "stacks", "<stack>", "cdk.tf.json")}, or a stack directory); run \`cdktf synth\` first`,
    );
  }
  return stacks.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The JSON stacks of a synth output, for readers of the Terraform JSON (review, policy).
 * @param purpose what needs the JSON, for the message (e.g. `review`)
 * @throws SynthOutputError as {@link readSynthOutputDir}, and when the output holds only
 *   `--hcl` stacks (`no cdk.tf.json found … synthesize without --hcl for <purpose>`)
 */
export function readSynthOutputJson(dir: string, purpose: string): (SynthOutputStack & { readonly json: unknown })[] {
  const stacks = readSynthOutputDir(dir);
  const json = stacks.filter((s): s is SynthOutputStack & { json: unknown } => s.format === "json");
  if (json.length === 0) {
    throw new SynthOutputError(`${dir}: no cdk.tf.json found (found cdk.tf: synthesize without --hcl for ${purpose})`);
  }
  return json;
}
