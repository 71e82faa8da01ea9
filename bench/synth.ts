/**
 * Synth benchmark (`npm run bench:synth [-- --runs 5]`). Three measurements, each a fresh
 * process per run, one warm-up run, then the median of RUNS runs:
 *
 * 1. End to end: `npx cdktf synth` (the CLI, as a user types it) of the default example
 *    (examples/distributed, whose cdktf.json runs the app through tools/register.js: sucrase
 *    with its output cached on disk) against the floor app (bench/floor-app.ts: the AWS
 *    provider only) run the same way (bench/floor/cdktf.json). The warm-up run fills the
 *    transpile cache when it is empty, as a user's first synth does. Target: ≤ 1.3× the
 *    floor's wall time.
 * 2. Library only: the app run by node as compiled JavaScript (the repository compiled once
 *    by tsc into a temporary package with this package.json, not timed), as an npm consumer
 *    runs the library: the default example against the floor. Target ≤ 2.0× wall time.
 * 3. Marginal cost of a cluster: bench/clusters-app.ts (compiled) with 1, 5 and 20
 *    distributed clusters in one stack; (cost(n) − cost(1)) / (n − 1) per extra cluster, in
 *    ms of wall time and MiB of peak RSS. Target ≤ 50 ms and ≤ 4 MiB.
 *
 * Wall time is measured around the child. CPU time (user + system, of the app process only)
 * and peak RSS are the app process's `process.resourceUsage()` at exit (preloaded probe; for
 * the CLI runs, the app's, not npx's or the CLI's, told apart by their scripts). On a shared
 * machine, compare CPU times: wall time includes waiting for a core. The load average is
 * printed at the start and the end. `--skip-cli` leaves out measurement 1. Each run writes to
 * a temporary output directory and fails unless a manifest was written.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
const startLoad = loadavg()[0].toFixed(1);
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg("--runs", 5);
const CLI_RUNS = arg("--cli-runs", Math.min(RUNS, 3));
const TARGETS = { endToEnd: 1.3, libraryOnly: 2.0, perClusterMs: 50, perClusterMiB: 4 };

interface Sample {
  readonly wallMs: number;
  /** CPU time (user + system) of the app process, in ms: steadier than wall time on a loaded machine. */
  readonly cpuMs: number;
  readonly maxRssMiB: number;
  /** bench/clusters-app.ts only: CPU ms of building the clusters (`new ManagedPostgres`) and of `app.synth()`. */
  readonly phases?: { readonly constructCpuMs: number; readonly synthCpuMs: number };
}

/**
 * Preloaded into every app process (`node -r`, or NODE_OPTIONS under the CLI): reports its
 * peak RSS (KiB) and its CPU time (user + system, µs) at exit.
 */
const PROBE = join(mkdtempSync(join(tmpdir(), "bench-probe-")), "probe.js");
writeFileSync(
  PROBE,
  `process.on("exit", () => { const u = process.resourceUsage(); process.stderr.write("\\nBENCH_MAXRSS=" + u.maxRSS + " BENCH_CPU=" + (u.userCPUTime + u.systemCPUTime) + " BENCH_MAIN=" + JSON.stringify(process.argv[1] || "") + "\\n"); });\n`,
);
const cleanups: string[] = [dirname(PROBE)];
process.on("exit", () => cleanups.forEach((d) => rmSync(d, { recursive: true, force: true })));

