import fc from "fast-check";
import { DEFAULT_TITLE, renderReviewMarkdown, reviewChanges, reviewInputFromPlan, type Review } from "../../src/review";
import { foreignHtml, HOSTILE, listItems, md, shown, tableRows } from "../support/markdown";


const TAGS = { "managed-postgres:deployment-model": "distributed", "managed-postgres:major-version": "17" };

/**
 * A plan for one cluster named `h` whose volume in slot `h` (availability zone `h`) is replaced
 * and whose security group rule adds ingress from `h`; every address carries `h` as its index key.
 */
function hostilePlan(h: string): unknown {
  const key = JSON.stringify(h);
  const tags = { ...TAGS, "managed-postgres:cluster": h, "managed-postgres:slot": h };
  return {
    format_version: "1.2",
    resource_changes: [
      {
        address: `aws_ebs_volume.data[${key}]`,
        mode: "managed",
        type: "aws_ebs_volume",
        name: "data",
        change: {
          actions: ["delete", "create"],
          before: { availability_zone: "eu-west-1a", encrypted: true, size: 50, tags },
          after: { availability_zone: h, encrypted: true, size: 50, tags },
          after_unknown: {},
          replace_paths: [["availability_zone"]],
        },
      },
      {
        address: `aws_vpc_security_group_ingress_rule.clients[${key}]`,
        mode: "managed",
        type: "aws_vpc_security_group_ingress_rule",
        name: "clients",
        change: { actions: ["create"], before: null, after: { cidr_ipv4: h, description: h, tags: { "managed-postgres:cluster": h } }, after_unknown: {} },
      },
      {
        address: `aws_s3_bucket.backups[${key}]`,
        mode: "managed",
        type: "aws_s3_bucket",
        name: "backups",
        change: { actions: ["delete"], before: { bucket: h, tags: { "managed-postgres:cluster": h } }, after: null, after_unknown: {} },
      },
    ],
  };
}

const review = (h: string): Review => reviewChanges(reviewInputFromPlan(hostilePlan(h)));

/** Checks a rendered review: every risk and change visible as its own item or row, no foreign HTML, intact Mermaid. */
function checkRendered(r: Review, markdown: string, title: string): void {
  const tokens = md.parse(markdown, {});
  expect(foreignHtml(tokens)).toEqual([]);
  // the title is the first heading, whole (a blank title gives the default heading)
  expect(tokens[0].type).toBe("heading_open");
  expect(tokens[1].content.length).toBeGreaterThan(0);
  const headings = tokens.filter((t, i) => tokens[i - 1]?.type === "heading_open").map((t) => t.children!.map((c) => c.content).join(""));
  expect(headings[0]).toBe(shown(title).trim() || DEFAULT_TITLE);
  // every risk is its own list item, naming its rule
  const items = listItems(tokens);
  expect(items).toHaveLength(r.risks.length);
  for (const risk of r.risks) expect(items.filter((i) => i.includes(` ${risk.rule} — `))).toHaveLength(r.risks.filter((x) => x.rule === risk.rule).length);
  // every change is its own row of a change table, its address shown as written
  const rows = tableRows(tokens).filter((row) => row.length === 4 && row[0] !== "Where");
  const live = r.clusters.flatMap((c) => [...c.changesBySlot.values()].flat());
  expect(rows.map((row) => row[2]).sort()).toEqual(live.map((c) => shown(c.address)).sort());
  // one mermaid fence per named cluster, and no other code block
  const fences = tokens.filter((t) => t.type === "fence" || t.type === "code_block");
  expect(fences.map((f) => f.info)).toEqual(r.clusters.filter((c) => c.name !== undefined).map(() => "mermaid"));
  for (const f of fences) {
    const lines = f.content.trimEnd().split("\n");
    expect(lines[0]).toBe("flowchart LR");
    for (const line of lines.slice(1)) {
      // a statement of ours: node with one quoted label, edge, subgraph, end, class lines
      expect(line).toMatch(/^ {2,4}(\w+(\(\[|\[\(|\[|\{\{)"[^"]*"(\]\)|\)\]|\]|\}\})|\w+ -(->|\.->)(\|[^|"]*\|)? \w+|subgraph \w+\["[^"]*"\]|end|class(Def)? \w+ [\w:#,.-]+)$/);
      for (const [, label] of line.matchAll(/"([^"]*)"/g)) expect(label.replace(/<br\/>/g, "")).not.toMatch(/[<>`]/);
    }
  }
}

describe("review Markdown with hostile values in addresses, tags, attribute values and the title", () => {
  test.each(HOSTILE)("value %j: risks and changes stay visible, no HTML, Mermaid intact", (h) => {
    const r = review(h);
    // a Terraform expression is not a literal ingress source, so it adds no ingress risk
    const ingress = /\$\{/.test(h) ? [] : ["ingress-added"];
    expect(r.risks.map((x) => x.rule).sort()).toEqual(["data-bearing-destroyed", "data-bearing-replaced", ...ingress]);
    checkRendered(r, renderReviewMarkdown(r, { title: h }), h);
    checkRendered(r, renderReviewMarkdown(r, { title: h, foldAbove: 0 }), h);
  });

  test.each([" ", "\t", "\n", "\u2028", "\u00a0 "])("blank title %j: the default heading", (h) => {
    const tokens = md.parse(renderReviewMarkdown(review("x"), { title: h }), {});
    expect(tokens[1].content).toBe(DEFAULT_TITLE);
  });

  test("the hostile text reaches the Mermaid labels only escaped", () => {
    const diagram = renderReviewMarkdown(review('<script>"x"</script>')).split("```mermaid")[1];
    expect(diagram).toMatch(/subgraph slot_script__x___script__az\["slot #lt;script#gt;#quot;x#quot;#lt;\/script#gt; · #lt;script#gt;/);
    expect(diagram).not.toMatch(/<script>/);
  });

  test("any string in every position: the same holds", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ minLength: 1 }), fc.fullUnicodeString({ minLength: 1 }), fc.constantFrom(...HOSTILE).chain((h) => fc.string().map((s) => h + s))), (h) => {
        const r = review(h);
        checkRendered(r, renderReviewMarkdown(r, { title: h }), h);
      }),
      { numRuns: 150 },
    );
  });
});
