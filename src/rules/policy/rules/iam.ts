/**
 * IAM: least privilege in identity policies (customer-managed and inline).
 */
import { policiesOf, policyStatements, type PolicyStatement } from "../policy-document";
import type { PolicyRule, RuleResult, TfResource, TfStack } from "../types";

const OK: RuleResult = { status: "compliant" };
const NA: RuleResult = { status: "not-applicable" };
const bad = (detail: string): RuleResult => ({ status: "non-compliant", detail });

/** Resource types carrying identity policies. */
export const IAM_POLICY_TYPES = ["aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy", "aws_iam_role"];

/**
 * Actions that AWS does not let a policy scope to a resource, so `Resource: "*"` is the
 * only form (IAM Service Authorization Reference: no resource types listed). A statement
 * whose every action matches one of these may use `"*"` without a finding of MP-IAM-2.
 */
export const RESOURCE_WILDCARD_EXCEPTIONS: readonly string[] = [
  "ec2:Describe*",
  "autoscaling:Describe*",
  "elasticloadbalancing:Describe*",
  "cloudwatch:PutMetricData",
  "cloudwatch:GetMetricData",
  "cloudwatch:ListMetrics",
  "sts:GetCallerIdentity",
  "secretsmanager:GetRandomPassword",
];

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
}

/** Whether an action (possibly itself a wildcard like `ec2:Describe*`) lies within an exception pattern. */
export function isResourceWildcardException(action: string): boolean {
  return RESOURCE_WILDCARD_EXCEPTIONS.some((p) => action.toLowerCase() === p.toLowerCase() || glob(p).test(action));
}

function statementsOf(r: TfResource, stack: TfStack): { analysable: PolicyStatement[]; unanalysable: number } {
  const docs = r.type === "aws_iam_role" ? policiesOf({ inline_policy: r.config.inline_policy }) : policiesOf(r.config);
  const analysable: PolicyStatement[] = [];
  let unanalysable = 0;
  for (const d of docs) {
    const s = policyStatements(d, stack);
    if (s) analysable.push(...s);
    else unanalysable++;
  }
  return { analysable, unanalysable };
}

/** MP-IAM-1: no wildcard actions. */
export const IAM_NO_WILDCARD_ACTION: PolicyRule = {
  id: "MP-IAM-1",
  level: "error",
  info: "Identity policies allow no wildcard action (\"*\" or \"<service>:*\") and no NotAction.",
  explanation:
    "Cloud Temple Managed PostgreSQL: least privilege. A node role with s3:* or kms:* can delete backups or schedule key deletion. List the actions the nodes need.",
  resourceTypes: IAM_POLICY_TYPES,
  checkov: ["CKV_AWS_63"],
  fsbp: ["IAM.1", "IAM.21"],
  evaluate(r, stack) {
    const { analysable } = statementsOf(r, stack);
    if (analysable.length === 0) return NA;
    const wild = analysable
      .filter((s) => s.effect === "Allow")
      .flatMap((s) => [...s.actions.filter((a) => a === "*" || /^[a-z0-9-]+:\*$/i.test(a)), ...s.notActions.map((a) => `NotAction ${a}`)]);
    return wild.length === 0 ? OK : bad(`wildcard action(s): ${[...new Set(wild)].join(", ")}`);
  },
};

/** MP-IAM-2: no wildcard resource where a resource can be named. */
export const IAM_NO_WILDCARD_RESOURCE: PolicyRule = {
  id: "MP-IAM-2",
  level: "error",
  info: "Identity policies allow \"Resource\": \"*\" only for actions that cannot be scoped (ec2:Describe*, cloudwatch:PutMetricData, …).",
  explanation:
    "Name the bucket, key, secret, volumes or log groups the statement is for. Actions without resource-level permissions (RESOURCE_WILDCARD_EXCEPTIONS) are exempt; for any other, suppress with a reason (e.g. ec2:AttachVolume scoped by a tag condition).",
  resourceTypes: IAM_POLICY_TYPES,
  checkov: ["CKV_AWS_355"],
  fsbp: [],
  evaluate(r, stack) {
    const { analysable } = statementsOf(r, stack);
    if (analysable.length === 0) return NA;
    const offending = analysable
      .filter((s) => s.effect === "Allow" && (s.resources.includes("*") || s.notResources.length > 0))
      .flatMap((s) => s.actions.filter((a) => !isResourceWildcardException(a)));
    return offending.length === 0 ? OK : bad(`"Resource": "*" for: ${[...new Set(offending)].join(", ")}`);
  },
};

/** MP-IAM-3: policies are analysable. */
export const IAM_ANALYSABLE: PolicyRule = {
  id: "MP-IAM-3",
  level: "warning",
  info: "Identity policies are JSON documents or aws_iam_policy_document data sources, so the pack can check them.",
  explanation:
    "A policy built with a Terraform expression (e.g. ${jsonencode(...)}) cannot be checked at synth. Build it with JSON.stringify or a DataAwsIamPolicyDocument.",
  resourceTypes: IAM_POLICY_TYPES,
  checkov: [],
  fsbp: [],
  evaluate(r, stack) {
    const { analysable, unanalysable } = statementsOf(r, stack);
    if (analysable.length === 0 && unanalysable === 0) return NA;
    return unanalysable === 0 ? OK : bad(`${unanalysable} policy document(s) cannot be analysed`);
  },
};

/** The IAM rules. */
export const IAM_RULES: readonly PolicyRule[] = [IAM_NO_WILDCARD_ACTION, IAM_NO_WILDCARD_RESOURCE, IAM_ANALYSABLE];
