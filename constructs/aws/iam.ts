/**
 * Instance roles of the database nodes and the PgBouncer tier, and the least-privilege
 * statements they get.
 */
import { Construct } from "constructs";
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { TAG_CLUSTER, type ResolvedClusterSpec } from "../../src/cluster-spec";
import type { AwsEnvironment } from "./environment";
import { boundedName, clusterTags } from "../private/naming";
import { configPrefix } from "./bootstrap-object";

/** Props of {@link InstanceRole}. */
export interface InstanceRoleProps {
  readonly spec: ResolvedClusterSpec;
  /** What the instances are, for the role name and description: `node` or `pooler`. */
  readonly purpose: "node" | "pooler";
}

/**
 * An IAM role EC2 instances assume (trust: the `ec2.amazonaws.com` service only) and its
 * instance profile, named `managed-postgres-<cluster>-<purpose>` (at most 64 characters).
 * Permissions are added with {@link InstanceRole.addPolicy} as inline policies, so the role
 * carries nothing it was not given by this library.
 */
export class InstanceRole extends Construct {
  /** The role. */
  public readonly role: IamRole;
  /** The instance profile for launch templates. */
  public readonly instanceProfile: IamInstanceProfile;

  constructor(scope: Construct, id: string, props: InstanceRoleProps) {
    super(scope, id);
    const name = boundedName(`managed-postgres-${props.spec.name}-${props.purpose}`, 64);
    const trust = new DataAwsIamPolicyDocument(this, "trust", {
      statement: [
        {
          effect: "Allow",
          principals: [{ type: "Service", identifiers: ["ec2.amazonaws.com"] }],
          actions: ["sts:AssumeRole"],
        },
      ],
    });
    this.role = new IamRole(this, "role", {
      name,
      description: `managed-postgres ${props.spec.name}: ${props.purpose === "node" ? "database node" : "PgBouncer tier"} instances`,
      assumeRolePolicy: trust.json,
      tags: clusterTags(props.spec),
    });
    this.instanceProfile = new IamInstanceProfile(this, "instance-profile", {
      name,
      role: this.role.name,
      tags: clusterTags(props.spec),
    });
  }

  /** Adds an inline policy made of `statements` (each should carry a `sid`). */
  public addPolicy(id: string, statements: DataAwsIamPolicyDocumentStatement[]): IamRolePolicy {
    const doc = new DataAwsIamPolicyDocument(this, `${id}-document`, { statement: statements });
    return new IamRolePolicy(this, id, { name: id, role: this.role.id, policy: doc.json });
  }
}

/** What the node policy names. */
export interface NodePolicyTargets {
  readonly spec: ResolvedClusterSpec;
  readonly env: AwsEnvironment;
  /** The slots, by index: their ENI and data volume ids and their subnet's CIDR (tokens). */
  readonly slots: readonly SlotPolicyTarget[];
  /** ARN of the database nodes' instance profile (token): the only instances slot resources attach to. */
  readonly instanceProfileArn: string;
  /** Names of the slots' Auto Scaling groups (literals: known before apply). */
  readonly autoScalingGroupNames: readonly string[];
  readonly bucketArn: string;
  readonly kmsKeyArn: string;
  readonly secretArn: string;
  /** ARN of the PgBouncer tier's secret (distributed). */
  readonly poolerSecretArn?: string;
  /** ARN of the SSM parameter the CA certificate is published in. */
  readonly caParameterArn: string;
}

/** What the node policy names of one slot. */
export interface SlotPolicyTarget {
  /** Id of the slot's ENI (token). */
  readonly networkInterfaceId: string;
  /** Id of the slot's data volume (token). */
  readonly volumeId: string;
  /** IPv4 CIDR of the slot's subnet (token): its instances' primary interfaces are there. */
  readonly subnetCidr: string;
}

/**
 * Global IAM condition key: the private IPv4 address of the primary network interface of the
 * EC2 instance whose instance-profile credentials signed the request (IAM User Guide, "AWS
 * global condition context keys"; an `IpAddress` key).
 */
export const EC2_SOURCE_PRIVATE_IPV4 = "aws:Ec2InstanceSourcePrivateIPv4";

function ec2Arn(env: AwsEnvironment, resource: string): string {
  return `arn:${env.partition}:ec2:${env.region}:${env.accountId}:${resource}`;
}

