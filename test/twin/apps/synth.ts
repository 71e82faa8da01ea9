/**
 * Synthesizes a cdktf app the way /tmp/synthcmp/run.sh and `cdktf synth` run the examples:
 * `node --conditions=cdktf-managed-postgres-source -r sucrase/register main.ts` in the app's
 * directory with `CDKTF_OUTDIR` pointing at a fresh directory (the library from its sources).
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..", "..", "..");

/** The app directories the twin applies: the two AWS examples and the restore fixture. */
export const TWIN_APPS = {
  distributed: join(ROOT, "examples", "distributed"),
  standalone: join(ROOT, "examples", "standalone"),
  "restore-standalone": join(__dirname, "restore-standalone"),
} as const;

/**
 * The distributed example with `applyImmediately: true` and the size from `TWIN_ROLL_SIZE`
 * (issue 12's roll, bench/roll.test.ts (`npm run bench:roll`)). Not in {@link TWIN_APPS}: its stack is named
 * `distributed` too.
 */
export const ROLL_APP = join(__dirname, "roll-distributed");

/**
 * Environment variable of the restore-standalone fixture: a JSON `RestoreFrom` (backupBucket,
 * stanza, target, secretArn, backupKmsKeyArn) that replaces the fixture's example source, so a
 * test restores from a cluster it ran first; the fixture's `now` becomes the synth time.
 */
export const RESTORE_FROM_ENV = "TWIN_RESTORE_FROM";

/**
 * The distributed example with `majorVersion: 15`: the Debian 12 AMI, booted from the bookworm
 * node root (test/live/twin-pg15.test.ts). Not in {@link TWIN_APPS}: its stack is named
 * `distributed` too.
 */
export const PG15_APP = join(__dirname, "pg15-distributed");

/**
 * Issue 15's blue/green upgrade in one stack `upgrade` (test/twin/apps/upgrade): blue `orders`
 * (distributed, PostgreSQL 15, Debian 12) with `upgradeTo`, green `orders-v17` (standalone,
 * PostgreSQL 17, Debian 13, `applyImmediately`) with `upgradeFrom`; `upgradeFrom.cutover` true
 * when {@link UPGRADE_CUTOVER_ENV} is `1`.
 */
export const UPGRADE_APP = join(__dirname, "upgrade");
/** Environment variable of {@link UPGRADE_APP}: `1` synthesizes green with `upgradeFrom.cutover: true`. */
export const UPGRADE_CUTOVER_ENV = "TWIN_UPGRADE_CUTOVER";

/** The HCL module example: stacks without a provider block, taking the VPC and subnets as input variables. */
export const HCL_MODULE_APP = join(ROOT, "examples", "hcl-module");

/** The command that synthesizes the app in `appDir` into `outDir`: [file, args, options]. */
function synthCommand(appDir: string, outDir: string, env: Record<string, string>) {
  return [
    process.execPath,
    ["--conditions=cdktf-managed-postgres-source", "-r", "sucrase/register", "main.ts"],
    { cwd: appDir, env: { ...process.env, ...env, CDKTF_OUTDIR: outDir, CHECKPOINT_DISABLE: "1" }, timeout: 180_000 },
  ] as const;
}

/** The stacks the app wrote to `outDir`, or the error of a failed or empty synth. */
function synthesizedStacks(appDir: string, outDir: string, status: number | null, stdout: string, stderr: string): Record<string, string> {
  if (status !== 0) throw new Error(`synthesizing ${appDir} failed (exit ${status}):\n${stdout}\n${stderr}`);
  const stacks = join(outDir, "stacks");
  const names = existsSync(stacks) ? readdirSync(stacks).filter((n) => existsSync(join(stacks, n, "cdk.tf.json"))) : [];
  if (names.length === 0) throw new Error(`synthesizing ${appDir} produced no stack in ${outDir}:\n${stdout}\n${stderr}`);
  return Object.fromEntries(names.map((n) => [n, join(stacks, n)]));
}

/**
 * Runs the app in `appDir` (its main.ts) into a new temporary directory.
 * @param env - extra environment of the app (e.g. {@link RESTORE_FROM_ENV} for the restore fixture)
 * @returns the directory of each synthesized stack, by stack name (`<outdir>/stacks/<name>`, holding cdk.tf.json)
 * @throws Error with the app's output when it fails or synthesizes no stack
 */
export function synthesizeApp(appDir: string, outDir: string = mkdtempSync(join(tmpdir(), "twin-synth-")), env: Record<string, string> = {}): Record<string, string> {
  const [file, args, options] = synthCommand(appDir, outDir, env);
  const r = spawnSync(file, args, { ...options, encoding: "utf8" });
  return synthesizedStacks(appDir, outDir, r.status, r.stdout, r.stderr);
}

/**
 * {@link synthesizeApp} without blocking the event loop (a child process it awaits): for a
 * test that measures meanwhile in the same process (bench/roll.test.ts: its writer's
 * acknowledgements are timestamped by this event loop, so a synchronous synth would show up as
 * a write gap of the synth's duration).
 */
export function synthesizeAppAsync(appDir: string, outDir: string = mkdtempSync(join(tmpdir(), "twin-synth-")), env: Record<string, string> = {}): Promise<Record<string, string>> {
  const [file, args, options] = synthCommand(appDir, outDir, env);
  return new Promise((resolve, reject) => {
    execFile(file, args, { ...options, encoding: "utf8", maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      try {
        resolve(synthesizedStacks(appDir, outDir, error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr));
      } catch (e) {
        reject(e);
      }
    });
  });
}
