import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
  renderPostBootstrapScript,
  } from "../../src/render";
import { requirePrerequisites } from "../support/prerequisites";

describe("renderPostBootstrapScript", () => {
  const dir = mkdtempSync(join(tmpdir(), "h1-pb-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("passes shellcheck", () => {
    requirePrerequisites({ commands: ["shellcheck"] });
    const file = join(dir, "pb.sh");
    writeFileSync(file, renderPostBootstrapScript());
    const r = spawnSync("shellcheck", [file], { encoding: "utf8" });
    expect(r.error).toBeUndefined();
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

});
