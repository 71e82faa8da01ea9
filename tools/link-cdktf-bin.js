/**
 * `prepare` step (runs after `npm ci` / `npm install` in this repository, not when the package
 * is installed from the registry): points node_modules/.bin/cdktf at tools/cdktf.js, the cdktf
 * CLI with its checkpoint call off (CHECKPOINT_DISABLE=1 unless set), so that `npx cdktf synth`
 * in the repository or an example prints no `[ERROR] … checkpoint-api` line offline.
 *
 * Does nothing (one line saying why) when the CLI is not installed (a production install) or
 * the link is already there. `npm install --ignore-scripts` skips it: then set
 * CHECKPOINT_DISABLE=1 yourself or use `npm run synth`.
 */
const { existsSync, lstatSync, readlinkSync, rmSync, symlinkSync } = require("node:fs");
const { join, relative } = require("node:path");

const root = join(__dirname, "..");
const bin = join(root, "node_modules", ".bin", "cdktf");
const target = relative(join(root, "node_modules", ".bin"), join(__dirname, "cdktf.js"));
const cli = join(root, "node_modules", "cdktf-cli", "bundle", "bin", "cdktf.js");

if (!existsSync(cli)) {
  console.log("link-cdktf-bin: cdktf-cli is not installed here; node_modules/.bin/cdktf left as it is");
} else if (lstatSync(bin, { throwIfNoEntry: false })?.isSymbolicLink() && readlinkSync(bin) === target) {
  console.log("link-cdktf-bin: node_modules/.bin/cdktf already runs tools/cdktf.js");
} else {
  rmSync(bin, { force: true });
  symlinkSync(target, bin);
  console.log("link-cdktf-bin: node_modules/.bin/cdktf now runs tools/cdktf.js (the cdktf CLI, CHECKPOINT_DISABLE=1 unless set)");
}
