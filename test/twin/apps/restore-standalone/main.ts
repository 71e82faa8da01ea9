/**
 * Twin fixture app (issue 10): the third app the twin applies, beside examples/distributed
 * and examples/standalone. A standalone cluster created from another cluster's backups
 * (`restoreFrom`) whose user data lists the Debian packages (`installPackagesAtBoot`): the
 * largest user data the library renders, the case issue 10 measured at ~16.4 KB.
 * Run as the examples are: `CDKTF_OUTDIR=<dir> node --conditions=cdktf-managed-postgres-source -r sucrase/register main.ts`.
 */
import { App, LocalBackend, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres } from "cdktf-managed-postgres/aws";
import type { RestoreFrom } from "cdktf-managed-postgres";
import { PrivateNetwork } from "../../../../examples/shared/private-network";
import { reportSynth } from "../../../../examples/shared/synth-report";

const REGION = "eu-west-1";
const VPC_CIDR = "10.44.0.0/16";

export class RestoreStandaloneApp extends TerraformStack {
  public readonly database: ManagedPostgres;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // A live test restores from a cluster it ran first (test/twin/apps/synth.ts, RESTORE_FROM_ENV).
    const fromEnv = process.env.TWIN_RESTORE_FROM;
    const source = fromEnv ? (JSON.parse(fromEnv) as RestoreFrom) : undefined;
    new LocalBackend(this, { path: `terraform.${id}.tfstate` });
    new AwsProvider(this, "aws", { region: REGION });
    const network = new PrivateNetwork(this, "network", { cidr: VPC_CIDR, zones: 1, region: REGION });
    this.database = new ManagedPostgres(this, "reports", {
      name: "reports",
      deployment: "standalone",
      size: "S",
      storageGiB: 20,
      majorVersion: 17,
      backup: { retentionDays: 7 },
      tags: { team: "analytics", environment: "example" },
      network: { vpcId: network.vpcId, subnetIds: network.subnetIds, allowedCidrs: [VPC_CIDR] },
      // The packages come from a mirror reachable on 443 inside the VPC.
      installPackagesAtBoot: true,
      httpsEgressCidrs: [VPC_CIDR],
      restoreFrom: source ?? {
        backupBucket: "orders-backups-0a1b2c",
        stanza: "orders",
        target: "2026-11-20T10:00:00Z",
        secretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:managed-postgres/orders-AbCdEf",
        backupKmsKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      },
      now: source ? new Date().toISOString() : "2026-12-01T00:00:00Z",
    });
  }
}

if (require.main === module) {
  const app = new App();
  new RestoreStandaloneApp(app, "restore-standalone");
  app.synth();
  reportSynth(app);
}
