import { stackFromTerraformJson, type TfStack } from "../../src/rules/policy";

type Blocks = Record<string, Record<string, Record<string, unknown>>>;

/** A stack from `resource` (and optional `data`) sections, as cdktf writes them. */
export function tfStack(resource: Blocks, data: Blocks = {}): TfStack {
  return stackFromTerraformJson({ resource, data }, "test");
}

const B = "${aws_s3_bucket.b.id}";

/** A bucket with every S3 companion compliant; `omit`/`patch` make one non-compliant. */
export function bucketStack(patch: Partial<Blocks> = {}, omit: string[] = []): TfStack {
  const all: Blocks = {
    aws_s3_bucket: { b: { bucket_prefix: "backups-" } },
    aws_s3_bucket_versioning: { v: { bucket: B, versioning_configuration: { status: "Enabled" } } },
    aws_s3_bucket_server_side_encryption_configuration: {
      e: { bucket: B, rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: "${aws_kms_key.k.arn}" } }] },
    },
    aws_s3_bucket_public_access_block: {
      p: { bucket: B, block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true },
    },
    aws_s3_bucket_ownership_controls: { o: { bucket: B, rule: { object_ownership: "BucketOwnerEnforced" } } },
    aws_s3_bucket_policy: {
      tls: {
        bucket: B,
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: ["${aws_s3_bucket.b.arn}", "${aws_s3_bucket.b.arn}/*"],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      },
    },
    aws_s3_bucket_lifecycle_configuration: {
      l: { bucket: B, rule: [{ id: "abort", status: "Enabled", filter: {}, abort_incomplete_multipart_upload: { days_after_initiation: 7 } }] },
    },
  };
  for (const o of omit) delete all[o];
  return tfStack({ ...all, ...(patch as Blocks) });
}

/** A launch template that passes every compute rule, with `patch` merged in. */
export function launchTemplate(patch: Record<string, unknown> = {}): TfStack {
  return tfStack({
    aws_launch_template: {
      lt: {
        name_prefix: "node-",
        metadata_options: { http_tokens: "required", http_put_response_hop_limit: 1, http_endpoint: "enabled" },
        block_device_mappings: [{ device_name: "/dev/xvda", ebs: { encrypted: "true", kms_key_id: "${aws_kms_key.k.arn}", volume_size: 20 } }],
        network_interfaces: [{ associate_public_ip_address: "false", security_groups: ["sg-1"] }],
        ...patch,
      },
    },
  });
}

/** An inline role policy with the given statements (JSON form). */
export function rolePolicy(statements: object[]): TfStack {
  return tfStack({ aws_iam_role_policy: { p: { role: "r", policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) } } });
}