function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, outdir: string): Sample {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, CHECKPOINT_DISABLE: "1", ...env }, encoding: "utf8", maxBuffer: 64 << 20 });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const ok = r.status === 0 && existsSync(join(outdir, "manifest.json"));
  rmSync(outdir, { recursive: true, force: true });
  if (!ok) throw new Error(`${cmd} ${args.join(" ")} in ${cwd} failed (exit ${r.status}):\n${r.stderr}\n${r.stdout}`.slice(-4000));
  const reports = [...`${r.stderr}${r.stdout}`.matchAll(/BENCH_MAXRSS=(\d+) BENCH_CPU=(\d+) BENCH_MAIN=(".*")/g)].map((m) => ({ rss: Number(m[1]), cpu: Number(m[2]), main: JSON.parse(m[3]) as string }));
  // Under the CLI, npx (npm-cli.js), tools/cdktf.js (node_modules/.bin/cdktf) and the CLI report too: the app is the process whose script is not theirs.
  const app = reports.find((x) => !/node_modules|npm-cli\.js$|tools\/cdktf\.js$/.test(x.main));
  if (!app) throw new Error(`${args.join(" ")}: the app reported no peak RSS`);
  const phases = /BENCH_PHASES construct_cpu_ms=([\d.]+) synth_cpu_ms=([\d.]+)/.exec(r.stderr);
  return { wallMs, cpuMs: app.cpu / 1000, maxRssMiB: app.rss / 1024, ...(phases ? { phases: { constructCpuMs: Number(phases[1]), synthCpuMs: Number(phases[2]) } } : {}) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function measure(runs: number, once: () => Sample): Sample {
  once(); // warm the file system cache; not counted
  const xs = Array.from({ length: runs }, once);
  const phases = xs.every((r) => r.phases)
    ? { phases: { constructCpuMs: median(xs.map((r) => r.phases!.constructCpuMs)), synthCpuMs: median(xs.map((r) => r.phases!.synthCpuMs)) } }
    : {};
  return { wallMs: median(xs.map((r) => r.wallMs)), cpuMs: median(xs.map((r) => r.cpuMs)), maxRssMiB: median(xs.map((r) => r.maxRssMiB)), ...phases };
}

/** `npx cdktf synth` in `dir` (a folder with a cdktf.json), output to a temporary directory. */
function cliSynth(dir: string): Sample {
  const out = mkdtempSync(join(tmpdir(), "bench-cli-"));
  return timed("npx", ["cdktf", "synth", "--output", out], dir, { NODE_OPTIONS: `-r ${PROBE}`, CI: "1", FORCE_COLOR: "0" }, out);
}

/**
 * The repository compiled once (not timed) into a temporary package: `dist/` from tsc, this
 * package.json (its "exports" map resolves `cdktf-managed-postgres/aws` to dist/), the shell
 * scripts and the example's spec file, node_modules linked.
 */
function compile(): string {
  const pkg = mkdtempSync(join(tmpdir(), "bench-build-"));
  cleanups.push(pkg);
  const r = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json", "--outDir", join(pkg, "dist"), "--declaration", "false", "--noEmitOnError", "false"], { cwd: ROOT, encoding: "utf8" });
  for (const f of ["examples/distributed/main.js", "bench/floor-app.js", "bench/clusters-app.js"]) {
    if (!existsSync(join(pkg, "dist", f))) throw new Error(`tsc did not emit ${f}:\n${r.stdout}`);
  }
  copyFileSync(join(ROOT, "package.json"), join(pkg, "package.json"));
  copyFileSync(join(ROOT, "examples/distributed/postgres.yaml"), join(pkg, "dist/examples/distributed/postgres.yaml"));
  const scripts = join(ROOT, "src/render/scripts");
  mkdirSync(join(pkg, "dist/src/render/scripts"), { recursive: true });
  for (const n of readdirSync(scripts).filter((x) => x.endsWith(".sh"))) copyFileSync(join(scripts, n), join(pkg, "dist/src/render/scripts", n));
  require("node:fs").symlinkSync(join(ROOT, "node_modules"), join(pkg, "node_modules"));
  return pkg;
}

/** node (no runner) on a compiled app of `pkg`. */
function compiledRun(pkg: string, app: string, env: NodeJS.ProcessEnv = {}): Sample {
  const out = mkdtempSync(join(tmpdir(), "bench-synth-"));
  return timed(process.execPath, ["-r", PROBE, join(pkg, "dist", app + ".js")], join(pkg, "dist", dirname(app)), { CDKTF_OUTDIR: out, ...env }, out);
}

const fmt = (s: Sample) => [`${s.wallMs.toFixed(0)} ms`, `${s.cpuMs.toFixed(0)} ms`, `${s.maxRssMiB.toFixed(1)} MiB`];
const rows: string[][] = [["measurement", "app", "wall time", "CPU (app)", "peak RSS"]];
const verdicts: string[] = [];

// 1. End to end, through the CLI.
if (!process.argv.includes("--skip-cli")) {
const cliFloor = measure(CLI_RUNS, () => cliSynth(join(ROOT, "bench/floor")));
const cliExample = measure(CLI_RUNS, () => cliSynth(join(ROOT, "examples/distributed")));
const e2e = cliExample.wallMs / cliFloor.wallMs;
rows.push(["`npx cdktf synth` (end to end)", "floor (AWS provider only)", ...fmt(cliFloor)], ["", "examples/distributed", ...fmt(cliExample)], ["", "ratio", `${e2e.toFixed(2)}×`, `${(cliExample.cpuMs / cliFloor.cpuMs).toFixed(2)}×`, `${(cliExample.maxRssMiB / cliFloor.maxRssMiB).toFixed(2)}×`]);
verdicts.push(`end to end ≤ ${TARGETS.endToEnd}×: ${e2e.toFixed(2)}× ${e2e <= TARGETS.endToEnd ? "met" : "NOT MET"}`);
}

// 2. Library only, compiled JavaScript.
const pkg = compile();
const floor = measure(RUNS, () => compiledRun(pkg, "bench/floor-app"));
const example = measure(RUNS, () => compiledRun(pkg, "examples/distributed/main"));
const lib = example.wallMs / floor.wallMs;
rows.push(["node, compiled JS (library only)", "floor (AWS provider only)", ...fmt(floor)], ["", "examples/distributed", ...fmt(example)], ["", "ratio", `${lib.toFixed(2)}×`, `${(example.cpuMs / floor.cpuMs).toFixed(2)}×`, `${(example.maxRssMiB / floor.maxRssMiB).toFixed(2)}×`]);
verdicts.push(`library only ≤ ${TARGETS.libraryOnly}×: ${lib.toFixed(2)}× ${lib <= TARGETS.libraryOnly ? "met" : "NOT MET"}`);

// 3. Marginal cost per cluster.
const byCount = new Map<number, Sample>();
for (const n of [1, 5, 20]) {
  byCount.set(n, measure(RUNS, () => compiledRun(pkg, "bench/clusters-app", { BENCH_CLUSTERS: String(n) })));
  rows.push([n === 1 ? "clusters in one stack (compiled)" : "", `${n} distributed cluster${n === 1 ? "" : "s"}`, ...fmt(byCount.get(n)!)]);
}
for (const n of [5, 20]) {
  const ms = (byCount.get(n)!.wallMs - byCount.get(1)!.wallMs) / (n - 1);
  const mib = (byCount.get(n)!.maxRssMiB - byCount.get(1)!.maxRssMiB) / (n - 1);
  const cpu = (byCount.get(n)!.cpuMs - byCount.get(1)!.cpuMs) / (n - 1);
  rows.push(["", `per extra cluster (1 → ${n})`, `${ms.toFixed(0)} ms`, `${cpu.toFixed(0)} ms`, `${mib.toFixed(2)} MiB`]);
  const [one, many] = [byCount.get(1)!.phases!, byCount.get(n)!.phases!];
  const build = (many.constructCpuMs - one.constructCpuMs) / (n - 1);
  const synth = (many.synthCpuMs - one.synthCpuMs) / (n - 1);
  rows.push(["", `  of which building it (1 → ${n})`, "", `${build.toFixed(0)} ms`, ""], ["", `  of which app.synth() (1 → ${n})`, "", `${synth.toFixed(0)} ms`, ""]);
  if (n === 20) verdicts.push(`per extra cluster ≤ ${TARGETS.perClusterMs} ms and ≤ ${TARGETS.perClusterMiB} MiB: ${ms.toFixed(0)} ms, ${mib.toFixed(2)} MiB ${ms <= TARGETS.perClusterMs && mib <= TARGETS.perClusterMiB ? "met" : "NOT MET"}`);
}

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
const cdktfVersion = JSON.parse(readFileSync(join(ROOT, "node_modules/cdktf/package.json"), "utf8")).version;
console.log(
  `Synth benchmark: medians of ${RUNS} runs (${CLI_RUNS} through the CLI), each a fresh process; node ${process.version}, cdktf ${cdktfVersion}, ` +
    `${process.platform}/${process.arch}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
    `load average ${startLoad} at the start, ${loadavg()[0].toFixed(1)} at the end`,
);
console.log(line(rows[0]));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
rows.slice(1).forEach((r) => console.log(line(r)));
verdicts.forEach((v) => console.log(v));
