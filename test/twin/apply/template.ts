/**
 * Terraform template strings of the JSON configuration syntax, read the way Terraform reads
 * them (pure: no tool, unit-tested in template.test.ts).
 *
 * In `cdk.tf.json` every string of a resource, data source, local or output is a template
 * (https://developer.hashicorp.com/terraform/language/syntax/json#expression-mapping):
 * - `${ expr }` interpolates an expression, `%{ directive }` is a directive (`if`, `for`,
 *   `else`, `endif`, `endfor`); either may carry `~` strip markers;
 * - `$${` and `%%{` are escapes for a literal `${` and `%{`; any other `$` or `%` is literal;
 * - object keys are templates too (checked with `terraform console`: `{"k$${x}": 1}` has the key `k${x}`).
 *
 * Inside an interpolation the expression is HCL native syntax: quoted strings (with `\`
 * escapes and their own nested templates), heredocs, comments (`#`, `//`, `/* *\/`), nested
 * braces (object constructors, `for` expressions) and identifiers that may contain `-`
 * (HCL: `local.a-b` is the local `a-b`). References are found only there, never in literal
 * text.
 */

/** One reference of an expression: the root traversal that names something of the configuration. */
export interface Reference {
  /**
   * What it names: `managed` (`aws_vpc.main`), `data` (`data.aws_ami.x`), `local`
   * (`local.x`), `var`, `each`, `count`, `self`, `path`, `terraform`, `module`.
   */
  kind: "managed" | "data" | "local" | "var" | "each" | "count" | "self" | "path" | "terraform" | "module";
  /** The address of what is named: `aws_vpc.main`, `data.aws_ami.x`, `local.x`, `var.x`, `each`, `count`, `self`. */
  address: string;
  /** Offset of the reference's first character in the template string. */
  start: number;
  /** Offset after the last character of the address part (the rest of the traversal, e.g. `.id`, follows). */
  end: number;
}

/** A segment of a template: literal text (raw: escapes not yet undone) or an interpolation/directive. */
export interface TemplatePart {
  kind: "literal" | "interpolation" | "directive";
  /** Offsets of the whole segment in the template (`${` … `}` included). */
  start: number;
  end: number;
  /** For interpolations and directives: offsets of the expression text between the markers. */
  exprStart?: number;
  exprEnd?: number;
}

/** Roots of references that are not resource types (Terraform's reserved root names). */
const NAMED_ROOTS = new Set(["data", "local", "var", "each", "count", "self", "path", "terraform", "module"]);
const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_-]/;

/** Error of a malformed template, with the offset. */
export class TemplateSyntaxError extends Error {
  constructor(message: string, public readonly offset: number) {
    super(`${message} at offset ${offset}`);
  }
}

interface ScanSink {
  parts?: TemplatePart[];
  refs: Reference[];
  isResourceType: (name: string) => boolean;
}

/**
 * Splits a template into literal, interpolation and directive segments.
 * @throws TemplateSyntaxError for an unterminated `${`/`%{` or quoted string
 */
export function parseTemplate(template: string): TemplatePart[] {
  const sink: ScanSink = { parts: [], refs: [], isResourceType: () => false };
  scanTemplate(template, 0, false, sink);
  return sink.parts!;
}

/**
 * Every reference inside the template's interpolations and directives (never in literal
 * text), in order. `isResourceType` says which roots are managed resource types (e.g. the
 * types the configuration declares); by default any root containing `_` that is not a
 * reserved name, followed by `.name`.
 * @throws TemplateSyntaxError for a malformed template
 */
export function findReferences(template: string, isResourceType: (name: string) => boolean = (n) => n.includes("_")): Reference[] {
  const sink: ScanSink = { refs: [], isResourceType };
  scanTemplate(template, 0, false, sink);
  return sink.refs;
}

/**
 * Replaces each reference's address span (`start`..`end`) by `replace(ref)`'s text (or keeps
 * it when that returns undefined); the rest of the template is kept byte for byte.
 */
export function rewriteReferences(template: string, refs: readonly Reference[], replace: (ref: Reference) => string | undefined): string {
  let out = "";
  let at = 0;
  for (const r of [...refs].sort((a, b) => a.start - b.start)) {
    const text = replace(r);
    if (text === undefined) continue;
    out += template.slice(at, r.start) + text;
    at = r.end;
  }
  return out + template.slice(at);
}

