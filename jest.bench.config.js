/**
 * Benchmarks that run as jest files (root, the live tier's prerequisites, the node root):
 * `npm run bench:roll` (bench/roll.test.ts). Not part of any test tier or of .ci/run: a roll
 * takes about 20 minutes. Runs serially.
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/bench"],
  testMatch: ["**/*.test.ts"],
  moduleNameMapper: require("./jest.config").moduleNameMapper,
  transform: {
    "^.+\\.ts$": "ts-jest",
  },
  maxWorkers: 1,
  testTimeout: 1800000,
};
