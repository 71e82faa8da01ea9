/**
 * The shared Terraform layer: one reader of cdktf's synth output and one set of Terraform
 * value helpers, for review, the policy pack and the prior-state rules. Pure; no cdktf import.
 * Internal: not exported from the package entry point.
 */
export * from "./values";
export * from "./config";
export * from "./synth-output";
export * from "./read-file";
