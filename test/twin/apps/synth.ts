/**
 * Synthesizes a cdktf app the way /tmp/synthcmp/run.sh and `cdktf synth` run the examples:
 * `node --conditions=cdktf-managed-postgres-source -r sucrase/register main.ts` in the app's
 * directory with `CDKTF_OUTDIR` pointing at a fresh directory (the library from its sources).
 */
import { spawnSync } from "node:child_process";
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

/** The HCL module example: stacks without a provider block, taking the VPC and subnets as input variables. */
export const HCL_MODULE_APP = join(ROOT, "examples", "hcl-module");

/**
 * Runs the app in `appDir` (its main.ts) into a new temporary directory.
 * @param env - extra environment of the app (e.g. {@link RESTORE_FROM_ENV} for the restore fixture)
 * @returns the directory of each synthesized stack, by stack name (`<outdir>/stacks/<name>`, holding cdk.tf.json)
 * @throws Error with the app's output when it fails or synthesizes no stack
 */
export function synthesizeApp(appDir: string, outDir: string = mkdtempSync(join(tmpdir(), "twin-synth-")), env: Record<string, string> = {}): Record<string, string> {
  const r = spawnSync(process.execPath, ["--conditions=cdktf-managed-postgres-source", "-r", "sucrase/register", "main.ts"], {
    cwd: appDir,
    env: { ...process.env, ...env, CDKTF_OUTDIR: outDir, CHECKPOINT_DISABLE: "1" },
    encoding: "utf8",
    timeout: 180_000,
  });
  if (r.status !== 0) throw new Error(`synthesizing ${appDir} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  const stacks = join(outDir, "stacks");
  const names = existsSync(stacks) ? readdirSync(stacks).filter((n) => existsSync(join(stacks, n, "cdk.tf.json"))) : [];
  if (names.length === 0) throw new Error(`synthesizing ${appDir} produced no stack in ${outDir}:\n${r.stdout}\n${r.stderr}`);
  return Object.fromEntries(names.map((n) => [n, join(stacks, n)]));
}
