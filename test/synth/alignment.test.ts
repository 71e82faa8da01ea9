/**
 * ManagedPostgres (AWS) and ManagedPostgresKubernetes agree (issue 13): one spec object spreads
 * into both; the destroy-protection prop has the same name and default; standalone's read-only
 * endpoint is its read-write one on both; the outputs have the same names where they apply.
 */
import { Testing, TerraformOutput, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { ManagedPostgres } from "../../constructs/aws";
import { ManagedPostgresKubernetes } from "../../constructs/kubernetes";
import { SpecValidationError, type ClusterSpec } from "../../src/cluster-spec";
import { props as k8sProps } from "../kubernetes/fixtures";
import { network, synthCluster } from "./helpers";

const k8sOptions = (() => {
  const { name, deployment, size, storageGiB, majorVersion, ...options } = k8sProps();
  return options;
})();

function spec(deployment: "standalone" | "distributed"): ClusterSpec {
  return { name: "orders", deployment, size: "M", storageGiB: 50, majorVersion: 17, backup: { retentionDays: 14 }, tags: { team: "platform" } };
}

function aws(deployment: "standalone" | "distributed", extra: object = {}) {
  return synthCluster({ ...spec(deployment), network: network(deployment), ...extra });
}

function k8s(deployment: "standalone" | "distributed", extra: object = {}) {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  new KubernetesProvider(stack, "kubernetes", { configPath: "~/.kube/config" });
  const cluster = new ManagedPostgresKubernetes(stack, "orders", { ...spec(deployment), ...k8sOptions, ...extra });
  const json = JSON.parse(Testing.synth(stack));
  return { cluster, output: json.output as Record<string, { value: unknown; description: string }>, resource: json.resource as Record<string, Record<string, any>> };
}

/** prevent_destroy of every resource of the types that hold data or keys on either target. */
function protectedResources(resource: Record<string, Record<string, any>>): boolean[] {
  return ["aws_s3_bucket", "aws_kms_key", "aws_ebs_volume", "kubernetes_persistent_volume_claim_v1"].flatMap((t) =>
    Object.values(resource[t] ?? {}).map((r) => r.lifecycle?.prevent_destroy === true),
  );
}

test("one spec object (flat fields) resolves to the same spec on both", () => {
  const a = aws("distributed").cluster.spec;
  const k = k8s("distributed").cluster.spec;
  const { network: _n, architecture: _a, ...awsRest } = a;
  const { network: _kn, architecture: _ka, ...k8sRest } = k;
  expect(k8sRest).toEqual(awsRest);
  expect(k.backup.retentionDays).toBe(14);
});

test("destroy protection: `allowDestroy`, default false, on both", () => {
  const defaults = [protectedResources(aws("distributed").resource), protectedResources(k8s("distributed").resource)];
  const allowed = [protectedResources(aws("distributed", { allowDestroy: true }).resource), protectedResources(k8s("distributed", { allowDestroy: true }).resource)];
  expect(defaults.map((p) => p.length > 0 && p.every(Boolean))).toEqual([true, true]);
  expect(allowed.map((p) => p.length > 0 && p.every((x) => !x))).toEqual([true, true]);
});

test("the old Kubernetes name `preventDestroy` is not an AWS prop; on Kubernetes it must agree with `allowDestroy`", () => {
  expect(() => aws("standalone", { preventDestroy: true })).toThrow(/`preventDestroy` is not a known field/);
  expect(() => k8s("standalone", { preventDestroy: true, allowDestroy: true })).toThrow(SpecValidationError);
});

test.each(["standalone", "distributed"] as const)("%s: the read-only endpoint (host and port) is the read-write one exactly when standalone, on both", (deployment) => {
  const a = aws(deployment);
  const k = k8s(deployment);
  // Distributed AWS clusters serve both endpoints on one NLB (same host, ports 5432 and 5433).
  const same = (o: Record<string, { value: unknown }>) =>
    o.orders_read_only_endpoint.value === o.orders_read_write_endpoint.value && o.orders_read_only_port.value === o.orders_read_write_port.value;
  const sameProps = (c: { readOnlyEndpoint: string; readWriteEndpoint: string; readOnlyPort: number; readWritePort: number }) =>
    c.readOnlyEndpoint === c.readWriteEndpoint && c.readOnlyPort === c.readWritePort;
  const expected = deployment === "standalone";
  expect([same(a.output), same(k.output), sameProps(a.cluster), sameProps(k.cluster)]).toEqual([expected, expected, expected, expected]);
  if (expected) expect(k.output.orders_read_only_endpoint.description).toBe(a.output.orders_read_only_endpoint.description);
});

test.each(["standalone", "distributed"] as const)("%s: the outputs have the same names, except the AWS-only secret, CA parameter, node addresses, node and PgBouncer security groups (upgradeFrom), and the Kubernetes-only backup role", (deployment) => {
  const a = Object.keys(aws(deployment).output).sort();
  const k = Object.keys(k8s(deployment).output).sort();
  expect(a.filter((n) => !k.includes(n))).toEqual(["orders_ca_certificate_parameter", "orders_node_addresses", "orders_node_security_group_id", "orders_pooler_security_group_id", "orders_secret_arn"]);
  expect(k.filter((n) => !a.includes(n))).toEqual(["orders_backup_role_arn"]);
  expect(k.length).toBe(7);
});

test("an output of the stack with one of the cluster's output names fails synth on both (cdktf would keep one silently)", () => {
  for (const build of [
    (stack: TerraformStack) => new ManagedPostgres(stack, "orders", { ...spec("standalone"), network: network("standalone") }),
    (stack: TerraformStack) => new ManagedPostgresKubernetes(stack, "orders", { ...spec("standalone"), ...k8sOptions }),
  ]) {
    const stack = new TerraformStack(Testing.app(), "test");
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new KubernetesProvider(stack, "kubernetes", { configPath: "~/.kube/config" });
    const db = build(stack);
    new TerraformOutput(stack, "orders_read_write_endpoint", { value: db.readWriteEndpoint });
    expect(() => Testing.synth(stack, true)).toThrow(/Terraform output `orders_read_write_endpoint` is defined twice: by test\/orders_read_write_endpoint and by the cluster test\/orders,/);
    const fine = new TerraformStack(Testing.app(), "fine");
    new AwsProvider(fine, "aws", { region: "eu-west-1" });
    new KubernetesProvider(fine, "kubernetes", { configPath: "~/.kube/config" });
    build(fine);
    expect(() => Testing.synth(fine, true)).not.toThrow();
  }
});
