import { TAG_CLUSTER, TAG_DEPLOYMENT_MODEL, TAG_MAJOR_VERSION, TAG_SLOT } from "../../src/cluster-spec";
import { UNTAGGABLE, props, resources, synthCluster } from "./helpers";

const DATA_BEARING = ["aws_ebs_volume", "aws_kms_key", "aws_s3_bucket", "aws_secretsmanager_secret"];

describe.each(["distributed", "standalone"] as const)("%s cluster", (model) => {
  const s = synthCluster(props(model));
  const name = model === "distributed" ? "orders" : "cms";

  test("data-bearing resources carry prevent_destroy", () => {
    for (const type of DATA_BEARING) {
      expect(resources(s, type).length).toBeGreaterThan(0);
      for (const [id, r] of resources(s, type)) expect({ id, preventDestroy: r.lifecycle?.prevent_destroy }).toEqual({ id, preventDestroy: true });
    }
  });

  test("every taggable resource is tagged with the cluster name and the spec's tags", () => {
    let checked = 0;
    for (const [type, byId] of Object.entries(s.resource)) {
      if (UNTAGGABLE.has(type)) continue;
      for (const [id, r] of Object.entries(byId)) {
        expect({ id, tags: r.tags }).toEqual({ id, tags: expect.objectContaining({ [TAG_CLUSTER]: name, team: "platform" }) });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  test("Auto Scaling groups carry the cluster tag", () => {
    for (const [, asg] of resources(s, "aws_autoscaling_group")) {
      expect(asg.tag).toContainEqual({ key: TAG_CLUSTER, value: name, propagate_at_launch: false });
    }
  });

  test("launched instances, root volumes and interfaces are tagged with the cluster through the launch template", () => {
    for (const [, lt] of resources(s, "aws_launch_template")) {
      expect(lt.tag_specifications.map((t: any) => t.resource_type).sort()).toEqual(["instance", "network-interface", "volume"]);
      for (const t of lt.tag_specifications) expect(t.tags[TAG_CLUSTER]).toBe(name);
    }
  });

  test("data volumes are tagged with their slot, the deployment model and the major version", () => {
    const volumes = resources(s, "aws_ebs_volume").map(([, v]) => v.tags);
    expect(volumes.map((t) => t[TAG_SLOT]).sort()).toEqual(model === "distributed" ? ["0", "1", "2"] : ["0"]);
    for (const t of volumes) expect(t).toMatchObject({ [TAG_DEPLOYMENT_MODEL]: model, [TAG_MAJOR_VERSION]: "17" });
  });

  test("slot ENIs are tagged with their slot index", () => {
    const enis = resources(s, "aws_network_interface").map(([, e]) => e.tags[TAG_SLOT]);
    expect(enis.sort()).toEqual(model === "distributed" ? ["0", "1", "2"] : ["0"]);
  });
});

test("allowDestroy removes prevent_destroy from the data-bearing resources but keeps NLB deletion protection", () => {
  const s = synthCluster(props("distributed", { allowDestroy: true }));
  for (const type of DATA_BEARING) for (const [, r] of resources(s, type)) expect(r.lifecycle?.prevent_destroy).toBe(false);
  expect(resources(s, "aws_lb")[0][1].enable_deletion_protection).toBe(true);
});

test("slot resources are keyed by slot index in their logical ids", () => {
  const s = synthCluster(props("distributed"));
  for (const type of ["aws_ebs_volume", "aws_network_interface", "aws_launch_template", "aws_autoscaling_group"]) {
    const slotIds = Object.keys(s.resource[type]).filter((id) => id.includes("_slot-"));
    expect(slotIds.map((id) => /_slot-(\d)_/.exec(id)![1]).sort()).toEqual(["0", "1", "2"]);
  }
});
