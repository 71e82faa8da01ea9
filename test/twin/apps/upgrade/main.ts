/**
 * Twin fixture app (issue 15: the blue/green major upgrade, docs/UPGRADING.md "Blue/green through
 * logical replication", step 2): ONE stack `upgrade` with
 * - blue `orders`: the distributed example's cluster (examples/distributed/postgres.yaml, three
 *   nodes, PgBouncer tier) with `majorVersion: 15` (the Debian 12 AMI → the bookworm node root)
 *   and `upgradeTo: { nodeAddresses: green's slot addresses, readWriteEndpoint: green's endpoint,
 *   readWritePort: 6432 }` (blue's endpoints follow green at the cutover);
 * - green `orders-v17`: standalone (one node, PgBouncer on the node), `majorVersion: 17` (the
 *   Debian 13 AMI → the trixie root), size S, 20 GiB, `applyImmediately: true` (the cutover's
 *   new launch template version replaces the node at once, not in the Sunday window), with
 *   `upgradeFrom` built from blue's outputs (with `poolerSecurityGroupId`: green's node group admits
 *   blue's PgBouncer tier on 6432); `upgradeFrom.cutover` is `true` when the environment
 *   variable {@link CUTOVER_ENV} is `1` (the re-apply of step 4).
 * Why a standalone green: the cutover is a launch template change, rolled node by node, and the
 * primary runs the new script only after the roll switched over to a replaced node: with a
 * distributed green that is two replacements and a switchover before the cutover starts (bench:roll
 * measured 652–698 s for a three-node roll on this machine), past the live test's 12-minute budget;
 * one replacement of a standalone node is about 3 minutes. Blue keeps the distributed shape, so the
 * failover on blue during the catch-up is a real Patroni failover.
 * Blue's `upgradeTo` and green's `upgradeFrom` reference each other's slot ENIs: blue's list item
 * is a Terraform local whose expression is set to green's slot address once green is declared (the
 * construct resolves its props' tokens when it is created, so a lazy value of a later construct
 * fails; no Terraform cycle: the ENIs depend on neither cluster's launch template).
 * Run as the examples are: `CDKTF_OUTDIR=<dir> node --conditions=cdktf-managed-postgres-source -r sucrase/register main.ts`.
 */
import { join } from "node:path";
import { App, LocalBackend, TerraformLocal, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { readSpecFile } from "cdktf-managed-postgres";
import { ManagedPostgres } from "cdktf-managed-postgres/aws";
import { PrivateNetwork } from "../../../../examples/shared/private-network";
import { reportSynth } from "../../../../examples/shared/synth-report";

/** `1`: green's `upgradeFrom.cutover` is true. */
const CUTOVER_ENV = "TWIN_UPGRADE_CUTOVER";
const REGION = "eu-west-1";
const VPC_CIDR = "10.42.0.0/16";

const app = new App();
const stack = new TerraformStack(app, "upgrade");
new LocalBackend(stack, { path: "terraform.upgrade.tfstate" });
new AwsProvider(stack, "aws", { region: REGION });
const network = new PrivateNetwork(stack, "network", { cidr: VPC_CIDR, zones: 3, region: REGION });
const net = { vpcId: network.vpcId, subnetIds: network.subnetIds, allowedCidrs: [VPC_CIDR] };
const spec = readSpecFile(join(__dirname, "..", "..", "..", "..", "examples", "distributed", "postgres.yaml"));

// blue needs green's slot address before green exists: a local, its expression set once green is declared
const greenSlot0 = new TerraformLocal(stack, "green-slot-0-address", "");
const blue = new ManagedPostgres(stack, "orders", {
  ...spec,
  majorVersion: 15,
  network: net,
  // green's endpoints, for blue's endpoints to follow green at the cutover: green is standalone,
  // so its endpoint is its slot address on 6432 (its `readWritePort`; a literal here because green
  // is declared below), and blue's read-only pool follows the read-write one (the default)
  upgradeTo: { nodeAddresses: [greenSlot0.asString], readWriteEndpoint: greenSlot0.asString, readWritePort: 6432 },
});
const green = new ManagedPostgres(stack, "orders-v17", {
  name: "orders-v17",
  deployment: "standalone",
  size: "S",
  storageGiB: 20,
  majorVersion: 17,
  applyImmediately: true,
  network: { ...net, subnetIds: [network.subnetIds[0]!] },
  upgradeFrom: {
    clusterName: "orders",
    majorVersion: 15,
    secretArn: blue.secretArn,
    kmsKeyArn: blue.kmsKeyArn,
    nodeAddresses: blue.slots.map((s) => s.privateIp),
    securityGroupId: blue.securityGroups.nodes.id,
    poolerSecurityGroupId: blue.poolerSecurityGroupId,
    cutover: process.env[CUTOVER_ENV] === "1",
  },
});
greenSlot0.expression = green.slots[0]!.privateIp;
if (green.readWritePort !== 6432) throw new Error(`blue's upgradeTo.readWritePort is 6432, green's endpoint port is ${green.readWritePort}`);
app.synth();
reportSynth(app);
