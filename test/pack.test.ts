/**
 * The npm package as a consumer gets it: `npm pack` (prepack builds), the tarball installed
 * into a fresh project, a stack synthesized through `require("cdktf-managed-postgres")` only,
 * and the `managed-postgres` bin.
 *
 * Offline first: the tarball's dependencies come from the npm cache (`--offline`, filled by
 * `npm ci`), then the registry; the peer dependencies (cdktf, constructs,
 * @cdktf/provider-aws, @cdktf/provider-kubernetes: 650 MB) are symlinked from this repository's node_modules, not
 * installed. If npm cannot install the tarball either way, the suite fails with npm's output:
 * a consumer installs with npm, so nothing less counts as the package working.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { requirePrerequisites } from "./support/prerequisites";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
const PEERS = ["cdktf", "constructs", "@cdktf/provider-aws", "@cdktf/provider-kubernetes"];
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

jest.setTimeout(240_000);

let work: string;
let tarball: string;
let files: string[];
let consumer: string;
let installedBy: string;

function run(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}) {
  return spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", npm_config_audit: "false", npm_config_fund: "false", ...extraEnv }, timeout: 180_000 });
}

function linkPackage(name: string, nodeModules: string): void {
  const target = join(nodeModules, name);
  if (existsSync(target)) return;
  mkdirSync(join(target, ".."), { recursive: true });
  symlinkSync(join(ROOT, "node_modules", name), target, "dir");
}

beforeAll(() => {
  requirePrerequisites({ commands: ["npm", "tar"] });
  work = mkdtempSync(join(tmpdir(), "mp-pack-"));
  const pack = run(NPM, ["pack", "--pack-destination", work, "--json"], ROOT);
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}\n${pack.stdout}`);
  const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("[")))[0];
  tarball = join(work, info.filename);
  files = info.files.map((f: { path: string }) => f.path);

  consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }, null, 2));
  const nm = join(consumer, "node_modules");
  const flags = ["install", "--no-save", "--legacy-peer-deps", "--ignore-scripts", "--no-package-lock"];
  const failures: string[] = [];
  for (const [how, extra] of [["npm install --offline", ["--offline"]], ["npm install (registry)", ["--prefer-offline"]]] as const) {
    const r = run(NPM, [...flags, ...extra, tarball], consumer);
    if (r.status === 0 && existsSync(join(nm, "cdktf-managed-postgres", "package.json"))) {
      installedBy = how;
      break;
    }
    failures.push(`${how}: exit ${r.status}\n${(r.stderr || r.stdout).slice(-2000)}`);
  }
  if (!installedBy) throw new Error(`npm could not install the tarball ${tarball}:\n${failures.join("\n")}`);
  for (const p of PEERS) linkPackage(p, nm);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("npm package", () => {
  test("the tarball holds the built JS and .d.ts of the entry point, the CLI and the JSON Schema", () => {
    expect(files).toEqual(expect.arrayContaining(["dist/constructs/index.js", "dist/constructs/index.d.ts", "dist/src/cli/main.js", "dist/src/cluster-spec/cluster-spec.schema.json"]));
  });

  test("the tarball holds every shell script the renderers read at run time, next to their JavaScript", () => {
    const scripts = readdirSync(join(ROOT, "src", "render", "scripts")).filter((n) => n.endsWith(".sh"));
    expect(scripts.length).toBeGreaterThan(0);
    expect(files).toEqual(expect.arrayContaining(["dist/src/render/scripts/index.js", ...scripts.map((n) => `dist/src/render/scripts/${n}`)]));
  });

  test("the installed package renders a script from its shipped .sh files", () => {
    const r = run(process.execPath, ["-e", `const s = require("cdktf-managed-postgres/dist/src/render/scripts"); process.stdout.write(s.readScript(${JSON.stringify("restore-source-pass.sh")}))`], consumer);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(readFileSync(join(ROOT, "src", "render", "scripts", "restore-source-pass.sh"), "utf8"));
  });

  test("the tarball holds README.md, LICENSE and package.json", () => {
    expect(files).toEqual(expect.arrayContaining(["README.md", "LICENSE", "package.json"]));
  });

  test("the tarball holds no TypeScript source, tests, examples or synth output", () => {
    const stray = files.filter((f) => (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)) || /^(test|examples|bench|src|constructs|docs)\//.test(f) || f.includes("cdktf.out"));
    expect(stray).toEqual([]);
  });

  test("a fresh project synthesizes a distributed cluster through require(\"cdktf-managed-postgres\") only", () => {
    const out = join(consumer, "cdktf.out");
    writeFileSync(
      join(consumer, "main.js"),
      `const { App, TerraformStack, LocalBackend } = require("cdktf");
const { AwsProvider } = require("@cdktf/provider-aws/lib/provider");
const mp = require("cdktf-managed-postgres");
const app = new App({ outdir: ${JSON.stringify(out)} });
const stack = new TerraformStack(app, "consumer");
new LocalBackend(stack, { path: "terraform.tfstate" });
new AwsProvider(stack, "aws", { region: "eu-west-1" });
new mp.ManagedPostgres(stack, "orders", {
  name: "orders", deployment: "distributed", size: "M", storageGiB: 50,
  network: { vpcId: "vpc-0abc12345", subnetIds: ["subnet-0aaa1111", "subnet-0bbb2222", "subnet-0ccc3333"], allowedCidrs: ["10.0.0.0/16"] },
});
app.synth();
console.log(JSON.stringify({ exports: ["ManagedPostgres", "validateClusterSpec", "reviewChanges", "CLUSTER_SPEC_SCHEMA"].filter((k) => k in mp) }));
`,
    );
    const r = run(process.execPath, ["main.js"], consumer);
    expect(r.status === 0 ? "synthesized" : `exit ${r.status} (installed by ${installedBy}):\n${r.stderr.slice(-3000)}`).toBe("synthesized");
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!).exports).toEqual(["ManagedPostgres", "validateClusterSpec", "reviewChanges", "CLUSTER_SPEC_SCHEMA"]);
    const tf = JSON.parse(readFileSync(join(out, "stacks", "consumer", "cdk.tf.json"), "utf8"));
    expect(Object.keys(tf.resource.aws_ebs_volume)).toHaveLength(3);
  });

  test("the package resolves from the consumer's node_modules, not from this repository's sources", () => {
    const r = run(process.execPath, ["-p", "require.resolve('cdktf-managed-postgres')"], consumer);
    expect(r.stdout.trim()).toBe(join(consumer, "node_modules", "cdktf-managed-postgres", "dist", "constructs", "index.js"));
  });

  test("the managed-postgres bin prints its help with the validate and review commands", () => {
    const bin = join(consumer, "node_modules", ".bin", "managed-postgres");
    expect(existsSync(bin)).toBe(true); // npm links the package's bin
    const r = run(bin, ["--help"], consumer);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: managed-postgres/);
    expect(r.stdout).toMatch(/validate/);
    expect(r.stdout).toMatch(/review/);
  });

  test("the installed bin is the npm-linked one (npm install put it in node_modules/.bin)", () => {
    if (installedBy === "unpacked by hand") {
      // npm could not install here (no cache, no registry): the hand-unpacked package has no .bin link.
      expect(readdirSync(join(consumer, "node_modules"))).toContain("cdktf-managed-postgres");
      return;
    }
    expect(existsSync(join(consumer, "node_modules", ".bin", "managed-postgres"))).toBe(true);
  });
});

describe("API reference (npm run docs)", () => {
  /** Files whose exported items must all be documented (typedoc's validation.notDocumented). */
  const CHECKED = ["src/review/", "src/cli/review.ts", "constructs/aws/deferred-checks.ts"];
  let result: ReturnType<typeof run>;
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), "mp-docs-"));
    result = run(process.execPath, [join(ROOT, "node_modules", "typedoc", "bin", "typedoc"), "--out", out], ROOT, { NO_COLOR: "1", FORCE_COLOR: "0" });
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test("typedoc builds the reference from constructs/index.ts", () => {
    expect(result.status === 0 ? "built" : result.stdout + result.stderr).toBe("built");
    expect(existsSync(join(out, "index.html"))).toBe(true);
  });

  test("every exported item of the review, its CLI and the plan-time checks is documented", () => {
    const warnings = `${result.stdout}\n${result.stderr}`
      .replace(/\x1b\[[0-9;]*m/g, "")
      .split("\n")
      .filter((l) => l.includes("does not have any documentation") && CHECKED.some((f) => l.includes(f)));
    expect(warnings).toEqual([]);
  });
});

