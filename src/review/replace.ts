/**
 * Attributes whose change makes the AWS provider replace the resource (ForceNew in
 * hashicorp/terraform-provider-aws 5.x/6.x schemas, the ones this library's resources use).
 *
 * Used only when reviewing two synth outputs: Terraform's plan says `replace` itself
 * (`change.actions` = `["delete","create"]`, with `replace_paths`). A path matches when the
 * changed attribute path equals the entry or starts with it followed by `.` or `[`.
 *
 * | resource type | replace-forcing attributes |
 * |---|---|
 * | aws_ebs_volume | availability_zone, snapshot_id, encrypted, kms_key_id, outpost_arn |
 * | aws_network_interface | subnet_id, private_ip_list_enabled |
 * | aws_kms_key | customer_master_key_spec, key_usage, multi_region, custom_key_store_id |
 * | aws_kms_alias | name, name_prefix |
 * | aws_s3_bucket | bucket, bucket_prefix, object_lock_enabled |
 * | aws_s3_bucket_* (policy, versioning, encryption, lifecycle, public access block, ownership) | bucket, expected_bucket_owner |
 * | aws_secretsmanager_secret | name, name_prefix |
 * | aws_lb | name, name_prefix, internal, load_balancer_type |
 * | aws_lb_target_group | name, name_prefix, port, protocol, vpc_id, target_type |
 * | aws_lb_listener | load_balancer_arn |
 * | aws_security_group | name, name_prefix, vpc_id, description |
 * | aws_security_group_rule | every argument (type, from_port, to_port, protocol, cidr_blocks, ipv6_cidr_blocks, source_security_group_id, self, security_group_id, prefix_list_ids) |
 * | aws_launch_template | name, name_prefix |
 * | aws_autoscaling_group | name, name_prefix |
 * | aws_instance | ami, availability_zone, subnet_id, private_ip, associate_public_ip_address, ebs_block_device |
 * | aws_iam_role | name, name_prefix |
 * | aws_iam_instance_profile | name, name_prefix |
 * | aws_iam_role_policy | name, role |
 * | aws_iam_role_policy_attachment | role, policy_arn |
 * | aws_cloudwatch_log_group | name, name_prefix |
 * | aws_cloudwatch_metric_alarm | alarm_name |
 * | aws_sns_topic | name, name_prefix, fifo_topic |
 * | aws_ssm_parameter | name |
 */
export const REPLACE_FORCING_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  aws_ebs_volume: ["availability_zone", "snapshot_id", "encrypted", "kms_key_id", "outpost_arn"],
  aws_network_interface: ["subnet_id", "private_ip_list_enabled"],
  aws_kms_key: ["customer_master_key_spec", "key_usage", "multi_region", "custom_key_store_id"],
  aws_kms_alias: ["name", "name_prefix"],
  aws_s3_bucket: ["bucket", "bucket_prefix", "object_lock_enabled"],
  aws_s3_bucket_policy: ["bucket"],
  aws_s3_bucket_versioning: ["bucket", "expected_bucket_owner"],
  aws_s3_bucket_server_side_encryption_configuration: ["bucket", "expected_bucket_owner"],
  aws_s3_bucket_lifecycle_configuration: ["bucket", "expected_bucket_owner"],
  aws_s3_bucket_public_access_block: ["bucket"],
  aws_s3_bucket_ownership_controls: ["bucket"],
  aws_secretsmanager_secret: ["name", "name_prefix"],
  aws_lb: ["name", "name_prefix", "internal", "load_balancer_type"],
  aws_lb_target_group: ["name", "name_prefix", "port", "protocol", "vpc_id", "target_type"],
  aws_lb_listener: ["load_balancer_arn"],
  aws_security_group: ["name", "name_prefix", "vpc_id", "description"],
  aws_security_group_rule: [
    "type",
    "from_port",
    "to_port",
    "protocol",
    "cidr_blocks",
    "ipv6_cidr_blocks",
    "source_security_group_id",
    "self",
    "security_group_id",
    "prefix_list_ids",
  ],
  aws_launch_template: ["name", "name_prefix"],
  aws_autoscaling_group: ["name", "name_prefix"],
  aws_instance: ["ami", "availability_zone", "subnet_id", "private_ip", "associate_public_ip_address", "ebs_block_device"],
  aws_iam_role: ["name", "name_prefix"],
  aws_iam_instance_profile: ["name", "name_prefix"],
  aws_iam_role_policy: ["name", "role"],
  aws_iam_role_policy_attachment: ["role", "policy_arn"],
  aws_cloudwatch_log_group: ["name", "name_prefix"],
  aws_cloudwatch_metric_alarm: ["alarm_name"],
  aws_sns_topic: ["name", "name_prefix", "fifo_topic"],
  aws_ssm_parameter: ["name"],
};

/**
 * The changed paths of a resource of `type` that force its replacement, per
 * {@link REPLACE_FORCING_ATTRIBUTES}.
 * @param type resource type, e.g. `aws_ebs_volume`
 * @param changedPaths attribute paths that differ, e.g. `["size", "availability_zone"]`
 * @returns the subset that forces replacement (empty: an in-place update)
 */
export function replaceForcingPaths(type: string, changedPaths: readonly string[]): string[] {
  const forcing = REPLACE_FORCING_ATTRIBUTES[type] ?? [];
  return changedPaths.filter((p) => forcing.some((f) => p === f || p.startsWith(`${f}.`) || p.startsWith(`${f}[`)));
}
