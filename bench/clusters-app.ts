/**
 * Benchmark app: BENCH_CLUSTERS (default 1) distributed clusters of size M in one stack, on a
 * literal network (no VPC constructs), so that the cost of one more cluster can be measured
 * (bench/synth.ts: 1, 5 and 20 clusters). Prints `BENCH_PHASES construct_cpu_ms=… synth_cpu_ms=…` on
 * standard error: the CPU time (user + system) of building the clusters and of `app.synth()`
 * (cdktf's prepare pass, the policy pack's checks on the resolved JSON, which cdktf then writes).
 */
import { App, LocalBackend, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres } from "cdktf-managed-postgres/aws";

const count = Number(process.env.BENCH_CLUSTERS ?? "1");
const app = new App();
const stack = new TerraformStack(app, "clusters");
new LocalBackend(stack, { path: "terraform.clusters.tfstate" });
new AwsProvider(stack, "aws", { region: "eu-west-1" });
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const start = process.cpuUsage();
for (let i = 0; i < count; i++) {
  new ManagedPostgres(stack, `db${i}`, {
    name: `db${i}`,
    deployment: "distributed",
    size: "M",
    storageGiB: 50,
    network: { vpcId: "vpc-0abc12345", subnetIds: ["subnet-0aaa1111", "subnet-0bbb2222", "subnet-0ccc3333"], allowedCidrs: ["10.0.0.0/16"] },
  });
}
const built = process.cpuUsage(start);
app.synth();
const synthesized = process.cpuUsage(start);
process.stderr.write(`\nBENCH_PHASES construct_cpu_ms=${cpuMs(built).toFixed(1)} synth_cpu_ms=${(cpuMs(synthesized) - cpuMs(built)).toFixed(1)}\n`);
