import { writeFileSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_TITLE, hasRiskAtOrAbove, readPlanFile, readSynthOutput, renderReviewMarkdown, reviewChanges, reviewInputFromSynth, RISK_LEVELS, type RiskLevel } from "../review";

/** Exit code of `managed-postgres review` when a risk at or above `--fail-on` is present. */
export const REVIEW_RISK_EXIT_CODE = 3;

function parseLevel(v: string): RiskLevel {
  if (!(RISK_LEVELS as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${RISK_LEVELS.join(", ")}`);
  return v as RiskLevel;
}

/**
 * `managed-postgres review`: reads two synth outputs (`--base`, `--head`) or a plan
 * (`--plan`, `terraform show -json`), writes a Markdown review (`--out` or stdout).
 * Exit codes: 0 done; 3 a risk at or above `--fail-on`; 2 unreadable input; 1 bad arguments.
 */
export function registerReview(program: Command): void {
  program
    .command("review")
    .description("Review a change to managed PostgreSQL clusters: per cluster what changes (create, update, replace, destroy), risk flags and a Mermaid topology, as Markdown")
    .option("--base <dir>", "synth output before the change: a cdktf.out directory or a stack directory holding cdk.tf.json")
    .option("--head <dir>", "synth output after the change (same forms as --base)")
    .option("--plan <file>", "a Terraform plan in JSON: terraform show -json plan.out > plan.json")
    .option("--out <file>", "write the Markdown here instead of stdout")
    .option("--title <text>", "heading of the report (blank: the default)", DEFAULT_TITLE)
    .option("--fail-on <level>", "exit with code 3 when a risk at or above this level (high, medium, low) is present", parseLevel)
    .allowExcessArguments(false)
    .addHelpText(
      "after",
      `
Give either --plan, or both --base and --head.
Exit codes: 0 reviewed (risks below --fail-on); ${REVIEW_RISK_EXIT_CODE} a risk at or above --fail-on is present
(the Markdown is still written); 2 an input cannot be read; 1 invalid arguments.

Examples:
  managed-postgres review --base base/cdktf.out --head head/cdktf.out --out review.md --fail-on high
  terraform show -json plan.out > plan.json && managed-postgres review --plan plan.json`,
    )
    .action((opts: { base?: string; head?: string; plan?: string; out?: string; title: string; failOn?: RiskLevel }, cmd: Command) => {
      if (opts.plan && (opts.base || opts.head)) cmd.error("give either --plan or --base and --head, not both", { exitCode: 1 });
      if (!opts.plan && !(opts.base && opts.head)) cmd.error("give --plan <file>, or both --base <dir> and --head <dir>", { exitCode: 1 });
      const input = opts.plan ? readPlanFile(opts.plan) : reviewInputFromSynth(readSynthOutput(opts.base!), readSynthOutput(opts.head!));
      const review = reviewChanges(input);
      const markdown = renderReviewMarkdown(review, { title: opts.title });
      if (opts.out) writeFileSync(opts.out, markdown);
      else process.stdout.write(markdown);
      if (opts.failOn && hasRiskAtOrAbove(review.risks, opts.failOn)) {
        const n = review.risks.filter((r) => RISK_LEVELS.indexOf(r.level) <= RISK_LEVELS.indexOf(opts.failOn!)).length;
        process.stderr.write(`managed-postgres review: ${n} risk${n === 1 ? "" : "s"} at or above ${opts.failOn}\n`);
        process.exitCode = REVIEW_RISK_EXIT_CODE;
      }
    });
}
