/**
 * Storage growth through the twin's apply (issue 12): a distributed cluster synthesized with
 * storageGiB 50, applied, then synthesized again with 80 and re-applied over the first state
 * (`prior`, as `terraform apply` of the changed configuration). Only the three data volumes
 * change, in place (same ids, size 80); every launch template keeps version 1 and its user
 * data, the Auto Scaling groups keep version 1, the bootstrap objects keep their version ids:
 * no node is replaced, nothing restarts.
 * System tier: needs the `terraform` binary (the twin's apply evaluates with `terraform console`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres } from "../../../constructs/aws/managed-postgres";
import { PrivateNetwork } from "../../../examples/shared/private-network";
import { applyStack, type TwinState } from "./index";

jest.setTimeout(600_000);

const work = mkdtempSync(join(tmpdir(), "twin-storage-growth-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Synthesizes the stack with `storageGiB`; returns the directory holding its cdk.tf.json. */
function synth(storageGiB: number): string {
  const outdir = join(work, `gib-${storageGiB}`);
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "db");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  const network = new PrivateNetwork(stack, "network", { cidr: "10.42.0.0/16", zones: 3, region: "eu-west-1" });
  new ManagedPostgres(stack, "orders", {
    name: "orders",
    deployment: "distributed",
    size: "M",
    storageGiB,
    network: { vpcId: network.vpcId, subnetIds: network.subnetIds, allowedCidrs: ["10.42.0.0/16"] },
  });
  app.synth();
  return join(outdir, "stacks", "db");
}

const managed = (s: TwinState, type: string) => s.ofType(type).filter((r) => r.mode === "managed");

test("storageGiB 50 → 80 re-applied: the data volumes grow in place; no launch template version, group or bootstrap object changes", async () => {
  const first = await applyStack(synth(50));
  const second = await applyStack(synth(80), undefined, first);

  const volumes = managed(second, "aws_ebs_volume");
  expect(volumes).toHaveLength(3);
  for (const v of volumes) {
    const before = first.get(v.address);
    expect(before.attributes.size).toBe(50);
    expect(v.attributes.size).toBe(80);
    expect(v.attributes.id).toBe(before.attributes.id);
  }

  const templates = managed(second, "aws_launch_template");
  expect(templates.length).toBe(4); // three slots and the PgBouncer tier
  for (const t of templates) {
    expect(t.attributes.latest_version).toBe(1);
    expect(t.attributes).toEqual(first.get(t.address).attributes);
  }
  for (const g of managed(second, "aws_autoscaling_group")) {
    expect((g.attributes.launch_template as { version: unknown }).version).toBe(1);
    expect(g.attributes).toEqual(first.get(g.address).attributes);
  }
  const objects = managed(second, "aws_s3_object");
  expect(objects.length).toBeGreaterThan(0);
  for (const o of objects) expect(o.attributes.version_id).toBe(first.get(o.address).attributes.version_id);

  // Nothing else changed either (the plan-time guard's local is not a resource).
  const changed = second.resources.filter((r) => r.mode === "managed" && JSON.stringify(r.attributes) !== JSON.stringify(first.get(r.address).attributes)).map((r) => r.address);
  expect(changed.sort()).toEqual(volumes.map((v) => v.address).sort());
});
