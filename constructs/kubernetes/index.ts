/**
 * `cdktf-managed-postgres/kubernetes`: ManagedPostgresKubernetes and its parts. Needs the
 * optional peer dependency `@cdktf/provider-kubernetes`; without it, importing this entry
 * throws an error naming the package and the install command (./require-provider).
 */
// First: fail with a clear message before any construct requires the provider.
export * from "./require-provider";
export * from "./props";
export * from "../../src/render/kubernetes";
export * from "./managed-postgres-kubernetes";
export * from "./backup-identity";
export * from "./database-stateful-set";
export * from "./pooler-deployment";
export * from "./network-policies";
export * from "./terraform-literal";
export * from "./safety";
