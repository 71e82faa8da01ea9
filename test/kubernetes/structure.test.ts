/**
 * The construct split: `ManagedPostgresKubernetes` groups its resources in BackupIdentity,
 * DatabaseStatefulSet, PoolerDeployment and NetworkPolicies, while every resource keeps the
 * construct path (and so the Terraform address) it had before the split.
 */
import { Node } from "constructs";
import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { BackupIdentity, DatabaseStatefulSet, ManagedPostgresKubernetes, NetworkPolicies, PoolerDeployment } from "../../constructs/kubernetes";
import { distributed, props, standalone } from "./fixtures";

function cluster(deployment: "distributed" | "standalone"): ManagedPostgresKubernetes {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  new KubernetesProvider(stack, "kubernetes", { configPath: "~/.kube/config" });
  return new ManagedPostgresKubernetes(stack, "orders", props({ deployment }));
}

test("the four sub-constructs are children of the cluster", () => {
  const c = cluster("distributed");
  const kinds = [BackupIdentity, DatabaseStatefulSet, PoolerDeployment, NetworkPolicies];
  expect(kinds.map((k) => Node.of(c).children.filter((x) => x instanceof k).length)).toEqual([1, 1, 1, 1]);
});

test("the cluster's public objects are the sub-constructs' objects", () => {
  const c = cluster("distributed");
  expect([
    c.statefulSet === c.database.statefulSet,
    c.pooler === c.poolerDeployment.deployment,
    c.backupBucket === c.backupIdentity.bucket,
    c.readWriteEndpoint === c.poolerDeployment.readWriteEndpoint,
  ]).toEqual([true, true, true, true]);
});

test("a standalone cluster's read-only endpoint is its read-write one, port 5432 (as on AWS)", () => {
  const c = cluster("standalone");
  expect([c.readOnlyEndpoint === c.readWriteEndpoint, c.readOnlyPort, c.readWritePort]).toEqual([true, 5432, 5432]);
});

test("a distributed cluster's read-only endpoint is the ro Service on 5433", () => {
  const c = cluster("distributed");
  expect([c.readOnlyEndpoint === c.poolerDeployment.readOnlyEndpoint, c.readOnlyEndpoint === c.readWriteEndpoint, c.readOnlyPort, c.readWritePort]).toEqual([true, false, 5433, 5432]);
});

test.each([
  ["distributed", distributed],
  ["standalone", standalone],
] as const)("%s: no Terraform address carries a sub-construct's id (resources stay at the cluster's paths)", (_, s) => {
  const json = JSON.parse(s().raw) as Record<string, Record<string, Record<string, unknown>>>;
  const ids = ["resource", "data"].flatMap((block) => Object.values(json[block] ?? {}).flatMap((byId) => Object.keys(byId)));
  expect(ids).toContain(Object.keys(json.resource!.kubernetes_stateful_set_v1!)[0]);
  expect(ids.filter((id) => !id.startsWith("orders_") || /BackupIdentity|DatabaseStatefulSet|PoolerDeployment|NetworkPolicies/.test(id))).toEqual([]);
});
