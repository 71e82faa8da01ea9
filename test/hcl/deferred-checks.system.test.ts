import { evaluateTerraform } from "../support/terraform";
import { hclString, privateCidrListCondition, schemaAt, schemaConditions } from "../../constructs/aws/deferred-checks";

/** All conditions of a schema field, for a value written as a Terraform literal. */
function holds(path: string, literal: string): string {
  const conds = schemaConditions(schemaAt(path), literal);
  return `alltrue([${conds.map((c) => `(${c})`).join(", ")}])`;
}

describe("schema-derived Terraform conditions (evaluated by terraform console)", () => {
  // [field, value that must pass, values that must fail]
  const cases: [string, string, string[]][] = [
    ["storageGiB", "50", ["1", "129", "2.5"]],
    ["name", '"orders"', ['"Orders"', '"orders-"', '"1orders"', `"${"a".repeat(41)}"`]],
    ["deployment", '"distributed"', ['"cluster"']],
    ["majorVersion", "17", ["14", "18"]],
    ["network.vpcId", '"vpc-0abc1234"', ['"vpc-xyz"', '"subnet-0abc1234"']],
    ["network.subnetIds", '["subnet-0aaa1111", "subnet-0bbb2222", "subnet-0ccc3333"]', ['[]', '["subnet-0aaa1111", "subnet-0bbb2222", "subnet-0ccc3333", "subnet-0ddd4444"]', '["sg-0aaa1111"]']],
    ["network.allowedCidrs", '["10.0.0.0/16"]', ['["10.0.0.0"]', '["not-a-cidr"]']],
    ["backup.retentionDays", "7", ["0", "366"]],
    ["backup.coldStorageAfterDays", "30", ["29"]],
    ["pooler.instanceCount", "2", ["1", "10"]],
    ["tags", '{ team = "payments" }', [`{ ${Array.from({ length: 41 }, (_, i) => `k${i} = "v"`).join(", ")} }`]],
  ];
  const expressions: string[] = [];
  for (const [path, good, bad] of cases) expressions.push(holds(path, good), ...bad.map((b) => holds(path, b)));
  let results: unknown[];
  beforeAll(() => (results = evaluateTerraform(expressions)));

  let i = 0;
  for (const [path, good, bad] of cases) {
    const at = i;
    i += 1 + bad.length;
    test(`\`${path}\` accepts ${good} and refuses ${bad.map((b) => (b.length > 30 ? `${b.slice(0, 27)}…` : b)).join(", ")}`, () => {
      expect(results.slice(at, at + 1 + bad.length)).toEqual([true, ...bad.map(() => false)]);
    });
  }

  test("the private-CIDR condition refuses 0.0.0.0/0 and a /7, accepts a /8", () => {
    expect(evaluateTerraform([privateCidrListCondition('["0.0.0.0/0"]'), privateCidrListCondition('["10.0.0.0/7"]'), privateCidrListCondition('["10.0.0.0/8", "192.168.1.0/24"]')])).toEqual([false, false, true]);
  });

  test("hclString escapes quotes, backslashes and template openers so Terraform reads the text back unchanged", () => {
    const text = 'a "quoted" \\d ${not} %{ndir} end';
    expect(evaluateTerraform([hclString(text)])).toEqual([text]);
  });
});