/**
 * The database node's permissions: exactly what the node bootstrap and pgBackRest call.
 * - `ec2:DescribeNetworkInterfaces`, `ec2:DescribeVolumes`, `ec2:DescribeInstances` (the
 *   state of an instance still holding the slot) on `*`: EC2 Describe actions
 *   support no resource-level permissions, AWS requires `"Resource": "*"` for them (the
 *   only other wildcard resource is monitoring's `cloudwatch:PutMetricData`, scoped by
 *   namespace).
 * - Slot resources, one statement per slot: `ec2:AttachNetworkInterface`, `DetachNetworkInterface`,
 *   `AttachVolume`, `DetachVolume` on that slot's ENI and data volume (by ARN, tagged
 *   `managed-postgres:cluster = <name>`), only when the calling instance's primary interface is
 *   in that slot's subnet (`aws:Ec2InstanceSourcePrivateIPv4` within the subnet's CIDR): a node
 *   of slot 1 can neither take nor force-detach slot 0's ENI or volume. IAM cannot compare the
 *   instance's tags with the ENI's in one request (each resource of a request is authorized
 *   on its own), and one role per slot would replace the deployed role; the caller's subnet is
 *   what tells slots apart (each slot's Auto Scaling group launches in its own subnet).
 * - The instance side of attaching (`ec2:AttachNetworkInterface`, `ec2:AttachVolume` on
 *   `instance/*`): only instances launched with the database nodes' instance profile
 *   (`ec2:InstanceProfile`, a condition key of the `instance` resource of both actions in the
 *   Service Authorization Reference) and tagged `managed-postgres:cluster = <name>`; the
 *   PgBouncer tier's instances carry another profile. Detaching (`instance/*`): instances
 *   tagged with the cluster (a holder being terminated).
 * - `autoscaling:SetInstanceHealth` on the cluster's slot Auto Scaling groups (by name): a
 *   node that cannot take its slot marks itself Unhealthy so that its group replaces it.
 * - `autoscaling:DescribeAutoScalingGroups` on `*` (no resource-level permissions) and
 *   `autoscaling:TerminateInstanceInAutoScalingGroup` on the cluster's slot groups (by name,
 *   and tagged `managed-postgres:cluster = <name>`): the rolling maintenance compares its
 *   group's launch template version with its own and hands itself to the group. IAM has no
 *   condition key tying a role session to the group of its own instance, so a node could
 *   terminate another slot's instance of the same cluster; the maintenance never does.
 * - `secretsmanager:GetSecretValue`, `PutSecretValue` on the cluster secret (the first
 *   node writes the generated value; the others read it) and, distributed, on the PgBouncer
 *   tier's secret (the nodes issue the tier's certificate and keep that secret current).
 * - `ssm:GetParameter`, `ssm:PutParameter` on the CA certificate's parameter (published for clients).
 * - S3: `ListBucket` on the backup bucket, `GetObject`/`PutObject`/`DeleteObject` under
 *   `<cluster>/` (pgBackRest's repo1-path and the logical dumps; DeleteObject because
 *   pgBackRest expires its own backups).
 * - S3 `GetObject`/`GetObjectVersion` under `config/<cluster>/`: the nodes' bootstrap
 *   scripts (read only; Terraform writes them).
 * - KMS on the cluster key, only through S3 and Secrets Manager (`kms:ViaService`):
 *   `Decrypt`, `GenerateDataKey`; and `CreateGrant` through EC2 for AWS resources only,
 *   which attaching a CMK-encrypted volume requires.
 */
