/**
 * Escaping of untrusted text (resource addresses, attribute values, titles, suppression
 * reasons) for GitHub-flavoured Markdown (CommonMark 0.31 + GFM tables). Every Markdown
 * report of the package (`managed-postgres review`, `managed-postgres policy`) writes values
 * it did not author through these functions, so that no value can open an HTML element, a
 * comment, a code fence, a link, emphasis or a new table row or list item.
 */

/** Characters with a meaning in inline Markdown (or on GitHub: `@` mentions, `$` math), escaped with a backslash. */
const INLINE_SPECIAL = /[\\`*_[\]<>&|!~#$@]/g;

/**
 * Line endings as CommonMark defines them (LF, CR, CR LF) and the Unicode line and paragraph
 * separators: each becomes one space, so that a value never ends a table row or list item.
 */
const LINE_BREAK = /\r\n|[\r\n\u2028\u2029]/g;

/** Replaces line breaks by a space and U+0000 by U+FFFD (as CommonMark parsers do). */
function oneLine(text: string): string {
  return text.replace(LINE_BREAK, " ").replace(/\0/g, "\uFFFD");
}

/**
 * `text` as literal inline Markdown text, usable in a paragraph, a heading, a list item or a
 * GFM table cell: line breaks become spaces, U+0000 becomes U+FFFD, and every character
 * that could start Markdown syntax (`` \ ` * _ [ ] < > & | ! ~ # $ @ ``) is backslash-escaped.
 * Rendered, the result shows `text` as written (apart from those two replacements).
 *
 * @example mdText("<b>x</b> | y") // "\\<b\\>x\\</b\\> \\| y"
 */
export function mdText(text: string): string {
  return oneLine(text).replace(INLINE_SPECIAL, (c) => `\\${c}`);
}

/** Where a code span goes: inside a GFM table cell (pipes must be escaped there) or elsewhere. */
export type MdContext = "inline" | "table";

/**
 * `text` as a Markdown code span. The backtick fence is one longer than the longest run of
 * backticks in `text`, with a space of padding when `text` starts or ends with a backtick
 * or a space (CommonMark strips one such pair), so the span cannot close early. Line breaks
 * become spaces; in a table cell (`context` `"table"`) pipes are written `\|`, which GFM
 * removes before the cell is parsed. A `text` of spaces only (or empty) is shown as as many
 * no-break spaces (at least one), since parsers collapse a span of spaces.
 *
 * @param context `"table"` for a GFM table cell. @default "inline"
 */
export function mdCode(text: string, context: MdContext = "inline"): string {
  let body = oneLine(text);
  if (context === "table") body = body.replace(/\|/g, "\\|");
  if (/^ *$/.test(body)) body = "\u00a0".repeat(Math.max(1, body.length));
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = /^[` ]|[` ]$/.test(body) ? " " : "";
  return `${fence}${pad}${body}${pad}${fence}`;
}

/**
 * A value for a Markdown table cell: strings as they are, anything else as JSON, cut to at
 * most `max` characters (the cut marked `…`) before escaping with {@link mdText}; `undefined`
 * is shown as `–`.
 *
 * @param max maximum characters of the value shown (not of the escaped result). @default 60
 */
export function mdCell(value: unknown, max = 60): string {
  if (value === undefined) return "–";
  let text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  if (text.length > max) text = `${text.slice(0, max - 1)}…`;
  return mdText(text);
}
