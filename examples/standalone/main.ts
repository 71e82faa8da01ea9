/**
 * Example: a standalone cluster (one node, PgBouncer on the node, one endpoint) in a new
 * private VPC. Synthesizes with no input:
 *   cd examples/standalone && npx cdktf synth
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
const VPC_CIDR = "10.43.0.0/16";

export class StandaloneExample extends TerraformStack {
  public readonly database: ManagedPostgres;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Relative path: the synthesized JSON does not depend on where it was generated.
    new LocalBackend(this, { path: `terraform.${id}.tfstate` });
    new AwsProvider(this, "aws", { region: REGION });
    const network = new PrivateNetwork(this, "network", { cidr: VPC_CIDR, zones: 1, region: REGION });
    const spec = readSpecFile(join(__dirname, "postgres.yaml"));
    this.database = new ManagedPostgres(this, "cms", {
      ...spec,
      network: {
        vpcId: network.vpcId,
        subnetIds: network.subnetIds,
        // Applications in this VPC may connect to the endpoint.
        allowedCidrs: [VPC_CIDR],
      },
    });
  }
}

if (require.main === module) {
  const app = new App();
  new StandaloneExample(app, "standalone");
  app.synth();
  reportSynth(app);
}
