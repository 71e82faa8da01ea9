import * as fs from "fs";
import * as path from "path";
import { TerraformStack, Testing } from "cdktf";
import { PolicyPack } from "../../constructs/aws/policy";
import { formatFinding } from "../../src/rules/policy";

const EXAMPLES = path.join(__dirname, "..", "..", "examples");

/** Every `examples/<dir>/main.ts` and the TerraformStack classes it exports. */
function exampleStacks(): [string, new (scope: any, id: string) => TerraformStack][] {
  const out: [string, new (scope: any, id: string) => TerraformStack][] = [];
  for (const dir of fs.readdirSync(EXAMPLES).sort()) {
    const main = path.join(EXAMPLES, dir, "main.ts");
    if (!fs.existsSync(main)) continue;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require(main) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value === "function" && value.prototype instanceof TerraformStack) {
        out.push([`${dir} (${name})`, value as new (scope: any, id: string) => TerraformStack]);
      }
    }
  }
  return out;
}

describe("examples have no unsuppressed policy finding", () => {
  const stacks = exampleStacks();

  test("there is at least one example stack", () => {
    expect(stacks.length).toBeGreaterThan(0);
  });

  test.each(stacks)("%s", (label, Stack) => {
    const app = Testing.app();
    const stack = new Stack(app, label.split(" ")[0]);
    // check() honours suppressions made with PolicyPack.suppress (before the synth aspect runs).
    const report = PolicyPack.check(stack);
    expect(report.findings.map(formatFinding)).toEqual([]);
    expect(report.compliantCount).toBeGreaterThan(20);
  });
});
