import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSpecFile, SpecValidationError } from "../../src/cluster-spec";

describe("spec files", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "mp-spec-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, text: string): string {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  }

  test("a YAML spec without network loads and resolves", () => {
    const p = write("postgres.yaml", "name: orders\ndeployment: distributed\nsize: M\nstorageGiB: 50\nbackup:\n  retentionDays: 14\n");
    const { spec } = loadSpecFile(p);
    expect(spec).toMatchObject({ name: "orders", deployment: "distributed", storageGiB: 50, backup: { retentionDays: 14 } });
  });

  test("a JSON spec loads", () => {
    const p = write("spec.json", JSON.stringify({ name: "orders", deployment: "standalone", size: "XS", storageGiB: 2 }));
    expect(loadSpecFile(p).spec.deployment).toBe("standalone");
  });

  test("invalid fields in a file are reported with the file name", () => {
    const p = write("postgres.yaml", "name: orders\ndeployment: distributed\nsize: M\nstorageGiB: 1\n");
    expect(() => loadSpecFile(p)).toThrow(/postgres.yaml.*\n.*`storageGiB`: got 1/);
  });

  test("broken YAML is an error naming the problem", () => {
    const p = write("postgres.yaml", "name: orders\n  size: [M\n");
    expect(() => loadSpecFile(p)).toThrow(SpecValidationError);
    expect(() => loadSpecFile(p)).toThrow(/not valid YAML/);
  });

  test("a duplicated key is refused rather than silently overridden", () => {
    const p = write("postgres.yaml", "name: orders\ndeployment: distributed\nsize: M\nstorageGiB: 50\nstorageGiB: 20\n");
    expect(() => loadSpecFile(p)).toThrow(/not valid YAML/);
  });

  test("a missing file is an error naming the path", () => {
    expect(() => loadSpecFile(join(dir, "nope.yaml"))).toThrow(/cannot read spec file/);
  });
});
