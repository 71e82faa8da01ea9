import fc from "fast-check";
import { POLICY_RULES, policyRule, runPolicyPack } from "../../src/rules/policy";
import { bucketStack, tfStack } from "./fixtures";

const FLAGS = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] as const;

describe("policy pack properties", () => {
  test("MP-S3-3 is compliant exactly when all four public access block flags are true", () => {
    fc.assert(
      fc.property(fc.tuple(fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean()), (flags) => {
        const pab = Object.fromEntries(FLAGS.map((f, i) => [f, flags[i]]));
        const stack = bucketStack({ aws_s3_bucket_public_access_block: { p: { bucket: "${aws_s3_bucket.b.id}", ...pab } } });
        const r = policyRule("MP-S3-3")!.evaluate(stack.resources.find((x) => x.address === "aws_s3_bucket.b")!, stack);
        return (r.status === "compliant") === flags.every(Boolean);
      }),
    );
  });

  test("a suppression removes exactly the findings of its rule on its resource, and lists them", () => {
    const ids = POLICY_RULES.filter((r) => r.resourceTypes.includes("aws_lb")).map((r) => r.id);
    fc.assert(
      fc.property(fc.subarray(ids), fc.boolean(), fc.boolean(), fc.string({ minLength: 1 }).filter((s) => s.trim() !== ""), (suppressed, internal, protectedLb, reason) => {
        const lb = { internal, enable_deletion_protection: protectedLb, "//": { managed_postgres_policy: { suppressions: suppressed.map((id) => ({ id, reason })) } } };
        const plain = runPolicyPack([tfStack({ aws_lb: { nlb: { internal, enable_deletion_protection: protectedLb } } })]);
        const withSupp = runPolicyPack([tfStack({ aws_lb: { nlb: lb } })]);
        const expectedFindings = plain.findings.filter((f) => !suppressed.includes(f.ruleId)).map((f) => f.ruleId);
        const expectedSuppressed = plain.findings.filter((f) => suppressed.includes(f.ruleId)).map((f) => f.ruleId);
        return (
          JSON.stringify(withSupp.findings.map((f) => f.ruleId)) === JSON.stringify(expectedFindings) &&
          JSON.stringify(withSupp.suppressed.map((f) => f.ruleId)) === JSON.stringify(expectedSuppressed) &&
          withSupp.suppressed.every((f) => f.reason === reason.trim() || f.reason === reason)
        );
      }),
    );
  });

  test("the report does not depend on the order of resources", () => {
    const entries: [string, Record<string, unknown>][] = [
      ["a", { internal: false }],
      ["b", { internal: true, enable_deletion_protection: true }],
      ["c", { internal: true }],
    ];
    fc.assert(
      fc.property(fc.shuffledSubarray(entries, { minLength: 3, maxLength: 3 }), (order) => {
        const r = runPolicyPack([tfStack({ aws_lb: Object.fromEntries(order) })]);
        const base = runPolicyPack([tfStack({ aws_lb: Object.fromEntries(entries) })]);
        return JSON.stringify(r.findings) === JSON.stringify(base.findings);
      }),
    );
  });
});
