/**
 * IAM policy documents as the policy pack reads them: a JSON string (as `JSON.stringify`
 * or a literal writes it; `${…}` references inside strings are fine) or a reference to a
 * `data.aws_iam_policy_document` in the same stack. Pure.
 */
import { blocks, parseAttributeReference, strings } from "../../terraform";
import { referencedResource } from "./terraform";
import type { TfStack } from "./types";

/** A condition of a statement: `{test: "Bool", variable: "aws:SecureTransport", values: ["false"]}`. */
export interface StatementCondition {
  readonly test: string;
  readonly variable: string;
  readonly values: readonly string[];
}

/** One statement, normalized from either form. */
export interface PolicyStatement {
  readonly effect: "Allow" | "Deny";
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly resources: readonly string[];
  readonly notResources: readonly string[];
  readonly principals: readonly string[];
  readonly conditions: readonly StatementCondition[];
}

type Json = Record<string, unknown>;

function fromJsonStatement(s: Json): PolicyStatement {
  const conditions: StatementCondition[] = [];
  if (typeof s.Condition === "object" && s.Condition !== null) {
    for (const [test, byVar] of Object.entries(s.Condition as Json)) {
      if (typeof byVar !== "object" || byVar === null) continue;
      for (const [variable, values] of Object.entries(byVar as Json)) {
        conditions.push({ test, variable, values: strings(values).concat(typeof values === "boolean" ? [String(values)] : []) });
      }
    }
  }
  const principals: string[] = [];
  if (typeof s.Principal === "string") principals.push(s.Principal);
  else if (typeof s.Principal === "object" && s.Principal !== null) {
    for (const v of Object.values(s.Principal as Json)) principals.push(...strings(v));
  }
  return {
    effect: s.Effect === "Deny" ? "Deny" : "Allow",
    actions: strings(s.Action),
    notActions: strings(s.NotAction),
    resources: strings(s.Resource),
    notResources: strings(s.NotResource),
    principals,
    conditions,
  };
}

function fromDataStatement(s: Json): PolicyStatement {
  return {
    effect: s.effect === "Deny" ? "Deny" : "Allow",
    actions: strings(s.actions),
    notActions: strings(s.not_actions),
    resources: strings(s.resources),
    notResources: strings(s.not_resources),
    principals: blocks(s.principals).flatMap((p) => strings(p.identifiers)),
    conditions: blocks(s.condition).map((c) => ({
      test: String(c.test ?? ""),
      variable: String(c.variable ?? ""),
      values: strings(c.values),
    })),
  };
}

/**
 * The statements of a policy argument, or `undefined` when the document cannot be
 * analysed (a Terraform expression such as `${jsonencode(…)}`, or a reference to
 * something other than an `aws_iam_policy_document` of the stack).
 */
export function policyStatements(policy: unknown, stack: TfStack): PolicyStatement[] | undefined {
  if (typeof policy === "object" && policy !== null && !Array.isArray(policy)) {
    const stmts = (policy as Json).Statement;
    return (Array.isArray(stmts) ? stmts : [stmts]).filter((s): s is Json => typeof s === "object" && s !== null).map(fromJsonStatement);
  }
  if (typeof policy !== "string") return undefined;
  const trimmed = policy.trim();
  if (trimmed.startsWith("{")) {
    try {
      return policyStatements(JSON.parse(trimmed), stack);
    } catch {
      return undefined;
    }
  }
  const ref = parseAttributeReference(trimmed);
  if (ref?.isData && ref.type === "aws_iam_policy_document" && ref.attribute === "json") {
    const doc = referencedResource(trimmed, stack, "aws_iam_policy_document");
    if (!doc || !doc.isData) return undefined;
    return blocks(doc.config.statement).map(fromDataStatement);
  }
  return undefined;
}

/** The policy documents a resource carries: `policy`, and `inline_policy[].policy` of roles. */
export function policiesOf(config: Readonly<Json>): unknown[] {
  const out: unknown[] = [];
  if (config.policy !== undefined) out.push(config.policy);
  for (const ip of blocks(config.inline_policy)) if (ip.policy !== undefined) out.push(ip.policy);
  return out;
}
