/**
 * Benchmark app: BENCH_CLUSTERS (default 1) distributed clusters of size M in one stack, on a
 * literal network (no VPC constructs), so that the cost of one more cluster can be measured
 * (bench/synth.ts: 1, 5 and 20 clusters).
 */
import { App, LocalBackend, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres } from "cdktf-managed-postgres/aws";

const count = Number(process.env.BENCH_CLUSTERS ?? "1");
const app = new App();
const stack = new TerraformStack(app, "clusters");
new LocalBackend(stack, { path: "terraform.clusters.tfstate" });
new AwsProvider(stack, "aws", { region: "eu-west-1" });
for (let i = 0; i < count; i++) {
  new ManagedPostgres(stack, `db${i}`, {
    name: `db${i}`,
    deployment: "distributed",
    size: "M",
    storageGiB: 50,
    network: { vpcId: "vpc-0abc12345", subnetIds: ["subnet-0aaa1111", "subnet-0bbb2222", "subnet-0ccc3333"], allowedCidrs: ["10.0.0.0/16"] },
  });
}
app.synth();
