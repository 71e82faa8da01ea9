/**
 * The security policy pack at synth, for every target: suppressions through the construct
 * API, carried in the synthesized JSON, and a stack validation that runs the pack over the
 * stack's own Terraform JSON. The rules themselves are pure (`src/rules/policy`); the wiring
 * is private (constructs/private/policy-pack.ts).
 */
import { Annotations, TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";
import { ALL_POLICY_RULES, POLICY_RULES, formatFinding, policyRule, type PolicyReport, type PolicyRule } from "../src/rules/policy";
import { checkStack, checkStackForSynth, enforcedRules, ensureSuppressionCarrier, mergeEnforcedRules, recordSuppression } from "./private/policy-pack";
import { readOnlyValidation } from "./private/resolve-once";

/** Options of {@link PolicyPack.enforce} and {@link PolicyPack.check}. */
export interface PolicyPackOptions {
  /** Rules to run. @default - every AWS rule of the pack (`POLICY_RULES`) */
  readonly rules?: readonly PolicyRule[];
}

/**
 * The managed-postgres security policy pack (docs/policy.md), cdk-nag style.
 *
 * ```ts
 * PolicyPack.enforce(stack);                      // run the pack when the stack synthesizes
 * PolicyPack.suppress(role, "MP-IAM-2", "ec2:AttachVolume is scoped by a tag condition");
 * ```
 */
export class PolicyPack {
  /**
   * Runs the pack over `scope`'s stack at every synth: after aspects (suppressions are
   * applied), the stack's Terraform JSON is checked. Unsuppressed `error` findings fail
   * synth with one line per finding (rule id, level, resource address, construct path,
   * what is wrong, why); `warning` findings become warning annotations on the resource;
   * suppressed findings become info annotations with their reason. When every validation of
   * the stack is read-only (the library's and cdktf's; a user's validation turns this off)
   * and synth goes on, cdktf writes the very JSON the pack checked: the stack is resolved
   * once less per synth.
   *
   * Calls on one stack add up, in any order: the stack runs the union of every call's
   * `rules` (`ManagedPostgres` calls it for its own stack with the default rules,
   * `ManagedPostgresKubernetes` with the AWS and Kubernetes rules). The validation is added
   * once per stack.
   * @throws Error when `options.rules` holds a rule whose id is that of a different rule
   *   already enforced on the stack
   */
  public static enforce(scope: IConstruct, options: PolicyPackOptions = {}): void {
    const stack = TerraformStack.of(scope);
    ensureSuppressionCarrier(stack);
    if (!mergeEnforcedRules(stack, options.rules ?? POLICY_RULES)) return;
    stack.node.addValidation(readOnlyValidation({
      validate: () => {
        const report = checkStackForSynth(stack, enforcedRules(stack));
        const byPath = new Map(stack.node.findAll().map((c) => [c.node.path, c] as const));
        for (const f of report.findings.filter((x) => x.level === "warning")) {
          Annotations.of((f.constructPath && byPath.get(f.constructPath)) || stack).addWarning(formatFinding(f));
        }
        for (const f of report.suppressed) {
          Annotations.of((f.constructPath && byPath.get(f.constructPath)) || stack).addInfo(
            `[${f.ruleId} suppressed] ${f.address}: ${f.reason}`,
          );
        }
        return report.findings
          .filter((x) => x.level === "error")
          .map((f) => `managed-postgres policy pack: ${formatFinding(f)} (suppress with PolicyPack.suppress(construct, "${f.ruleId}", "<reason>"))`);
      },
    }));
  }

  /**
   * Suppresses rule `ruleId` for every resource at or under `scope`, with a reason. The
   * suppression is written into each resource's `//` metadata in the synthesized JSON, so
   * `managed-postgres policy` honours it too, and both reports list it with its reason.
   * @throws Error if `ruleId` is not a rule of the pack, or `reason` is empty
   */
  public static suppress(scope: IConstruct, ruleId: string, reason: string): void {
    if (!policyRule(ruleId)) {
      throw new Error(`PolicyPack.suppress: unknown rule id ${JSON.stringify(ruleId)}; rules are ${ALL_POLICY_RULES.map((r) => r.id).join(", ")}`);
    }
    if (typeof reason !== "string" || reason.trim() === "") {
      throw new Error(`PolicyPack.suppress: a suppression of ${ruleId} on ${scope.node.path} needs a non-empty reason`);
    }
    recordSuppression(scope, { id: ruleId, reason: reason.trim() });
  }

  /**
   * Runs the pack over `stack` now and returns the report (no annotation, no throw).
   * Suppressions recorded with {@link suppress} are honoured.
   */
  public static check(stack: TerraformStack, options: PolicyPackOptions = {}): PolicyReport {
    return checkStack(stack, options.rules);
  }
}
