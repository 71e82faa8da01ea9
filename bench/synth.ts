/**
 * Synth benchmark: wall time and peak memory (RSS high-water mark) of synthesizing the
 * default example (examples/distributed/main.ts, what `cdktf synth` runs at the repository
 * root) against a floor app that declares only the AWS provider (bench/floor-app.ts).
 *
 * Two modes: (1) from the TypeScript sources through ts-node, transpile-only, as cdktf.json
 * starts the app here; (2) compiled JavaScript (the repository compiled once by tsc into a
 * temporary directory, not timed), as an npm consumer runs the library. Each run is a fresh
 * child process running the app as its main module and writing to a temporary
 * CDKTF_OUTDIR (the run fails unless a manifest was written); wall time is measured around
 * the child, peak RSS is the child's `process.resourceUsage().maxRSS` reported at exit.
 * One warm-up run, then the median of RUNS runs each; the ratio is example / floor.
 * Target ≤ 1.5×.
 *
 * Usage: npm run bench:synth [-- --runs 5]
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const TARGET_RATIO = 1.5;

interface Sample {
  readonly wallMs: number;
  readonly maxRssMiB: number;
}

/**
 * Preloaded into every child (`node -r`): reports the child's peak RSS (KiB on Linux) on a
 * marked stderr line at exit. The app itself runs as the main module, as under cdktf.
 */
const PROBE = join(mkdtempSync(join(tmpdir(), "bench-probe-")), "probe.js");
writeFileSync(PROBE, `process.on("exit", () => process.stderr.write("\\nBENCH_MAXRSS=" + process.resourceUsage().maxRSS + "\\n"));\n`);
process.on("exit", () => rmSync(dirname(PROBE), { recursive: true, force: true }));

/** How a run starts the app. */
interface Mode {
  readonly label: string;
  /** Node arguments to run `app` (a path relative to the repository root, without extension). */
  readonly args: (app: string) => string[];
  readonly cwd: string;
}

/** As cdktf.json runs it: ts-node, transpile-only, from the TypeScript sources. */
const SOURCE: Mode = {
  label: "ts-node (as `cdktf synth` runs it here)",
  args: (app) => ["-r", PROBE, "-r", "ts-node/register/transpile-only", resolve(ROOT, app + ".ts")],
  cwd: ROOT,
};

/**
 * As a package consumer runs it: the library is JavaScript (here: the whole repository
 * compiled once by tsc into a temporary directory, not timed), the app too.
 */
function compiledMode(): Mode {
  const out = mkdtempSync(join(tmpdir(), "bench-build-"));
  spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json", "--outDir", out, "--declaration", "false", "--noEmitOnError", "false"], { cwd: ROOT, encoding: "utf8" });
  for (const f of ["examples/distributed/main.js", "bench/floor-app.js"]) {
    if (!existsSync(join(out, f))) throw new Error(`tsc did not emit ${f}`);
  }
  copyFileSync(join(ROOT, "examples/distributed/postgres.yaml"), join(out, "examples/distributed/postgres.yaml"));
  symlinkSync(join(ROOT, "node_modules"), join(out, "node_modules"));
  process.on("exit", () => rmSync(out, { recursive: true, force: true }));
  return {
    label: "compiled JavaScript (as an npm consumer runs the library)",
    args: (app) => ["-r", PROBE, join(out, app + ".js")],
    cwd: out,
  };
}

/** Runs one app in a fresh child process; returns its wall time and peak RSS. */
function runOnce(mode: Mode, app: string): Sample {
  const outdir = mkdtempSync(join(tmpdir(), "bench-synth-"));
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, mode.args(app), {
    cwd: mode.cwd,
    env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1" },
    encoding: "utf8",
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const ok = r.status === 0 && existsSync(join(outdir, "manifest.json"));
  rmSync(outdir, { recursive: true, force: true });
  if (!ok) throw new Error(`${app} failed (exit ${r.status}):\n${r.stderr}`);
  const m = /BENCH_MAXRSS=(\d+)/.exec(r.stderr);
  if (!m) throw new Error(`${app}: no peak RSS reported`);
  return { wallMs, maxRssMiB: Number(m[1]) / 1024 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function measure(mode: Mode, app: string): Sample {
  runOnce(mode, app); // warm the file system cache; not counted
  const runs = Array.from({ length: RUNS }, () => runOnce(mode, app));
  return { wallMs: median(runs.map((r) => r.wallMs)), maxRssMiB: median(runs.map((r) => r.maxRssMiB)) };
}

const rows: string[][] = [["mode", "app", "wall time", "peak RSS"]];
let met = true;
for (const mode of [SOURCE, compiledMode()]) {
  // Interleave nothing: floor then example, each RUNS fresh processes.
  const floor = measure(mode, "bench/floor-app");
  const example = measure(mode, "examples/distributed/main");
  const wallRatio = example.wallMs / floor.wallMs;
  const rssRatio = example.maxRssMiB / floor.maxRssMiB;
  met = met && wallRatio <= TARGET_RATIO && rssRatio <= TARGET_RATIO;
  rows.push(
    [mode.label, "floor (AWS provider only)", `${floor.wallMs.toFixed(0)} ms`, `${floor.maxRssMiB.toFixed(1)} MiB`],
    ["", "examples/distributed", `${example.wallMs.toFixed(0)} ms`, `${example.maxRssMiB.toFixed(1)} MiB`],
    ["", "ratio (example / floor)", `${wallRatio.toFixed(2)}×`, `${rssRatio.toFixed(2)}×`],
  );
}

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
console.log(`Synth benchmark: medians of ${RUNS} runs, each a fresh process (node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)})`);
console.log(line(rows[0]));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
rows.slice(1).forEach((r) => console.log(line(r)));
console.log(`target ≤ ${TARGET_RATIO}× (wall time and peak RSS, both modes): ${met ? "met" : "not met"}`);
