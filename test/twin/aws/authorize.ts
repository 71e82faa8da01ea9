/**
 * Authorization as AWS evaluates it, with @cloud-copilot/iam-simulate (Strict mode): the
 * caller's identity policies and the resource's policy (bucket policy, KMS key policy,
 * secret policy), with the request context keys AWS sets. Pure apart from the simulator.
 *
 * Policy evaluation logic: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * (same account: an allow in the identity OR the resource policy suffices, any explicit deny
 * wins). KMS: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 * (a key policy must allow the call, directly or by delegating to IAM through the account
 * root principal; iam-simulate applies this).
 */
import { runSimulation, typeForContextKey } from "@cloud-copilot/iam-simulate";
import { denialSentence, type DenialReason } from "./errors";

/** The caller: an instance role session (credentials from IMDS). */
export interface CallerIdentity {
  /** arn:aws:sts::<account>:assumed-role/<role name>/<instance id> */
  readonly sessionArn: string;
  readonly roleArn: string;
  readonly roleId: string;
  readonly accountId: string;
  readonly instanceId: string;
  readonly instanceArn: string;
  readonly instancePrivateIp: string;
  readonly vpcId: string;
  readonly roleTags?: Record<string, string>;
}

/** One authorization question. */
export interface AuthzRequest {
  readonly caller: CallerIdentity;
  readonly identityPolicies: readonly string[];
  /** "ec2:AttachVolume" */
  readonly action: string;
  /** Resource ARN, or "*" for actions without resource-level permissions. */
  readonly resource: string;
  /** Account that owns the resource. */
  readonly resourceAccount: string;
  /** Resource policy JSON text (bucket policy, key policy, secret policy). */
  readonly resourcePolicy?: string;
  /** Request context keys (global and service-specific). */
  readonly context: Record<string, string | string[]>;
  /** The service calling KMS on the caller's behalf (kms:ViaService), for the log. */
  readonly via?: string;
}

/** A logged decision. */
export interface AuthzDecision {
  readonly at: string;
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly result: "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";
  /** Sids (or statement indexes) of the statements that allowed or denied it. */
  readonly statements: string[];
  readonly reason?: DenialReason;
  /** AWS's sentence for a refusal. */
  readonly message?: string;
  readonly via?: string;
  readonly context: Record<string, string | string[]>;
  /** Context keys left out because the simulator's service data does not know them. */
  readonly unknownContextKeys?: string[];
}

const knownKeys = new Map<string, boolean>();

/** Splits `context` into the keys iam-simulate knows and the others (it refuses unknown keys). */
async function knownContext(context: Record<string, string | string[]>): Promise<{ known: Record<string, string | string[]>; unknown: string[] }> {
  const known: Record<string, string | string[]> = {};
  const unknown: string[] = [];
  for (const [k, v] of Object.entries(context)) {
    let ok = knownKeys.get(k.toLowerCase());
    if (ok === undefined) {
      ok = await typeForContextKey(k).then(
        () => true,
        () => false,
      );
      knownKeys.set(k.toLowerCase(), ok);
    }
    if (ok) known[k] = v;
    else unknown.push(k);
  }
  return { known, unknown };
}

/**
 * The request context keys AWS sets for a call made with instance role credentials
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
 * aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:userid, aws:PrincipalTag/*,
 * aws:SecureTransport, aws:SourceIp, aws:RequestedRegion, aws:CurrentTime, aws:EpochTime,
 * aws:ViaAWSService, and for role credentials delivered to an instance, ec2:SourceInstanceARN,
 * aws:EC2InstanceSourceVPC, aws:EC2InstanceSourcePrivateIPv4
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html#instance-metadata-credentials).
 * Not set: aws:SourceVpc / aws:SourceVpce (the twin has no VPC endpoints), aws:CalledVia.
 */
export function globalContext(
  caller: CallerIdentity,
  opts: { secureTransport: boolean; sourceIp: string; region: string; now: Date; viaAwsService?: boolean },
): Record<string, string | string[]> {
  const ctx: Record<string, string | string[]> = {
    "aws:PrincipalArn": caller.roleArn,
    "aws:PrincipalAccount": caller.accountId,
    "aws:PrincipalType": "AssumedRole",
    "aws:userid": `${caller.roleId}:${caller.instanceId}`,
    "aws:SecureTransport": String(opts.secureTransport),
    "aws:RequestedRegion": opts.region,
    "aws:CurrentTime": opts.now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    "aws:EpochTime": String(Math.floor(opts.now.getTime() / 1000)),
    "aws:ViaAWSService": String(opts.viaAwsService ?? false),
    "ec2:SourceInstanceARN": caller.instanceArn,
    "aws:EC2InstanceSourceVPC": caller.vpcId,
    "aws:EC2InstanceSourcePrivateIPv4": caller.instancePrivateIp,
  };
  // a service calling KMS on the caller's behalf does so from AWS's network
  if (!opts.viaAwsService) ctx["aws:SourceIp"] = opts.sourceIp;
  for (const [k, v] of Object.entries(caller.roleTags ?? {})) ctx[`aws:PrincipalTag/${k}`] = v;
  return ctx;
}

/** `aws:ResourceTag/<k>` and `<service>:ResourceTag/<k>` for each tag. */
export function resourceTagContext(tags: Record<string, string> | undefined, service?: string): Record<string, string> {
  const ctx: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags ?? {})) {
    ctx[`aws:ResourceTag/${k}`] = v;
    if (service) ctx[`${service}:ResourceTag/${k}`] = v;
  }
  return ctx;
}

