/**
 * `BackupIdentity`: what lets the database pods write their pgBackRest repository on S3 —
 * the backup bucket, its KMS key and the IAM role for the service account (IRSA).
 */
import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { ResolvedClusterSpec } from "../../src/cluster-spec";
import { BackupBucket } from "../aws/backup-bucket";
import { boundedName, clusterTags } from "../private/naming";

/** Props of {@link BackupIdentity}. */
export interface BackupIdentityProps {
  readonly spec: ResolvedClusterSpec;
  /** Namespace of the database pods' service account (`<cluster>`). */
  readonly namespace: string;
  /** ARN of the EKS cluster's IAM OIDC identity provider. */
  readonly oidcProviderArn: string;
  /** OIDC issuer of the EKS cluster, without `https://`. */
  readonly oidcIssuer: string;
  /** Customer-managed KMS key of the bucket. @default - a new key with rotation, 30-day deletion window */
  readonly kmsKeyArn?: string;
  /** Days a noncurrent object version stays in the bucket. */
  readonly noncurrentVersionExpirationDays: number;
  /** `prevent_destroy` on the key and the bucket. */
  readonly preventDestroy: boolean;
}

/**
 * The backup bucket (`BackupBucket`), a KMS key unless `kmsKeyArn`, the IAM role
 * `<cluster>-<namespace>-backup` (at most 64 characters, `boundedName`) trusted by the OIDC
 * provider for exactly `system:serviceaccount:<namespace>:<cluster>` and audience
 * `sts.amazonaws.com`, and its policy `pgbackrest-repository` (list the `<cluster>/` prefix,
 * read/write/delete under it, use the key).
 *
 * Its resources are created in `scope` (the `ManagedPostgresKubernetes`), not under this
 * construct, so their construct paths and Terraform addresses stay those the cluster has
 * always had (`<cluster>/backup-role`, …): an existing state keeps matching.
 */
export class BackupIdentity extends Construct {
  /** The backup bucket. */
  public readonly bucket: BackupBucket;
  /** ARN of the bucket's KMS key (token). */
  public readonly kmsKeyArn: string;
  /** The IAM role the database pods assume (IRSA). */
  public readonly role: IamRole;

  constructor(scope: Construct, id: string, props: BackupIdentityProps) {
    super(scope, id);
    const { spec, namespace: ns, preventDestroy } = props;
    const name = spec.name;
    const tags = clusterTags(spec);
    this.kmsKeyArn =
      props.kmsKeyArn ??
      new KmsKey(scope, "backup-key", {
        description: `managed-postgres ${name} (Kubernetes): backup bucket`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
        lifecycle: { preventDestroy },
      }).arn;
    this.bucket = new BackupBucket(scope, "backup-bucket", {
      spec,
      kmsKeyArn: this.kmsKeyArn,
      noncurrentVersionExpirationDays: props.noncurrentVersionExpirationDays,
      preventDestroy,
    });
    const issuer = props.oidcIssuer;
    const trust = new DataAwsIamPolicyDocument(scope, "backup-role-trust", {
      statement: [
        {
          sid: "ServiceAccountOfTheDatabasePods",
          effect: "Allow",
          principals: [{ type: "Federated", identifiers: [props.oidcProviderArn] }],
          actions: ["sts:AssumeRoleWithWebIdentity"],
          condition: [
            { test: "StringEquals", variable: `${issuer}:sub`, values: [`system:serviceaccount:${ns}:${name}`] },
            { test: "StringEquals", variable: `${issuer}:aud`, values: ["sts.amazonaws.com"] },
          ],
        },
      ],
    });
    this.role = new IamRole(scope, "backup-role", {
      // IAM role names are account-wide: the namespace keeps two Kubernetes clusters' `orders` apart.
      name: boundedName(`${name}-${ns}-backup`, 64),
      description: `pgBackRest of managed-postgres ${name} in Kubernetes namespace ${ns} (IRSA)`,
      assumeRolePolicy: trust.json,
      tags,
    });
    const bucketArn = this.bucket.bucketArn;
    const permissions = new DataAwsIamPolicyDocument(scope, "backup-role-permissions", {
      statement: [
        {
          sid: "ListRepository",
          effect: "Allow",
          actions: ["s3:ListBucket"],
          resources: [bucketArn],
          condition: [{ test: "StringLike", variable: "s3:prefix", values: [`${name}/*`, name] }],
        },
        {
          sid: "ReadWriteRepository",
          effect: "Allow",
          actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
          resources: [`${bucketArn}/${name}/*`],
        },
        {
          sid: "UseBucketKey",
          effect: "Allow",
          actions: ["kms:Decrypt", "kms:GenerateDataKey"],
          resources: [this.kmsKeyArn],
        },
      ],
    });
    new IamRolePolicy(scope, "backup-role-policy", {
      role: this.role.id,
      name: "pgbackrest-repository",
      policy: permissions.json,
    });
  }
}
