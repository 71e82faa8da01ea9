/**
 * The distributed example's stack for the twin's fixture apps: its cluster
 * (examples/distributed/postgres.yaml) with the example's network and construct ids, changed by
 * `overrides` (e.g. `majorVersion`, `size`, `applyImmediately`).
 */
import { join } from "node:path";
import { LocalBackend, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { readSpecFile, type ClusterSpec } from "cdktf-managed-postgres";
import { ManagedPostgres } from "cdktf-managed-postgres/aws";
import { PrivateNetwork } from "../../../examples/shared/private-network";

const REGION = "eu-west-1";
const VPC_CIDR = "10.42.0.0/16";

export class DistributedFixtureStack extends TerraformStack {
  constructor(scope: Construct, id: string, overrides: Partial<ClusterSpec> & { applyImmediately?: boolean }) {
    super(scope, id);
    new LocalBackend(this, { path: `terraform.${id}.tfstate` });
    new AwsProvider(this, "aws", { region: REGION });
    const network = new PrivateNetwork(this, "network", { cidr: VPC_CIDR, zones: 3, region: REGION });
    const spec = readSpecFile(join(__dirname, "..", "..", "..", "examples", "distributed", "postgres.yaml"));
    new ManagedPostgres(this, "orders", {
      ...spec,
      ...overrides,
      network: { vpcId: network.vpcId, subnetIds: network.subnetIds, allowedCidrs: [VPC_CIDR] },
    });
  }
}
