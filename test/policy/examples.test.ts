/**
 * Every example (examples/<name>, the app its cdktf.json runs) synthesizes with the policy
 * pack enforced by ManagedPostgres, and `managed-postgres policy` finds nothing unsuppressed
 * in its output.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ALL_POLICY_RULES, formatFinding, loadStacksFromDir, runPolicyPack } from "../../src/rules/policy";

const EXAMPLES = path.join(__dirname, "..", "..", "examples");

const examples = fs
  .readdirSync(EXAMPLES)
  .filter((d) => fs.existsSync(path.join(EXAMPLES, d, "cdktf.json")) && fs.existsSync(path.join(EXAMPLES, d, "main.ts")))
  .sort();

describe("examples have no unsuppressed policy finding", () => {
  test("there are examples", () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  test.each(examples)("%s", (name) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `h6-example-${name}-`));
    try {
      // What `cdktf synth` runs (cdktf.json "app"), with the output redirected.
      const { app } = JSON.parse(fs.readFileSync(path.join(EXAMPLES, name, "cdktf.json"), "utf8"));
      const r = spawnSync("sh", ["-c", app], {
        cwd: path.join(EXAMPLES, name),
        env: { ...process.env, CDKTF_OUTDIR: out, CHECKPOINT_DISABLE: "1" },
        encoding: "utf8",
        timeout: 120_000,
      });
      if (r.status !== 0) throw new Error(`synth of examples/${name} failed (${r.status}):\n${r.stderr}`);
      const report = runPolicyPack(loadStacksFromDir(out), { rules: ALL_POLICY_RULES });
      expect(report.findings.map(formatFinding)).toEqual([]);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
