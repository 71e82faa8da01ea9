/**
 * `node -r <repo>/tools/register.js app.ts`: what `-r sucrase/register` does for `.ts` files
 * (sucrase's `imports` and `typescript` transforms, an inline source map), with each
 * transform's output kept on disk, so that a second synth of an example does not
 * transpile the library's sources again. The examples' cdktf.json run their app with it.
 *
 * Why: the examples load the library from its TypeScript sources (the
 * `cdktf-managed-postgres-source` condition), some 0.8 MB that sucrase transpiles on every
 * run: about 1 s of CPU time per `cdktf synth` of examples/distributed (node --cpu-prof,
 * 2026-12-02), more than the library's own synth work.
 *
 * Cache: one file per transform, named by the SHA-256 of sucrase's version, the transform
 * options, the file's path and its text (a changed file or a new sucrase misses; nothing is
 * ever stale), under `node_modules/.cache/cdktf-managed-postgres-sucrase/` of this
 * repository (delete the folder to empty it). Written to a temporary name then renamed, so
 * concurrent runs never read a partial file. When the folder cannot be written, the runner
 * transpiles as sucrase/register does and goes on. `.js` files are left to Node (sucrase's
 * register also rewrites `.js` outside node_modules; nothing here needs it). SUCRASE_OPTIONS
 * is honoured as sucrase/register honours it.
 */
"use strict";
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const Module = require("node:module");
const { join } = require("node:path");

const SUCRASE_VERSION = require("sucrase/package.json").version;
const OPTIONS = { transforms: ["imports", "typescript"], ...JSON.parse(process.env.SUCRASE_OPTIONS || "{}") };
const CACHE = join(__dirname, "..", "node_modules", ".cache", "cdktf-managed-postgres-sucrase");
let cacheWritable = true;

/** sucrase/register's output for `code` at `filePath`: the JavaScript, then its source map inline. */
function transpile(code, filePath) {
  // Loaded on a miss only: a run whose files are all cached never loads the transpiler.
  const { code: js, sourceMap } = require("sucrase").transform(code, { ...OPTIONS, sourceMapOptions: { compiledFilename: filePath }, filePath });
  return `${js}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(sourceMap)).toString("base64")}`;
}

function cachedTranspile(code, filePath) {
  const key = createHash("sha256").update(JSON.stringify([SUCRASE_VERSION, OPTIONS, filePath, code])).digest("hex");
  const file = join(CACHE, `${key}.js`);
  try {
    return readFileSync(file, "utf8");
  } catch {
    // not cached yet
  }
  const js = transpile(code, filePath);
  if (cacheWritable) {
    try {
      mkdirSync(CACHE, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, js);
      renameSync(tmp, file);
    } catch {
      cacheWritable = false;
    }
  }
  return js;
}

Module._extensions[".ts"] = function loadTypeScript(module, filename) {
  module._compile(cachedTranspile(readFileSync(filename, "utf8"), filename), filename);
};
