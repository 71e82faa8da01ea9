import fc from "fast-check";
import { formatPolicyReportMarkdown, runPolicyPack, stackFromTerraformJson } from "../../src/rules/policy";
import { foreignHtml, HOSTILE, md, shown, tableRows } from "../support/markdown";

/** A stack named `h` with two load balancers named after `h`: one finding-bearing, one whose findings are suppressed with reason `h`. */
function report(h: string) {
  const suppressions = ["MP-ELB-1", "MP-ELB-2"].map((id) => ({ id, reason: h }));
  const tf = {
    resource: {
      aws_lb: {
        [`open${h}`]: { internal: false },
        [`kept${h}`]: { internal: false, "//": { managed_postgres_policy: { suppressions } } },
      },
    },
  };
  return runPolicyPack([stackFromTerraformJson(tf, h)]);
}

function check(h: string): void {
  const r = report(h);
  expect(r.findings.length).toBeGreaterThan(0);
  expect(r.suppressed.length).toBeGreaterThan(0);
  const tokens = md.parse(formatPolicyReportMarkdown(r), {});
  expect(foreignHtml(tokens)).toEqual([]);
  const rows = tableRows(tokens);
  const findings = rows.filter((row) => row.length === 6 && row[0] !== "Rule");
  const suppressed = rows.filter((row) => row.length === 5 && row[0] !== "Rule");
  expect(findings.map((row) => [row[0], row[3]])).toEqual(r.findings.map((f) => [f.ruleId, shown(f.address)]));
  expect(suppressed.map((row) => [row[0], row[2], row[4]])).toEqual(r.suppressed.map((f) => [f.ruleId, shown(h).trim(), shown(h).trim()]));
  expect(tokens.filter((t) => t.type === "fence" || t.type === "code_block")).toEqual([]);
}

describe("policy report Markdown with hostile stack names, addresses and suppression reasons", () => {
  test.each(HOSTILE.filter((h) => h.trim() !== ""))("value %j: every finding and suppression is its own row, no HTML", check);

  test("any reason, stack name or resource name", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ minLength: 1 }), fc.fullUnicodeString({ minLength: 1 })).filter((s) => s.trim() !== ""), check),
      { numRuns: 150 },
    );
  });
});