export function nodePolicyStatements(t: NodePolicyTargets): DataAwsIamPolicyDocumentStatement[] {
  const { env, spec } = t;
  const ownInstances = ec2Arn(env, "instance/*");
  const tagged = [{ test: "StringEquals", variable: `aws:ResourceTag/${TAG_CLUSTER}`, values: [spec.name] }];
  return [
    {
      sid: "DescribeSlotResources",
      effect: "Allow",
      actions: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVolumes", "ec2:DescribeInstances"],
      // EC2 Describe* actions do not support resource-level permissions: AWS requires "*".
      resources: ["*"],
    },
    ...t.slots.map((slot, i) => ({
      sid: `Slot${i}NetworkInterfaceAndVolume`,
      effect: "Allow",
      actions: ["ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface", "ec2:AttachVolume", "ec2:DetachVolume"],
      resources: [ec2Arn(env, `network-interface/${slot.networkInterfaceId}`), ec2Arn(env, `volume/${slot.volumeId}`)],
      condition: [...tagged, { test: "IpAddress", variable: EC2_SOURCE_PRIVATE_IPV4, values: [slot.subnetCidr] }],
    })),
    {
      sid: "AttachToNodeInstances",
      effect: "Allow",
      actions: ["ec2:AttachNetworkInterface", "ec2:AttachVolume"],
      resources: [ownInstances],
      condition: [{ test: "ArnEquals", variable: "ec2:InstanceProfile", values: [t.instanceProfileArn] }, ...tagged],
    },
    {
      sid: "DetachFromClusterInstances",
      effect: "Allow",
      actions: ["ec2:DetachNetworkInterface", "ec2:DetachVolume"],
      resources: [ownInstances],
      condition: tagged,
    },
    {
      sid: "MarkOwnInstanceUnhealthy",
      effect: "Allow",
      actions: ["autoscaling:SetInstanceHealth"],
      resources: t.autoScalingGroupNames.map(
        (name) => `arn:${env.partition}:autoscaling:${env.region}:${env.accountId}:autoScalingGroup:*:autoScalingGroupName/${name}`,
      ),
    },
    {
      // The rolling maintenance (docs/operations.md) reads its slot group's launch template version.
      sid: "DescribeSlotGroups",
      effect: "Allow",
      actions: ["autoscaling:DescribeAutoScalingGroups"],
      // Auto Scaling Describe* actions support no resource-level permissions: AWS requires "*".
      resources: ["*"],
    },
    {
      // The rolling maintenance hands a node to its own group (capacity kept) when the group's
      // launch template version is newer than the one the instance was launched from.
      sid: "ReplaceOwnInstanceInSlotGroup",
      effect: "Allow",
      actions: ["autoscaling:TerminateInstanceInAutoScalingGroup"],
      resources: t.autoScalingGroupNames.map(
        (name) => `arn:${env.partition}:autoscaling:${env.region}:${env.accountId}:autoScalingGroup:*:autoScalingGroupName/${name}`,
      ),
      condition: [{ test: "StringEquals", variable: `autoscaling:ResourceTag/${TAG_CLUSTER}`, values: [spec.name] }],
    },
    {
      sid: "ClusterSecretReadWrite",
      effect: "Allow",
      actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
      resources: [t.secretArn],
    },
    ...(t.poolerSecretArn === undefined
      ? []
      : [
          {
            sid: "PoolerSecretReadWrite",
            effect: "Allow",
            actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
            resources: [t.poolerSecretArn],
          },
        ]),
    {
      sid: "PublishCaCertificate",
      effect: "Allow",
      actions: ["ssm:GetParameter", "ssm:PutParameter"],
      resources: [t.caParameterArn],
    },
    {
      sid: "BackupBucketList",
      effect: "Allow",
      actions: ["s3:ListBucket"],
      resources: [t.bucketArn],
    },
    {
      sid: "BackupBucketObjects",
      effect: "Allow",
      actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      resources: [`${t.bucketArn}/${spec.name}/*`],
    },
    {
      sid: "ReadBootstrapObjects",
      effect: "Allow",
      // get-object --version-id needs GetObjectVersion
      actions: ["s3:GetObject", "s3:GetObjectVersion"],
      resources: [`${t.bucketArn}/${configPrefix(spec.name)}*`],
    },
    {
      sid: "ClusterKeyThroughS3AndSecretsManager",
      effect: "Allow",
      actions: ["kms:Decrypt", "kms:GenerateDataKey"],
      resources: [t.kmsKeyArn],
      condition: [
        {
          test: "StringEquals",
          variable: "kms:ViaService",
          values: [`s3.${env.region}.amazonaws.com`, `secretsmanager.${env.region}.amazonaws.com`],
        },
      ],
    },
    {
      sid: "ClusterKeyGrantsForEncryptedVolumes",
      effect: "Allow",
      actions: ["kms:CreateGrant"],
      resources: [t.kmsKeyArn],
      condition: [
        { test: "Bool", variable: "kms:GrantIsForAWSResource", values: ["true"] },
        { test: "StringEquals", variable: "kms:ViaService", values: [`ec2.${env.region}.amazonaws.com`] },
      ],
    },
  ];
}

/**
 * The PgBouncer tier's permissions: read its own secret (the auth user's password, the CA
 * certificate, the tier's certificate and key; never the cluster secret) and decrypt it with
 * the cluster key through Secrets Manager, for that secret only
 * (`kms:EncryptionContext:SecretARN`, the context Secrets Manager encrypts with).
 */
export function poolerPolicyStatements(env: AwsEnvironment, poolerSecretArn: string, kmsKeyArn: string): DataAwsIamPolicyDocumentStatement[] {
  return [
    {
      sid: "PoolerSecretRead",
      effect: "Allow",
      actions: ["secretsmanager:GetSecretValue"],
      resources: [poolerSecretArn],
    },
    {
      sid: "ClusterKeyThroughSecretsManagerForPoolerSecret",
      effect: "Allow",
      actions: ["kms:Decrypt"],
      resources: [kmsKeyArn],
      condition: [
        { test: "StringEquals", variable: "kms:ViaService", values: [`secretsmanager.${env.region}.amazonaws.com`] },
        { test: "StringEquals", variable: "kms:EncryptionContext:SecretARN", values: [poolerSecretArn] },
      ],
    },
  ];
}
