/** Bounded process helpers: every command has a timeout and is killed when it expires. */
import { spawn, type SpawnOptions } from "child_process";

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface RunOptions {
  /** Kill the process (SIGKILL) after this many ms. @default 60000 */
  readonly timeoutMs?: number;
  /** Text written to stdin (then closed). */
  readonly input?: string;
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
  /** Working directory. */
  readonly cwd?: string;
}

/** Runs `argv` and resolves with its result; never rejects for a non-zero exit. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve) => {
    const spawnOptions: SpawnOptions = {
      env: { ...process.env, ...(options.env ?? {}) },
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    };
    const child = spawn(argv[0], argv.slice(1), spawnOptions);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, stdout, stderr: stderr + String(err), timedOut });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(options.input ?? "");
  });
}

/** Runs `argv`; rejects with its output when it fails or times out. */
export async function runOk(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const r = await run(argv, options);
  if (r.code !== 0 || r.timedOut) {
    throw new Error(
      `command failed (${r.timedOut ? "timed out" : `exit ${r.code ?? r.signal}`}): ${argv.join(" ")}\n` +
        `stdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`,
    );
  }
  return r.stdout;
}

/** Runs a shell script with `sh -c`; rejects when it fails. */
export function sh(script: string, options: RunOptions = {}): Promise<string> {
  return runOk(["sh", "-c", script], options);
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined, or
 * rejects after `timeoutMs` with `what` and the last error.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last).slice(0, 1500)}` : ""}`);
}
