import type { Command } from "commander";
import { ALL_POLICY_RULES, formatPolicyReportJson, formatPolicyReportMarkdown, loadStacksFromDir, runPolicyPack } from "../rules/policy";

/**
 * `managed-postgres policy <dir>`: runs the security policy pack over every stack of a
 * cdktf output directory (`cdktf.out`, i.e. `<dir>/stacks/<stack>/cdk.tf.json`, or a
 * directory holding one `cdk.tf.json`) with every rule (AWS and Kubernetes). Prints the report (Markdown or JSON) on stdout.
 * Exit 0 when there is no unsuppressed finding, 1 when there is one (error or warning),
 * 2 when the directory cannot be read.
 */
export function registerPolicy(program: Command): void {
  program
    .command("policy")
    .description("Check synthesized Terraform (a cdktf.out directory, all stacks) against the security policy pack")
    .argument("<dir>", "cdktf output directory, e.g. cdktf.out")
    .allowExcessArguments(false)
    .option("--format <format>", "report format: markdown or json", "markdown")
    .action((dir: string, opts: { format: string }) => {
      if (opts.format !== "markdown" && opts.format !== "json") {
        process.stderr.write(`--format must be "markdown" or "json". Got ${JSON.stringify(opts.format)}\n`);
        process.exitCode = 2;
        return;
      }
      let stacks;
      try {
        stacks = loadStacksFromDir(dir);
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const report = runPolicyPack(stacks, { rules: ALL_POLICY_RULES });
      process.stdout.write(opts.format === "json" ? formatPolicyReportJson(report) : formatPolicyReportMarkdown(report));
      if (report.findings.length > 0) process.exitCode = 1;
    });
}
