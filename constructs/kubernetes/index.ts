export * from "./props";
export * from "./config";
export * from "./managed-postgres-kubernetes";
export * from "./safety";