/** The text a literal segment stands for: `$${` → `${`, `%%{` → `%{` (what Terraform does). */
export function unescapeLiteral(raw: string): string {
  return raw.replace(/\$\$\{|%%\{/g, (m) => m.slice(1));
}

/**
 * A template that evaluates to exactly `text`: every `${` becomes `$${` and every `%{`
 * becomes `%%{` (checked with `terraform console`: `$$${z}` evaluates to `$${z}`).
 */
export function escapeLiteral(text: string): string {
  return text.replace(/[$%]\{/g, (m) => m[0] + m);
}

/** A JSON value whose every string (object keys included) evaluates, as a template, to itself. */
export function escapeValue(value: unknown): unknown {
  if (typeof value === "string") return escapeLiteral(value);
  if (Array.isArray(value)) return value.map(escapeValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [escapeLiteral(k), escapeValue(v)]));
  }
  return value;
}

/** True when the template is literal text only (no interpolation, no directive). */
export function isLiteral(template: string): boolean {
  return parseTemplate(template).every((p) => p.kind === "literal");
}

/**
 * Scans template text from `i` (top level, or the inside of a quoted string when `quoted`),
 * recording parts and references; returns the offset of the closing `"` when quoted, else the length.
 */
function scanTemplate(s: string, i: number, quoted: boolean, sink: ScanSink): number {
  let literalStart = i;
  const flush = (end: number) => {
    if (sink.parts && end > literalStart) sink.parts.push({ kind: "literal", start: literalStart, end });
  };
  while (i < s.length) {
    const c = s[i];
    if (quoted && c === "\\") {
      i += 2;
      continue;
    }
    if (quoted && c === '"') {
      flush(i);
      return i;
    }
    if ((c === "$" || c === "%") && s[i + 1] === c && s[i + 2] === "{") {
      i += 3; // escape: literal `${` / `%{`
      continue;
    }
    if ((c === "$" || c === "%") && s[i + 1] === "{") {
      flush(i);
      const exprStart = i + 2;
      const close = scanExpression(s, exprStart, sink);
      if (sink.parts) sink.parts.push({ kind: c === "$" ? "interpolation" : "directive", start: i, end: close + 1, exprStart, exprEnd: close });
      i = close + 1;
      literalStart = i;
      continue;
    }
    i++;
  }
  if (quoted) throw new TemplateSyntaxError("unterminated quoted string", i);
  flush(s.length);
  return s.length;
}

/** Scans an expression from `i` to its closing `}` (depth 0); returns that brace's offset. */
function scanExpression(s: string, i: number, sink: ScanSink): number {
  const open = i - 2;
  let depth = 0;
  let prev = ""; // previous significant character
  while (i < s.length) {
    const c = s[i];
    if (c === '"') {
      i = scanTemplate(s, i + 1, true, { ...sink, parts: undefined }) + 1;
      prev = '"';
      continue;
    }
    if (c === "#" || (c === "/" && s[i + 1] === "/")) {
      const nl = s.indexOf("\n", i);
      i = nl < 0 ? s.length : nl + 1;
      continue;
    }
    if (c === "/" && s[i + 1] === "*") {
      const endComment = s.indexOf("*/", i + 2);
      if (endComment < 0) throw new TemplateSyntaxError("unterminated comment", i);
      i = endComment + 2;
      continue;
    }
    if (c === "<" && s[i + 1] === "<") {
      const m = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)\n/.exec(s.slice(i));
      if (m) {
        i = scanHeredoc(s, i + m[0].length, m[1], sink);
        prev = "h";
        continue;
      }
    }
    if (c === "{") depth++;
    if (c === "}") {
      if (depth === 0) return i;
      depth--;
    }
    if (/[0-9]/.test(c) && !IDENT_CHAR.test(prev === "" ? " " : prev)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(s.slice(i))!;
      i += m[0].length;
      prev = "0";
      continue;
    }
    if (IDENT_START.test(c)) {
      const identEnd = identifierEnd(s, i);
      if (prev !== ".") i = readTraversal(s, i, identEnd, sink);
      else i = identEnd;
      prev = "a";
      continue;
    }
    if (!/\s/.test(c)) prev = c;
    i++;
  }
  throw new TemplateSyntaxError("unterminated interpolation", open);
}

/** Scans a heredoc body (a template) up to its closing marker line; returns the offset after it. */
function scanHeredoc(s: string, i: number, marker: string, sink: ScanSink): number {
  const close = new RegExp(`(^|\\n)[ \\t]*${marker}(?=[\\s}]|$)`, "g");
  close.lastIndex = i - 1;
  const m = close.exec(s);
  if (!m) throw new TemplateSyntaxError(`unterminated heredoc ${marker}`, i);
  const bodyEnd = m.index + (m[1] ? 1 : 0);
  scanTemplate(s.slice(0, bodyEnd), i, false, { ...sink, parts: undefined });
  return m.index + m[0].length;
}

function identifierEnd(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length && IDENT_CHAR.test(s[j])) j++;
  return j;
}

/** Reads `root(.name)*` starting at an identifier; records a reference when the root names something. */
function readTraversal(s: string, start: number, rootEnd: number, sink: ScanSink): number {
  const root = s.slice(start, rootEnd);
  const names: { text: string; end: number }[] = [];
  let j = rootEnd;
  while (names.length < 2) {
    let k = j;
    while (k < s.length && (s[k] === " " || s[k] === "\t")) k++;
    if (s[k] !== ".") break;
    k++;
    while (k < s.length && (s[k] === " " || s[k] === "\t")) k++;
    if (k >= s.length || !IDENT_START.test(s[k])) break;
    const e = identifierEnd(s, k);
    names.push({ text: s.slice(k, e), end: e });
    j = e;
  }
  // A function call (`name(`, or a provider function `provider::x::f(`) is not a reference.
  const after = s.slice(rootEnd).match(/^\s*(\(|::)/);
  if (after && names.length === 0) return rootEnd;
  const record = (kind: Reference["kind"], address: string, end: number) => sink.refs.push({ kind, address, start, end });
  if (root === "data") {
    if (names.length === 2) record("data", `data.${names[0].text}.${names[1].text}`, names[1].end);
  } else if (root === "local" || root === "var" || root === "module") {
    if (names.length >= 1) record(root, `${root}.${names[0].text}`, names[0].end);
  } else if (root === "each" || root === "count" || root === "self" || root === "path" || root === "terraform") {
    record(root, root, rootEnd);
  } else if (!NAMED_ROOTS.has(root) && names.length >= 1 && sink.isResourceType(root)) {
    record("managed", `${root}.${names[0].text}`, names[0].end);
  }
  // Continue scanning after the names consumed (attribute names are not roots).
  return names.length > 0 ? names[names.length - 1].end : rootEnd;
}
