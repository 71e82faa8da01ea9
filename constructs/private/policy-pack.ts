/**
 * The policy pack's wiring at synth (private: not exported from the package entry points;
 * the public API is `PolicyPack` in constructs/policy-pack.ts): suppressions recorded as
 * construct metadata and carried into each resource's `//` metadata by an aspect, the rules
 * each stack enforces (merged over every `PolicyPack.enforce` call), and the pack run over a
 * stack's own Terraform JSON.
 */
import { Aspects, TerraformElement, TerraformStack, type IAspect } from "cdktf";
import type { IConstruct } from "constructs";
import { reuseOnce, stackSettledAfterValidation } from "./resolve-once";
import {
  ALL_POLICY_RULES,
  POLICY_RULES,
  SUPPRESSIONS_METADATA_KEY,
  runPolicyPack,
  stackFromTerraformJson,
  type PolicyReport,
  type PolicyRule,
  type PolicySuppression,
} from "../../src/rules/policy";

/** Construct metadata type under which a suppression is recorded on its scope. */
export const POLICY_SUPPRESSION_METADATA_TYPE = "managed-postgres:policy-suppression";

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

/** Adds the suppression-carrying aspect to `stack` once. */
export function ensureSuppressionCarrier(stack: TerraformStack): void {
  if (carriers.has(stack)) return;
  carriers.add(stack);
  Aspects.of(stack).add(new SuppressionCarrier());
}

/** Records a suppression on `scope` (validated by the caller) and makes sure it reaches the JSON. */
export function recordSuppression(scope: IConstruct, suppression: PolicySuppression): void {
  scope.node.addMetadata(POLICY_SUPPRESSION_METADATA_TYPE, { id: suppression.id, reason: suppression.reason });
  ensureSuppressionCarrier(TerraformStack.of(scope));
}

const enforced = new WeakMap<TerraformStack, Map<string, PolicyRule>>();

/**
 * Adds `rules` to the rules `stack` enforces: the union over every call, so the order of
 * the calls does not matter.
 * @returns true on the stack's first call (the caller then adds the stack's validation)
 * @throws Error when a rule has the id of a different rule already enforced on the stack
 */
export function mergeEnforcedRules(stack: TerraformStack, rules: readonly PolicyRule[]): boolean {
  const known = enforced.get(stack);
  const merged = known ?? new Map<string, PolicyRule>();
  for (const rule of rules) {
    const previous = merged.get(rule.id);
    if (previous !== undefined && previous !== rule) {
      throw new Error(`PolicyPack.enforce: ${stack.node.path} already enforces another rule with id ${JSON.stringify(rule.id)}; give each rule a unique id`);
    }
    merged.set(rule.id, rule);
  }
  enforced.set(stack, merged);
  return known === undefined;
}

/**
 * The rules `stack` enforces, in a stable order whatever the order of the calls: the pack's
 * rules in documentation order (`ALL_POLICY_RULES`), then other rules by id.
 */
export function enforcedRules(stack: TerraformStack): PolicyRule[] {
  const rules = [...(enforced.get(stack)?.values() ?? [])];
  const rank = (r: PolicyRule) => {
    const i = ALL_POLICY_RULES.indexOf(r);
    return i < 0 ? ALL_POLICY_RULES.length : i;
  };
  return rules.sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id, undefined, { numeric: true }));
}

/**
 * Runs `rules` over `stack`'s Terraform JSON now, honouring suppressions recorded on
 * constructs even before the aspect has written them.
 * @param rules @default POLICY_RULES
 */
export function checkStack(stack: TerraformStack, rules: readonly PolicyRule[] = POLICY_RULES): PolicyReport {
  return checkTerraformJson(stack, stack.toTerraform(), rules);
}

/**
 * The stack validation of `PolicyPack.enforce`: runs `rules` over `stack`'s Terraform JSON
 * and, when nothing can change the stack between this validation and cdktf's write of
 * `cdk.tf.json` (`stackSettledAfterValidation`) and no finding is an error, hands that
 * JSON to the next `stack.toTerraform()` call (`reuseOnce`), which is cdktf's own, to
 * write it. So the stack is resolved twice per synth (cdktf's prepare pass and this one),
 * not three times; the written JSON is what a fresh resolution would give.
 */
export function checkStackForSynth(stack: TerraformStack, rules: readonly PolicyRule[]): PolicyReport {
  const json = stack.toTerraform();
  const report = checkTerraformJson(stack, json, rules);
  if (!report.findings.some((f) => f.level === "error") && stackSettledAfterValidation(stack)) reuseOnce(stack, json);
  return report;
}

function checkTerraformJson(stack: TerraformStack, json: unknown, rules: readonly PolicyRule[]): PolicyReport {
  const parsed = stackFromTerraformJson(json, stack.node.id);
  const byPath = new Map(stack.node.findAll().map((c) => [c.node.path, c] as const));
  const resources = parsed.resources.map((r) => {
    const construct = r.constructPath ? byPath.get(r.constructPath) : undefined;
    if (!construct) return r;
    const suppressions = effectiveSuppressions(construct);
    if (suppressions.length === 0) return r;
    const meta = { ...((r.config["//"] as Record<string, unknown>) ?? {}), [SUPPRESSIONS_METADATA_KEY]: { suppressions } };
    return { ...r, config: { ...r.config, "//": meta } };
  });
  return runPolicyPack([{ name: parsed.name, resources }], { rules });
}

