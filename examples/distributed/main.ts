/**
 * Example: a distributed cluster (3 nodes in 3 availability zones, PgBouncer tier behind an
 * internal NLB) in a new private VPC. Synthesizes with no input:
 *   cd examples/distributed && npx cdktf synth
 */
import { join } from "node:path";
import { App, LocalBackend, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { readSpecFile } from "cdktf-managed-postgres";
import { ManagedPostgres } from "cdktf-managed-postgres/aws";
import { PrivateNetwork } from "../shared/private-network";
import { reportSynth } from "../shared/synth-report";

const REGION = "eu-west-1";
const VPC_CIDR = "10.42.0.0/16";

export class DistributedExample extends TerraformStack {
  public readonly database: ManagedPostgres;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Relative path: the synthesized JSON does not depend on where it was generated.
    new LocalBackend(this, { path: `terraform.${id}.tfstate` });
    new AwsProvider(this, "aws", { region: REGION });
    const network = new PrivateNetwork(this, "network", { cidr: VPC_CIDR, zones: 3, region: REGION });
    const spec = readSpecFile(join(__dirname, "postgres.yaml"));
    this.database = new ManagedPostgres(this, "orders", {
      ...spec,
      network: {
        vpcId: network.vpcId,
        subnetIds: network.subnetIds,
        // Applications in this VPC may connect to the endpoints.
        allowedCidrs: [VPC_CIDR],
      },
    });
  }
}

if (require.main === module) {
  const app = new App();
  new DistributedExample(app, "distributed");
  app.synth();
  reportSynth(app);
}
