/**
 * Benchmarks that run as jest files (root, the live tier's prerequisites, the node root):
 * `npm run bench:roll` (bench/roll.test.ts), `npm run bench:upgrade` (bench/upgrade.test.ts). The
 * live tier's configuration with the bench/ root; not part of any test tier or of .ci/run: a roll
 * takes about 20 minutes. Runs serially.
 */
module.exports = { ...require("./jest.live.config"), roots: ["<rootDir>/bench"], testTimeout: 1800000 };
