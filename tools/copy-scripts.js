/**
 * Build step after tsc: copies the shell scripts the renderers read at run time
 * (src/render/scripts/*.sh and the Kubernetes maintenance agent *.py) next to their compiled JavaScript (dist/src/render/scripts/).
 * Usage: node tools/copy-scripts.js  (from the repository root; part of `npm run build`).
 */
const { copyFileSync, mkdirSync, readdirSync } = require("node:fs");
const { join } = require("node:path");

const from = join(__dirname, "..", "src", "render", "scripts");
const to = join(__dirname, "..", "dist", "src", "render", "scripts");
const names = readdirSync(from).filter((n) => n.endsWith(".sh") || n.endsWith(".py"));
if (names.length === 0) throw new Error(`no .sh files in ${from}`);
mkdirSync(to, { recursive: true });
for (const n of names) copyFileSync(join(from, n), join(to, n));
console.log(`copied ${names.length} scripts to ${to}`);
