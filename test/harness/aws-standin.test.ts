/**
 * The live harness's AWS stand-in (test/live/harness/aws-standin.ts) models what issue 10
 * found EC2 doing: each instance has a launch-created root volume and primary interface
 * tagged like the launch template's tag_specifications (cluster tags, no slot-identity tags),
 * so a filter on the cluster and slot tags alone would match two objects; the slot's filters
 * match one; a volume held by another instance cannot be attached (VolumeInUse); a replaced
 * instance is `terminated` and its launch resources are gone; SetInstanceHealth is recorded.
 * Runs the stand-in on loopback; no root needed.
 */
import type { AddressInfo } from "node:net";
import { AwsStandin } from "../live/harness/aws-standin";

const standin = new AwsStandin({
  region: "eu-west-1",
  accountId: "123456789012",
  clusterName: "orders",
  hosts: [
    { address: "10.0.1.10", zone: "eu-west-1a", slotIndex: 0, tags: {} },
    { address: "10.0.2.10", zone: "eu-west-1b", slotIndex: 1, tags: {} },
  ],
  secrets: [],
  volumeGiB: 10,
  roleName: "node",
});
let base = "";
beforeAll(async () => {
  await standin.listen(0, "127.0.0.1");
  base = `http://127.0.0.1:${((standin as any).server.address() as AddressInfo).port}/`;
});
afterAll(() => standin.close());

async function ec2(action: string, params: Record<string, string>): Promise<{ status: number; body: string }> {
  const r = await fetch(base, { method: "POST", body: new URLSearchParams({ Action: action, Version: "2016-11-15", ...params }) });
  return { status: r.status, body: await r.text() };
}
const filters = (f: [string, string][]) => Object.fromEntries(f.flatMap(([n, v], i) => [[`Filter.${i + 1}.Name`, n], [`Filter.${i + 1}.Value.1`, v]]));
/** Distinct ids in a Describe answer (an attachment repeats its volume's id). */
const ids = (xml: string, tag: string) => [...new Set([...xml.matchAll(new RegExp(`<item><${tag}>([^<]+)</${tag}>`, "g"))].map((m) => m[1]))];

test("launch-created root volumes and primary interfaces match the cluster filter, never the slot filters", async () => {
  const cluster = await ec2("DescribeVolumes", filters([["tag:managed-postgres:cluster", "orders"]]));
  expect(ids(cluster.body, "volumeId").sort()).toEqual(["vol-0harness000000000", "vol-0harness000000001", "vol-0launch00000001", "vol-0launch00000002"]);
  expect(cluster.body).toContain("<key>managed-postgres:launch-resource</key><value>root-volume</value>");
  const slot = await ec2(
    "DescribeVolumes",
    filters([
      ["tag:managed-postgres:cluster", "orders"],
      ["tag:managed-postgres:slot", "0"],
      ["tag:managed-postgres:slot-resource", "data-volume"],
    ]),
  );
  expect(ids(slot.body, "volumeId")).toEqual(["vol-0harness000000000"]);
  const enis = await ec2("DescribeNetworkInterfaces", filters([["tag:managed-postgres:cluster", "orders"], ["tag:managed-postgres:slot", "1"]]));
  expect(ids(enis.body, "networkInterfaceId")).toEqual(["eni-0harness000000001"]);
});

test("a volume held by another instance: VolumeInUse; after a replacement the old instance is terminated and its root volume gone", async () => {
  const first = standin.boot("10.0.1.10");
  const attached = await ec2("AttachVolume", { VolumeId: "vol-0harness000000000", InstanceId: first, Device: "/dev/sdf" });
  expect(attached.body).toContain("<status>attaching</status>");
  const second = standin.boot("10.0.2.10");
  const inUse = await ec2("AttachVolume", { VolumeId: "vol-0harness000000000", InstanceId: second, Device: "/dev/sdf" });
  expect(inUse.status).toBe(400);
  expect(inUse.body).toContain("<Code>VolumeInUse</Code>");
  const replacement = standin.boot("10.0.1.10");
  const old = await ec2("DescribeInstances", { "InstanceId.1": first });
  expect(old.body).toContain("<name>terminated</name>");
  const vols = await ec2("DescribeVolumes", filters([["tag:managed-postgres:cluster", "orders"]]));
  expect(ids(vols.body, "volumeId")).not.toContain(`vol-0launch${first.slice(-8)}`);
  expect(ids(vols.body, "volumeId")).toContain(`vol-0launch${replacement.slice(-8)}`);
  const health = await ec2("SetInstanceHealth", { InstanceId: replacement, HealthStatus: "Unhealthy" });
  expect(health.status).toBe(200);
  expect(standin.healthReports).toEqual([{ instanceId: replacement, status: "Unhealthy" }]);
});
