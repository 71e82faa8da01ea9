/**
 * Example: managed PostgreSQL as a Terraform module for teams who write HCL.
 *
 *   cd examples/hcl-module && npx cdktf synth --hcl
 *
 * writes one module per stack under `cdktf.out/stacks/<stack>/cdk.tf`, which an HCL
 * configuration calls with `module "orders_db" { source = ".../cdktf.out/stacks/orders-db" … }`.
 * The module is `ManagedPostgresModule` from `cdktf-managed-postgres/hcl-module` (its
 * variables, validations and outputs: docs/hcl.md); this app only lists the modules.
 */
import { App } from "cdktf";
import { ManagedPostgresModule, type ModuleShape } from "cdktf-managed-postgres/hcl-module";
import { reportSynth } from "../shared/synth-report";

/** The modules this example synthesizes: one per cluster shape. Add yours here. */
export const MODULES: Readonly<Record<string, ModuleShape>> = {
  "orders-db": { name: "orders", deployment: "distributed", size: "M", majorVersion: 17 },
  "reports-db": { name: "reports", deployment: "standalone", size: "S", majorVersion: 17 },
};

/** Synthesizes every module of {@link MODULES} into `app`. */
export function addModules(app: App): ManagedPostgresModule[] {
  return Object.entries(MODULES).map(([stack, shape]) => new ManagedPostgresModule(app, stack, shape));
}

if (require.main === module) {
  const app = new App();
  addModules(app);
  app.synth();
  reportSynth(app);
}
