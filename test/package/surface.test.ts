/**
 * The package surface (issue 13): package.json's "exports" map, the optional Kubernetes
 * provider, and no internal vocabulary ("seed 000", "issue 6") in what users read.
 * test/pack.test.ts checks the same entries in the packed tarball.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { App } from "cdktf";
import { requireKubernetesProvider } from "../../constructs/kubernetes/require-provider";
import { DistributedExample } from "../../examples/distributed/main";
import { KubernetesExample } from "../../examples/kubernetes/main";
import { addModules } from "../../examples/hcl-module/main";

const ROOT = resolve(__dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const SOURCE = "cdktf-managed-postgres-source";
const entries = Object.entries<any>(pkg.exports).filter(([, t]) => typeof t === "object");

/** Runs `code` under node as the examples' cdktf.json runs them (source condition, sucrase). */
function nodeFromSource(code: string) {
  return spawnSync(process.execPath, [`--conditions=${SOURCE}`, "-r", "sucrase/register", "-e", code], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
}

describe("exports map", () => {
  test("has the documented entries, each with types, default and a source in this repository", () => {
    expect(Object.keys(pkg.exports)).toEqual([".", "./aws", "./kubernetes", "./hcl-module", "./policy", "./review", "./render", "./package.json"]);
    for (const [key, target] of entries) {
      expect([key, Object.keys(target)]).toEqual([key, [SOURCE, "types", "default"]]);
      expect(existsSync(join(ROOT, target[SOURCE]))).toBe(true);
      const stem = target[SOURCE].replace(/^\.\//, "").replace(/\.ts$/, "");
      expect(target.types).toBe(`./dist/${stem}.d.ts`);
      expect(target.default).toBe(`./dist/${stem}.js`);
    }
  });

  test("tsconfig paths and the jest mapper resolve the same sources as the source condition", () => {
    const tsconfig = readFileSync(join(ROOT, "tsconfig.json"), "utf8");
    for (const [key, target] of entries) {
      expect(tsconfig).toContain(`"cdktf-managed-postgres${key.slice(1)}": ["${target[SOURCE]}"]`);
    }
  });

  test("@cdktf/provider-kubernetes is an optional peer dependency; cdktf and the AWS provider admit CDK Terrain's versions", () => {
    expect(pkg.peerDependenciesMeta).toEqual({ "@cdktf/provider-kubernetes": { optional: true } });
    expect(pkg.peerDependencies.cdktf).toBe("^0.21.0 || ^0.24.0");
    expect(pkg.peerDependencies["@cdktf/provider-aws"]).toBe("^21.0.0 || ^25.7.0");
  });

  test("the root entry loads the AWS constructs and the core, not the Kubernetes provider", () => {
    const r = nodeFromSource(
      `const mp = require("cdktf-managed-postgres");
       const k8s = Object.keys(require.cache).filter((f) => f.includes("provider-kubernetes"));
       console.log(JSON.stringify({ k8s, has: ["ManagedPostgres", "PolicyPack", "readSpecFile", "reviewChanges"].filter((k) => k in mp), kube: "ManagedPostgresKubernetes" in mp }));`,
    );
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ k8s: [], has: ["ManagedPostgres", "PolicyPack", "readSpecFile", "reviewChanges"], kube: false });
  });

  test.each([
    ["cdktf-managed-postgres/aws", "ManagedPostgres"],
    ["cdktf-managed-postgres/kubernetes", "ManagedPostgresKubernetes"],
    ["cdktf-managed-postgres/hcl-module", "ManagedPostgresModule"],
    ["cdktf-managed-postgres/policy", "PolicyPack"],
    ["cdktf-managed-postgres/review", "reviewChanges"],
    ["cdktf-managed-postgres/render", "renderNodeUserData"],
  ])("%s exports %s", (entry, name) => {
    const r = nodeFromSource(`console.log(typeof require(${JSON.stringify(entry)})[${JSON.stringify(name)}])`);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("function");
  });
});

describe("the Kubernetes entry without @cdktf/provider-kubernetes", () => {
  test("throws one error naming the package and the install command", () => {
    const missing = (id: string): string => {
      throw Object.assign(new Error(`Cannot find module '${id}'`), { code: "MODULE_NOT_FOUND" });
    };
    expect(() => requireKubernetesProvider(missing)).toThrow(
      /needs the optional peer dependency @cdktf\/provider-kubernetes \(\^12\.0\.0\), which is not installed\. Install it with: npm install @cdktf\/provider-kubernetes@\^12\.0\.0/,
    );
  });

  test("does nothing when the provider resolves", () => {
    expect(() => requireKubernetesProvider(require.resolve)).not.toThrow();
  });
});

describe("no internal vocabulary in what users read", () => {
  const INTERNAL = /\bseed\s*0\d\d\b|\bissue \d+\b|\bbrief \(/i;

  test("synthesized JSON of the examples (alarm descriptions, variable descriptions, node configuration)", () => {
    const out = mkdtempSync(join(tmpdir(), "mp-vocabulary-"));
    try {
      const app = new App({ outdir: out });
      new DistributedExample(app, "distributed");
      new KubernetesExample(app, "kubernetes");
      addModules(app);
      app.synth();
      const found: string[] = [];
      const walk = (dir: string): void => {
        for (const name of readdirSync(dir)) {
          const p = join(dir, name);
          if (statSync(p).isDirectory()) walk(p);
          else if (name.endsWith(".json")) {
            const m = readFileSync(p, "utf8").match(new RegExp(`.{0,60}(${INTERNAL.source}).{0,20}`, "gi"));
            if (m) found.push(...m.map((x) => `${p.slice(out.length)}: ${x}`));
          }
        }
      };
      walk(out);
      expect(found).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("README, docs, examples, the JSON Schema and the sources' docstrings", () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (name === "node_modules" || name === "cdktf.out") continue;
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ts|md|json|yaml|sh)$/.test(name)) files.push(p);
      }
    };
    for (const d of ["src", "constructs", "docs", "examples"]) walk(join(ROOT, d));
    files.push(join(ROOT, "README.md"));
    const found = files.flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .map((line, i) => [line, i] as const)
        .filter(([line]) => /\bseed\s*0\d\d\b/i.test(line))
        .map(([line, i]) => `${f.slice(ROOT.length + 1)}:${i + 1}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });
});
