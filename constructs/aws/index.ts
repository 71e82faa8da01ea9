export * from "./managed-postgres";
export * from "./slot";
export * from "./pooler";
export * from "./backup-bucket";
export * from "./encryption";
export * from "./secret";
export * from "./security";
export * from "./iam";
export * from "./launch";
export * from "./environment";
export * from "./monitoring";
// ./prior-state is the wiring of the safety rules inside ManagedPostgres: not exported.
export * from "./deferred-checks";
