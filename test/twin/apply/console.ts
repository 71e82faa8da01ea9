/**
 * Evaluates many Terraform JSON-syntax values with one `terraform console` run (no provider
 * needed: https://developer.hashicorp.com/terraform/cli/commands/console).
 *
 * The values go into a generated `main.tf.json` as `locals` (so strings are templates exactly as
 * in `cdk.tf.json`), next to already-resolved values (escaped: see template.ts); the console's
 * single input line is `base64encode(jsonencode(local.<batch>))` (Terraform 1.11's console
 * prints only the last of several piped lines, and a base64 line needs no unquoting).
 * When the batch fails, each item is evaluated alone to name the ones that fail.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertSystemTier } from "../../support/prerequisites";

/** The local that holds the batch (the stack's own locals must not use the `twin_` prefix). */
const BATCH = "twin_batch";

/** One `terraform console` run's statistics, for the caller's measurements. */
export interface ConsoleStats {
  runs: number;
  millis: number;
}

/** Error of an item that Terraform could not evaluate: its key and Terraform's message. */
export class EvaluationError extends Error {
  constructor(public readonly failures: { key: string; message: string }[]) {
    super(failures.map((f) => `${f.key}: ${f.message}`).join("\n"));
  }
}

function runConsole(dir: string, input: string, stats: ConsoleStats): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn("terraform", ["console", "-no-color"], {
      cwd: dir,
      env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on("close", (status) => {
      clearTimeout(timer);
      stats.runs++;
      stats.millis += Date.now() - t0;
      resolve({ status, stdout, stderr });
    });
    p.stdin.end(input);
  });
}

async function evaluateOnce(dir: string, context: Record<string, unknown>, items: Record<string, unknown>, stats: ConsoleStats): Promise<{ ok: true; values: Record<string, unknown> } | { ok: false; message: string }> {
  writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ locals: { ...context, [BATCH]: items } }));
  const r = await runConsole(dir, `base64encode(jsonencode(local.${BATCH}))\n`, stats);
  const out = r.stdout.trim();
  if (r.status !== 0 || !/^"[A-Za-z0-9+/=]*"$/.test(out)) {
    const message = `${r.stderr}${out}`.replace(/\n{3,}/g, "\n\n").trim();
    return { ok: false, message: message || `terraform console exited with ${r.status}` };
  }
  return { ok: true, values: JSON.parse(Buffer.from(out.slice(1, -1), "base64").toString("utf8")) as Record<string, unknown> };
}

/**
 * Evaluates every item (a JSON-syntax value: strings are templates) with `context` as further
 * locals (values already escaped), in one console run.
 * @returns the evaluated value of each item, by key
 * @throws EvaluationError naming each item that does not evaluate, with Terraform's message
 * @throws Error in the unit tier (terraform is a system prerequisite)
 */
export async function evaluateBatch(context: Record<string, unknown>, items: Record<string, unknown>, stats: ConsoleStats): Promise<Record<string, unknown>> {
  assertSystemTier("the twin's apply (terraform console)");
  const clash = Object.keys(context).find((k) => k === BATCH);
  if (clash) throw new Error(`local name ${clash} is reserved by the twin`);
  if (Object.keys(items).length === 0) return {};
  const dir = mkdtempSync(join(tmpdir(), "twin-console-"));
  try {
    const all = await evaluateOnce(dir, context, items, stats);
    if (all.ok) return all.values;
    const failures: { key: string; message: string }[] = [];
    for (const [key, value] of Object.entries(items)) {
      const one = await evaluateOnce(dir, context, { [key]: value }, stats);
      if (!one.ok) failures.push({ key, message: one.message });
    }
    throw new EvaluationError(failures.length > 0 ? failures : [{ key: "(batch)", message: all.message }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
