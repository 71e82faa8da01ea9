/**
 * Refused synths leave no stale output (private: not exported from the package entry points).
 */
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { App, TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";

/**
 * Removes the output a previous synth wrote for `scope`'s stack (`<outdir>/stacks/<stack id>/`,
 * cdktf's layout), so that after a refusal nothing older in `cdktf.out` can be mistaken for
 * the refused change (a `terraform plan` in that directory would otherwise plan the previous
 * configuration). Other stacks' output and the manifest are left alone. Does nothing when the
 * directory does not exist or the scope is not in an App.
 */
export function removeStaleStackOutput(scope: IConstruct): void {
  let outdir: string;
  let id: string;
  try {
    outdir = App.of(scope).outdir;
    id = TerraformStack.of(scope).node.id;
  } catch {
    return;
  }
  const dir = resolve(join(outdir, "stacks", id));
  if (!dir.startsWith(resolve(outdir))) return;
  rmSync(dir, { recursive: true, force: true });
}