function sidOf(s: { statement: { sid(): string | undefined; index(): number }; policyId: string }): string {
  return s.statement.sid() ?? `${s.policyId}#${s.statement.index()}`;
}

/** Single-valued string operators the twin evaluates itself for `kms:EncryptionContext:<key>` (see {@link withEncryptionContextEvaluated}). */
const ENCRYPTION_CONTEXT_OPERATORS: Record<string, (actual: string, expected: string) => boolean> = {
  StringEquals: (a, e) => a === e,
  StringNotEquals: (a, e) => a !== e,
  StringEqualsIgnoreCase: (a, e) => a.toLowerCase() === e.toLowerCase(),
  StringLike: (a, e) => new RegExp(`^${e.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`).test(a),
};

/**
 * iam-simulate drops `kms:EncryptionContext:<key>` from the request context (its condition
 * fails "because missing"), although KMS sets it for every call with an encryption context —
 * Secrets Manager's `SecretARN`, S3's `aws:s3:arn`, EBS's `aws:ebs:id`
 * (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context).
 * The twin evaluates those conditions itself, before the simulator runs: a condition entry
 * that holds is removed, a statement with one that does not hold (or with an operator the twin
 * does not evaluate, or a missing key) keeps it and so fails closed, as the key being absent does.
 */
export function withEncryptionContextEvaluated(policy: { Statement?: unknown }, context: Record<string, string | string[]>): { Statement?: unknown } {
  const statements = Array.isArray(policy.Statement) ? policy.Statement : policy.Statement ? [policy.Statement] : [];
  const out = statements.map((st: { Condition?: Record<string, Record<string, string | string[]>> }) => {
    if (!st.Condition) return st;
    const condition: Record<string, Record<string, string | string[]>> = {};
    for (const [op, entries] of Object.entries(st.Condition)) {
      const kept: Record<string, string | string[]> = {};
      for (const [key, expected] of Object.entries(entries)) {
        const evaluate = ENCRYPTION_CONTEXT_OPERATORS[op];
        const actual = context[key] ?? Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
        const holds =
          /^kms:EncryptionContext:/i.test(key) && evaluate !== undefined && typeof actual === "string" &&
          (Array.isArray(expected) ? expected : [expected]).some((e) => evaluate(actual, e));
        if (!holds) kept[key] = expected;
      }
      if (Object.keys(kept).length > 0) condition[op] = kept;
    }
    const { Condition: _drop, ...rest } = st;
    return Object.keys(condition).length > 0 ? { ...rest, Condition: condition } : rest;
  });
  return { ...policy, Statement: out };
}

/**
 * Evaluates `req`. A KMS action whose key policy does not allow it (neither directly nor
 * through the account root) is "no resource-based policy allows"; otherwise an implicit
 * denial is "no identity-based policy allows".
 * @throws Error when the simulator refuses the input (a policy it cannot read: a harness bug)
 */
export async function authorize(req: AuthzRequest, now: Date = new Date()): Promise<AuthzDecision> {
  const { known, unknown } = await knownContext(req.context);
  const identityPolicies = req.identityPolicies.map((p, i) => ({ name: `identity-${i}`, policy: withEncryptionContextEvaluated(JSON.parse(p), req.context) }));
  if (req.resourcePolicy) req = { ...req, resourcePolicy: JSON.stringify(withEncryptionContextEvaluated(JSON.parse(req.resourcePolicy), req.context)) };
  const out = await runSimulation(
    {
      request: {
        principal: req.caller.sessionArn,
        action: req.action,
        resource: { resource: req.resource, accountId: req.resourceAccount },
        contextVariables: known,
      },
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(req.resourcePolicy ? { resourcePolicy: JSON.parse(req.resourcePolicy) } : {}),
    },
    { simulationMode: "Strict" },
  );
  if (out.resultType === "error") throw new Error(`iam-simulate refused ${req.action} on ${req.resource}: ${JSON.stringify(out.errors)}`);
  const analysis = out.resultType === "single" ? out.result.analysis : out.results[0]?.analysis;
  const result = out.overallResult;
  const idA = analysis?.identityAnalysis;
  const resA = analysis?.resourceAnalysis;
  let reason: DenialReason | undefined;
  let statements: string[] = [];
  if (result === "Allowed") {
    statements = [...(idA?.allowStatements ?? []).map(sidOf), ...(resA?.allowStatements ?? []).map(sidOf)];
  } else if (result === "ExplicitlyDenied") {
    const inIdentity = (idA?.denyStatements.length ?? 0) > 0;
    reason = { kind: "explicit-deny", in: inIdentity ? "identity" : "resource" };
    statements = [...(idA?.denyStatements ?? []).map(sidOf), ...(resA?.denyStatements ?? []).map(sidOf)];
  } else {
    const kms = req.action.startsWith("kms:");
    const identityAllows = idA?.result === "Allowed";
    reason = kms && identityAllows ? { kind: "no-resource-allow" } : { kind: "no-identity-allow" };
  }
  return {
    at: now.toISOString(),
    principal: req.caller.sessionArn,
    action: req.action,
    resource: req.resource,
    result,
    statements,
    ...(reason ? { reason, message: denialSentence(req.caller.sessionArn, req.action, req.resource, reason) } : {}),
    ...(req.via ? { via: req.via } : {}),
    context: known,
    ...(unknown.length ? { unknownContextKeys: unknown } : {}),
  };
}
