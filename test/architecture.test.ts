/**
 * The layers of docs/architecture.md, checked on the import statements of src/ and
 * constructs/ (parsed with the TypeScript compiler; type-only imports and re-exports count):
 * - no import cycle (what `npx madge --circular --extensions ts src constructs` checks);
 * - src/ is pure: it imports neither cdktf, constructs, @cdktf/* nor anything under constructs/;
 * - internals stay internal: nothing the package entry points re-export (transitively)
 *   lives in constructs/private/ or src/terraform/;
 * - no private cdktf module (`cdktf/lib/_…`);
 * - the table "What may import what" of docs/architecture.md.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import * as ts from "typescript";

const ROOT = resolve(__dirname, "..");

interface ModuleImport {
  readonly specifier: string;
  /** The repository-relative file it resolves to (relative specifiers only). */
  readonly file?: string;
  /** `export * from` / `export { … } from`. */
  readonly reexport: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) return sourceFiles(rel);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [rel] : [];
  });
}

function resolveRelative(from: string, specifier: string): string | undefined {
  const base = join(dirname(from), specifier);
  return [`${base}.ts`, join(base, "index.ts"), base].find((f) => existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).isFile());
}

function importsOf(file: string): ModuleImport[] {
  const sf = ts.createSourceFile(file, readFileSync(join(ROOT, file), "utf8"), ts.ScriptTarget.ES2022, false);
  const out: ModuleImport[] = [];
  for (const st of sf.statements) {
    const isImport = ts.isImportDeclaration(st);
    const isExport = ts.isExportDeclaration(st);
    if (!isImport && !isExport) continue;
    const spec = st.moduleSpecifier;
    if (!spec || !ts.isStringLiteral(spec)) continue;
    const specifier = spec.text;
    out.push({ specifier, file: specifier.startsWith(".") ? resolveRelative(file, specifier) : undefined, reexport: isExport });
  }
  return out;
}

const FILES = [...sourceFiles("src"), ...sourceFiles("constructs")].sort();
const GRAPH = new Map(FILES.map((f) => [f, importsOf(f)] as const));

/** Every cycle, as the files of each strongly connected component with more than one file (or a self-import). */
function cycles(): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let next = 0;
  const edges = (f: string) => (GRAPH.get(f) ?? []).map((i) => i.file).filter((x): x is string => x !== undefined && GRAPH.has(x));
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || edges(v).includes(v)) found.push(scc.sort());
    }
  };
  for (const f of FILES) if (!index.has(f)) visit(f);
  return found;
}

/** Files re-exported (through `export … from` chains) by an entry point. */
function reexportClosure(entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length) {
    for (const i of GRAPH.get(queue.pop()!) ?? []) {
      if (i.reexport && i.file && !seen.has(i.file)) {
        seen.add(i.file);
        queue.push(i.file);
      }
    }
  }
  return seen;
}

describe("architecture", () => {
  test("the import graph reads every file of src/ and constructs/", () => {
    expect(FILES.length).toBeGreaterThan(50);
    expect(FILES).toEqual(expect.arrayContaining(["src/terraform/index.ts", "constructs/private/naming.ts", "constructs/index.ts"]));
    expect(GRAPH.get("constructs/index.ts")!.map((i) => i.file)).toContain("src/index.ts");
  });

  test("the cycle finder finds a cycle when there is one", () => {
    GRAPH.set("src/__a.ts", [{ specifier: "./__b", file: "src/__b.ts", reexport: false }]);
    GRAPH.set("src/__b.ts", [{ specifier: "./__a", file: "src/__a.ts", reexport: false }]);
    FILES.push("src/__a.ts", "src/__b.ts");
    try {
      expect(cycles()).toContainEqual(["src/__a.ts", "src/__b.ts"]);
    } finally {
      FILES.splice(FILES.indexOf("src/__a.ts"), 2);
      GRAPH.delete("src/__a.ts");
      GRAPH.delete("src/__b.ts");
    }
  });

  test("no import cycle in src/ and constructs/", () => {
    expect(cycles()).toEqual([]);
  });

  test("every relative import resolves to a file", () => {
    const unresolved = FILES.flatMap((f) => GRAPH.get(f)!.filter((i) => i.specifier.startsWith(".") && !i.file).map((i) => `${f} → ${i.specifier}`));
    expect(unresolved).toEqual([]);
  });

  test("src/ is pure: no cdktf, constructs or @cdktf import, nothing under constructs/", () => {
    const bad = FILES.filter((f) => f.startsWith("src/")).flatMap((f) =>
      GRAPH.get(f)!
        .filter((i) => /^(cdktf|constructs|@cdktf)(\/|$)/.test(i.specifier) || (i.file !== undefined && i.file.startsWith("constructs/")))
        .map((i) => `${f} → ${i.specifier}`),
    );
    expect(bad).toEqual([]);
  });

  test("no private cdktf module is imported", () => {
    const bad = FILES.flatMap((f) => GRAPH.get(f)!.filter((i) => /^cdktf\/lib\/_/.test(i.specifier)).map((i) => `${f} → ${i.specifier}`));
    expect(bad).toEqual([]);
  });

  test.each(["constructs/index.ts", "constructs/aws/index.ts", "constructs/kubernetes/index.ts", "src/index.ts"])(
    "%s re-exports nothing from constructs/private/ or src/terraform/",
    (entry) => {
      const leaked = [...reexportClosure(entry)].filter((f) => f.startsWith("constructs/private/") || f.startsWith("src/terraform/"));
      expect(leaked).toEqual([]);
    },
  );

  /** docs/architecture.md's "What may import what": [importer prefix, forbidden import prefixes, allowed exceptions]. */
  const FORBIDDEN: readonly [string, readonly string[], readonly string[]][] = [
    ["src/cluster-spec/", ["src/", "constructs/"], ["src/cluster-spec/"]],
    ["src/terraform/", ["src/", "constructs/"], ["src/terraform/"]],
    ["src/render/", ["src/rules/", "src/review/", "src/cli/", "src/terraform/"], []],
    ["src/monitoring/", ["src/rules/", "src/review/", "src/cli/", "src/terraform/"], []],
    ["src/rules/", ["src/review/", "src/cli/"], []],
    ["src/review/", ["src/cli/"], []],
    ["constructs/aws/", ["constructs/kubernetes/"], []],
    ["constructs/private/", ["constructs/index.ts", "constructs/aws/index.ts", "constructs/kubernetes/index.ts"], []],
    ["constructs/kubernetes/", ["constructs/aws/"], ["constructs/aws/backup-bucket.ts", "constructs/aws/environment.ts"]],
  ];

  test.each(FORBIDDEN.map(([from, to, except]) => [from, to.join(", "), to, except] as const))(
    "%s imports nothing from %s (docs/architecture.md)",
    (from, _label, to, except) => {
      const bad = FILES.filter((f) => f.startsWith(from)).flatMap((f) =>
        GRAPH.get(f)!
          .filter((i) => i.file !== undefined && to.some((p) => i.file!.startsWith(p)) && !except.some((p) => i.file!.startsWith(p)))
          .map((i) => `${f} → ${i.file}`),
      );
      expect(bad).toEqual([]);
    },
  );

  test("constructs/private/ is imported by the constructs (directly, not through an entry point)", () => {
    const users = FILES.filter((f) => !f.startsWith("constructs/private/") && GRAPH.get(f)!.some((i) => i.file?.startsWith("constructs/private/")));
    expect(users.length).toBeGreaterThan(0);
  });
});
