/**
 * The system tier (`npm run test:system`): tests that run the real tools (Patroni, etcd,
 * PostgreSQL, PgBouncer, HAProxy, pgBackRest, cloud-init, shellcheck, systemd-analyze,
 * terraform, network namespaces): every `*.system.test.ts` and test/image. Needs root and
 * `sudo npm run setup:system`; the global setup fails the run, naming the Debian packages,
 * when anything is missing. Same transform and module mapping as the unit tier.
 */
const unit = require("./jest.config.js");

module.exports = {
  ...unit,
  testMatch: ["**/*.system.test.ts", "<rootDir>/test/image/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/live/"],
  setupFiles: ["<rootDir>/test/support/tier-system.ts"],
  globalSetup: "<rootDir>/test/support/system-global-setup.ts",
};
