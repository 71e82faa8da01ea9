import { requirePrerequisites } from "../support/prerequisites";
import { RESTORE_FROM as ok } from "./fixtures";
import { renderRestoreSourceConfig, renderRestoreSourcePassScript } from "../../src/render/restore";


describe("the restore source pass script", () => {
  const { execFileSync } = require("child_process") as typeof import("child_process");
  const fs = require("fs") as typeof import("fs");
  const os = require("os") as typeof import("os");
  const path = require("path") as typeof import("path");
  const made: string[] = [];
  afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  // The script runs for real: shellcheck, jq and pgBackRest come from .ci/run; missing = failure.
  beforeAll(() => requirePrerequisites({ commands: ["shellcheck", "jq", "pgbackrest", "id"] }));

  /** Runs the script with a fake `aws` that returns `secret`; returns the written config (or the error). */
  function run(secret: object): { config?: string; error?: string; dir: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-restore-pass-"));
    made.push(dir);
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "aws"), `#!/bin/sh\ncat <<'JSON'\n${JSON.stringify(secret)}\nJSON\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "template.conf"), renderRestoreSourceConfig(ok, "eu-west-1"));
    const out = path.join(dir, "restore-source.conf");
    fs.writeFileSync(path.join(dir, "pass.sh"), renderRestoreSourcePassScript(ok, { template: path.join(dir, "template.conf"), out }), { mode: 0o755 });
    try {
      execFileSync("bash", [path.join(dir, "pass.sh")], { env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` }, stdio: ["ignore", "pipe", "pipe"] });
      return { config: fs.readFileSync(out, "utf8"), dir };
    } catch (e) {
      return { error: String((e as { stderr?: Buffer }).stderr ?? e), dir };
    }
  }

  test("passes shellcheck", () => {
    const scDir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-sc-"));
    made.push(scDir);
    const file = path.join(scDir, "pass.sh");
    fs.writeFileSync(file, renderRestoreSourcePassScript(ok));
    expect(() => execFileSync("shellcheck", [file], { stdio: "pipe" })).not.toThrow();
  });

  test("writes the source's cipher pass into the [global] section of the source config", () => {
    const { config } = run({ backup_cipher_pass: "s3cr3t/+=pass", superuser_password: "x" });
    const lines = config!.split("\n");
    expect(lines.slice(0, 2)).toEqual(["[global]", "repo1-cipher-pass=s3cr3t/+=pass"]);
    expect(lines).toContain("repo1-s3-bucket=orders-backups-0a1b2c");
  });

  test("fails without writing when the secret has no cipher pass", () => {
    const { error, dir } = run({ superuser_password: "x" });
    expect(error).toMatch(/no backup_cipher_pass/);
    expect(fs.existsSync(path.join(dir, "restore-source.conf"))).toBe(false);
  });

  test("pgBackRest reads the written file as the source repository", () => {
    const { dir } = run({ backup_cipher_pass: "p" });
    const help = execFileSync("pgbackrest", [`--config=${path.join(dir, "restore-source.conf")}`, "--stanza=orders", "help", "restore", "repo1-path"], { encoding: "utf8" });
    expect(help).toMatch(/current: \/orders/);
  });
});
