import fc from "fast-check";
import { mdCell, mdCode, mdText, mermaidText } from "../../src/markdown";
import { foreignHtml, inlineText, md, shown, tableRows } from "../support/markdown";

/** What a code span of `s` shows: {@link shown}, with a value of spaces only as no-break spaces. */
const shownCode = (s: string) => (/^ *$/.test(shown(s)) ? "\u00a0".repeat(Math.max(1, shown(s).length)) : shown(s));

/** Strings rich in Markdown, HTML, Mermaid and line-break syntax, plus arbitrary Unicode. */
const hostile = fc.oneof(
  fc.string(),
  fc.fullUnicodeString(),
  fc.stringOf(fc.constantFrom(" ", " ", "\t", "`", "|", "\\", "<", ">", "!", "[", "]", "(", ")", "*", "_", "~", "&", "#", ";", '"', "\n", "\r", " ", "-", "a", "<!--", "</details>", "```", "\u2028", "\0", "$", "@")),
);

const runs = { numRuns: 1000 };

describe("mdText: untrusted text as inline Markdown", () => {
  test("holds no line break and no unescaped pipe", () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const e = mdText(s);
        expect(e).not.toMatch(/[\r\n\u2028\u2029]/);
        expect(e.replace(/\\\\/g, "")).not.toMatch(/(^|[^\\])\|/);
      }),
      runs,
    );
  });

  test("renders as exactly the text written, inside a paragraph, without any HTML", () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const tokens = md.parse(`x${mdText(s)}x`, {});
        expect(tokens.map((t) => t.type)).toEqual(["paragraph_open", "inline", "paragraph_close"]);
        expect(inlineText(tokens[1])).toBe(`x${shown(s)}x`);
        expect(tokens[1].children!.map((c) => c.type).filter((t) => t !== "text")).toEqual([]);
      }),
      runs,
    );
  });

  test("is one cell of one table row, showing the text written", () => {
    fc.assert(
      fc.property(hostile, hostile, (a, b) => {
        const tokens = md.parse(`| h1 | h2 |\n|---|---|\n| ${mdText(a)} | ${mdText(b)} |\n`, {});
        expect(tableRows(tokens)).toEqual([["h1", "h2"], [shown(a).trim(), shown(b).trim()]]);
        expect(foreignHtml(tokens)).toEqual([]);
      }),
      runs,
    );
  });
});

describe("mdCode: untrusted text as a code span", () => {
  test("renders as one code span holding the text written, in a paragraph", () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const tokens = md.parse(`x ${mdCode(s)} x`, {});
        expect(tokens.map((t) => t.type)).toEqual(["paragraph_open", "inline", "paragraph_close"]);
        const spans = tokens[1].children!.filter((c) => c.type === "code_inline");
        expect(spans.map((c) => c.content)).toEqual([shownCode(s)]);
      }),
      runs,
    );
  });

  test("in a table cell: one cell, the pipes shown without their backslash", () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const cell = mdCode(s, "table");
        expect(cell).not.toMatch(/[\r\n]/);
        const tokens = md.parse(`| a | b |\n|---|---|\n| ${cell} | z |\n`, {});
        expect(tableRows(tokens)).toEqual([["a", "b"], [shownCode(s), "z"]]);
      }),
      runs,
    );
  });
});

describe("mdCell", () => {
  test("shows non-strings as JSON, undefined as a dash, and cuts before escaping", () => {
    expect(mdCell(undefined)).toBe("–");
    expect(mdCell({ a: 1 })).toBe('{"a":1}');
    expect(mdCell("|".repeat(100), 5)).toBe("\\|\\|\\|\\|…");
  });
});

describe("mermaidText: untrusted text in a quoted Mermaid label", () => {
  test("holds no quote, angle bracket, backtick or line break, so the label cannot end early", () => {
    fc.assert(
      fc.property(hostile, (s) => {
        expect(mermaidText(s)).not.toMatch(/["<>`\r\n\u2028\u2029]/);
      }),
      runs,
    );
  });

  test("decodes (as Mermaid decodes #name; and #35; entity codes) back to the text written", () => {
    const named: Record<string, string> = { quot: '"', lt: "<", gt: ">", amp: "&" };
    const decode = (e: string) => e.replace(/#(\w+);/g, (m, n: string) => (/^\d+$/.test(n) ? String.fromCharCode(Number(n)) : (named[n] ?? m)));
    fc.assert(
      fc.property(hostile, (s) => {
        expect(decode(mermaidText(s))).toBe(s.replace(/\r\n|[\r\n\u2028\u2029]/g, " "));
      }),
      runs,
    );
  });
});
