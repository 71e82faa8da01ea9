/** The security policy pack over synthesized Terraform JSON. Pure; no cdktf import. */
export * from "./types";
export { SUPPRESSIONS_METADATA_KEY, loadStacksFromDir, stackFromTerraformJson, suppressionsOf } from "./terraform";
export { policyStatements, type PolicyStatement, type StatementCondition } from "./policy-document";
export * from "./pack";
export * from "./rules/storage";
export * from "./rules/compute";
export * from "./rules/network";
export * from "./rules/iam";
export * from "./rules/observability";
export * from "./kubernetes";
