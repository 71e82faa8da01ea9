/**
 * Host-side process helpers of the EC2 twin's machines: bounded command runs and the
 * processes of a PID namespace, read from /proc.
 */
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** What a command produced. `status` is null when it was killed (timeout, signal). */
export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Hard limit; the process (and its process group) gets SIGKILL after it. @default 30000 */
  readonly timeoutMs?: number;
  /** Written to the command's stdin. @default - stdin is empty */
  readonly input?: string | Buffer;
  /** Extra environment variables (added to this process's environment). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs `cmd` (no shell) in its own process group and collects its output; never throws for a
 * non-zero status (the caller decides). The whole group is SIGKILLed after `timeoutMs`.
 */
export function run(cmd: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), {
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
      env: options.env ? { ...process.env, ...options.env } : process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => undefined);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ status: null, stdout: "", stderr: `${cmd[0]}: ${e.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString("utf8") + (timedOut ? `\n(killed after ${timeoutMs} ms)` : "");
      resolve({ status: timedOut ? null : code, stdout: Buffer.concat(out).toString("utf8"), stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** SIGKILL to the process group led by `pid` (ignores a group already gone). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    /* gone */
  }
}

/**
 * Runs `cmd` synchronously and throws when it fails: for short host commands (`ip`,
 * `losetup`, `mount`) whose failure means the twin cannot continue.
 * @throws Error with the command, its status and stderr
 */
export function must(cmd: readonly string[], timeoutMs = 20_000): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8", timeout: timeoutMs });
  if (r.status !== 0) {
    throw new Error(`\`${cmd.join(" ")}\` failed (status ${r.status}${r.error ? `, ${r.error.message}` : ""}): ${(r.stderr ?? "").trim()}`);
  }
  return r.stdout ?? "";
}

/** Like {@link must} but returns the status instead of throwing (for cleanup). */
export function attempt(cmd: readonly string[], timeoutMs = 20_000): number | null {
  return spawnSync(cmd[0]!, cmd.slice(1), { stdio: "ignore", timeout: timeoutMs }).status;
}

/** `readlink /proc/<pid>/ns/<kind>`, e.g. `pid:[4026532251]`; undefined when the process is gone. */
export function namespaceOf(pid: number, kind: "pid" | "net" | "mnt"): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/**
 * Every live PID on the host whose PID namespace is `pidNamespace` (as {@link namespaceOf}
 * prints it). Zombies are left out: they hold no memory, mounts or files, and the orphaned
 * ones wait for this host's PID 1 to reap them (up to ~1.5 s measured here).
 */
export function pidsInNamespace(pidNamespace: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    if (namespaceOf(Number(entry), "pid") === pidNamespace && alive(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

/** Direct children of `pid` (from /proc/<pid>/task/<tid>/children); empty when it is gone. */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text) children.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return children;
}

/** Whether a process with this PID exists (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Resident set size of a process in KiB (VmRSS), 0 when it is gone or has none (kernel threads). */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Loop devices backed by `file` (an absolute path), from `losetup --list`: also those whose
 * file was deleted meanwhile (the kernel then reports `<file> (deleted)`), never a loop of
 * another file.
 * @returns device paths, e.g. `/dev/loop3`
 */
export function loopsOf(file: string): string[] {
  // not --raw: it escapes the space of " (deleted)"
  const r = spawnSync("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"], { encoding: "utf8", timeout: 10_000 });
  return (r.stdout ?? "")
    .split("\n")
    .map((l) => /^(\/dev\/\S+)\s+(.*?)\s*$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && (m[2] === file || m[2] === `${file} (deleted)`))
    .map((m) => m[1]!);
}

/**
 * `losetup -d` of every loop device {@link loopsOf} `file` (the kernel defers the detach of a
 * still-mounted one to its last close).
 * @returns the devices detached
 */
export function detachLoopsOf(file: string): string[] {
  return loopsOf(file).filter((loop) => attempt(["losetup", "-d", loop]) === 0);
}
