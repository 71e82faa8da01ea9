/**
 * EC2: EBS volumes, launch templates and instances (encryption with a CMK, IMDSv2, hop
 * limit, no public IP).
 */
import { block, blocks, isTrue, nonEmpty } from "../../../terraform";
import type { PolicyRule, RuleResult } from "../types";

const OK: RuleResult = { status: "compliant" };
const NA: RuleResult = { status: "not-applicable" };
const bad = (detail: string): RuleResult => ({ status: "non-compliant", detail });

/** MP-EC2-1: EBS volumes encrypted with a CMK. */
export const EBS_VOLUME_CMK: PolicyRule = {
  id: "MP-EC2-1",
  level: "error",
  info: "EBS volumes are encrypted with a named customer-managed KMS key.",
  explanation:
    "Cloud Temple Managed PostgreSQL: data on disk encrypted (AES-256). The slot's data volume holds the database; with the cluster CMK, access to snapshots and detached copies is governed by the key policy. Set encrypted = true and kms_key_id.",
  resourceTypes: ["aws_ebs_volume"],
  checkov: ["CKV_AWS_3", "CKV_AWS_189"],
  fsbp: ["EC2.3"],
  evaluate(vol) {
    if (!isTrue(vol.config.encrypted)) return bad("encrypted is not true");
    if (!nonEmpty(vol.config.kms_key_id)) return bad("kms_key_id is not set (the AWS-managed key aws/ebs is used)");
    return OK;
  },
};

/** MP-EC2-2: launch-template and instance block devices encrypted with a CMK. */
export const BLOCK_DEVICE_CMK: PolicyRule = {
  id: "MP-EC2-2",
  level: "error",
  info: "Launch templates and instances define their EBS block devices (root included) encrypted with a named customer-managed KMS key.",
  explanation:
    "The root volume holds the server log, pgBackRest's log and the spool of configuration: it must be as protected as the data volume. Without a block_device_mappings entry its encryption is left to the AMI and the account default. Define every EBS block device with encrypted = true and kms_key_id.",
  resourceTypes: ["aws_launch_template", "aws_instance"],
  checkov: [],
  fsbp: [],
  evaluate(r) {
    const devices =
      r.type === "aws_launch_template"
        ? blocks(r.config.block_device_mappings).map((m) => ({ name: String(m.device_name ?? "?"), ebs: block(m.ebs) }))
        : [
            ...blocks(r.config.root_block_device).map((b) => ({ name: "root", ebs: b as Record<string, unknown> | undefined })),
            ...blocks(r.config.ebs_block_device).map((b) => ({ name: String(b.device_name ?? "?"), ebs: b as Record<string, unknown> | undefined })),
          ];
    if (devices.length === 0) return bad("no EBS block device is defined; the root volume's encryption is left to the AMI and the account default");
    const wrong = devices.filter((d) => d.ebs !== undefined && !(isTrue(d.ebs.encrypted) && nonEmpty(d.ebs.kms_key_id))).map((d) => d.name);
    return wrong.length === 0 ? OK : bad(`not encrypted with a named KMS key: ${wrong.join(", ")}`);
  },
};

/** MP-EC2-3: IMDSv2 required. */
export const IMDSV2: PolicyRule = {
  id: "MP-EC2-3",
  level: "error",
  info: "Launch templates and instances require IMDSv2 (metadata_options.http_tokens = \"required\").",
  explanation:
    "IMDSv1 answers any GET, so a server-side request forgery on the node hands out the instance role's credentials (which can read the backup bucket and the cluster secret). Set metadata_options { http_tokens = \"required\" }.",
  resourceTypes: ["aws_launch_template", "aws_instance"],
  checkov: ["CKV_AWS_79"],
  fsbp: ["EC2.8"],
  evaluate(r) {
    const mo = block(r.config.metadata_options);
    if (mo?.http_endpoint === "disabled") return OK;
    return mo?.http_tokens === "required" ? OK : bad(`http_tokens is ${JSON.stringify(mo?.http_tokens ?? "not set (optional: IMDSv1 allowed)")}`);
  },
};

/** MP-EC2-4: metadata hop limit 1. */
export const IMDS_HOP_LIMIT: PolicyRule = {
  id: "MP-EC2-4",
  level: "warning",
  info: "Launch templates and instances set the metadata response hop limit to 1.",
  explanation:
    "The nodes run no containers; a hop limit of 1 keeps IMDS tokens from being forwarded past the host. Some AMIs default to 2. Set metadata_options { http_put_response_hop_limit = 1 }.",
  resourceTypes: ["aws_launch_template", "aws_instance"],
  checkov: [],
  fsbp: [],
  evaluate(r) {
    const mo = block(r.config.metadata_options);
    if (mo?.http_endpoint === "disabled") return OK;
    const limit = mo?.http_put_response_hop_limit;
    if (limit === undefined) return bad("http_put_response_hop_limit is not set (the AMI's default applies)");
    return Number(limit) === 1 ? OK : bad(`http_put_response_hop_limit is ${JSON.stringify(limit)}`);
  },
};

/** MP-EC2-5: no public IP address. */
export const NO_PUBLIC_IP: PolicyRule = {
  id: "MP-EC2-5",
  level: "error",
  info: "Launch templates and instances do not associate a public IP address.",
  explanation:
    "Cloud Temple Managed PostgreSQL: database instances are never exposed to the internet. Set associate_public_ip_address = false (or leave it unset in a private subnet).",
  resourceTypes: ["aws_launch_template", "aws_instance"],
  checkov: ["CKV_AWS_88"],
  fsbp: ["EC2.9"],
  evaluate(r) {
    if (r.type === "aws_instance") {
      return isTrue(r.config.associate_public_ip_address) ? bad("associate_public_ip_address is true") : OK;
    }
    const nis = blocks(r.config.network_interfaces);
    if (nis.length === 0) return NA;
    return nis.some((n) => isTrue(n.associate_public_ip_address)) ? bad("a network interface has associate_public_ip_address = true") : OK;
  },
};

/** The compute rules. */
export const COMPUTE_RULES: readonly PolicyRule[] = [EBS_VOLUME_CMK, BLOCK_DEVICE_CMK, IMDSV2, IMDS_HOP_LIMIT, NO_PUBLIC_IP];

