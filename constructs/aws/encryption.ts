/**
 * The cluster's customer-managed KMS key (CMK): data volumes, root volumes, the backup
 * bucket, the cluster secret and (monitoring) log groups and the alarm topic are
 * encrypted with it.
 */
import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { ResolvedClusterSpec } from "../../src/cluster-spec";
import type { AwsEnvironment } from "./environment";
import { clusterTags } from "../private/naming";
import { poolerSecretName } from "./secret";

/** Deletion window of the key, in days: the maximum AWS allows (7 to 30). */
export const KMS_DELETION_WINDOW_DAYS = 30;

/** Props of {@link ClusterKey}. */
export interface ClusterKeyProps {
  readonly spec: ResolvedClusterSpec;
  readonly env: AwsEnvironment;
  /**
   * ARN of the EC2 Auto Scaling service-linked role, which launches instances with
   * CMK-encrypted volumes and therefore must be allowed to use the key. The role must exist
   * before the key policy is applied (AWS rejects policies naming unknown principals);
   * create it once per account with
   * `aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com`.
   */
  readonly autoscalingServiceLinkedRoleArn: string;
  /** ARN of the database nodes' instance role. */
  readonly nodeRoleArn: string;
  /** ARN of the PgBouncer tier's instance role (distributed). */
  readonly poolerRoleArn?: string;
  /** Keep the key on `terraform destroy` (`lifecycle.prevent_destroy`). */
  readonly preventDestroy: boolean;
}

/**
 * A symmetric KMS key with yearly automatic rotation, a 30-day deletion window, the alias
 * `alias/managed-postgres/<cluster>` and a key policy that names its principals:
 * - the account root (administration; the AWS default statement that lets IAM policies,
 *   such as the instance roles' scoped ones, grant use of the key);
 * - the instance roles, for exactly their use: the nodes decrypt and generate data keys
 *   through S3 and Secrets Manager and create grants through EC2 for AWS resources
 *   (attaching encrypted volumes); the PgBouncer tier decrypts through Secrets Manager
 *   (`kms:ViaService` conditions; the roles' IAM policies say the same);
 * - the EC2 Auto Scaling service-linked role (launching instances with encrypted EBS
 *   volumes; AWS documents this exact statement set for ASGs and CMKs);
 * - CloudWatch Logs in this region, for log groups of this account only
 *   (`kms:EncryptionContext:aws:logs:arn` condition);
 * - CloudWatch, to publish alarms to an SNS topic encrypted with this key.
 * No statement has a wildcard principal. In a key policy `"Resource": "*"` means "this key".
 */
export class ClusterKey extends Construct {
  /** The key. */
  public readonly key: KmsKey;
  /** ARN of the key. */
  public readonly keyArn: string;
  /** The alias `alias/managed-postgres/<cluster>`. */
  public readonly alias: KmsAlias;

  constructor(scope: Construct, id: string, props: ClusterKeyProps) {
    super(scope, id);
    const { spec, env } = props;
    const root = `arn:${env.partition}:iam::${env.accountId}:root`;
    const policy = new DataAwsIamPolicyDocument(this, "policy", {
      statement: [
        {
          sid: "AccountAdministration",
          effect: "Allow",
          principals: [{ type: "AWS", identifiers: [root] }],
          // The AWS default key policy statement: without it the key becomes unmanageable.
          actions: ["kms:*"],
          resources: ["*"],
        },
        {
          sid: "NodeInstancesThroughS3AndSecretsManager",
          effect: "Allow",
          principals: [{ type: "AWS", identifiers: [props.nodeRoleArn] }],
          actions: ["kms:Decrypt", "kms:GenerateDataKey"],
          resources: ["*"],
          condition: [
            { test: "StringEquals", variable: "kms:ViaService", values: [`s3.${env.region}.amazonaws.com`, `secretsmanager.${env.region}.amazonaws.com`] },
          ],
        },
        {
          sid: "NodeInstancesGrantsForEncryptedVolumes",
          effect: "Allow",
          principals: [{ type: "AWS", identifiers: [props.nodeRoleArn] }],
          actions: ["kms:CreateGrant"],
          resources: ["*"],
          condition: [
            { test: "Bool", variable: "kms:GrantIsForAWSResource", values: ["true"] },
            { test: "StringEquals", variable: "kms:ViaService", values: [`ec2.${env.region}.amazonaws.com`] },
          ],
        },
        ...(props.poolerRoleArn === undefined
          ? []
          : [
              {
                sid: "PoolerInstancesThroughSecretsManager",
                effect: "Allow",
                principals: [{ type: "AWS", identifiers: [props.poolerRoleArn] }],
                actions: ["kms:Decrypt"],
                resources: ["*"],
                condition: [
                  { test: "StringEquals", variable: "kms:ViaService", values: [`secretsmanager.${env.region}.amazonaws.com`] },
                  // Only the PgBouncer tier's own secret (by name: its ARN depends on this key).
                  {
                    test: "StringLike",
                    variable: "kms:EncryptionContext:SecretARN",
                    values: [`arn:${env.partition}:secretsmanager:${env.region}:${env.accountId}:secret:${poolerSecretName(props.spec.name)}-??????`],
                  },
                ],
              },
            ]),
        {
          sid: "AutoScalingUseForEncryptedVolumes",
          effect: "Allow",
          principals: [{ type: "AWS", identifiers: [props.autoscalingServiceLinkedRoleArn] }],
          actions: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
          resources: ["*"],
        },
        {
          sid: "AutoScalingGrantsForEncryptedVolumes",
          effect: "Allow",
          principals: [{ type: "AWS", identifiers: [props.autoscalingServiceLinkedRoleArn] }],
          actions: ["kms:CreateGrant"],
          resources: ["*"],
          condition: [{ test: "Bool", variable: "kms:GrantIsForAWSResource", values: ["true"] }],
        },
        {
          sid: "CloudWatchLogsOfThisAccount",
          effect: "Allow",
          principals: [{ type: "Service", identifiers: [`logs.${env.region}.amazonaws.com`] }],
          actions: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
          resources: ["*"],
          condition: [
            {
              test: "ArnLike",
              variable: "kms:EncryptionContext:aws:logs:arn",
              values: [`arn:${env.partition}:logs:${env.region}:${env.accountId}:log-group:*`],
            },
          ],
        },
        {
          sid: "CloudWatchAlarmsToEncryptedTopic",
          effect: "Allow",
          principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }],
          actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
          resources: ["*"],
          condition: [{ test: "StringEquals", variable: "aws:SourceAccount", values: [env.accountId] }],
        },
      ],
    });
    this.key = new KmsKey(this, "key", {
      description: `managed-postgres ${spec.name}: data volumes, backups, secret and logs`,
      enableKeyRotation: true,
      deletionWindowInDays: KMS_DELETION_WINDOW_DAYS,
      policy: policy.json,
      tags: clusterTags(spec),
      lifecycle: { preventDestroy: props.preventDestroy },
    });
    this.keyArn = this.key.arn;
    this.alias = new KmsAlias(this, "alias", {
      name: `alias/managed-postgres/${spec.name}`,
      targetKeyId: this.key.keyId,
    });
  }
}
