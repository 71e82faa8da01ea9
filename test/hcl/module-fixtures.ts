/** Shared by the HCL module example's unit and system tests. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Testing } from "cdktf";
import { ManagedPostgresModule } from "../../constructs/hcl-module";

/** The examples/hcl-module stack of an `orders` M cluster on PostgreSQL 17, synthesized (Terraform JSON). */
export function synthModule(deployment: "distributed" | "standalone"): any {
  const app = Testing.app();
  const stack = new ManagedPostgresModule(app, "db", { name: "orders", deployment, size: "M", majorVersion: 17 });
  return JSON.parse(Testing.synth(stack));
}

/** The ```hcl block of docs/hcl.md: the module call a Terraform user copies. */
export function docsModuleCall(): string {
  const doc = readFileSync(resolve(__dirname, "../../docs/hcl.md"), "utf8");
  return /```hcl\n([\s\S]*?)```/.exec(doc)![1]!;
}

/** A green module (`upgradeFrom: true`, and `admitBluePoolers`): `orders-v17` M on PostgreSQL 17, synthesized (Terraform JSON). */
export function synthGreenModule(deployment: "distributed" | "standalone" = "distributed", admitBluePoolers = false): any {
  const app = Testing.app();
  const stack = new ManagedPostgresModule(app, "green", { name: "orders-v17", deployment, size: "M", majorVersion: 17, upgradeFrom: true, admitBluePoolers });
  return JSON.parse(Testing.synth(stack));
}

/** A blue module (`upgradeTo`, and `followGreen`) of `orders` on PostgreSQL 15 admitting a green cluster of `greenDeployment`, synthesized. */
export function synthBlueModule(greenDeployment: "distributed" | "standalone", followGreen = false): any {
  const app = Testing.app();
  const stack = new ManagedPostgresModule(app, "blue", { name: "orders", deployment: "distributed", size: "M", majorVersion: 15, upgradeTo: { greenDeployment, followGreen } });
  return JSON.parse(Testing.synth(stack));
}

/** The `upgrade_from` value of a valid module call, as an HCL object literal, with `fields` replaced (HCL expressions). */
export function upgradeFromLiteral(fields: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    cluster_name: '"orders"',
    major_version: "15",
    secret_arn: '"arn:aws:secretsmanager:eu-west-1:123456789012:secret:managed-postgres/orders-AbCdEf"',
    kms_key_arn: '"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"',
    node_addresses: '["10.0.1.10", "10.0.2.10", "10.0.3.10"]',
    security_group_id: '"sg-0abc12345"',
    pooler_security_group_id: "null", // optional: Terraform's conversion to the variable's type sets it
    cutover: "false",
    ...fields,
  };
  return `{ ${Object.entries(all).map(([k, v]) => `${k} = ${v}`).join(", ")} }`;
}
