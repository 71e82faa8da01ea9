/** The pure core: cluster spec, node configuration renderers, monitoring definitions, synth-time rules, plan review. No cdktf import. */
export * from "./cluster-spec";
export * from "./render";
export * from "./monitoring";
export * from "./review";
export * from "./rules";
export * from "./rules/policy";
