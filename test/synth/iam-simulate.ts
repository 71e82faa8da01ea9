/**
 * Evaluates the synthesized instance-role policies with @cloud-copilot/iam-simulate (AGPL-3.0,
 * a devDependency of the tests only): every Terraform reference in a policy document is
 * replaced by a concrete fake value ({@link fakeValue}), the document becomes IAM policy JSON,
 * and a request (principal, action, resource, context keys) gets AWS's decision.
 */
import { createHash } from "node:crypto";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { referencedPolicy, resources, type Synth } from "./helpers";

export const ACCOUNT = "111122223333";
export const REGION = "eu-west-1";

function short(name: string): string {
  return createHash("sha256").update(name).digest("hex").slice(0, 17);
}

/**
 * A concrete value for a Terraform reference such as `aws_ebs_volume.x.id` (without `${}`):
 * partition `aws`, {@link REGION}, {@link ACCOUNT}, the slot subnets `10.0.<slot>.0/24`, and ids
 * and ARNs derived from the resource's name.
 * @throws Error for a reference this helper does not know (add it)
 */
export function fakeValue(ref: string): string {
  const [first, ...rest] = ref.split(".");
  const [type, name, attr] = first === "data" ? rest : [first, ...rest];
  if (first === "data") {
    if (type === "aws_partition") return "aws";
    if (type === "aws_region") return REGION;
    if (type === "aws_caller_identity") return ACCOUNT;
    if (type === "aws_subnet" && attr === "cidr_block") return `10.0.${/slot-(\d+)/.exec(name!)![1]}.0/24`;
  }
  const key = `${type}.${attr}`;
  switch (key) {
    case "aws_network_interface.id":
      return `eni-${short(name!)}`;
    case "aws_ebs_volume.id":
      return `vol-${short(name!)}`;
    case "aws_iam_instance_profile.arn":
      return `arn:aws:iam::${ACCOUNT}:instance-profile/${name}`;
    case "aws_iam_role.arn":
      return `arn:aws:iam::${ACCOUNT}:role/${name}`;
    case "aws_secretsmanager_secret.arn":
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
    case "aws_s3_bucket.arn":
      return `arn:aws:s3:::${name!.toLowerCase().replace(/_/g, "-")}`;
    case "aws_kms_key.arn":
      return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${short(name!)}`;
    case "aws_ssm_parameter.arn":
      return `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${name}`;
    case "aws_cloudwatch_log_group.arn":
      return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`;
    default:
      throw new Error(`fakeValue: no fake value for ${ref}`);
  }
}

/** `text` with every `${reference}` replaced by {@link fakeValue} and every `&{variable}` (an IAM policy variable) written `${variable}`. */
export function resolveFake(text: string): string {
  return text.replace(/\$\{([^}]+)\}/g, (_, ref: string) => fakeValue(ref)).replace(/&\{([^}]+)\}/g, "${$1}");
}

/** The value of the resource `<type>.<id>`'s attribute in the fake world: `fakeRef(s, "aws_ebs_volume", /slot-0/, "id")`. */
export function fakeRef(s: Synth, type: string, idPattern: RegExp, attr: string): string {
  const ids = Object.keys(s.resource[type] ?? {}).filter((id) => idPattern.test(id));
  if (ids.length !== 1) throw new Error(`fakeRef: ${ids.length} ${type} match ${idPattern}`);
  return fakeValue(`${type}.${ids[0]}.${attr}`);
}

/** An `aws_iam_policy_document` data source as IAM policy JSON, references resolved with {@link fakeValue}. */
export function iamPolicyJson(doc: { statement: any[] }): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: doc.statement.map((st) => {
      const condition: Record<string, Record<string, string[]>> = {};
      for (const c of st.condition ?? []) (condition[c.test] ??= {})[c.variable] = c.values.map(resolveFake);
      return {
        ...(st.sid ? { Sid: st.sid } : {}),
        Effect: st.effect ?? "Allow",
        Action: st.actions,
        Resource: st.resources.map(resolveFake),
        ...(Object.keys(condition).length ? { Condition: condition } : {}),
      };
    }),
  };
}

/** The inline policies (`aws_iam_role_policy`) of the role whose logical id matches `rolePattern`, as IAM policy JSON. */
export function rolePolicies(s: Synth, rolePattern: RegExp): { name: string; policy: Record<string, unknown> }[] {
  const roleIds = Object.keys(s.resource.aws_iam_role ?? {}).filter((id) => rolePattern.test(id));
  if (roleIds.length !== 1) throw new Error(`rolePolicies: ${roleIds.length} roles match ${rolePattern}`);
  return resources(s, "aws_iam_role_policy")
    .filter(([, p]) => p.role === `\${aws_iam_role.${roleIds[0]}.id}`)
    .map(([id, p]) => ({ name: id, policy: iamPolicyJson(referencedPolicy(s, p.policy)) }));
}

/** A request of {@link decide}. */
export interface SimulatedRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
}

/**
 * AWS's decision on `request` by a principal of this account holding `policies` (identity
 * policies only: no resource policy, SCP or boundary): "Allowed", "ImplicitlyDenied" or
 * "ExplicitlyDenied".
 * @throws Error when the simulator refuses the input (an invalid policy, action, resource or context key)
 */
export async function decide(policies: { name: string; policy: Record<string, unknown> }[], request: SimulatedRequest): Promise<string> {
  const result: any = await runSimulation(
    {
      identityPolicies: policies as any,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: request.action,
        principal: `arn:aws:iam::${ACCOUNT}:role/test-principal`,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: request.context ?? {},
      },
    } as any,
    {},
  );
  if (result.resultType === "error") throw new Error(`iam-simulate refused the input: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}
