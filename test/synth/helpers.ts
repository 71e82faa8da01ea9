import { App, TerraformStack, Testing } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres, type ManagedPostgresProps } from "../../constructs/aws";

/** Synthesized Terraform JSON of one stack. */
export interface Synth {
  readonly resource: Record<string, Record<string, any>>;
  readonly data: Record<string, Record<string, any>>;
  readonly output: Record<string, { value: unknown; description?: string }>;
  readonly terraform: any;
  readonly variable?: Record<string, any>;
}

/** Literal network ids for a model. */
export function network(deployment: "standalone" | "distributed") {
  return {
    vpcId: "vpc-0a1b2c3d",
    subnetIds: deployment === "distributed" ? ["subnet-0a000001", "subnet-0b000002", "subnet-0c000003"] : ["subnet-0a000001"],
    allowedCidrs: ["10.20.0.0/16"],
    allowedSecurityGroupIds: ["sg-0123456789abcdef0"],
  };
}

/** Valid props of a cluster of the given model. */
export function props(deployment: "standalone" | "distributed", overrides: Partial<ManagedPostgresProps> = {}): ManagedPostgresProps {
  return {
    name: deployment === "distributed" ? "orders" : "cms",
    deployment,
    size: "M",
    storageGiB: 50,
    network: network(deployment),
    tags: { team: "platform" },
    ...overrides,
  };
}

/** A stack with the AWS provider. */
export function emptyStack(): { app: App; stack: TerraformStack } {
  const app = Testing.app();
  const stack = new TerraformStack(app, "test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  return { app, stack };
}

/** Synthesizes a stack to parsed JSON (missing sections become empty objects). */
export function synthStack(stack: TerraformStack): Synth {
  const json = JSON.parse(Testing.synth(stack));
  return { resource: json.resource ?? {}, data: json.data ?? {}, output: json.output ?? {}, terraform: json.terraform, variable: json.variable };
}

/** Synthesizes one ManagedPostgres (id = its name) in a fresh stack. */
export function synthCluster(p: ManagedPostgresProps): Synth & { cluster: ManagedPostgres; text: string } {
  const { stack } = emptyStack();
  const cluster = new ManagedPostgres(stack, p.name, p);
  const text = Testing.synth(stack);
  const json = JSON.parse(text);
  return { cluster, text, resource: json.resource ?? {}, data: json.data ?? {}, output: json.output ?? {}, terraform: json.terraform, variable: json.variable };
}

/** Every resource of a type, as [logical id, config] pairs. */
export function resources(s: Synth, type: string): [string, any][] {
  return Object.entries(s.resource[type] ?? {});
}

/** Number of resources per type. */
export function inventory(s: Synth): Record<string, number> {
  return Object.fromEntries(Object.entries(s.resource).map(([t, r]) => [t, Object.keys(r).length]));
}

/** Statements of every aws_iam_policy_document data source whose id matches. */
export function policyStatements(s: Synth, idPattern: RegExp): any[] {
  return Object.entries(s.data.aws_iam_policy_document ?? {})
    .filter(([id]) => idPattern.test(id))
    .flatMap(([, doc]) => doc.statement ?? []);
}

/** Policy documents referenced by a resource attribute, e.g. an aws_iam_role_policy's `policy`. */
export function referencedPolicy(s: Synth, reference: string): any {
  const m = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(reference);
  if (!m) throw new Error(`not a policy document reference: ${reference}`);
  return s.data.aws_iam_policy_document[m[1]];
}

/** Resource types that take no tags in the AWS provider (split S3 resources, aliases, inline policies). */
export const UNTAGGABLE = new Set([
  "aws_kms_alias",
  "aws_iam_role_policy",
  "aws_s3_bucket_versioning",
  "aws_s3_bucket_server_side_encryption_configuration",
  "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_ownership_controls",
  "aws_s3_bucket_policy",
  "aws_s3_bucket_lifecycle_configuration",
  "aws_cloudwatch_dashboard",
  "aws_autoscaling_group", // tagged with `tag` blocks, checked separately
  // S3 object tags are limited to 10 (more user tags would fail the apply) and are no
  // cost-allocation tags; the bucket carries the cluster's tags.
  "aws_s3_object",
]);
