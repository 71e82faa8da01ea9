/**
 * Every `.sh` file of src/render/scripts as it is in the repository passes shellcheck (findings
 * carry the file's own line numbers). The pure checks of the files are in scripts.test.ts.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { SCRIPTS_DIR, readScript } from "../../src/render/scripts";
import { requirePrerequisites } from "../support/prerequisites";

const SH_FILES = readdirSync(SCRIPTS_DIR).filter((n) => n.endsWith(".sh")).sort();

describe("every .sh file as it is in the repository", () => {
  beforeAll(() => requirePrerequisites({ commands: ["shellcheck"] }));

  test.each(SH_FILES.map((f) => [f]))("%s passes shellcheck at info severity (as sh when its shebang is /bin/sh)", (name) => {
    const shell = readScript(name).startsWith("#!/bin/sh\n") ? "sh" : "bash";
    const r = spawnSync("shellcheck", [`--shell=${shell}`, "--severity=info", join(SCRIPTS_DIR, name)], { encoding: "utf8", timeout: 60_000 });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
