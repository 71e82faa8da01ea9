import { PORTS } from "../../src/cluster-spec";
import { POOLER_HEALTH_PATHS } from "../../src/render/haproxy";
import { inventory, props, resources, synthCluster } from "./helpers";

const COMMON = {
  aws_kms_key: 1,
  aws_kms_alias: 1,
  aws_s3_bucket: 1,
  aws_s3_bucket_versioning: 1,
  aws_s3_bucket_server_side_encryption_configuration: 1,
  aws_s3_bucket_public_access_block: 1,
  aws_s3_bucket_ownership_controls: 1,
  aws_s3_bucket_policy: 1,
  aws_s3_bucket_lifecycle_configuration: 1,
  aws_secretsmanager_secret: 1,
  // the CA certificate published for clients (docs/aws.md, "Connecting with verify-full")
  aws_ssm_parameter: 1,
  // Monitoring (constructs/aws/monitoring.ts): alarm topic, log groups, seed 004 alarms and the day-2 ones (issue 12), dashboard.
  aws_sns_topic: 1,
  aws_cloudwatch_log_group: 5,
  aws_cloudwatch_metric_alarm: 11,
  aws_cloudwatch_dashboard: 1,
};

describe("distributed cluster", () => {
  const s = synthCluster(props("distributed"));

  test("creates three slots, a PgBouncer tier behind one NLB, and the shared resources", () => {
    expect(inventory(s)).toEqual({
      ...COMMON,
      aws_network_interface: 3,
      aws_ebs_volume: 3,
      // the nodes' bootstrap scripts (docs/bootstrap.md)
      aws_s3_object: 3,
      aws_launch_template: 4,
      aws_autoscaling_group: 4,
      aws_lb: 1,
      aws_lb_listener: 2,
      aws_lb_target_group: 2,
      // the PgBouncer tier's own secret besides the cluster secret
      aws_secretsmanager_secret: 2,
      aws_iam_role: 2,
      aws_iam_instance_profile: 2,
      // per role: its permissions and the monitoring publish policy
      aws_iam_role_policy: 4,
      aws_security_group: 3,
      // nodes↔nodes ×5 (incl. pgBackRest TLS server), pooler→nodes ×2, endpoint→pooler ×3 (2 pools + health), clients (1 CIDR + 1 group) ×2 ports
      aws_vpc_security_group_ingress_rule: 14,
      // nodes→nodes ×5, pooler→nodes ×2, endpoint→pooler ×3, HTTPS to VPC and S3 ×2 tiers
      aws_vpc_security_group_egress_rule: 14,
    });
  });

  test("places slot i in subnet i, with its ENI, volume and one-instance ASG", () => {
    const subnets = ["subnet-0a000001", "subnet-0b000002", "subnet-0c000003"];
    subnets.forEach((subnet, i) => {
      const [, eni] = resources(s, "aws_network_interface").find(([id]) => id.startsWith(`orders_slot-${i}_`))!;
      expect(eni.subnet_id).toBe(subnet);
      const [, asg] = resources(s, "aws_autoscaling_group").find(([id]) => id.startsWith(`orders_slot-${i}_`))!;
      expect(asg).toMatchObject({ min_size: 1, max_size: 1, desired_capacity: 1, vpc_zone_identifier: [subnet] });
      const [, volume] = resources(s, "aws_ebs_volume").find(([id]) => id.startsWith(`orders_slot-${i}_`))!;
      expect(volume.availability_zone).toMatch(new RegExp(`data\\.aws_subnet\\.orders_slot-${i}_subnet_\\w+\\.availability_zone`));
    });
  });

  test("sizes data volumes from storageGiB as gp3", () => {
    for (const [, v] of resources(s, "aws_ebs_volume")) expect(v).toMatchObject({ size: 50, type: "gp3" });
  });

  test("uses the instance type of the size and architecture (M, arm64 → m7g.large)", () => {
    const slots = resources(s, "aws_launch_template").filter(([id]) => id.includes("_slot-"));
    for (const [, lt] of slots) expect(lt.instance_type).toBe("m7g.large");
  });

  test("runs pooler.instanceCount PgBouncer instances across the three subnets, registered in both target groups", () => {
    const [, asg] = resources(s, "aws_autoscaling_group").find(([id]) => id.startsWith("orders_pooler_"))!;
    expect(asg.min_size).toBe(2);
    expect(asg.desired_capacity).toBe(2);
    expect(asg.vpc_zone_identifier).toHaveLength(3);
    expect(asg.target_group_arns).toHaveLength(2);
  });

  test("maps the read-write listener :5432 to PgBouncer :6432 and the read-only listener :5433 to :6433", () => {
    const tgs = Object.fromEntries(resources(s, "aws_lb_target_group").map(([id, tg]) => [id, tg]));
    const listeners = resources(s, "aws_lb_listener").map(([, l]) => l);
    const portOf = (l: any) => {
      const id = /aws_lb_target_group\.([^.]+)\.arn/.exec(l.default_action[0].target_group_arn)![1];
      return tgs[id].port;
    };
    const byPort = Object.fromEntries(listeners.map((l) => [l.port, portOf(l)]));
    expect(byPort).toEqual({ [PORTS.endpointReadWrite]: PORTS.pgbouncerReadWrite, [PORTS.endpointReadOnly]: PORTS.pgbouncerReadOnly });
  });

  test("target groups check HAProxy's health endpoint: read-write needs a primary, read-only a replica", () => {
    const byPort = Object.fromEntries(resources(s, "aws_lb_target_group").map(([, tg]) => [tg.port, tg.health_check]));
    const common = { enabled: true, protocol: "HTTP", port: `${PORTS.poolerHealth}`, matcher: "200", interval: 10, timeout: 5, healthy_threshold: 2, unhealthy_threshold: 2 };
    expect(byPort).toEqual({
      [PORTS.pgbouncerReadWrite]: { ...common, path: POOLER_HEALTH_PATHS.readWrite },
      [PORTS.pgbouncerReadOnly]: { ...common, path: POOLER_HEALTH_PATHS.readOnly },
    });
    // A failing endpoint check says the cluster lacks a primary or replica: no reason to replace pooler instances.
    const asg = resources(s, "aws_autoscaling_group").find(([id]) => id.includes("pooler"))![1];
    expect(asg.health_check_type).toBe("EC2");
  });

  test("the load balancer reaches the pooler's health port, and nothing else does", () => {
    const rules = [...resources(s, "aws_vpc_security_group_ingress_rule"), ...resources(s, "aws_vpc_security_group_egress_rule")].filter(
      ([, r]) => r.from_port === PORTS.poolerHealth,
    );
    expect(rules.map(([id]) => id.replace(/^orders_security-groups_/, "").replace(/_[0-9A-F]{8}$/, "")).sort()).toEqual([
      "endpoint-egress-to-pooler-health",
      "pooler-ingress-from-endpoint-health",
    ]);
    for (const [, r] of rules) expect(r.to_port).toBe(PORTS.poolerHealth);
  });

  test("outputs both endpoints, their ports, the secret ARN, the CA parameter, the bucket name, the key ARN, the node addresses, the node security group and the PgBouncer hosts' security group", () => {
    expect(Object.keys(s.output).sort()).toEqual(
      [
        "orders_backup_bucket_name",
        "orders_kms_key_arn",
        "orders_read_only_endpoint",
        "orders_read_only_port",
        "orders_read_write_endpoint",
        "orders_read_write_port",
        "orders_secret_arn",
        "orders_ca_certificate_parameter",
        "orders_node_addresses",
        "orders_node_security_group_id",
        "orders_pooler_security_group_id",
      ].sort(),
    );
    expect(s.output.orders_pooler_security_group_id.value).toMatch(/^\$\{aws_security_group\.orders_security-groups_pooler_[0-9A-F]+\.id\}$/);
    expect(s.output.orders_pooler_security_group_id.description).toMatch(/^Security group of the PgBouncer hosts \(the pooler instances\): a green cluster's upgradeFrom\.poolerSecurityGroupId/);
    expect(s.output.orders_read_write_endpoint.value).toMatch(/aws_lb\.[^.]+\.dns_name/);
    expect(s.output.orders_read_write_port.value).toBe(5432);
    expect(s.output.orders_read_only_port.value).toBe(5433);
  });

  test("exposes the endpoints and monitoring handles as properties", () => {
    expect(s.cluster.readWritePort).toBe(5432);
    expect(s.cluster.readOnlyPort).toBe(5433);
    expect(s.cluster.nodeAutoScalingGroupNames).toHaveLength(3);
    expect(s.cluster.poolerAutoScalingGroupName).toBeDefined();
    expect(s.cluster.pooler?.loadBalancer).toBeDefined();
  });
});

describe("standalone cluster", () => {
  const s = synthCluster(props("standalone"));

  test("creates one slot and no pooler tier or load balancer", () => {
    expect(inventory(s)).toEqual({
      ...COMMON,
      // no replica: no replica-lag alarm
      aws_cloudwatch_metric_alarm: 10,
      aws_network_interface: 1,
      aws_ebs_volume: 1,
      aws_s3_object: 1,
      aws_launch_template: 1,
      aws_autoscaling_group: 1,
      aws_iam_role: 1,
      aws_iam_instance_profile: 1,
      aws_iam_role_policy: 2,
      aws_security_group: 1,
      // nodes↔nodes ×4, clients (1 CIDR + 1 group) → PgBouncer 6432
      aws_vpc_security_group_ingress_rule: 6,
      // nodes→nodes ×4, HTTPS to VPC and S3
      aws_vpc_security_group_egress_rule: 6,
    });
  });

  test("lets clients reach PgBouncer on the node (6432) and nothing else", () => {
    const clientRules = resources(s, "aws_vpc_security_group_ingress_rule")
      .map(([, r]) => r)
      .filter((r) => r.cidr_ipv4 === "10.20.0.0/16" || r.referenced_security_group_id === "sg-0123456789abcdef0");
    expect(clientRules.map((r) => r.from_port)).toEqual([6432, 6432]);
  });

  test("has one endpoint: the slot ENI's private IP on PgBouncer's port", () => {
    expect(s.output.cms_read_write_endpoint.value).toMatch(/aws_network_interface\.[^.]+\.private_ip/);
    expect(s.output.cms_read_write_port.value).toBe(PORTS.pgbouncerReadWrite);
    expect(s.output.cms_read_only_endpoint.value).toBe(s.output.cms_read_write_endpoint.value);
  });
});
