import MarkdownIt from "markdown-it";

type Token = ReturnType<MarkdownIt["parse"]>[number];

/** A CommonMark + GFM-tables renderer that lets raw HTML through, as GitHub does (before its sanitizer). */
export const md = new MarkdownIt({ html: true });

/** The raw HTML our report writers emit themselves; anything else in an HTML token came from a value. */
export const OWN_HTML = new Set(["<br>", "<br/>", "<details>", "</details>", "<summary>", "</summary>", "<b>", "</b>"]);

/** Visible text of an inline token: text and code spans, soft breaks as newlines, HTML left out. */
export function inlineText(t: Token | undefined): string {
  return (t?.children ?? []).map((c) => (c.type === "text" || c.type === "code_inline" ? c.content : c.type === "softbreak" || c.type === "hardbreak" ? "\n" : "")).join("");
}

/** Every raw HTML fragment (inline and block) of a document that is not one of {@link OWN_HTML}. */
export function foreignHtml(tokens: readonly Token[]): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    if (t.type === "html_block") {
      // our blocks are our tags around plain words and counts, e.g. `<details><summary><b>Changes</b> (3)</summary>`
      const rest = t.content.replace(/<\/?[a-z]+\/?>/g, (tag) => (OWN_HTML.has(tag) ? "" : tag));
      if (!/^[\sA-Za-z0-9()]*$/.test(rest)) out.push(t.content);
    }
    for (const c of t.children ?? []) if (c.type === "html_inline" && !OWN_HTML.has(c.content)) out.push(c.content);
  }
  return out;
}

/** The rows of every table: each row its cells' visible text. */
export function tableRows(tokens: readonly Token[]): string[][] {
  const rows: string[][] = [];
  let row: string[] | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type === "tr_open") row = [];
    else if (t.type === "tr_close" && row) rows.push(row);
    else if ((t.type === "td_open" || t.type === "th_open") && row) row.push(inlineText(tokens[i + 1]));
  }
  return rows;
}

/** Visible text of every list item. */
export function listItems(tokens: readonly Token[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) if (tokens[i].type === "list_item_open") out.push(inlineText(tokens.slice(i).find((t) => t.type === "inline")));
  return out;
}

/** What a value shows as once escaped and rendered: line breaks as one space, NUL as U+FFFD. */
export function shown(text: string): string {
  return text.replace(/\r\n|[\r\n\u2028\u2029]/g, " ").replace(/\0/g, "\uFFFD");
}

/** Values an adversarial plan (or a person writing a spec or a title) can carry. */
export const HOSTILE = [
  "`",
  "```",
  "~~~",
  "a\n\n# injected heading",
  "<!--",
  "-->",
  "</details>",
  "<details open>",
  "<script>alert(1)</script>",
  '<img src=x onerror="alert(1)">',
  "[click](javascript:alert(1))",
  "![i](https://example.com/i.png)",
  "| x | y |",
  "\\",
  "\\|",
  "&lt;b&gt;",
  "&#60;script",
  "**bold** _it_ ~~del~~",
  "x\r\n- fake risk",
  '#quot;"',
  "%%{init: {}}%%",
  "line\u2028sep",
  "${file(\"/etc/passwd\")}",
  "@octo-org/team $x$",
  "end",
  "\0",
];
