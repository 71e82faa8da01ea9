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
