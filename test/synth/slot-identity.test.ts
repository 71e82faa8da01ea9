/**
 * What selects a slot's own ENI and data volume in the synthesized Terraform (issue 10):
 * the resources a launch template creates with each instance (root volume, primary interface)
 * never carry the slot-identity tags; the slot's ENI and volume carry
 * `managed-postgres:slot-resource`; the plan-time guard reads only data volumes; the node role
 * may mark its own instance unhealthy and force-detach from a terminated holder; Auto Scaling
 * replaces by terminating first.
 */
import { policyStatements, props, resources, synthCluster } from "./helpers";

const TAG_CLUSTER = "managed-postgres:cluster";
const TAG_SLOT = "managed-postgres:slot";
const TAG_SLOT_RESOURCE = "managed-postgres:slot-resource";

describe.each([["distributed" as const], ["standalone" as const]])("%s", (deployment) => {
  const s = synthCluster(props(deployment, { tags: { "cost-center": "db" } }));
  const name = deployment === "distributed" ? "orders" : "cms";

  test("launch-created root volumes and primary interfaces carry cost tags but no slot-identity tag", () => {
    const lts = resources(s, "aws_launch_template");
    expect(lts.length).toBeGreaterThan(0);
    for (const [, lt] of lts) {
      const specs = Object.fromEntries(lt.tag_specifications.map((t: any) => [t.resource_type, t.tags]));
      expect(Object.keys(specs).sort()).toEqual(["instance", "network-interface", "volume"]);
      expect(specs.volume["managed-postgres:launch-resource"]).toBe("root-volume");
      expect(specs["network-interface"]["managed-postgres:launch-resource"]).toBe("primary-network-interface");
      for (const kind of ["volume", "network-interface"]) {
        expect(specs[kind]).not.toHaveProperty([TAG_SLOT]);
        expect(specs[kind]).not.toHaveProperty([TAG_SLOT_RESOURCE]);
        expect(specs[kind]["cost-center"]).toBe("db");
        expect(specs[kind][TAG_CLUSTER]).toBe(name);
      }
    }
  });

  test("the slot's ENI and data volume carry managed-postgres:slot-resource", () => {
    for (const [, eni] of resources(s, "aws_network_interface")) expect(eni.tags[TAG_SLOT_RESOURCE]).toBe("network-interface");
    for (const [, vol] of resources(s, "aws_ebs_volume")) expect(vol.tags[TAG_SLOT_RESOURCE]).toBe("data-volume");
  });

  test("the plan-time guard's aws_ebs_volumes reads only the cluster's data volumes", () => {
    const ids = Object.values(s.data.aws_ebs_volumes ?? {}) as any[];
    expect(ids).toHaveLength(1);
    expect(ids[0].filter).toEqual([
      { name: `tag:${TAG_CLUSTER}`, values: [name] },
      { name: `tag:${TAG_SLOT_RESOURCE}`, values: ["data-volume"] },
    ]);
  });

  test("Auto Scaling replaces a slot's instance by terminating it first (min 0 %, max 100 %)", () => {
    const asgs = resources(s, "aws_autoscaling_group").filter(([id]) => id.includes("_slot-"));
    expect(asgs.length).toBe(deployment === "distributed" ? 3 : 1);
    for (const [, asg] of asgs) expect(asg.instance_maintenance_policy).toEqual({ min_healthy_percentage: 0, max_healthy_percentage: 100 });
  });

  test("the node role may set the health of instances of the slot groups only, and detach only the cluster's tagged ENIs and volumes", () => {
    const statements = policyStatements(s, /node/);
    const health = statements.filter((st) => st.actions.includes("autoscaling:SetInstanceHealth"));
    expect(health).toHaveLength(1);
    const names = resources(s, "aws_autoscaling_group")
      .filter(([id]) => id.includes("_slot-"))
      .map(([, a]) => a.name);
    expect(health[0].resources.sort()).toEqual(
      names.map((n) => expect.stringMatching(new RegExp(`^arn:.*:autoscaling:.*:autoScalingGroup:\\*:autoScalingGroupName/${n}$`))),
    );
    const slots = resources(s, "aws_network_interface").length;
    for (const action of ["ec2:DetachVolume", "ec2:DetachNetworkInterface"]) {
      const st = statements.filter((x) => x.actions.includes(action));
      // one statement per slot (its ENI and volume) and one for the holder instance
      expect(st).toHaveLength(slots + 1);
      for (const x of st) {
        expect(x.resources).not.toContain("*");
        expect(x.condition).toContainEqual({ test: "StringEquals", variable: `aws:ResourceTag/${TAG_CLUSTER}`, values: [name] });
      }
    }
  });
});
