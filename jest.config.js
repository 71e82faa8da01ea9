/** Unit, synth and policy tests. The live cluster tests run with jest.live.config.js (`npm run test:live`). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/live/"],
  transform: {
    "^.+\\.ts$": "ts-jest",
  },
  testTimeout: 120000,
};
