/** The live 3-AZ cluster harness (needs root and the Debian packages .ci/run installs). Runs serially. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test/live"],
  testMatch: ["**/*.test.ts"],
  moduleNameMapper: require("./jest.config").moduleNameMapper,
  transform: {
    "^.+\\.ts$": "ts-jest",
  },
  maxWorkers: 1,
  testTimeout: 600000,
};
