import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readPlanFile, readSynthOutput } from "../../src/review";
import { readBoundedText } from "../../src/terraform";

describe("bounded reading of plans and synth output", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "mp-limits-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a file over the limit is refused naming the file, its size and the limit", () => {
    const p = join(dir, "plan.json");
    writeFileSync(p, "x".repeat(2048));
    expect(() => readBoundedText(p, 1024)).toThrow(`${p}: too large: 2048 bytes; at most 1024 (1 KiB)`);
    expect(readBoundedText(p, 2048)).toHaveLength(2048);
  });

  test("a plan path that is a device or a directory is refused at once", () => {
    expect(() => readPlanFile("/dev/zero")).toThrow("/dev/zero: not a regular file");
    expect(() => readPlanFile(dir)).toThrow(`${dir}: not a regular file`);
    expect(() => readPlanFile(join(dir, "nope.json"))).toThrow(/nope\.json: no such file/);
  });

  test("a manifest pointing outside its cdktf.out is refused", () => {
    const out = join(dir, "cdktf.out");
    mkdirSync(out);
    writeFileSync(join(out, "manifest.json"), JSON.stringify({ stacks: { s: { synthesizedStackPath: "../../../etc/passwd" } } }));
    expect(() => readSynthOutput(out)).toThrow(/synthesizedStackPath "\.\.\/\.\.\/\.\.\/etc\/passwd" leads outside/);
  });

  test("a cdk.tf.json that is a FIFO is refused", () => {
    const stack = join(dir, "fifo-stack");
    mkdirSync(stack);
    require("node:child_process").execFileSync("mkfifo", [join(stack, "cdk.tf.json")]);
    expect(() => readSynthOutput(stack)).toThrow(/cdk\.tf\.json: not a regular file/);
  });
});
