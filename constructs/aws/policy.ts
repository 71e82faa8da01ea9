/**
 * The security policy pack at synth: suppressions through the construct API, carried in
 * the synthesized JSON, and a stack validation that runs the pack over the stack's own
 * Terraform JSON. The rules themselves are pure (`src/rules/policy`).
 */
import { Annotations, Aspects, TerraformElement, TerraformStack, type IAspect } from "cdktf";
import type { IConstruct } from "constructs";
import {
  ALL_POLICY_RULES,
  SUPPRESSIONS_METADATA_KEY,
  formatFinding,
  policyRule,
  runPolicyPack,
  stackFromTerraformJson,
  type PolicyReport,
  type PolicyRule,
  type PolicySuppression,
} from "../../src/rules/policy";

/** Construct metadata type under which {@link PolicyPack.suppress} records a suppression. */
export const POLICY_SUPPRESSION_METADATA_TYPE = "managed-postgres:policy-suppression";

/** Options of {@link PolicyPack.enforce}. */
export interface PolicyPackOptions {
  /** Rules to run. @default - every rule of the pack (`POLICY_RULES`) */
  readonly rules?: readonly PolicyRule[];
}

function ownSuppressions(c: IConstruct): PolicySuppression[] {
  return c.node.metadata
    .filter((m) => m.type === POLICY_SUPPRESSION_METADATA_TYPE)
    .map((m) => m.data as PolicySuppression);
}

/** Suppressions of a construct and its scopes, nearest first; one per rule id. */
function effectiveSuppressions(c: IConstruct): PolicySuppression[] {
  const byId = new Map<string, PolicySuppression>();
  for (const scope of [...c.node.scopes].reverse()) {
    for (const s of ownSuppressions(scope)) if (!byId.has(s.id)) byId.set(s.id, s);
  }
  return [...byId.values()];
}

/** Writes every resource's effective suppressions into its `//` metadata (see SUPPRESSIONS_METADATA_KEY). */
class SuppressionCarrier implements IAspect {
  public visit(node: IConstruct): void {
    if (!TerraformElement.isTerraformElement(node)) return;
    const suppressions = effectiveSuppressions(node);
    if (suppressions.length === 0) return;
    node.addOverride(`//.${SUPPRESSIONS_METADATA_KEY}`, {
      suppressions: suppressions.map((s) => ({ id: s.id, reason: s.reason })),
    });
  }
}

const carriers = new WeakSet<TerraformStack>();
const enforced = new WeakSet<TerraformStack>();

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
   * suppressed findings become info annotations with their reason. Idempotent per stack;
   * `ManagedPostgres` calls it for its own stack.
   */
  public static enforce(scope: IConstruct, options: PolicyPackOptions = {}): void {
    const stack = TerraformStack.of(scope);
    PolicyPack.ensureCarrier(stack);
    if (enforced.has(stack)) return;
    enforced.add(stack);
    stack.node.addValidation({
      validate: () => {
        const report = PolicyPack.check(stack, options);
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
    });
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
    scope.node.addMetadata(POLICY_SUPPRESSION_METADATA_TYPE, { id: ruleId, reason: reason.trim() });
    PolicyPack.ensureCarrier(TerraformStack.of(scope));
  }

  /**
   * Runs the pack over `stack` now and returns the report (no annotation, no throw).
   * Suppressions recorded with {@link suppress} are honoured.
   */
  public static check(stack: TerraformStack, options: PolicyPackOptions = {}): PolicyReport {
    const tf = stack.toTerraform();
    const parsed = stackFromTerraformJson(tf, stack.node.id);
    // Suppressions not yet written by the aspect (check() called before synth).
    const byPath = new Map(stack.node.findAll().map((c) => [c.node.path, c] as const));
    const resources = parsed.resources.map((r) => {
      const construct = r.constructPath ? byPath.get(r.constructPath) : undefined;
      if (!construct) return r;
      const suppressions = effectiveSuppressions(construct);
      if (suppressions.length === 0) return r;
      const meta = { ...((r.config["//"] as Record<string, unknown>) ?? {}), [SUPPRESSIONS_METADATA_KEY]: { suppressions } };
      return { ...r, config: { ...r.config, "//": meta } };
    });
    return runPolicyPack([{ name: parsed.name, resources }], { rules: options.rules });
  }

  private static ensureCarrier(stack: TerraformStack): void {
    if (carriers.has(stack)) return;
    carriers.add(stack);
    Aspects.of(stack).add(new SuppressionCarrier());
  }
}
