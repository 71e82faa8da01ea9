/**
 * Package entry point: the pure core (cluster spec, renderers, rules) and the cdktf
 * constructs. constructs/private/ (naming, `--hcl` workarounds, prior-state location, the
 * policy pack's wiring) is deliberately not exported: test/architecture.test.ts checks it.
 */
export * from "../src";
export * from "./aws";
export * from "./policy-pack";
export * from "./kubernetes";
