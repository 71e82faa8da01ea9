/**
 * Data at rest: the S3 backup bucket (and any other bucket), KMS keys, Secrets Manager.
 * An `aws_s3_bucket` is judged together with its split `aws_s3_bucket_*` resources
 * (provider-aws ≥ 4), found by their `bucket` argument.
 */
import { policyStatements } from "../policy-document";
import { block, blocks, isTrue, nonEmpty } from "../../../terraform";
import { bucketCompanions } from "../terraform";
import type { PolicyRule, RuleResult, TfResource, TfStack } from "../types";

const OK: RuleResult = { status: "compliant" };
const NA: RuleResult = { status: "not-applicable" };
const bad = (detail: string): RuleResult => ({ status: "non-compliant", detail });

/** MP-S3-1: versioning enabled. */
export const S3_VERSIONING: PolicyRule = {
  id: "MP-S3-1",
  level: "error",
  info: "S3 buckets have versioning enabled (an aws_s3_bucket_versioning with status \"Enabled\").",
  explanation:
    "Backups and WAL archives must survive an overwrite or a delete by a compromised node or a wrong lifecycle rule; versioning keeps the previous object. Add an aws_s3_bucket_versioning with versioning_configuration.status = \"Enabled\".",
  resourceTypes: ["aws_s3_bucket"],
  checkov: ["CKV_AWS_21"],
  fsbp: ["S3.14"],
  evaluate(bucket: TfResource, stack: TfStack) {
    if (block(bucket.config.versioning) && isTrue(block(bucket.config.versioning)!.enabled)) return OK;
    const v = bucketCompanions(stack, bucket, "aws_s3_bucket_versioning");
    if (v.some((r) => block(r.config.versioning_configuration)?.status === "Enabled")) return OK;
    return bad(v.length === 0 ? "no aws_s3_bucket_versioning for this bucket" : "versioning_configuration.status is not \"Enabled\"");
  },
};

function kmsDefault(rules: unknown): boolean {
  return blocks(rules).some((rule) => {
    const d = block(rule.apply_server_side_encryption_by_default);
    return d !== undefined && (d.sse_algorithm === "aws:kms" || d.sse_algorithm === "aws:kms:dsse") && nonEmpty(d.kms_master_key_id);
  });
}

/** MP-S3-2: default encryption SSE-KMS with a customer-managed key. */
export const S3_SSE_KMS: PolicyRule = {
  id: "MP-S3-2",
  level: "error",
  info: "S3 buckets encrypt by default with SSE-KMS and a named customer-managed key.",
  explanation:
    "Cloud Temple Managed PostgreSQL: backups encrypted at rest. SSE-KMS with the cluster's CMK puts every read of a backup under a key policy and in CloudTrail; SSE-S3 or the AWS-managed key does not. Add an aws_s3_bucket_server_side_encryption_configuration with sse_algorithm \"aws:kms\" and kms_master_key_id.",
  resourceTypes: ["aws_s3_bucket"],
  checkov: ["CKV_AWS_145"],
  fsbp: ["S3.17"],
  evaluate(bucket, stack) {
    const inline = block(bucket.config.server_side_encryption_configuration);
    if (inline && kmsDefault(inline.rule)) return OK;
    const c = bucketCompanions(stack, bucket, "aws_s3_bucket_server_side_encryption_configuration");
    if (c.some((r) => kmsDefault(r.config.rule))) return OK;
    return bad(c.length === 0 ? "no aws_s3_bucket_server_side_encryption_configuration for this bucket" : "no rule with sse_algorithm aws:kms and a kms_master_key_id");
  },
};

const PAB_FLAGS = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] as const;

/** MP-S3-3: all four public access block flags. */
export const S3_PUBLIC_ACCESS_BLOCK: PolicyRule = {
  id: "MP-S3-3",
  level: "error",
  info: "S3 buckets have a public access block with all four flags true.",
  explanation:
    "Cloud Temple Managed PostgreSQL: nothing reachable from the internet. The bucket-level public access block stops a later ACL or bucket policy from publishing backups. Add an aws_s3_bucket_public_access_block with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets all true.",
  resourceTypes: ["aws_s3_bucket"],
  checkov: ["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"],
  fsbp: ["S3.8"],
  evaluate(bucket, stack) {
    const c = bucketCompanions(stack, bucket, "aws_s3_bucket_public_access_block");
    if (c.length === 0) return bad("no aws_s3_bucket_public_access_block for this bucket");
    const missing = PAB_FLAGS.filter((f) => !c.some((r) => isTrue(r.config[f])));
    return missing.length === 0 ? OK : bad(`not true: ${missing.join(", ")}`);
  },
};

