import { POLICY_RULES, policyRule, runPolicyPack, type TfStack } from "../../src/rules/policy";
import { bucketStack, launchTemplate, rolePolicy, tfStack } from "./fixtures";

/** Verdict of one rule on the resource at `address`. */
function verdict(ruleId: string, stack: TfStack, address: string): string {
  const rule = policyRule(ruleId)!;
  const r = stack.resources.find((x) => x.address === address)!;
  expect(r).toBeDefined();
  return rule.evaluate(r, stack).status;
}

const sg = (patch: Record<string, unknown>) =>
  tfStack({ aws_security_group: { g: { name: "db", description: "Database nodes of cluster orders", vpc_id: "vpc-1", ...patch } } });

/** [rule id, compliant stack, non-compliant stack, address]. */
const CASES: [string, TfStack, TfStack, string][] = [
  ["MP-S3-1", bucketStack(), bucketStack({ aws_s3_bucket_versioning: { v: { bucket: "${aws_s3_bucket.b.id}", versioning_configuration: { status: "Suspended" } } } }), "aws_s3_bucket.b"],
  ["MP-S3-2", bucketStack(), bucketStack({ aws_s3_bucket_server_side_encryption_configuration: { e: { bucket: "${aws_s3_bucket.b.id}", rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }] } } }), "aws_s3_bucket.b"],
  ["MP-S3-3", bucketStack(), bucketStack({ aws_s3_bucket_public_access_block: { p: { bucket: "${aws_s3_bucket.b.id}", block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: false } } }), "aws_s3_bucket.b"],
  ["MP-S3-4", bucketStack(), bucketStack({ aws_s3_bucket_ownership_controls: { o: { bucket: "${aws_s3_bucket.b.id}", rule: { object_ownership: "ObjectWriter" } } } }), "aws_s3_bucket.b"],
  ["MP-S3-5", bucketStack(), bucketStack({ aws_s3_bucket_policy: { tls: { bucket: "${aws_s3_bucket.b.id}", policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::1:root" }, Action: "s3:GetObject", Resource: "*" }] }) } } }), "aws_s3_bucket.b"],
  ["MP-S3-6", bucketStack(), bucketStack({}, ["aws_s3_bucket_lifecycle_configuration"]), "aws_s3_bucket.b"],
  ["MP-KMS-1", tfStack({ aws_kms_key: { k: { enable_key_rotation: true } } }), tfStack({ aws_kms_key: { k: { description: "no rotation" } } }), "aws_kms_key.k"],
  ["MP-SM-1", tfStack({ aws_secretsmanager_secret: { s: { name: "x", kms_key_id: "${aws_kms_key.k.arn}" } } }), tfStack({ aws_secretsmanager_secret: { s: { name: "x" } } }), "aws_secretsmanager_secret.s"],
  ["MP-EC2-1", tfStack({ aws_ebs_volume: { v: { size: 10, encrypted: true, kms_key_id: "${aws_kms_key.k.arn}" } } }), tfStack({ aws_ebs_volume: { v: { size: 10, encrypted: true } } }), "aws_ebs_volume.v"],
  ["MP-EC2-2", launchTemplate(), launchTemplate({ block_device_mappings: [{ device_name: "/dev/xvda", ebs: { encrypted: "false" } }] }), "aws_launch_template.lt"],
  ["MP-EC2-3", launchTemplate(), launchTemplate({ metadata_options: { http_tokens: "optional", http_put_response_hop_limit: 1 } }), "aws_launch_template.lt"],
  ["MP-EC2-4", launchTemplate(), launchTemplate({ metadata_options: { http_tokens: "required", http_put_response_hop_limit: 2 } }), "aws_launch_template.lt"],
  ["MP-EC2-5", launchTemplate(), launchTemplate({ network_interfaces: [{ associate_public_ip_address: "true" }] }), "aws_launch_template.lt"],
  ["MP-SG-1", sg({}), sg({ description: "Managed by Terraform" }), "aws_security_group.g"],
  ["MP-SG-2", sg({ ingress: [{ description: "clients", from_port: 5432, to_port: 5432, protocol: "tcp", cidr_blocks: ["10.0.0.0/16"] }] }), sg({ ingress: [{ from_port: 5432, to_port: 5432, protocol: "tcp", cidr_blocks: ["10.0.0.0/16"] }] }), "aws_security_group.g"],
  [
    "MP-SG-3",
    tfStack({ aws_vpc_security_group_ingress_rule: { r: { security_group_id: "sg-1", description: "clients", cidr_ipv4: "10.0.0.0/16", from_port: 5432, to_port: 5432, ip_protocol: "tcp" } } }),
    tfStack({ aws_vpc_security_group_ingress_rule: { r: { security_group_id: "sg-1", description: "clients", cidr_ipv6: "::/0", from_port: 5432, to_port: 5432, ip_protocol: "tcp" } } }),
    "aws_vpc_security_group_ingress_rule.r",
  ],
  ["MP-ELB-1", tfStack({ aws_lb: { nlb: { internal: true, load_balancer_type: "network" } } }), tfStack({ aws_lb: { nlb: { internal: false, load_balancer_type: "network" } } }), "aws_lb.nlb"],
  ["MP-ELB-2", tfStack({ aws_lb: { nlb: { internal: true, enable_deletion_protection: true } } }), tfStack({ aws_lb: { nlb: { internal: true } } }), "aws_lb.nlb"],
  ["MP-IAM-1", rolePolicy([{ Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::b/*" }]), rolePolicy([{ Effect: "Allow", Action: ["s3:*"], Resource: "arn:aws:s3:::b/*" }]), "aws_iam_role_policy.p"],
  ["MP-IAM-2", rolePolicy([{ Effect: "Allow", Action: ["ec2:DescribeVolumes", "ec2:Describe*"], Resource: "*" }]), rolePolicy([{ Effect: "Allow", Action: ["ec2:AttachVolume"], Resource: "*" }]), "aws_iam_role_policy.p"],
  ["MP-IAM-3", rolePolicy([{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }]), tfStack({ aws_iam_role_policy: { p: { role: "r", policy: '${jsonencode({"Statement" = []})}' } } }), "aws_iam_role_policy.p"],
  ["MP-LOG-1", tfStack({ aws_cloudwatch_log_group: { g: { name: "/x", retention_in_days: 30, kms_key_id: "k" } } }), tfStack({ aws_cloudwatch_log_group: { g: { name: "/x", kms_key_id: "k" } } }), "aws_cloudwatch_log_group.g"],
  ["MP-LOG-2", tfStack({ aws_cloudwatch_log_group: { g: { name: "/x", retention_in_days: 30, kms_key_id: "k" } } }), tfStack({ aws_cloudwatch_log_group: { g: { name: "/x", retention_in_days: 30 } } }), "aws_cloudwatch_log_group.g"],
  ["MP-CW-1", tfStack({ aws_cloudwatch_metric_alarm: { a: { alarm_name: "x", alarm_actions: ["${aws_sns_topic.t.arn}"] } } }), tfStack({ aws_cloudwatch_metric_alarm: { a: { alarm_name: "x", alarm_actions: [] } } }), "aws_cloudwatch_metric_alarm.a"],
  ["MP-SNS-1", tfStack({ aws_sns_topic: { t: { name: "x", kms_master_key_id: "${aws_kms_key.k.arn}" } } }), tfStack({ aws_sns_topic: { t: { name: "x" } } }), "aws_sns_topic.t"],
];

describe("policy pack rules", () => {
  test("every rule has a test case, an MP- id, an info line, an explanation and resource types", () => {
    expect(new Set(CASES.map((c) => c[0]))).toEqual(new Set(POLICY_RULES.map((r) => r.id)));
    for (const r of POLICY_RULES) {
      expect(r.id).toMatch(/^MP-[A-Z0-9]+-\d+$/);
      expect(r.info.length).toBeGreaterThan(10);
      expect(r.explanation.length).toBeGreaterThan(20);
      expect(r.resourceTypes.length).toBeGreaterThan(0);
    }
  });

  test("docs/policy.md lists every rule with its level", () => {
    const doc = require("fs").readFileSync(require("path").join(__dirname, "..", "..", "docs", "policy.md"), "utf8") as string;
    for (const r of POLICY_RULES) expect(doc).toContain(`| ${r.id} | ${r.level} |`);
  });

  test("rule ids are unique", () => {
    expect(new Set(POLICY_RULES.map((r) => r.id)).size).toBe(POLICY_RULES.length);
  });

  describe.each(CASES)("%s", (id, compliant, nonCompliant, address) => {
    test("passes the compliant fixture", () => {
      expect(verdict(id, compliant, address)).toBe("compliant");
    });
    test("flags the non-compliant fixture", () => {
      expect(verdict(id, nonCompliant, address)).toBe("non-compliant");
    });
  });
});

describe("linked resources and special cases", () => {
  test("a bucket without any companion resource fails every S3 rule", () => {
    const stack = tfStack({ aws_s3_bucket: { b: { bucket: "x" } } });
    const report = runPolicyPack([stack]);
    expect(report.findings.map((f) => f.ruleId).sort()).toEqual(["MP-S3-1", "MP-S3-2", "MP-S3-3", "MP-S3-4", "MP-S3-5", "MP-S3-6"]);
  });

  test("companions are matched by the bucket's literal name as well as by reference", () => {
    const stack = tfStack({
      aws_s3_bucket: { b: { bucket: "backups" } },
      aws_s3_bucket_versioning: { v: { bucket: "backups", versioning_configuration: { status: "Enabled" } } },
    });
    expect(verdict("MP-S3-1", stack, "aws_s3_bucket.b")).toBe("compliant");
  });

  test("a companion of another bucket does not count", () => {
    const stack = tfStack({
      aws_s3_bucket: { b: { bucket_prefix: "x" }, other: { bucket_prefix: "y" } },
      aws_s3_bucket_versioning: { v: { bucket: "${aws_s3_bucket.other.id}", versioning_configuration: { status: "Enabled" } } },
    });
    expect(verdict("MP-S3-1", stack, "aws_s3_bucket.b")).toBe("non-compliant");
  });

  test("the TLS-only statement is read from an aws_iam_policy_document data source", () => {
    const stack = tfStack(
      {
        aws_s3_bucket: { b: { bucket_prefix: "x" } },
        aws_s3_bucket_policy: { p: { bucket: "${aws_s3_bucket.b.id}", policy: "${data.aws_iam_policy_document.d.json}" } },
      },
      {
        aws_iam_policy_document: {
          d: {
            statement: [
              {
                effect: "Deny",
                actions: ["s3:*"],
                principals: [{ type: "*", identifiers: ["*"] }],
                resources: ["${aws_s3_bucket.b.arn}"],
                condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
              },
            ],
          },
        },
      },
    );
    expect(verdict("MP-S3-5", stack, "aws_s3_bucket.b")).toBe("compliant");
  });

  test("a launch template without block device mappings leaves the root volume unchecked and fails MP-EC2-2", () => {
    expect(verdict("MP-EC2-2", launchTemplate({ block_device_mappings: undefined }), "aws_launch_template.lt")).toBe("non-compliant");
  });

  test("IMDSv2 is required on instances as on launch templates", () => {
    const stack = tfStack({ aws_instance: { i: { ami: "ami-1", metadata_options: { http_tokens: "optional" } } } });
    expect(verdict("MP-EC2-3", stack, "aws_instance.i")).toBe("non-compliant");
  });

  test("inline ingress from 0.0.0.0/0 in a security group is flagged", () => {
    const stack = sg({ ingress: [{ description: "x", from_port: 22, to_port: 22, protocol: "tcp", cidr_blocks: ["0.0.0.0/0"] }] });
    expect(verdict("MP-SG-3", stack, "aws_security_group.g")).toBe("non-compliant");
  });

  test("egress to 0.0.0.0/0 is not an ingress finding", () => {
    const stack = tfStack({ aws_vpc_security_group_egress_rule: { e: { security_group_id: "sg", description: "https", cidr_ipv4: "0.0.0.0/0", ip_protocol: "tcp", from_port: 443, to_port: 443 } } });
    expect(verdict("MP-SG-3", stack, "aws_vpc_security_group_egress_rule.e")).toBe("not-applicable");
  });

  test("a wildcard resource is allowed for ec2:Describe* but not when mixed with a scopable action", () => {
    const stack = rolePolicy([{ Effect: "Allow", Action: ["ec2:DescribeInstances", "s3:GetObject"], Resource: "*" }]);
    const rule = policyRule("MP-IAM-2")!;
    const result = rule.evaluate(stack.resources[0], stack);
    expect(result).toEqual({ status: "non-compliant", detail: '"Resource": "*" for: s3:GetObject' });
  });

  test("Deny statements with wildcards are not IAM findings", () => {
    expect(verdict("MP-IAM-1", rolePolicy([{ Effect: "Deny", Action: "*", Resource: "*" }]), "aws_iam_role_policy.p")).toBe("compliant");
  });

  test("inline policies of an aws_iam_role are checked", () => {
    const stack = tfStack({
      aws_iam_role: { r: { assume_role_policy: "{}", inline_policy: [{ name: "x", policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) }] } },
    });
    expect(verdict("MP-IAM-1", stack, "aws_iam_role.r")).toBe("non-compliant");
  });

  test("an alarm with actions disabled is flagged even with alarm actions", () => {
    const stack = tfStack({ aws_cloudwatch_metric_alarm: { a: { alarm_actions: ["arn:aws:sns:eu-west-1:1:t"], actions_enabled: false } } });
    expect(verdict("MP-CW-1", stack, "aws_cloudwatch_metric_alarm.a")).toBe("non-compliant");
  });

  test("asymmetric KMS keys are not subject to rotation", () => {
    const stack = tfStack({ aws_kms_key: { k: { customer_master_key_spec: "RSA_2048" } } });
    expect(verdict("MP-KMS-1", stack, "aws_kms_key.k")).toBe("not-applicable");
  });
});

describe("report", () => {
  test("a suppression in the resource's // metadata moves the finding to suppressed, with its reason", () => {
    const stack = tfStack({
      aws_lb: { nlb: { internal: true, "//": { managed_postgres_policy: { suppressions: [{ id: "MP-ELB-2", reason: "test cluster" }] } } } },
    });
    const report = runPolicyPack([stack]);
    expect(report.findings).toEqual([]);
    expect(report.suppressed).toMatchObject([{ ruleId: "MP-ELB-2", reason: "test cluster", address: "aws_lb.nlb" }]);
  });

  test("a suppression with an empty reason is ignored", () => {
    const stack = tfStack({ aws_lb: { nlb: { internal: true, "//": { managed_postgres_policy: { suppressions: [{ id: "MP-ELB-2", reason: " " }] } } } } });
    expect(runPolicyPack([stack]).findings.map((f) => f.ruleId)).toEqual(["MP-ELB-2"]);
  });

  test("findings list errors before warnings", () => {
    const stack = tfStack({ aws_lb: { nlb: { internal: false } } });
    expect(runPolicyPack([stack]).findings.map((f) => `${f.ruleId}:${f.level}`)).toEqual(["MP-ELB-1:error", "MP-ELB-2:warning"]);
  });
});
