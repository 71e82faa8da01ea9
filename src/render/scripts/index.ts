/**
 * Shell scripts shipped to the nodes live as real `.sh` files in this folder (shellcheck and
 * the behaviour tests read them as they are, with their own line numbers). A renderer reads
 * them at run time and puts a small generated header of `readonly` variables in front,
 * holding the per-cluster values; the files never contain per-cluster text.
 *
 * ```ts
 * const text = [
 *   "#!/bin/bash", "set -euo pipefail",
 *   shellHeader({ CLUSTER: spec.name, ROUTE_TABLE: 1001 }),
 *   scriptBody("node-bootstrap.sh"),
 * ].join("\n");
 * ```
 *
 * The files are copied next to the compiled JavaScript by `npm run build`
 * (`tools/copy-scripts.js`, to `dist/src/render/scripts/`) and shipped in the npm package
 * (`files`: `dist/**\/*.sh`).
 *
 * Conventions of a file here: bash; its first lines are a comment block (what it is, which
 * header variables it reads), ended by the first line that is not a comment; a file that
 * only defines functions starts with `# shellcheck shell=bash` and disables SC2154 (the
 * variables come from the header). Never `${…}` or `%{…}`: rendered scripts travel through
 * Terraform strings, which would interpolate them (write `$NAME`); callers check the
 * assembled text with `assertTerraformSafe`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The folder holding the `.sh` files (this module's folder, in `src/` and in `dist/`). */
export const SCRIPTS_DIR = __dirname;

/** Texts read by {@link readScript}, by name: the files ship with the package and do not change while it runs. */
const scriptTexts = new Map<string, string>();

/**
 * The text of `name` (e.g. `"node-bootstrap.sh"`, or the Python agent `"k8s-maintenance.py"`), a file of {@link SCRIPTS_DIR}, as it is.
 * Read once per process (every node of every cluster renders the same scripts).
 * @throws Error when `name` is not a plain `.sh` file name of this folder or the file is missing
 */
export function readScript(name: string): string {
  if (!/^[a-z0-9][a-z0-9-]*\.(sh|py)$/.test(name)) throw new Error(`readScript: "${name}" is not a script name (lower-case words and hyphens, ending in .sh or .py)`);
  const known = scriptTexts.get(name);
  if (known !== undefined) return known;
  try {
    const text = readFileSync(join(SCRIPTS_DIR, name), "utf8");
    scriptTexts.set(name, text);
    return text;
  } catch (e) {
    throw new Error(`readScript: cannot read ${name} in ${SCRIPTS_DIR} (is the build copying the .sh files?): ${(e as Error).message}`);
  }
}

/** Bodies computed by {@link scriptBody}, by name. */
const scriptBodies = new Map<string, string>();

/**
 * The code of `name` for shipping: without its leading comment block (the shebang, the
 * file's description and file-wide shellcheck directives: every line up to the first one
 * that does not start with `#`), without the blank lines right after it, and without any
 * other line that is only a comment, except `# shellcheck` directives (the files document
 * themselves in the repository; EC2 user data is limited to 16 KB). Ends with one newline.
 * @throws Error as {@link readScript}
 */
export function scriptBody(name: string): string {
  const known = scriptBodies.get(name);
  if (known !== undefined) return known;
  const lines = readScript(name).split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith("#")) i++;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  const code = lines.slice(i).filter((l) => !/^\s*#/.test(l) || /^\s*# shellcheck /.test(l));
  const body = code.join("\n").trimEnd() + "\n";
  scriptBodies.set(name, body);
  return body;
}

/**
 * Quotes a value for bash as one word, in single quotes (`'` becomes `'\''`). cdktf token
 * markers (`${TfToken[…]}`) survive verbatim: Terraform replaces them before bash runs.
 */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A header value: a string (quoted with {@link shq}) or a finite integer (written as is). */
export type ShellValue = string | number;

/**
 * `readonly NAME='value'` lines, one per entry in insertion order, each ending in a newline.
 * Lists go in as one string (space- or newline-separated, as the script reads them).
 * @throws Error for a name that is not an upper-case shell identifier or a number that is not an integer
 */
export function shellHeader(values: Readonly<Record<string, ShellValue>>): string {
  return Object.entries(values)
    .map(([name, v]) => {
      if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`shellHeader: "${name}" is not an upper-case shell variable name`);
      if (typeof v === "number") {
        if (!Number.isInteger(v)) throw new Error(`shellHeader: ${name}=${v} is not an integer`);
        return `readonly ${name}=${v}\n`;
      }
      return `readonly ${name}=${shq(v)}\n`;
    })
    .join("");
}
