/** Escaping of untrusted text for the package's Markdown reports and their Mermaid diagrams. */
export * from "./gfm";
export * from "./mermaid";
