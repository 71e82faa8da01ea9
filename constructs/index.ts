/**
 * Package entry point (`cdktf-managed-postgres`): the pure core (cluster spec, renderers,
 * rules, plan review) and the AWS constructs with the policy pack. It does not load
 * `@cdktf/provider-kubernetes` (an optional peer dependency): the Kubernetes constructs are
 * `cdktf-managed-postgres/kubernetes`, the HCL module `cdktf-managed-postgres/hcl-module`.
 * constructs/private/ (naming, `--hcl` workarounds, prior-state location, the policy pack's
 * wiring) is deliberately not exported: test/architecture.test.ts checks it.
 */
export * from "../src";
export * from "./aws";
export * from "./policy-pack";
