/**
 * The host-wide lock of the live tier (jest.live.config.js, and jest.bench.config.js, which
 * derives from it): two live runs on one machine break each other (the twin's fixed host
 * address 198.18.1.2, the fixed namespace and machine prefixes), so the second one fails at
 * once in its global setup, naming the lock file and the PID holding it.
 *
 * The lock is an exclusive, non-blocking `flock(1)` on {@link LIVE_LOCK_FILE} (util-linux),
 * taken by a child `flock --close <file> sh` that writes the holder's PID into the file and
 * then waits on its standard input: {@link LiveLock.release} closes that input; when the jest
 * process dies without releasing, the pipe closes with it and the lock goes too. It is a
 * different file from the `flock /tmp/live.lock …` that wraps live runs by hand, so the two
 * never conflict.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Readable, Writable } from "node:stream";

/** The live tier's lock file. */
export const LIVE_LOCK_FILE = "/run/lock/cdktf-managed-postgres-live.lock";

/** Environment variable that moves the lock to another file (tests of the lock itself). @default - {@link LIVE_LOCK_FILE} */
export const LIVE_LOCK_VARIABLE = "MANAGED_POSTGRES_LIVE_LOCK";

/** `flock --conflict-exit-code`: tells "held by another" from any other failure. */
const CONFLICT = 75;

/** A held live-tier lock. */
export interface LiveLock {
  readonly file: string;
  /** PID of the `flock` process holding it. */
  readonly pid: number;
  /** Releases the lock; resolves when the `flock` process exited (SIGKILL after 5 s). Idempotent. */
  release(): Promise<void>;
}

/** What the lock file says of its holder: `PID <n> (<command line>)`, or that it names none. */
function holderOf(file: string): string {
  let pid = "";
  try {
    pid = readFileSync(file, "utf8").trim();
  } catch {
    /* removed meanwhile */
  }
  if (!/^\d+$/.test(pid)) return "a process that has not written its PID yet";
  let cmd = "";
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    /* not visible, or gone */
  }
  return `PID ${pid}${cmd ? ` (${cmd.slice(0, 200)})` : ""}`;
}

/**
 * Takes the lock without waiting: resolves once `file` is locked and holds `holder`.
 * @param file @default - $MANAGED_POSTGRES_LIVE_LOCK, else {@link LIVE_LOCK_FILE}
 * @param holder the PID written into the file for a second run's message @default - this process
 * @throws Error "another live run holds <file>: PID <n> (<command line>) …" when it is held;
 *   Error with flock's stderr when `flock` cannot run or open the file
 */
export function acquireLiveLock(file = process.env[LIVE_LOCK_VARIABLE] || LIVE_LOCK_FILE, holder = process.pid): Promise<LiveLock> {
  const child = spawn("flock", ["--nonblock", "--close", "--conflict-exit-code", String(CONFLICT), file, "sh", "-c", 'echo "$1" > "$0" && echo locked && read -r line', file, String(holder)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const [stdin, stdout, stderr] = [child.stdin as Writable, child.stdout as Readable, child.stderr as Readable];
  let err = "";
  stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return new Promise<LiveLock>((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`live tier lock ${file}: cannot run flock: ${e.message}`)));
    child.once("exit", (code) => {
      if (code === CONFLICT) {
        reject(new Error(`another live run holds ${file}: ${holderOf(file)}. Only one live run (npm run test:live, npm run bench:roll) may run on a machine: the twin's host address and namespace prefixes are fixed. Wait for it to finish.`));
      } else {
        reject(new Error(`live tier lock ${file}: flock exited with ${code}: ${err.trim()}`));
      }
    });
    stdout.once("data", (d: Buffer) => {
      if (d.toString().trim() !== "locked") return;
      child.removeAllListeners("exit");
      // held until release() or until this process dies (the pipe closes): never keeps jest alive
      child.unref();
      for (const s of [stdin, stdout, stderr] as unknown as { unref?: () => void }[]) s.unref?.();
      let released: Promise<void> | undefined;
      resolve({
        file,
        pid: child.pid!,
        release: () =>
          (released ??= (async () => {
            stdin.end();
            const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
            await exited;
            clearTimeout(timer);
          })()),
      });
    });
  });
}
