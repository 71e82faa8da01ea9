/**
 * The backup bucket: pgBackRest's repository (full backups and the WAL archive, under
 * `<cluster>/`) and the logical dumps (under `<cluster>/logical/`).
 */
import { Construct } from "constructs";
import type { TerraformResource } from "cdktf";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import type { ResolvedClusterSpec } from "../../src/cluster-spec";
import { clusterTags } from "../private/naming";

/** Days after which an incomplete multipart upload is aborted (an interrupted backup's parts). */
export const ABORT_INCOMPLETE_UPLOAD_DAYS = 7;

/** Props of {@link BackupBucket}. */
export interface BackupBucketProps {
  readonly spec: ResolvedClusterSpec;
  /** ARN of the cluster's KMS key (SSE-KMS default encryption). */
  readonly kmsKeyArn: string;
  /**
   * Days a noncurrent object version (an object pgBackRest expired or overwrote) is kept
   * before S3 deletes it: the window in which a deleted backup can still be recovered.
   */
  readonly noncurrentVersionExpirationDays: number;
  /** Keep the bucket on `terraform destroy` (`lifecycle.prevent_destroy`). */
  readonly preventDestroy: boolean;
}

/**
 * An S3 bucket (name prefix `<cluster>-backups-`, `force_destroy` false) with:
 * - versioning enabled;
 * - default encryption SSE-KMS with the cluster key and an S3 bucket key (fewer KMS calls);
 * - all four public access block flags;
 * - object ownership `BucketOwnerEnforced` (ACLs disabled);
 * - a policy denying any request without TLS (`aws:SecureTransport` false) and any upload
 *   that asks for another encryption than SSE-KMS or another key than the cluster's;
 * - lifecycle rules, none of which deletes what pgBackRest still needs (pgBackRest expires
 *   its own full backups and WAL by `backup.retentionDays`; an S3 expiry under
 *   `<cluster>/backup` or `<cluster>/archive` could break a restore chain):
 *   1. `abort-incomplete-multipart-uploads`: after 7 days, whole bucket;
 *   2. `cold-storage`: current versions move to STANDARD_IA after
 *      `backup.coldStorageAfterDays` (S3 leaves objects under 128 KiB, such as
 *      `backup.info`, in STANDARD);
 *   3. `logical-dump-expiry`: objects under `<cluster>/logical/` expire after
 *      `backup.logicalDump.retentionDays`;
 *   4. `noncurrent-version-expiry`: noncurrent versions are deleted after
 *      `noncurrentVersionExpirationDays`, and expired delete markers removed.
 */
export class BackupBucket extends Construct {
  /** The bucket. */
  public readonly bucket: S3Bucket;
  /** Bucket name (token). */
  public readonly bucketName: string;
  /** Bucket ARN (token). */
  public readonly bucketArn: string;
  /** Versioning and default encryption: what an object written by Terraform must wait for. */
  public readonly configured: TerraformResource[];

  constructor(scope: Construct, id: string, props: BackupBucketProps) {
    super(scope, id);
    const { spec } = props;
    this.bucket = new S3Bucket(this, "bucket", {
      // S3 appends 26 characters to a prefix; prefixes are limited to 37.
      bucketPrefix: `${spec.name.slice(0, 28).replace(/-+$/, "")}-backups-`,
      forceDestroy: false,
      tags: clusterTags(spec),
      lifecycle: { preventDestroy: props.preventDestroy },
    });
    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    const bucket = this.bucket.id;

    const versioning = new S3BucketVersioningA(this, "versioning", {
      bucket,
      versioningConfiguration: { status: "Enabled" },
    });
    const encryption = new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket,
      rule: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.kmsKeyArn },
          bucketKeyEnabled: true,
        },
      ],
    });
    this.configured = [versioning, encryption];
    const publicAccess = new S3BucketPublicAccessBlock(this, "public-access-block", {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, "ownership", {
      bucket,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    const everyone = [{ type: "*", identifiers: ["*"] }];
    const policy = new DataAwsIamPolicyDocument(this, "policy-document", {
      statement: [
        {
          sid: "DenyInsecureTransport",
          effect: "Deny",
          principals: everyone,
          actions: ["s3:*"],
          resources: [this.bucketArn, `${this.bucketArn}/*`],
          condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
        },
        {
          sid: "DenyOtherEncryptionThanSseKms",
          effect: "Deny",
          principals: everyone,
          actions: ["s3:PutObject"],
          resources: [`${this.bucketArn}/*`],
          // Only a request that names another encryption is refused. Without the header the
          // bucket's default encryption (SSE-KMS, cluster key) applies, and UploadPart /
          // CompleteMultipartUpload never carry it — `StringNotEqualsIfExists` would deny them
          // ("If the key is not present, evaluate the condition element as true": IAM User Guide,
          // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists),
          // and with it every multipart upload (pgBackRest files above 5 MiB, dumps above 8 MiB).
          condition: [
            { test: "StringNotEquals", variable: "s3:x-amz-server-side-encryption", values: ["aws:kms"] },
            { test: "Null", variable: "s3:x-amz-server-side-encryption", values: ["false"] },
          ],
        },
        {
          sid: "DenyOtherKmsKey",
          effect: "Deny",
          principals: everyone,
          actions: ["s3:PutObject"],
          resources: [`${this.bucketArn}/*`],
          // as above: only a present, different key id (multipart parts carry none)
          condition: [
            { test: "StringNotEquals", variable: "s3:x-amz-server-side-encryption-aws-kms-key-id", values: [props.kmsKeyArn] },
            { test: "Null", variable: "s3:x-amz-server-side-encryption-aws-kms-key-id", values: ["false"] },
          ],
        },
      ],
    });
    new S3BucketPolicy(this, "policy", {
      bucket,
      policy: policy.json,
      // A bucket policy is refused while the public access block is being applied.
      dependsOn: [publicAccess],
    });
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      bucket,
      rule: [
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: [{ prefix: "" }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: ABORT_INCOMPLETE_UPLOAD_DAYS }],
        },
        {
          id: "cold-storage",
          status: "Enabled",
          filter: [{ prefix: "" }],
          transition: [{ days: spec.backup.coldStorageAfterDays, storageClass: "STANDARD_IA" }],
        },
        {
          id: "logical-dump-expiry",
          status: "Enabled",
          filter: [{ prefix: `${spec.name}/logical/` }],
          expiration: [{ days: spec.backup.logicalDump.retentionDays }],
        },
        {
          id: "noncurrent-version-expiry",
          status: "Enabled",
          filter: [{ prefix: "" }],
          noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionExpirationDays }],
          expiration: [{ expiredObjectDeleteMarker: true }],
        },
      ],
    });
  }
}
