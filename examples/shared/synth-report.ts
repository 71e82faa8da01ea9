/**
 * What an example prints after `app.synth()`: where each stack's Terraform went, one line per
 * stack, relative to the working directory (`cdktf synth` shows the app's stdout), e.g.
 * `Synthesized stack distributed → cdktf.out/stacks/distributed/cdk.tf.json`. With
 * `cdktf synth --hcl` (SYNTH_HCL_OUTPUT=true, set by the CLI) the file is `cdk.tf`.
 */
import { join, relative } from "node:path";
import { App, TerraformStack } from "cdktf";

/** Prints one line per stack of `app` to stdout. */
export function reportSynth(app: App): void {
  const file = process.env.SYNTH_HCL_OUTPUT === "true" ? "cdk.tf" : "cdk.tf.json";
  for (const child of app.node.children) {
    if (!TerraformStack.isStack(child)) continue;
    const name = child.node.id;
    console.log(`Synthesized stack ${name} → ${relative(process.cwd(), join(app.outdir, "stacks", name, file)) || "."}`);
  }
}
