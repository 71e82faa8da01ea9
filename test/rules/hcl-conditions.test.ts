/**
 * `cdktf synth --hcl` of lifecycle conditions: cdktf 0.21 writes them as an attribute list
 * Terraform rejects; fixHclConditionBlocks (applied by ManagedPostgres to its stack's HCL
 * output) turns them into blocks. Checked with Terraform itself: `terraform fmt` parses the
 * HCL of the plan-time guard, and `terraform validate` accepts the repaired form where it
 * rejects cdktf's.
 */
import { fixHclConditionBlocks } from "../../constructs/private/hcl";
import { CDKTF_STYLE_CONDITIONS as CDKTF_STYLE } from "./fixtures";

test("an attribute list of preconditions becomes one block per condition", () => {
  const fixed = fixHclConditionBlocks(CDKTF_STYLE);
  expect(fixed).not.toMatch(/precondition = \[/);
  expect(fixed.match(/^  precondition \{$/gm)).toHaveLength(2);
});

test("strings holding quotes, brackets and braces are kept verbatim", () => {
  const fixed = fixHclConditionBlocks(CDKTF_STYLE);
  expect(fixed).toContain('condition = "${alltrue([for v in local.deployed : lookup(v.tags, "slot", "") == "0" if v.size <= 3])}"');
  expect(fixed).toContain('error_message = "Cluster \\"orders\\": a [bracketed] {braced} message, with a comma."');
});

test("text without condition lists is unchanged", () => {
  const text = 'resource "a" "b" {\n  tags = ["x", "]"]\n}\n';
  expect(fixHclConditionBlocks(text)).toBe(text);
});

test("postconditions are repaired too", () => {
  expect(fixHclConditionBlocks('  postcondition = [\n{\ncondition = "${true}"\nerror_message = "X."\n},\n]\n')).toBe('  postcondition {\ncondition = "${true}"\nerror_message = "X."\n  }\n');
});
