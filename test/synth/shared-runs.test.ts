/**
 * shareTextRuns (constructs/aws/launch.ts): the lines several slots' texts share are written
 * once, in a local each text references; configLocals (src/terraform) splices them back.
 * Terraform's own evaluation of the shared form is checked in shared-runs.system.test.ts.
 */
import { TerraformLocal, TerraformStack, TerraformVariable, Testing } from "cdktf";
import { SHARED_RUN_MIN_CHARS, shareTextRuns } from "../../constructs/aws/launch";
import { configLocals } from "../../src/terraform";
import { props, synthCluster } from "./helpers";

/** Three node texts: a shared block, a node line, a shared block with a token, a node line, a short shared tail. */
function texts(token: string): string[] {
  const block = (tag: string) => Array.from({ length: 40 }, (_, i) => `${tag} line ${i}: "quoted" \\ $x %d é\n`).join("");
  return [0, 1, 2].map((n) => `#cloud-config\n${block("a")}name: node-${n}\n${block("b")}peer: '${token}'\nself: ${n}\ntail\n`);
}

function synth(build: (stack: TerraformStack) => void): any {
  const stack = new TerraformStack(Testing.app(), "test");
  build(stack);
  return JSON.parse(Testing.synth(stack));
}

test("the shared runs become locals; each text, spliced back, is the text given as one plain local", () => {
  const json = synth((stack) => {
    const v = new TerraformVariable(stack, "v", { type: "string" });
    const input = texts(v.stringValue);
    shareTextRuns(stack, "shared", input).forEach((t, i) => new TerraformLocal(stack, `text-${i}`, t));
    input.forEach((t, i) => new TerraformLocal(stack, `plain-${i}`, t));
  });
  const sharedNames = Object.keys(json.locals).filter((k) => k.startsWith("shared-"));
  expect(sharedNames).toEqual(["shared-0", "shared-1"]); // the two 40-line blocks (the second with the token line); the short tail stays in each text
  for (const k of sharedNames) expect(json.locals[k].length).toBeGreaterThanOrEqual(SHARED_RUN_MIN_CHARS);
  expect(json.locals["shared-1"]).toMatch(/\npeer: '\$\{var\.v\}'\n$/);
  const spliced = configLocals(json);
  for (const i of [0, 1, 2]) {
    expect(json.locals[`text-${i}`].length).toBeLessThan(200);
    expect(json.locals[`text-${i}`]).toBe(`\${local.shared-0}name: node-${i}\n\${local.shared-1}self: ${i}\ntail\n`);
    expect(spliced[`text-${i}`]).toBe(json.locals[`plain-${i}`]);
  }
});

test("a reference always starts a line and is followed by one: it can never become an escape ($${) or cut one", () => {
  const json = synth((stack) => {
    const input = ["$", "%", "$$"].map((c, n) => `x${n}${c}\n${"s".repeat(SHARED_RUN_MIN_CHARS)}\n${c}y${n}\n`);
    shareTextRuns(stack, "shared", input).forEach((t, i) => new TerraformLocal(stack, `text-${i}`, t));
  });
  for (const i of [0, 1, 2]) expect(json.locals[`text-${i}`]).toMatch(/\n\$\{local\.shared-0\}[$%]/);
});

test.each([
  ["one text", ["a\n".repeat(400)]],
  ["line counts differ", ["a\n".repeat(400), "a\n".repeat(401)]],
  ["a literal ${ (cdktf's escape handling may span lines)", ["a\n".repeat(400) + "$${x}\n", "a\n".repeat(400) + "$${y}\n"]],
])("texts are returned unchanged, and no local is added, with %s", (_, input) => {
  const json = synth((stack) => {
    expect(shareTextRuns(stack, "shared", input)).toEqual(input);
    new TerraformLocal(stack, "keep", "x");
  });
  expect(Object.keys(json.locals)).toEqual(["keep"]);
});

test("under `cdktf synth --hcl` the texts are returned unchanged", () => {
  const before = process.env.SYNTH_HCL_OUTPUT;
  process.env.SYNTH_HCL_OUTPUT = "true";
  try {
    const stack = new TerraformStack(Testing.app(), "test");
    const input = ["a\n".repeat(400) + "1\n", "a\n".repeat(400) + "2\n"];
    expect(shareTextRuns(stack, "shared", input)).toEqual(input);
  } finally {
    if (before === undefined) delete process.env.SYNTH_HCL_OUTPUT;
    else process.env.SYNTH_HCL_OUTPUT = before;
  }
});

describe("a distributed cluster", () => {
  const s = synthCluster(props("distributed"));
  const json = JSON.parse(s.text);
  const spliced = configLocals(json) as Record<string, string>;
  const named = (re: RegExp) => Object.keys(json.locals).filter((k) => re.test(k)).sort();

  test("writes the lines its three bootstrap scripts and three user data texts share once", () => {
    const scripts = named(/slot-\d_bootstrap-script-text/);
    const userData = named(/slot-\d_launch-template-user-data/);
    expect(scripts).toHaveLength(3);
    expect(userData).toHaveLength(3);
    expect(named(/^orders_bootstrap-script-shared-\d+_/).length).toBeGreaterThan(0);
    expect(named(/^orders_user-data-shared-\d+_/).length).toBeGreaterThan(0);
    scripts.forEach((k, i) => {
      expect(json.locals[k].length).toBeLessThan(4096); // the node's own lines; ~50 KB spliced
      expect(spliced[k]).toContain(`readonly SELF_NAME='orders-${i}'`);
      expect(spliced[k].startsWith("#!/bin/bash\n")).toBe(true);
    });
    userData.forEach((k, i) => {
      expect(json.locals[k].length).toBeLessThan(12 * 1024);
      expect(spliced[k].startsWith("#cloud-config\n")).toBe(true);
      expect(spliced[k]).toContain(`name: orders-${i}\n`);
    });
  });

  test("holds less than half the locals' text of one copy per slot", () => {
    const size = (o: Record<string, unknown>) => Object.values(o).reduce((n: number, v) => n + (typeof v === "string" ? v.length : 0), 0);
    const unshared = Object.fromEntries(Object.entries(spliced).filter(([k]) => !/-shared-\d+_/.test(k)));
    expect(size(json.locals)).toBeLessThan(size(unshared) / 2);
  });
});
