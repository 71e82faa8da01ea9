/** The pure core: cluster spec, node configuration renderers, synth-time rules, plan review. No cdktf import. */
export * from "./cluster-spec";
export * from "./render";
export * from "./review";
export * from "./rules";
export * from "./rules/policy";
