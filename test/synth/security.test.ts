import { TAG_CLUSTER } from "../../src/cluster-spec";
import { policyStatements, props, referencedPolicy, resources, synthCluster, type Synth } from "./helpers";

const models = ["distributed", "standalone"] as const;
const synths: Record<(typeof models)[number], Synth & { text: string }> = {
  distributed: synthCluster(props("distributed")),
  standalone: synthCluster(props("standalone")),
};
const keyRef = (s: Synth) => `\${aws_kms_key.${Object.keys(s.resource.aws_kms_key)[0]}.arn}`;

describe.each(models)("%s cluster security", (model) => {
  const s = synths[model];

  test("encrypts every EBS data volume with the cluster's KMS key", () => {
    for (const [, v] of resources(s, "aws_ebs_volume")) {
      expect(v.encrypted).toBe(true);
      expect(v.kms_key_id).toBe(keyRef(s));
    }
  });

  test("launch templates require IMDSv2 with hop limit 1", () => {
    for (const [, lt] of resources(s, "aws_launch_template")) {
      expect(lt.metadata_options).toMatchObject({ http_tokens: "required", http_put_response_hop_limit: 1 });
    }
  });

  test("launch templates give no public IP", () => {
    for (const [, lt] of resources(s, "aws_launch_template")) {
      expect(lt.network_interfaces).toHaveLength(1);
      expect(lt.network_interfaces[0].associate_public_ip_address).toBe("false");
    }
  });

  test("launch templates encrypt the root volume with the cluster's KMS key", () => {
    for (const [, lt] of resources(s, "aws_launch_template")) {
      expect(lt.block_device_mappings).toHaveLength(1);
      expect(lt.block_device_mappings[0].ebs).toMatchObject({ encrypted: "true", kms_key_id: keyRef(s) });
    }
  });

  test("no security group rule opens ingress to 0.0.0.0/0 or ::/0", () => {
    for (const [, r] of resources(s, "aws_vpc_security_group_ingress_rule")) {
      expect(r.cidr_ipv4).not.toBe("0.0.0.0/0");
      expect(r.cidr_ipv6).toBeUndefined();
    }
  });

  test("every security group rule has a description", () => {
    const rules = [...resources(s, "aws_vpc_security_group_ingress_rule"), ...resources(s, "aws_vpc_security_group_egress_rule")];
    expect(rules.length).toBeGreaterThan(0);
    for (const [id, r] of rules) expect({ id, description: typeof r.description === "string" && r.description.length > 10 }).toEqual({ id, description: true });
  });

  test("security groups carry no inline rules (every rule is a separate, described resource)", () => {
    for (const [, sg] of resources(s, "aws_security_group")) {
      expect(sg.ingress).toBeUndefined();
      expect(sg.egress).toBeUndefined();
    }
  });

  test("egress is HTTPS to the VPC, the S3 prefix list, or cluster-internal ports only", () => {
    for (const [, r] of resources(s, "aws_vpc_security_group_egress_rule")) {
      if (r.referenced_security_group_id) continue;
      expect(r.from_port).toBe(443);
      expect(r.cidr_ipv4 ?? r.prefix_list_id).toMatch(/data\.aws_(vpc|ec2_managed_prefix_list)\./);
    }
  });

  test("the backup bucket is versioned, SSE-KMS with the cluster key and a bucket key, and never force-destroyed", () => {
    const [, bucket] = resources(s, "aws_s3_bucket")[0];
    expect(bucket.force_destroy).toBe(false);
    expect(resources(s, "aws_s3_bucket_versioning")[0][1].versioning_configuration.status).toBe("Enabled");
    const [, sse] = resources(s, "aws_s3_bucket_server_side_encryption_configuration")[0];
    expect(sse.rule[0]).toEqual({
      apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: keyRef(s) },
      bucket_key_enabled: true,
    });
  });

  test("the backup bucket blocks public access with all four flags and enforces bucket-owner ownership", () => {
    expect(resources(s, "aws_s3_bucket_public_access_block")[0][1]).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(resources(s, "aws_s3_bucket_ownership_controls")[0][1].rule.object_ownership).toBe("BucketOwnerEnforced");
  });

  test("the bucket policy denies requests without TLS", () => {
    const doc = referencedPolicy(s, resources(s, "aws_s3_bucket_policy")[0][1].policy);
    const tls = doc.statement.find((st: any) => st.sid === "DenyInsecureTransport");
    expect(tls).toMatchObject({ effect: "Deny", actions: ["s3:*"], condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }] });
  });

  test("the bucket policy denies uploads with another encryption than SSE-KMS", () => {
    const doc = referencedPolicy(s, resources(s, "aws_s3_bucket_policy")[0][1].policy);
    const sse = doc.statement.find((st: any) => st.sid === "DenyOtherEncryptionThanSseKms");
    expect(sse).toMatchObject({ effect: "Deny", actions: ["s3:PutObject"] });
    // a present header other than aws:kms; never an absent one (multipart parts carry none)
    expect(sse.condition).toEqual([
      { test: "StringNotEquals", variable: "s3:x-amz-server-side-encryption", values: ["aws:kms"] },
      { test: "Null", variable: "s3:x-amz-server-side-encryption", values: ["false"] },
    ]);
    const key = doc.statement.find((st: any) => st.sid === "DenyOtherKmsKey");
    expect(key.condition.map((c: any) => c.test)).toEqual(["StringNotEquals", "Null"]);
    expect(JSON.stringify(doc)).not.toContain("IfExists");
  });

  test("the lifecycle aborts incomplete multipart uploads after 7 days and never expires pgBackRest's repository", () => {
    const rules = resources(s, "aws_s3_bucket_lifecycle_configuration")[0][1].rule as any[];
    const abort = rules.find((r) => r.abort_incomplete_multipart_upload);
    expect(abort.abort_incomplete_multipart_upload[0].days_after_initiation).toBe(7);
    const expiring = rules.filter((r) => r.expiration?.some((e: any) => e.days !== undefined));
    expect(expiring.map((r) => r.filter[0].prefix)).toEqual([`${s === synths.distributed ? "orders" : "cms"}/logical/`]);
  });

  test("the KMS key rotates and has a 30-day deletion window", () => {
    expect(resources(s, "aws_kms_key")[0][1]).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
  });

  test("the key policy names every principal (no wildcard principal)", () => {
    const statements = referencedPolicy(s, resources(s, "aws_kms_key")[0][1].policy).statement as any[];
    for (const st of statements) for (const p of st.principals) expect(p.identifiers).not.toContain("*");
  });

  test("instance role policies grant no wildcard action", () => {
    const statements = resources(s, "aws_iam_role_policy").flatMap(([, p]) => referencedPolicy(s, p.policy).statement as any[]);
    expect(statements.length).toBeGreaterThan(0);
    for (const st of statements) for (const a of st.actions) expect(a).not.toMatch(/\*/);
  });

  test("instance role policies use a wildcard resource only where AWS offers no resource-level permission", () => {
    // EC2 and Auto Scaling Describe* and cloudwatch:PutMetricData accept only "*"; PutMetricData is scoped by namespace.
    const statements = resources(s, "aws_iam_role_policy").flatMap(([, p]) => referencedPolicy(s, p.policy).statement as any[]);
    const wildcard = statements.filter((st) => st.resources.includes("*"));
    expect(wildcard.length).toBeGreaterThan(0);
    for (const st of wildcard) {
      for (const a of st.actions) expect(["ec2:DescribeNetworkInterfaces", "ec2:DescribeVolumes", "ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups", "cloudwatch:PutMetricData"]).toContain(a);
      if (st.actions.includes("cloudwatch:PutMetricData")) expect(st.condition[0].variable).toBe("cloudwatch:namespace");
    }
  });

  test("the key policy lets the instance roles use the key only through AWS services", () => {
    const statements = referencedPolicy(s, resources(s, "aws_kms_key")[0][1].policy).statement as any[];
    const forRoles = statements.filter((st) => st.principals.some((p: any) => p.identifiers.some((i: string) => i.includes("aws_iam_role."))));
    expect(forRoles.length).toBe(s === synths.distributed ? 3 : 2);
    for (const st of forRoles) expect(st.condition.some((c: any) => c.variable === "kms:ViaService")).toBe(true);
  });

  test("a slot's ENI and volume are usable only from the slot's subnet, attached only to node instances", () => {
    const statements = policyStatements(s, /node-permissions/);
    const cluster = s === synths.distributed ? "orders" : "cms";
    const slotStatements = statements.filter((x) => /^Slot\d+NetworkInterfaceAndVolume$/.test(x.sid));
    expect(slotStatements).toHaveLength(s === synths.distributed ? 3 : 1);
    slotStatements.forEach((st, i) => {
      expect(st.resources).toHaveLength(2);
      expect(st.resources[0]).toContain(`:network-interface/\${aws_network_interface.${cluster}_slot-${i}_`);
      expect(st.resources[1]).toContain(`:volume/\${aws_ebs_volume.${cluster}_slot-${i}_`);
      expect(st.condition).toEqual([
        { test: "StringEquals", variable: `aws:ResourceTag/${TAG_CLUSTER}`, values: [cluster] },
        { test: "IpAddress", variable: "aws:Ec2InstanceSourcePrivateIPv4", values: [expect.stringMatching(new RegExp(`^\\$\\{data\\.aws_subnet\\.${cluster}_slot-${i}_subnet_[^.]+\\.cidr_block\\}$`))] },
      ]);
    });
    const attach = statements.find((x) => x.sid === "AttachToNodeInstances");
    expect(attach.actions).toEqual(["ec2:AttachNetworkInterface", "ec2:AttachVolume"]);
    expect(attach.resources).toHaveLength(1);
    expect(attach.resources[0]).toMatch(/:instance\/\*$/);
    expect(attach.condition).toEqual([
      { test: "ArnEquals", variable: "ec2:InstanceProfile", values: [expect.stringMatching(/^\$\{aws_iam_instance_profile\.[^.]*node-role_instance-profile[^.]*\.arn\}$/)] },
      { test: "StringEquals", variable: `aws:ResourceTag/${TAG_CLUSTER}`, values: [cluster] },
    ]);
    // No other statement grants an attach or detach action.
    const others = statements.filter((x) => !slotStatements.includes(x) && x !== attach && x.sid !== "DetachFromClusterInstances");
    for (const st of others) for (const a of st.actions) expect(a).not.toMatch(/^ec2:(Attach|Detach)/);
  });

  test("the secret is encrypted with the cluster key and has no version in Terraform", () => {
    expect(resources(s, "aws_secretsmanager_secret")[0][1].kms_key_id).toBe(keyRef(s));
    expect(s.resource.aws_secretsmanager_secret_version).toBeUndefined();
  });

  test("the synthesized JSON holds no password, passphrase or private key", () => {
    expect(s.text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    const offending: string[] = [];
    const walk = (v: unknown, path: string) => {
      if (v && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
          if (/password|passphrase|secret_string|private_key/i.test(k)) offending.push(`${path}.${k}`);
          walk(x, `${path}.${k}`);
        }
      }
    };
    walk(JSON.parse(s.text), "");
    expect(offending).toEqual([]);
    expect(Object.keys(s.resource).filter((t) => /random_password|tls_private_key/.test(t))).toEqual([]);
  });
});

describe("distributed cluster endpoint", () => {
  const s = synths.distributed;

  test("the NLB is internal with deletion protection and cross-zone load balancing", () => {
    expect(resources(s, "aws_lb")[0][1]).toMatchObject({
      internal: true,
      load_balancer_type: "network",
      enable_deletion_protection: true,
      enable_cross_zone_load_balancing: true,
    });
  });

  test("clients reach only the endpoint ports of the NLB, never the nodes", () => {
    const clientRules = resources(s, "aws_vpc_security_group_ingress_rule")
      .map(([, r]) => r)
      .filter((r) => r.cidr_ipv4 === "10.20.0.0/16" || r.referenced_security_group_id === "sg-0123456789abcdef0");
    expect(clientRules.map((r) => r.from_port).sort()).toEqual([5432, 5432, 5433, 5433]);
    const endpointSg = Object.keys(s.resource.aws_security_group).find((id) => id.includes("endpoint"))!;
    for (const r of clientRules) expect(r.security_group_id).toBe(`\${aws_security_group.${endpointSg}.id}`);
  });
});
