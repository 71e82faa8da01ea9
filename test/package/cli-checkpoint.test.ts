/**
 * `npx cdktf synth` on a fresh clone (issue 13: "the main command is quiet and clean"): after
 * `npm ci`, node_modules/.bin/cdktf runs tools/cdktf.js (the `prepare` step,
 * tools/link-cdktf-bin.js), which turns HashiCorp's checkpoint call off unless the caller set
 * CHECKPOINT_DISABLE. Offline, the call prints a red `[ERROR] … getaddrinfo ENOTFOUND
 * checkpoint-api.hashicorp.com` line; online it is silent, so the test also reads the variable
 * in the app process the CLI spawns (a preloaded probe), which is "1" only through the wrapper.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, "..", "..");
const tmp = mkdtempSync(join(tmpdir(), "mp-cli-checkpoint-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test("npm ci's prepare step points node_modules/.bin/cdktf at tools/cdktf.js", () => {
  const bin = realpathSync(join(ROOT, "node_modules", ".bin", "cdktf"));
  // In a git worktree sharing another checkout's node_modules the link lands in that checkout's tools/.
  expect(bin.endsWith(join("tools", "cdktf.js"))).toBe(true);
  expect(readFileSync(bin, "utf8")).toBe(readFileSync(join(ROOT, "tools", "cdktf.js"), "utf8"));
});

test("npx cdktf synth in an example, without CHECKPOINT_DISABLE: no ERROR line, the app runs with the checkpoint off, the output is written", () => {
  const probe = join(tmp, "probe.js");
  const seen = join(tmp, "seen.txt");
  writeFileSync(probe, `require("fs").appendFileSync(${JSON.stringify(seen)}, JSON.stringify([process.argv[1] || "", process.env.CHECKPOINT_DISABLE ?? null]) + "\\n");\n`);
  const output = join(tmp, "cdktf.out");
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--require=${probe}` };
  delete env.CHECKPOINT_DISABLE;
  // Terraform's own complaint about a missing TF_CLI_CONFIG_FILE (set on some machines) is not the CLI's checkpoint.
  delete env.TF_CLI_CONFIG_FILE;
  const r = spawnSync("npx", ["cdktf", "synth", "--output", output], { cwd: join(ROOT, "examples", "standalone"), env, encoding: "utf8", timeout: 110_000 });
  const printed = `${r.stdout}${r.stderr}`;
  expect({ status: r.status, printed }).toEqual({ status: 0, printed: expect.stringContaining("Generated Terraform code for the stacks: standalone") });
  expect(printed).not.toMatch(/\[ERROR\]|checkpoint-api/);
  expect(existsSync(join(output, "stacks", "standalone", "cdk.tf.json"))).toBe(true);
  const processes = readFileSync(seen, "utf8").trim().split("\n").map((l) => JSON.parse(l) as [string, string | null]);
  const app = processes.filter(([main]) => main.endsWith("main.ts"));
  expect(app).toEqual([[join(ROOT, "examples", "standalone", "main.ts"), "1"]]);
});

test("npx cdktf --version is the cdktf CLI's version, not this package's", () => {
  const cli = JSON.parse(readFileSync(require.resolve("cdktf-cli/package.json"), "utf8")).version as string;
  const own = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TF_CLI_CONFIG_FILE;
  const r = spawnSync("npx", ["cdktf", "--version"], { cwd: ROOT, env, encoding: "utf8", timeout: 60_000 });
  expect({ status: r.status, version: r.stdout.trim() }).toEqual({ status: 0, version: cli });
  expect(cli).not.toBe(own);
});
