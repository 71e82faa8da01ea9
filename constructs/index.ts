/**
 * Package entry point: the pure core (cluster spec, renderers, rules) and the cdktf
 * constructs.
 */
export * from "../src";
export * from "./aws";
export * from "./kubernetes";
