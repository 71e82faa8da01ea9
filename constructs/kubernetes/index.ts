export * from "./props";
export * from "../../src/render/kubernetes";
export * from "./managed-postgres-kubernetes";
export * from "./safety";
