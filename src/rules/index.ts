export * from "./prior-state";
export * from "./safety";
export * from "./restore";
export * from "./addresses";
export * from "./upgrade";
