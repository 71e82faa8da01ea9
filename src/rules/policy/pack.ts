/**
 * The managed-postgres policy pack: its rules, and running them over synthesized stacks.
 * Pure. The synth-time glue is `constructs/policy-pack.ts`; the CLI is `managed-postgres policy`.
 */
import { COMPUTE_RULES } from "./rules/compute";
import { KUBERNETES_RULES } from "./kubernetes";
import { IAM_RULES } from "./rules/iam";
import { NETWORK_RULES } from "./rules/network";
import { OBSERVABILITY_RULES } from "./rules/observability";
import { STORAGE_RULES } from "./rules/storage";
import { suppressionsOf } from "./terraform";
import { mdCode, mdText } from "../../markdown";
import type { PolicyFinding, PolicyReport, PolicyRule, SuppressedFinding, TfStack } from "./types";

/** Prefix of every rule id of the pack. */
export const POLICY_PACK_PREFIX = "MP";

/** Every rule of the pack, in documentation order (docs/policy.md). */
export const POLICY_RULES: readonly PolicyRule[] = [...STORAGE_RULES, ...COMPUTE_RULES, ...NETWORK_RULES, ...IAM_RULES, ...OBSERVABILITY_RULES];

/**
 * Every rule of the pack for every target: the AWS rules and the Kubernetes pod-spec rules
 * (`MP-K8S-<n>`, `./kubernetes.ts`, docs/kubernetes.md). Each rule looks only at its own
 * resource types, so running all of them over any stack is safe. The CLI runs these.
 */
export const ALL_POLICY_RULES: readonly PolicyRule[] = [...POLICY_RULES, ...KUBERNETES_RULES];

/** The rule with this id (AWS or Kubernetes), or undefined. */
export function policyRule(id: string): PolicyRule | undefined {
  return ALL_POLICY_RULES.find((r) => r.id === id);
}

/** Options of {@link runPolicyPack}. */
export interface RunPolicyPackOptions {
  /** Rules to run. @default POLICY_RULES */
  readonly rules?: readonly PolicyRule[];
}

const LEVEL_ORDER = { error: 0, warning: 1 } as const;

function compareFindings(a: PolicyFinding, b: PolicyFinding): number {
  return (
    LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] ||
    a.stack.localeCompare(b.stack) ||
    a.address.localeCompare(b.address) ||
    a.ruleId.localeCompare(b.ruleId, undefined, { numeric: true })
  );
}

/**
 * Runs the rules over every resource of the stacks. A non-compliant verdict is a finding,
 * unless the resource carries a suppression with the rule's id (then it is listed in
 * `suppressed` with the reason). Pure.
 */
export function runPolicyPack(stacks: readonly TfStack[], options: RunPolicyPackOptions = {}): PolicyReport {
  const rules = options.rules ?? POLICY_RULES;
  const findings: PolicyFinding[] = [];
  const suppressed: SuppressedFinding[] = [];
  let compliantCount = 0;
  for (const stack of stacks) {
    for (const resource of stack.resources) {
      const kind = `${resource.isData ? "data." : ""}${resource.type}`;
      const applicable = rules.filter((r) => r.resourceTypes.includes(kind));
      if (applicable.length === 0) continue;
      const suppressions = suppressionsOf(resource);
      for (const rule of applicable) {
        const result = rule.evaluate(resource, stack);
        if (result.status === "compliant") compliantCount++;
        if (result.status !== "non-compliant") continue;
        const finding: PolicyFinding = {
          ruleId: rule.id,
          level: rule.level,
          stack: stack.name,
          address: resource.address,
          constructPath: resource.constructPath,
          info: rule.info,
          explanation: rule.explanation,
          detail: result.detail,
        };
        const s = suppressions.find((x) => x.id === rule.id);
        if (s) suppressed.push({ ...finding, reason: s.reason });
        else findings.push(finding);
      }
    }
  }
  return {
    findings: findings.sort(compareFindings),
    suppressed: suppressed.sort(compareFindings),
    stacks: stacks.map((s) => s.name),
    compliantCount,
    rules: rules.map((r) => r.id),
  };
}

/** One line per finding: `[MP-S3-1 error] stack/aws_s3_bucket.x: <info> — <detail>. <explanation>`. */
export function formatFinding(f: PolicyFinding): string {
  return `[${f.ruleId} ${f.level}] ${f.stack}/${f.address}${f.constructPath ? ` (${f.constructPath})` : ""}: ${f.info}${f.detail ? ` — ${f.detail}` : ""}. ${f.explanation}`;
}

/**
 * The report as GitHub-flavoured Markdown: summary, findings table, suppressions table. Stack
 * names, addresses, construct paths, details and suppression reasons are escaped
 * (src/markdown): each finding and suppression stays one table row, and no value adds HTML.
 */
export function formatPolicyReportMarkdown(report: PolicyReport): string {
  const errors = report.findings.filter((f) => f.level === "error").length;
  const warnings = report.findings.length - errors;
  const lines = [
    "# Policy pack report",
    "",
    `Stacks: ${report.stacks.map(mdText).join(", ") || "(none)"} · rules: ${report.rules.length} · compliant checks: ${report.compliantCount} · findings: ${report.findings.length} (${errors} error, ${warnings} warning) · suppressed: ${report.suppressed.length}`,
    "",
    "## Findings",
    "",
  ];
  if (report.findings.length === 0) lines.push("None.");
  else {
    lines.push("| Rule | Level | Stack | Resource | What | Why |", "|---|---|---|---|---|---|");
    for (const f of report.findings) {
      lines.push(
        `| ${mdText(f.ruleId)} | ${f.level} | ${mdText(f.stack)} | ${mdCode(f.address, "table")} | ${mdText(f.info)}${f.detail ? ` — ${mdText(f.detail)}` : ""} | ${mdText(f.explanation)} |`,
      );
    }
  }
  lines.push("", "## Suppressions", "");
  if (report.suppressed.length === 0) lines.push("None.");
  else {
    lines.push("| Rule | Level | Stack | Resource | Reason |", "|---|---|---|---|---|");
    for (const f of report.suppressed) lines.push(`| ${mdText(f.ruleId)} | ${f.level} | ${mdText(f.stack)} | ${mdCode(f.address, "table")} | ${mdText(f.reason)} |`);
  }
  return lines.join("\n") + "\n";
}

/** The report as pretty JSON. */
export function formatPolicyReportJson(report: PolicyReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
