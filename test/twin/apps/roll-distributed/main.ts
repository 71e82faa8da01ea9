/**
 * Twin fixture app (issue 12): the distributed example's cluster (examples/distributed/postgres.yaml,
 * the same network and construct ids, stack `distributed`) with `applyImmediately: true`, so a
 * changed launch template rolls at once instead of in the Sunday window. The size comes from
 * `TWIN_ROLL_SIZE` (default the example's `M`) and the data volume from `TWIN_ROLL_STORAGE_GIB`
 * (default the example's 50): synthesizing it again with `L`, then with 80 GiB, are the changes
 * bench/roll.test.ts (`npm run bench:roll`) re-applies.
 * Run as the examples are: `CDKTF_OUTDIR=<dir> node --conditions=cdktf-managed-postgres-source -r sucrase/register main.ts`.
 */
import { join } from "node:path";
import { App, LocalBackend, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { readSpecFile, type ClusterSpec } from "cdktf-managed-postgres";
import { ManagedPostgres } from "cdktf-managed-postgres/aws";
import { PrivateNetwork } from "../../../../examples/shared/private-network";
import { reportSynth } from "../../../../examples/shared/synth-report";

const REGION = "eu-west-1";
const VPC_CIDR = "10.42.0.0/16";

export class RollDistributedApp extends TerraformStack {
  constructor(scope: Construct, id: string, size: ClusterSpec["size"], storageGiB?: number) {
    super(scope, id);
    new LocalBackend(this, { path: `terraform.${id}.tfstate` });
    new AwsProvider(this, "aws", { region: REGION });
    const network = new PrivateNetwork(this, "network", { cidr: VPC_CIDR, zones: 3, region: REGION });
    const spec = readSpecFile(join(__dirname, "..", "..", "..", "..", "examples", "distributed", "postgres.yaml"));
    new ManagedPostgres(this, "orders", {
      ...spec,
      size,
      storageGiB: storageGiB ?? spec.storageGiB,
      applyImmediately: true,
      network: { vpcId: network.vpcId, subnetIds: network.subnetIds, allowedCidrs: [VPC_CIDR] },
    });
  }
}

if (require.main === module) {
  const app = new App();
  const storage = process.env.TWIN_ROLL_STORAGE_GIB;
  new RollDistributedApp(app, "distributed", (process.env.TWIN_ROLL_SIZE ?? "M") as ClusterSpec["size"], storage ? Number(storage) : undefined);
  app.synth();
  reportSynth(app);
}
