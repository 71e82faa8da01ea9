/**
 * The unit tier (`npm test`): unit, synth, policy and renderer tests that need Node and npm only.
 * Tests that run a real tool live in `*.system.test.ts` files (and test/image) and run with
 * jest.system.config.js; the live cluster tests run with jest.live.config.js. The setup file
 * marks the tier, so the system-only helpers of test/support/prerequisites.ts throw here.
 */
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
  testPathIgnorePatterns: ["/node_modules/", "\\.system\\.test\\.ts$", "<rootDir>/test/live/", "<rootDir>/test/image/"],
  setupFiles: ["<rootDir>/test/support/tier-unit.ts"],
  transform: {
    "^.+\\.ts$": "ts-jest",
  },
  moduleNameMapper: selfImports,
  testTimeout: 120000,
};