/** MP-S3-4: object ownership BucketOwnerEnforced (ACLs disabled). */
export const S3_OWNERSHIP: PolicyRule = {
  id: "MP-S3-4",
  level: "error",
  info: "S3 buckets disable ACLs (aws_s3_bucket_ownership_controls with object_ownership \"BucketOwnerEnforced\").",
  explanation:
    "With ACLs disabled, access is decided by IAM and the bucket policy alone, and every object belongs to the bucket owner. Add an aws_s3_bucket_ownership_controls with rule.object_ownership = \"BucketOwnerEnforced\".",
  resourceTypes: ["aws_s3_bucket"],
  checkov: [],
  fsbp: ["S3.12"],
  evaluate(bucket, stack) {
    const c = bucketCompanions(stack, bucket, "aws_s3_bucket_ownership_controls");
    if (c.some((r) => blocks(r.config.rule).some((x) => x.object_ownership === "BucketOwnerEnforced"))) return OK;
    return bad(c.length === 0 ? "no aws_s3_bucket_ownership_controls for this bucket" : "object_ownership is not BucketOwnerEnforced");
  },
};

/** MP-S3-5: bucket policy denies requests without TLS. */
export const S3_TLS_ONLY: PolicyRule = {
  id: "MP-S3-5",
  level: "error",
  info: "S3 buckets have a bucket policy that denies every request made without TLS (aws:SecureTransport false).",
  explanation:
    "Cloud Temple Managed PostgreSQL: encryption in transit. A Deny statement on aws:SecureTransport = false refuses plain-HTTP access whatever the client does. Add an aws_s3_bucket_policy with such a statement for the bucket and its objects.",
  resourceTypes: ["aws_s3_bucket"],
  checkov: [],
  fsbp: ["S3.5"],
  evaluate(bucket, stack) {
    const c = bucketCompanions(stack, bucket, "aws_s3_bucket_policy");
    if (c.length === 0) return bad("no aws_s3_bucket_policy for this bucket");
    for (const p of c) {
      const stmts = policyStatements(p.config.policy, stack);
      if (!stmts) continue;
      const denies = stmts.some(
        (s) =>
          s.effect === "Deny" &&
          s.conditions.some((k) => k.test === "Bool" && k.variable === "aws:SecureTransport" && k.values.includes("false")),
      );
      if (denies) return OK;
    }
    return bad("the bucket policy has no Deny statement on aws:SecureTransport = false (or it cannot be analysed)");
  },
};

/** MP-S3-6: lifecycle aborts incomplete multipart uploads. */
export const S3_LIFECYCLE_ABORT: PolicyRule = {
  id: "MP-S3-6",
  level: "warning",
  info: "S3 buckets have an enabled lifecycle rule that aborts incomplete multipart uploads.",
  explanation:
    "pgBackRest uploads large backup files in parts; an interrupted upload leaves parts that are billed and never listed. Add an aws_s3_bucket_lifecycle_configuration rule (status \"Enabled\") with abort_incomplete_multipart_upload.days_after_initiation.",
  resourceTypes: ["aws_s3_bucket"],
  checkov: ["CKV_AWS_300"],
  fsbp: ["S3.13"],
  evaluate(bucket, stack) {
    const c = bucketCompanions(stack, bucket, "aws_s3_bucket_lifecycle_configuration");
    const ok = c.some((r) =>
      blocks(r.config.rule).some((x) => x.status === "Enabled" && block(x.abort_incomplete_multipart_upload)?.days_after_initiation !== undefined),
    );
    if (ok) return OK;
    return bad(c.length === 0 ? "no aws_s3_bucket_lifecycle_configuration for this bucket" : "no enabled rule with abort_incomplete_multipart_upload");
  },
};

/** MP-KMS-1: customer-managed keys rotate. */
export const KMS_ROTATION: PolicyRule = {
  id: "MP-KMS-1",
  level: "error",
  info: "Symmetric customer-managed KMS keys have automatic rotation enabled.",
  explanation:
    "Rotation limits how much data one key version protects; KMS keeps old versions for decryption, so nothing breaks. Set enable_key_rotation = true.",
  resourceTypes: ["aws_kms_key"],
  checkov: ["CKV_AWS_7"],
  fsbp: ["KMS.4"],
  evaluate(key) {
    const spec = key.config.customer_master_key_spec;
    if (spec !== undefined && spec !== "SYMMETRIC_DEFAULT") return NA;
    return isTrue(key.config.enable_key_rotation) ? OK : bad("enable_key_rotation is not true");
  },
};

/** MP-SM-1: secrets encrypted with a customer-managed key. */
export const SECRET_CMK: PolicyRule = {
  id: "MP-SM-1",
  level: "error",
  info: "Secrets Manager secrets are encrypted with a named customer-managed KMS key.",
  explanation:
    "The cluster secret holds the superuser password and the CA key. With the cluster CMK, reading it needs kms:Decrypt under the key policy as well as secretsmanager:GetSecretValue. Set kms_key_id.",
  resourceTypes: ["aws_secretsmanager_secret"],
  checkov: ["CKV_AWS_149"],
  fsbp: [],
  evaluate(secret) {
    return nonEmpty(secret.config.kms_key_id) ? OK : bad("kms_key_id is not set (the AWS-managed key aws/secretsmanager is used)");
  },
};

/** The storage rules. */
export const STORAGE_RULES: readonly PolicyRule[] = [
  S3_VERSIONING,
  S3_SSE_KMS,
  S3_PUBLIC_ACCESS_BLOCK,
  S3_OWNERSHIP,
  S3_TLS_ONLY,
  S3_LIFECYCLE_ABORT,
  KMS_ROTATION,
  SECRET_CMK,
];
