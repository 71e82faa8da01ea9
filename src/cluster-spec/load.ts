import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parseDocument } from "yaml";
import { SpecValidationError, validateClusterSpec, type ValidateOptions, type ValidatedSpec } from "./validate";
import type { ClusterSpec } from "./types";

/**
 * Parses spec text: YAML (a superset of JSON) unless `format` says "json".
 * @throws SpecValidationError when the text does not parse, naming the line and column
 */
export function parseSpecText(text: string, source: string, format: "yaml" | "json" = "yaml"): unknown {
  if (format === "json") {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new SpecValidationError([{ path: "(root)", value: undefined, message: `not valid JSON: ${(err as Error).message}` }], source);
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SpecValidationError(
      doc.errors.map((e) => ({ path: "(root)", value: undefined, message: `not valid YAML: ${e.message.split("\n")[0]}` })),
      source,
    );
  }
  return doc.toJS();
}

/**
 * Reads a YAML (`.yaml`, `.yml`) or JSON (`.json`) spec file.
 * @returns the raw document as a {@link ClusterSpec}; not yet validated
 * @throws SpecValidationError when the file cannot be read or parsed
 */
export function readSpecFile(path: string): ClusterSpec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new SpecValidationError([{ path: "(root)", value: path, message: `cannot read spec file: ${(err as Error).message}` }], path);
  }
  return parseSpecText(text, path, extname(path).toLowerCase() === ".json" ? "json" : "yaml") as ClusterSpec;
}

/**
 * Reads and validates a spec file. `network` is optional in files unless
 * `options.requireNetwork` is true.
 * @throws SpecValidationError listing every problem
 */
export function loadSpecFile(path: string, options: ValidateOptions = {}): ValidatedSpec {
  return validateClusterSpec(readSpecFile(path), { requireNetwork: false, source: path, ...options });
}
