/**
 * The live 3-AZ cluster harness (needs root and the Debian packages .ci/run installs). Runs serially.
 * The global setup takes a host-wide lock (test/support/live-lock.ts): a second live run on the
 * same machine fails at once, naming the lock file and the PID of the run holding it.
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test/live"],
  testMatch: ["**/*.test.ts"],
  moduleNameMapper: require("./jest.config").moduleNameMapper,
  transform: {
    "^.+\\.ts$": "ts-jest",
  },
  globalSetup: "<rootDir>/test/support/live-global-setup.ts",
  globalTeardown: "<rootDir>/test/support/live-global-teardown.ts",
  maxWorkers: 1,
  testTimeout: 600000,
};
