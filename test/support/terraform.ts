import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertSystemTier } from "./prerequisites";

/**
 * Evaluates Terraform expressions with `terraform console` (no provider needed), all in one
 * run, in a temporary directory, empty or holding `config` as main.tf.json (e.g. a synthesized
 * stack's `locals`, which the expressions may then read): returns one value per expression.
 * @throws Error with Terraform's stderr when an expression does not evaluate
 * @throws Error in the unit tier (terraform is a system prerequisite: *.system.test.ts only)
 */
export function evaluateTerraform(expressions: string[], config?: Record<string, unknown>): unknown[] {
  assertSystemTier("evaluateTerraform (terraform console)");
  const dir = mkdtempSync(join(tmpdir(), "mp-console-"));
  try {
    if (config) writeFileSync(join(dir, "main.tf.json"), JSON.stringify(config));
    const r = spawnSync("terraform", ["console"], {
      cwd: dir,
      input: `jsonencode([${expressions.join(", ")}])\n`,
      encoding: "utf8",
      env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1" },
      timeout: 30_000,
    });
    if (r.status !== 0) throw new Error(`terraform console failed: ${r.stderr}`);
    return JSON.parse(JSON.parse(r.stdout.trim()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
