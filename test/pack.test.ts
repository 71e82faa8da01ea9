/**
 * The npm package as a consumer gets it: `npm pack` (prepack builds), the tarball installed
 * into a fresh project, every entry of package.json's "exports" map imported and a stack
 * synthesized through them, with and without the optional peer dependency
 * `@cdktf/provider-kubernetes` (a copy of the project without its link), and the
 * `managed-postgres` bin.
 *
 * Offline first: the tarball's dependencies come from the npm cache (`--offline`, filled by
 * `npm ci`), then the registry; the peer dependencies (cdktf, constructs,
 * @cdktf/provider-aws, @cdktf/provider-kubernetes: 650 MB) are symlinked from this repository's node_modules, not
 * installed. If npm cannot install the tarball either way, the suite fails with npm's output:
 * a consumer installs with npm, so nothing less counts as the package working.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
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
/** The same project without `@cdktf/provider-kubernetes` (an AWS-only user). */
let awsOnly: string;

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
  awsOnly = join(work, "aws-only");
  cpSync(consumer, awsOnly, { recursive: true, verbatimSymlinks: true });
  rmSync(join(awsOnly, "node_modules", "@cdktf", "provider-kubernetes"), { force: true });
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
    const r = run(process.execPath, ["-e", `const s = require("cdktf-managed-postgres/render"); process.stdout.write(s.readScript(${JSON.stringify("restore-source-pass.sh")}))`], consumer);
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

/** Every entry of the exports map and a name it must export. */
const ENTRIES: Record<string, string> = {
  "cdktf-managed-postgres": "ManagedPostgres",
  "cdktf-managed-postgres/aws": "ManagedPostgres",
  "cdktf-managed-postgres/kubernetes": "ManagedPostgresKubernetes",
  "cdktf-managed-postgres/hcl-module": "ManagedPostgresModule",
  "cdktf-managed-postgres/policy": "PolicyPack",
  "cdktf-managed-postgres/review": "reviewChanges",
  "cdktf-managed-postgres/render": "renderNodeUserData",
  "cdktf-managed-postgres/package.json": "version",
};

/** A consumer app that imports `entries`, reports what each gave, and synthesizes one stack per construct. */
function importAndSynth(dir: string, withKubernetes: boolean) {
  const out = join(dir, "entries.out");
  writeFileSync(
    join(dir, "entries.js"),
    `const report = {};
for (const [entry, name] of Object.entries(${JSON.stringify(ENTRIES)})) {
  try { report[entry] = typeof require(entry)[name]; } catch (e) { report[entry] = "error: " + e.message; }
}
const { App, TerraformStack, LocalBackend } = require("cdktf");
const { AwsProvider } = require("@cdktf/provider-aws/lib/provider");
const { readSpecFile, CLUSTER_SPEC_SCHEMA } = require("cdktf-managed-postgres");
const { ManagedPostgres } = require("cdktf-managed-postgres/aws");
const { ManagedPostgresModule } = require("cdktf-managed-postgres/hcl-module");
const app = new App({ outdir: ${JSON.stringify(out)} });
const aws = new TerraformStack(app, "aws");
new LocalBackend(aws, { path: "terraform.tfstate" });
new AwsProvider(aws, "aws", { region: "eu-west-1" });
new ManagedPostgres(aws, "orders", {
  name: "orders", deployment: "standalone", size: "S", storageGiB: 20,
  network: { vpcId: "vpc-0abc12345", subnetIds: ["subnet-0aaa1111"], allowedCidrs: ["10.0.0.0/16"] },
});
new ManagedPostgresModule(app, "module", { name: "reports", deployment: "distributed", size: "M" });
${withKubernetes ? `const { KubernetesProvider } = require("@cdktf/provider-kubernetes/lib/provider");
const { ManagedPostgresKubernetes } = require("cdktf-managed-postgres/kubernetes");
const k8s = new TerraformStack(app, "kubernetes");
new LocalBackend(k8s, { path: "terraform.k8s.tfstate" });
new AwsProvider(k8s, "aws", { region: "eu-west-1" });
new KubernetesProvider(k8s, "kubernetes", {});
new ManagedPostgresKubernetes(k8s, "orders", {
  name: "orders", deployment: "distributed", size: "M", storageGiB: 20,
  namespace: "orders-db", storageClassName: "gp3",
  image: "registry.example.com/pg@sha256:" + "a".repeat(64),
  podNetworkCidrs: ["10.42.0.0/16"], allowedNamespaceLabels: { "kubernetes.io/metadata.name": "app" },
  backupStorage: { oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/X", oidcIssuer: "oidc.example/id/X" },
});` : ""}
app.synth();
console.log(JSON.stringify({ report, schema: typeof CLUSTER_SPEC_SCHEMA, spec: typeof readSpecFile }));
`,
  );
  const r = run(process.execPath, ["entries.js"], dir);
  if (r.status !== 0) throw new Error(`exit ${r.status} (installed by ${installedBy}):\n${r.stderr.slice(-3000)}`);
  const stacks = readdirSync(join(out, "stacks")).sort();
  return { ...JSON.parse(r.stdout.trim().split("\n").pop()!), stacks };
}

describe("every entry of the exports map, as installed from the tarball", () => {
  test("exports map: each entry names its .d.ts and .js, and both are in the tarball", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const targets = Object.entries<any>(pkg.exports).filter(([, t]) => typeof t === "object");
    expect(targets.map(([k]) => `cdktf-managed-postgres${k.slice(1)}`).sort()).toEqual(Object.keys(ENTRIES).filter((e) => !e.endsWith("package.json")).sort());
    for (const [, t] of targets) expect(files).toEqual(expect.arrayContaining([t.types.slice(2), t.default.slice(2)]));
  });

  test("with @cdktf/provider-kubernetes: every entry imports and AWS, module and Kubernetes stacks synthesize", () => {
    const r = importAndSynth(consumer, true);
    expect(r.report).toEqual({ ...Object.fromEntries(Object.keys(ENTRIES).map((e) => [e, "function"])), "cdktf-managed-postgres/package.json": "string" });
    expect(r.stacks).toEqual(["aws", "kubernetes", "module"]);
    const k8s = JSON.parse(readFileSync(join(consumer, "entries.out", "stacks", "kubernetes", "cdk.tf.json"), "utf8"));
    expect(Object.keys(k8s.resource.kubernetes_stateful_set_v1)).toHaveLength(1);
  });

  test("without @cdktf/provider-kubernetes: every other entry imports and synthesizes; the Kubernetes entry names the package to install", () => {
    expect(run(process.execPath, ["-p", "require.resolve('@cdktf/provider-kubernetes')"], awsOnly).status).not.toBe(0);
    const r = importAndSynth(awsOnly, false);
    const { "cdktf-managed-postgres/kubernetes": kubernetes, ...others } = r.report;
    expect(others).toEqual({ ...Object.fromEntries(Object.keys(ENTRIES).filter((e) => !e.endsWith("/kubernetes")).map((e) => [e, "function"])), "cdktf-managed-postgres/package.json": "string" });
    expect(kubernetes).toMatch(/^error: cdktf-managed-postgres\/kubernetes needs the optional peer dependency @cdktf\/provider-kubernetes .*npm install @cdktf\/provider-kubernetes@\^12/);
    expect(r.stacks).toEqual(["aws", "module"]);
  });

  test("deep imports of dist/ are not part of the surface", () => {
    const r = run(process.execPath, ["-e", "require('cdktf-managed-postgres/dist/constructs/aws')"], consumer);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
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

