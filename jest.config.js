/** Unit, synth and policy tests. The live cluster tests run with jest.live.config.js (`npm run test:live`). */
const { exports: entries } = require("./package.json");

/**
 * `cdktf-managed-postgres[/<entry>]` (as the examples import it) → the entry's TypeScript
 * source, from package.json's "exports" (its `cdktf-managed-postgres-source` condition).
 */
const selfImports = Object.fromEntries(
  Object.entries(entries)
    .filter(([, target]) => typeof target === "object")
    .map(([key, target]) => [`^cdktf-managed-postgres${key.slice(1).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, `<rootDir>/${target["cdktf-managed-postgres-source"].slice(2)}`]),
);

module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/live/"],
  transform: {
    "^.+\\.ts$": "ts-jest",
  },
  moduleNameMapper: selfImports,
  testTimeout: 120000,
};
