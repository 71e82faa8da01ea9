/**
 * Escaping of untrusted text for Mermaid flowchart labels. Mermaid reads a quoted label
 * (`id["…"]`) up to the next `"` and then decodes entity codes written `#name;` or `#35;`
 * (https://mermaid.js.org/syntax/flowchart.html#entity-codes-to-escape-characters); with
 * HTML labels (the default on GitHub), `<` and `>` would otherwise reach the page as markup.
 */

/** Characters written as Mermaid entity codes in a label. `#` first, so that a value holding `#quot;` shows as written. */
const MERMAID_ENTITIES: Readonly<Record<string, string>> = {
  "#": "#35;",
  '"': "#quot;",
  "<": "#lt;",
  ">": "#gt;",
  "&": "#amp;",
  "`": "#96;",
};

/**
 * `text` for use inside a quoted Mermaid label (between the quotes of `id["…"]`): line
 * breaks become spaces, and `# " < > & `` ` are written as entity codes (`#35;`, `#quot;`,
 * `#lt;`, `#gt;`, `#amp;`, `#96;`), so the label cannot end early, hold markup or turn into
 * a Markdown string, and the rendered label shows `text` as written. The result holds no
 * line break, `"`, `<`, `>` or backtick.
 */
export function mermaidText(text: string): string {
  return text.replace(/\r\n|[\r\n\u2028\u2029]/g, " ").replace(/[#"<>&`]/g, (c) => MERMAID_ENTITIES[c]);
}
