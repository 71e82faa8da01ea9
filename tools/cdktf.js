#!/usr/bin/env node
/**
 * The cdktf CLI with HashiCorp's checkpoint call off unless the caller chose otherwise: what
 * `npx cdktf …` runs in this repository (node_modules/.bin/cdktf links here, set by
 * tools/link-cdktf-bin.js at `npm ci` / `npm install`) and what `npm run synth` runs.
 *
 * The CLI reads only the CHECKPOINT_DISABLE environment variable, once, when
 * @cdktf/commons/src/environment.js loads (`Boolean(process.env.CHECKPOINT_DISABLE)`); without
 * it, every command sends a telemetry request to checkpoint-api.hashicorp.com and, on an
 * offline machine, prints a red `[ERROR] default - getaddrinfo ENOTFOUND
 * checkpoint-api.hashicorp.com` line (@cdktf/commons/src/checkpoint.js). A value already set
 * is kept. The CLI runs as a child process with the same arguments, standard streams and exit
 * status (128 + the signal's number when a signal ended it), and the app it spawns inherits the
 * variable. Not in this process: the CLI's `--version` (yargs) reads the package.json next to
 * the main script, which would be this repository's.
 */
const { spawnSync } = require("node:child_process");
const { constants } = require("node:os");

const env = { ...process.env };
if (env.CHECKPOINT_DISABLE === undefined) env.CHECKPOINT_DISABLE = "1";
const r = spawnSync(process.execPath, [require.resolve("cdktf-cli/bundle/bin/cdktf.js"), ...process.argv.slice(2)], { stdio: "inherit", env });
if (r.error) throw r.error;
process.exit(r.status ?? 128 + (constants.signals[r.signal] ?? 0));
