/**
 * Collisions and token-valued fields (issue 16): two clusters of one stack with the same
 * name are refused naming both construct paths; `restoreFrom.target` must be a literal.
 * The plan-time checks of token-valued `tags` and `restoreFrom` fields, evaluated by
 * Terraform: token-preconditions.system.test.ts.
 */
import { App, TerraformStack, TerraformVariable } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres } from "../../constructs/aws/managed-postgres";
import { SpecValidationError } from "../../src/cluster-spec";
import { clusterProps, freshDir } from "../rules/synth-helpers";

function stack(): { app: App; stack: TerraformStack } {
  const app = new App({ outdir: freshDir() });
  const s = new TerraformStack(app, "db");
  new AwsProvider(s, "aws", { region: "eu-west-1" });
  return { app, stack: s };
}

test("two clusters named alike in one stack are refused naming both paths", () => {
  const { stack: s } = stack();
  new ManagedPostgres(s, "orders-a", clusterProps("standalone"));
  let err: unknown;
  try {
    new ManagedPostgres(s, "orders-b", clusterProps("standalone", { network: { ...clusterProps("standalone").network, subnetIds: ["subnet-0bbb22222"] } }));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SpecValidationError);
  expect((err as Error).message).toContain('`name`: got "orders", already the name of the cluster db/orders-a in stack "db"; db/orders-b needs another name');
});

test("the same name in two stacks is fine", () => {
  const { app, stack: s } = stack();
  const other = new TerraformStack(app, "db2");
  new AwsProvider(other, "aws", { region: "eu-west-1" });
  new ManagedPostgres(s, "orders", clusterProps("standalone"));
  expect(() => new ManagedPostgres(other, "orders", clusterProps("standalone"))).not.toThrow();
});

test("restoreFrom.target as a token is refused at synth (it decides the restore command's form)", () => {
  const { stack: s } = stack();
  const target = new TerraformVariable(s, "target", { type: "string" }).stringValue;
  const restoreFrom = { backupBucket: "orders-backups", stanza: "orders", target, secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-AbCdEf" };
  expect(() => new ManagedPostgres(s, "orders-v2", clusterProps("distributed", { name: "orders-v2", restoreFrom }))).toThrow(/`restoreFrom\.target` must be a literal/);
});
