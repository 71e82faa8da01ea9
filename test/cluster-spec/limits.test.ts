import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSpecFile, MAX_SPEC_FILE_BYTES, SpecValidationError, validateClusterSpec } from "../../src/cluster-spec";

const OK = "name: orders\ndeployment: distributed\nsize: M\nstorageGiB: 50\n";

describe("spec files that are too large, not files, or hostile documents", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "mp-spec-limits-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  test("a file over 1 MiB is refused before parsing, naming the file and the limit", () => {
    const p = write("big.yaml", OK + "#".repeat(MAX_SPEC_FILE_BYTES));
    expect(() => loadSpecFile(p)).toThrow(SpecValidationError);
    expect(() => loadSpecFile(p)).toThrow(/big\.yaml.*\n.*too large: \d+ bytes; at most 1048576 \(1 MiB\)/);
  });

  test("a file of exactly 1 MiB is read", () => {
    const p = write("padded.yaml", OK + "#".repeat(MAX_SPEC_FILE_BYTES - OK.length));
    expect(loadSpecFile(p).spec.name).toBe("orders");
  });

  test("/dev/zero, a directory and a FIFO are refused at once as not regular files", () => {
    const fifo = join(dir, "fifo.yaml");
    execFileSync("mkfifo", [fifo]);
    for (const p of ["/dev/zero", dir, fifo]) expect(() => loadSpecFile(p)).toThrow(/cannot read spec file: not a regular file/);
  });

  test("a YAML alias bomb is a spec error naming the file, not a library stack", () => {
    const rows = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [prev, cur] of ["ab", "bc", "cd", "de", "ef", "fg"]) rows.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    const p = write("bomb.yaml", rows.join("\n") + "\n" + OK);
    expect(() => loadSpecFile(p)).toThrow(/bomb\.yaml.*\n.*not a usable YAML document: Excessive alias count/);
  });

  test("a key given twice in a JSON spec is refused (JSON.parse would keep the last)", () => {
    const p = write("dup.json", '{"name":"orders","deployment":"distributed","size":"M","storageGiB":50,"storageGiB":20}');
    expect(() => loadSpecFile(p)).toThrow(/dup\.json.*\n.*not valid JSON: Map keys must be unique at line 1, column 72/);
  });

  test("YAML flow syntax in a .json file (a trailing comma) is not JSON", () => {
    const p = write("trailing.json", '{"name":"orders","deployment":"distributed","size":"M","storageGiB":50,}');
    expect(() => loadSpecFile(p)).toThrow(/trailing\.json.*\n.*not valid JSON/);
  });

  test(".nan and .inf are reported as NaN and Infinity with their field, not as null", () => {
    const p = write("nan.yaml", "name: orders\ndeployment: distributed\nsize: M\nstorageGiB: .nan\nbackup:\n  retentionDays: -.inf\n");
    expect(() => loadSpecFile(p)).toThrow(/`storageGiB`: got NaN; expected a finite number\n.*`backup\.retentionDays`: got -Infinity; expected a finite number/);
  });

  test("NaN given through the TypeScript API is shown as NaN", () => {
    expect(() => validateClusterSpec({ name: "orders", deployment: "distributed", size: "M", storageGiB: NaN }, { requireNetwork: false })).toThrow(/`storageGiB`: got NaN;/);
  });
});
