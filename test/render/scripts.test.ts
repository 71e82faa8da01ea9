/**
 * The shell-script mechanism (src/render/scripts): reading the `.sh` files, the generated
 * header of `readonly` values (checked in bash), the quoting helper; and every `.sh` file as it
 * is in the repository holds no sequence Terraform would interpolate. shellcheck runs on them in
 * scripts.system.test.ts.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { SCRIPTS_DIR, readScript, scriptBody, shellHeader, shq } from "../../src/render/scripts";
import { terraformTemplateSequences } from "../../src/render/terraform-safe";

const SH_FILES = readdirSync(SCRIPTS_DIR).filter((n) => n.endsWith(".sh")).sort();

function bash(script: string) {
  return spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 30_000 });
}

describe("shq", () => {
  test.each(["plain", "it's", "a b\tc", "'", "$HOME `id` \\n \"q\"", "", "line1\nline2"])("bash reads %j back verbatim", (value) => {
    const r = bash(`printf '%s' ${shq(value)}`);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(value);
  });

  test("a cdktf token marker survives verbatim inside the quotes", () => {
    expect(shq("${TfToken[TOKEN.12]}")).toBe("'${TfToken[TOKEN.12]}'");
  });
});

describe("shellHeader", () => {
  test("one readonly line per value, in order, strings quoted and integers as is", () => {
    expect(shellHeader({ CLUSTER: "orders", ROUTE_TABLE: 1002, NOTE: "it's" })).toBe(
      "readonly CLUSTER='orders'\nreadonly ROUTE_TABLE=1002\nreadonly NOTE='it'\\''s'\n",
    );
  });

  test("bash sees the values, and they are read-only", () => {
    const r = bash(`${shellHeader({ A: "x y", B: 7, L: "one\ntwo" })}printf '%s|%s|%s' "$A" "$B" "$L"; (A=z) 2>/dev/null || echo " readonly"`);
    expect(r.stdout).toBe("x y|7|one\ntwo readonly\n");
  });

  test.each([["lower"], ["1X"], ["A-B"], [""]])("refuses the variable name %j", (name) => {
    expect(() => shellHeader({ [name]: "v" })).toThrow(/not an upper-case shell variable name/);
  });

  test("refuses a non-integer number", () => {
    expect(() => shellHeader({ X: 1.5 })).toThrow(/X=1.5 is not an integer/);
  });
});

describe("readScript and scriptBody", () => {
  test("the scripts folder holds the .sh files the renderers read", () => {
    expect(SH_FILES).toEqual(expect.arrayContaining(["restore-source-pass.sh"]));
  });

  test("readScript returns the file as it is; scriptBody drops its leading comment block", () => {
    const full = readScript("restore-source-pass.sh");
    expect(full.startsWith("#!/bin/bash\n")).toBe(true);
    const body = scriptBody("restore-source-pass.sh");
    expect(full.endsWith(body)).toBe(true);
    expect(body.startsWith('[ -s "$OUT" ] && exit 0\n')).toBe(true);
    expect(body.endsWith("\n")).toBe(true);
    expect(body.endsWith("\n\n")).toBe(false);
  });

  test.each([["../package.json"], ["node-bootstrap"], ["x.ts"], ["missing-file.sh"]])("readScript(%j) throws, naming the file", (name) => {
    expect(() => readScript(name)).toThrow(name);
  });
});

describe("every .sh file as it is in the repository", () => {
  test.each(SH_FILES.map((f) => [f]))("%s has no ${ or %{ (Terraform would interpolate them)", (name) => {
    expect(terraformTemplateSequences(readScript(name))).toEqual([]);
  });

  test.each(SH_FILES.map((f) => [f]))("%s has no doubled backslash", (name) => {
    expect(readScript(name)).not.toContain("\\\\");
  });
});
