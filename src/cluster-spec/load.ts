import { readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { parseDocument } from "yaml";
import { SpecValidationError, validateClusterSpec, type ValidateOptions, type ValidatedSpec } from "./validate";
import type { ClusterSpec } from "./types";

/**
 * Largest spec file read, in bytes: 1 MiB. A cluster spec is a few kilobytes; the limit keeps a
 * wrong path (a log, a dump, `/dev/zero`) from exhausting memory.
 */
export const MAX_SPEC_FILE_BYTES = 1024 * 1024;

/**
 * Most alias dereferences a YAML spec may make (the `yaml` library's `maxAliasCount`): a spec
 * has no use for aliases beyond a few, and a "billion laughs" document expands exponentially.
 */
export const MAX_SPEC_YAML_ALIASES = 100;

const specError = (source: string, message: string, value?: unknown) => new SpecValidationError([{ path: "(root)", value, message }], source);

/** Paths (`a.b[0]`) of numbers that JSON cannot hold (NaN, ±Infinity, as YAML's `.nan`, `.inf`), with their text. */
function nonFiniteNumbers(value: unknown, path = ""): [string, string][] {
  if (typeof value === "number") return Number.isFinite(value) ? [] : [[path || "(root)", String(value)]];
  if (Array.isArray(value)) return value.flatMap((v, i) => nonFiniteNumbers(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => nonFiniteNumbers(v, path ? `${path}.${k}` : k));
  return [];
}

/**
 * The text by which cdktf marks a token inside a string (`${TfToken[…]}` for a string,
 * `#{TfToken[…]}` for a list element, `&{TfToken[…]}` for a map key; cdktf 0.21
 * `tokens/private/encoding`): cdktf's `Token.isUnresolved` is true for any string holding
 * one, and synth substitutes the token registered under that key, or fails.
 */
const CDKTF_TOKEN_MARKER = /[$#&]\{TfToken\[[a-zA-Z0-9:._-]+\]\}/;

/** cdktf's stand-ins for a whole map token, which it refuses to resolve in a scalar (cdktf 0.21 `Token.*_MAP_TOKEN_VALUE`). */
const CDKTF_MAP_TOKEN_VALUES: readonly unknown[] = ["String Map Token Value", "Any Map Token Value", -123456789];

/**
 * Whether cdktf reads the number `n` as a token: it encodes a number token (or a number-list
 * element) as a double whose top 16 bits are 0xFDFF (0xFBFF for a list), as in cdktf 0.21
 * `extractTokenDouble`.
 */
function isCdktfNumberToken(n: number): boolean {
  const buf = new ArrayBuffer(8);
  new Float64Array(buf)[0] = n;
  const top = new DataView(buf).getUint16(6, true);
  return top === 0xfdff || top === 0xfbff;
}

/**
 * Paths of values and keys that cdktf would take for tokens rather than data (see
 * {@link CDKTF_TOKEN_MARKER}), with the message: a spec file is data, so none may reach the
 * constructs, where `Token.isUnresolved` would defer its checks and synth would substitute
 * another value for it.
 */
function cdktfTokenLookalikes(value: unknown, path = ""): [string, string][] {
  const at = path || "(root)";
  const tokenText = (kind: string, shown: string) =>
    `\`${at}\`: ${kind} ${shown} is how cdktf marks a token (a reference it substitutes at synth), not data; a spec file holds literal values only`;
  if (typeof value === "string") {
    if (CDKTF_TOKEN_MARKER.test(value) || CDKTF_MAP_TOKEN_VALUES.includes(value)) return [[at, tokenText("the text", JSON.stringify(value))]];
    return [];
  }
  if (typeof value === "number") {
    return isCdktfNumberToken(value) || CDKTF_MAP_TOKEN_VALUES.includes(value) ? [[at, tokenText("the number", String(value))]] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => cdktfTokenLookalikes(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => {
      const child = path ? `${path}.${k}` : k;
      const key: [string, string][] = CDKTF_TOKEN_MARKER.test(k)
        ? [[child, `\`${child}\`: the key ${JSON.stringify(k)} is how cdktf marks a token (a reference it substitutes at synth), not data; a spec file holds literal values only`]]
        : [];
      return [...key, ...cdktfTokenLookalikes(v, child)];
    });
  }
  return [];
}

/**
 * Parses spec text: YAML 1.2 unless `format` says "json" (then JSON: checked by `JSON.parse`,
 * read by the YAML parser in its JSON schema). Either way a duplicated key is an error (JSON.parse would keep the
 * last one silently), aliases are limited to {@link MAX_SPEC_YAML_ALIASES} dereferences,
 * NaN or ±Infinity (`.nan`, `.inf`) are refused naming the field, and so is any value or key
 * that cdktf would read as a token (a string holding `${TfToken[…]}`, `#{TfToken[…]}` or
 * `&{TfToken[…]}`, cdktf's map-token stand-ins, a number in cdktf's token encoding): a spec
 * is data, and such a value would be substituted at synth by whatever cdktf registered
 * under that key.
 * @param source the file name, for messages
 * @throws SpecValidationError when the text does not parse (naming the line and column), or
 *   holds a duplicated key, too many aliases, a non-finite number or a cdktf token marker
 */
export function parseSpecText(text: string, source: string, format: "yaml" | "json" = "yaml"): unknown {
  const kind = format === "json" ? "JSON" : "YAML";
  if (format === "json") {
    // JSON syntax first (the YAML parser would also take YAML flow syntax, e.g. trailing commas)
    try {
      JSON.parse(text);
    } catch (err) {
      throw specError(source, `not valid JSON: ${(err as Error).message}`);
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, ...(format === "json" ? { schema: "json" as const } : {}) });
  if (doc.errors.length > 0) {
    throw new SpecValidationError(
      doc.errors.map((e) => ({ path: "(root)", value: undefined, message: `not valid ${kind}: ${e.message.split("\n")[0].replace(/:$/, "")}` })),
      source,
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_SPEC_YAML_ALIASES });
  } catch (err) {
    throw specError(source, `not a usable ${kind} document: ${(err as Error).message} (at most ${MAX_SPEC_YAML_ALIASES} alias dereferences)`);
  }
  const bad = nonFiniteNumbers(value);
  if (bad.length > 0) {
    throw new SpecValidationError(
      bad.map(([path, text]) => ({ path, value: undefined, message: `\`${path}\`: got ${text}; expected a finite number` })),
      source,
    );
  }
  const lookalikes = cdktfTokenLookalikes(value);
  if (lookalikes.length > 0) {
    throw new SpecValidationError(
      lookalikes.map(([path, message]) => ({ path, value: undefined, message })),
      source,
    );
  }
  return value;
}

/**
 * Reads a YAML (`.yaml`, `.yml`) or JSON (`.json`) spec file. The file must be a regular file
 * of at most {@link MAX_SPEC_FILE_BYTES} bytes (checked with `stat` before the file is opened, so a
 * device such as `/dev/zero` or a FIFO is refused at once) holding UTF-8 text.
 * @returns the raw document as a {@link ClusterSpec}; not yet validated; it carries its path
 *   under {@link SPEC_FILE}
 * @throws SpecValidationError naming the file when it cannot be read, is not a regular file,
 *   is too large, or does not parse (see {@link parseSpecText})
 */
export function readSpecFile(path: string): ClusterSpec {
  let text: string;
  try {
    // stat before reading (src/cluster-spec imports nothing from src/, so not src/terraform's
    // bounded reader): a device, FIFO or directory is refused before it is opened
    const st = statSync(path);
    if (!st.isFile()) throw specError(path, "cannot read spec file: not a regular file", path);
    if (st.size > MAX_SPEC_FILE_BYTES) throw specError(path, `cannot read spec file: too large: ${st.size} bytes; at most ${MAX_SPEC_FILE_BYTES} (1 MiB)`, path);
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof SpecValidationError) throw err;
    throw specError(path, `cannot read spec file: ${(err as Error).message}`, path);
  }
  const spec = parseSpecText(text, path, extname(path).toLowerCase() === ".json" ? "json" : "yaml");
  if (spec !== null && typeof spec === "object" && !Array.isArray(spec)) (spec as Record<symbol, unknown>)[SPEC_FILE] = path;
  return spec as ClusterSpec;
}

/**
 * Key of the spec file's path on an object returned by {@link readSpecFile}: a symbol, so
 * validation and Terraform never see it, but enumerable, so `{ ...spec, network }` keeps it
 * and the constructs' errors name the file (see {@link specFileOf}).
 */
export const SPEC_FILE: unique symbol = Symbol.for("cdktf-managed-postgres.specFile") as typeof SPEC_FILE;

/** The spec file `value` (or props spread from it) was read from by {@link readSpecFile}, if any. */
export function specFileOf(value: unknown): string | undefined {
  const file = value !== null && typeof value === "object" ? (value as Record<symbol, unknown>)[SPEC_FILE] : undefined;
  return typeof file === "string" ? file : undefined;
}

/**
 * Reads and validates a spec file. `network` is optional in files unless
 * `options.requireNetwork` is true.
 * @throws SpecValidationError listing every problem
 */
export function loadSpecFile(path: string, options: ValidateOptions = {}): ValidatedSpec {
  return validateClusterSpec(readSpecFile(path), { requireNetwork: false, source: path, ...options });
}
