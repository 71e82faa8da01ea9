/** Plan review: what a change does to each managed PostgreSQL cluster, its risks, a topology diagram. */
export * from "./types";
export * from "./replace";
export * from "./plan";
export * from "./synth";
export * from "./clusters";
export * from "./risks";
export * from "./mermaid";
export * from "./review";
export * from "./rolls";
export * from "./markdown";
export * from "./load";
