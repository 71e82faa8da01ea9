import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

/** The repository root. */
export const ROOT = resolve(__dirname, "../..");

/** What a CLI run returned. */
export interface CliResult {
  /** Exit code (null when killed by the timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `managed-postgres …` from source (ts-node, transpile-only), from the repository root; 60 s at most. */
export function cli(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, TS_NODE_PROJECT: join(ROOT, "tsconfig.json") },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
