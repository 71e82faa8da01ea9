export * from "./target";
export * from "./config";
