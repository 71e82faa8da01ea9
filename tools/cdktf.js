#!/usr/bin/env node
/**
 * `npm run synth` (and any `node tools/cdktf.js <command>`): the cdktf CLI with HashiCorp's
 * checkpoint call off. The CLI honours only the CHECKPOINT_DISABLE environment variable
 * (@cdktf/commons/src/checkpoint.js); without it, an offline machine gets a red
 * `[ERROR] default - getaddrinfo ENOTFOUND checkpoint-api.hashicorp.com` line. A value already
 * set is kept. Portable (no shell syntax), exits with the CLI's status.
 */
const { spawnSync } = require("node:child_process");

const cli = require.resolve("cdktf-cli/bundle/bin/cdktf");
const r = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { CHECKPOINT_DISABLE: "1", ...process.env },
});
process.exit(r.status ?? 1);
