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
 * is kept. The CLI then runs in this process (same arguments, exit status and signals); the app
 * it spawns inherits the variable.
 */
if (process.env.CHECKPOINT_DISABLE === undefined) process.env.CHECKPOINT_DISABLE = "1";
require("cdktf-cli/bundle/bin/cdktf.js");
