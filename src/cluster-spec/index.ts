export * from "./types";
export * from "./sizes";
export * from "./versions";
export * from "./defaults";
export * from "./validate";
export * from "./load";
export * from "./ports";
