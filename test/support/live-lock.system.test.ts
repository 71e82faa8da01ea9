/**
 * The live tier's host-wide lock (test/support/live-lock.ts), on a temporary lock file: never
 * the real one, so this test runs beside a live run.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireLiveLock, LIVE_LOCK_FILE, LIVE_LOCK_VARIABLE, type LiveLock } from "./live-lock";
import liveGlobalSetup from "./live-global-setup";
import liveGlobalTeardown from "./live-global-teardown";

const live = require("../../jest.live.config.js");
const bench = require("../../jest.bench.config.js");

let dir: string;
let file: string;
const held: LiveLock[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "live-lock-"));
  file = join(dir, "live.lock");
});

afterEach(async () => {
  for (const l of held.splice(0)) await l.release();
  delete process.env[LIVE_LOCK_VARIABLE];
  rmSync(dir, { recursive: true, force: true });
});

test("the live and bench configurations take the lock in their global setup and release it in their teardown", () => {
  expect(live.globalSetup).toBe("<rootDir>/test/support/live-global-setup.ts");
  expect(live.globalTeardown).toBe("<rootDir>/test/support/live-global-teardown.ts");
  expect(bench.globalSetup).toBe(live.globalSetup);
  expect(bench.globalTeardown).toBe(live.globalTeardown);
  // not /tmp/live.lock, which wraps live runs by hand
  expect(LIVE_LOCK_FILE).toBe("/run/lock/cdktf-managed-postgres-live.lock");
});

test("a second acquisition fails at once, naming the lock file and the holder's PID", async () => {
  held.push(await acquireLiveLock(file));
  expect(readFileSync(file, "utf8").trim()).toBe(String(process.pid));
  const t0 = Date.now();
  await expect(acquireLiveLock(file, 1)).rejects.toThrow(`another live run holds ${file}: PID ${process.pid} (`);
  expect(Date.now() - t0).toBeLessThan(5_000);
  // the holder's PID stays in the file
  expect(readFileSync(file, "utf8").trim()).toBe(String(process.pid));
});

test("the lock is an flock on the file: another process's `flock -n` on it fails while held and succeeds after release", async () => {
  const lock = await acquireLiveLock(file);
  expect(spawnSync("flock", ["-n", file, "true"]).status).toBe(1);
  await lock.release();
  await lock.release(); // idempotent
  expect(spawnSync("flock", ["-n", file, "true"]).status).toBe(0);
  held.push(await acquireLiveLock(file));
});

test("the holder's death releases the lock (the pipe to the flock process closes)", () => {
  const script = `require(${JSON.stringify(require.resolve("./live-lock"))}).acquireLiveLock(${JSON.stringify(file)}).then(() => { console.log("held"); process.exit(0); })`;
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { encoding: "utf8", timeout: 60_000 });
  expect(r.stdout.trim()).toBe("held");
  let free = 1;
  for (let i = 0; i < 50 && free !== 0; i++) {
    free = spawnSync("flock", ["-n", file, "true"]).status ?? 1;
    if (free !== 0) spawnSync("sleep", ["0.1"]);
  }
  expect(free).toBe(0);
});

test("the global setup fails the second run with that message; the teardown releases the first", async () => {
  process.env[LIVE_LOCK_VARIABLE] = file;
  await liveGlobalSetup();
  try {
    await expect(liveGlobalSetup()).rejects.toThrow(`another live run holds ${file}: PID ${process.pid}`);
  } finally {
    await liveGlobalTeardown();
  }
  expect(spawnSync("flock", ["-n", file, "true"]).status).toBe(0);
});
