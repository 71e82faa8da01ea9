import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "../support/cli";

describe("managed-postgres validate", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "mp-cli-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a valid spec file exits 0 with a summary", () => {
    const f = join(dir, "ok.yaml");
    writeFileSync(f, "name: orders\ndeployment: distributed\nsize: M\nstorageGiB: 50\n");
    const r = cli("validate", f);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid — cluster "orders", distributed, size M, 50 GiB, PostgreSQL 17/);
  });

  test("an invalid spec file exits 1 and lists every problem on stderr", () => {
    const f = join(dir, "bad.yaml");
    writeFileSync(f, "name: orders\ndeployment: distributed\nsize: XXXL\nstorageGiB: 1\n");
    const r = cli("validate", f);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/`size`: got "XXXL"/);
    expect(r.stderr).toMatch(/`storageGiB`: got 1/);
  });

  test("--require-network refuses a spec without network", () => {
    const f = join(dir, "nonet.yaml");
    writeFileSync(f, "name: orders\ndeployment: standalone\nsize: XS\nstorageGiB: 2\n");
    const r = cli("validate", "--require-network", f);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/`network` is required/);
  });

  test("--help lists the validate command", () => {
    const r = cli("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/validate \[options\] <spec-file\.\.\.>/);
  });
});

describe("managed-postgres validate with several files and bad arguments", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "mp-cli-many-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  test("every file is checked and reported; exit 1 when any fails", () => {
    const ok = write("ok.yaml", "name: orders\ndeployment: distributed\nsize: M\nstorageGiB: 50\n");
    const bad = write("bad.yaml", "name: orders\ndeployment: distributed\nsize: M\nstorageGiB: 1\n");
    const broken = write("broken.json", "{");
    const r = cli("validate", bad, ok, broken);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ok\.yaml: valid/);
    expect(r.stderr).toMatch(/bad\.yaml.*\n.*`storageGiB`: got 1/);
    expect(r.stderr).toMatch(/broken\.json.*\n.*not valid JSON/);
  });

  test("two valid files: both summarized, exit 0", () => {
    const a = write("a.yaml", "name: orders\ndeployment: distributed\nsize: M\nstorageGiB: 50\n");
    const b = write("b.yaml", "name: billing\ndeployment: standalone\nsize: XS\nstorageGiB: 2\n");
    const r = cli("validate", a, b);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([expect.stringMatching(/a\.yaml: valid — cluster "orders"/), expect.stringMatching(/b\.yaml: valid — cluster "billing"/)]);
  });

  test("an unknown option is an error, exit 1", () => {
    const r = cli("validate", "--strict", write("c.yaml", "name: x\n"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown option '--strict'/);
  });

  test("an unknown command is an error, exit 1", () => {
    const r = cli("valdate", "x.yaml");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown command 'valdate'/);
  });

  test("/dev/zero is refused at once, once, without a stack trace", () => {
    const r = cli("validate", "/dev/zero");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Invalid cluster spec (/dev/zero): 1 problem\n  - cannot read spec file: not a regular file\n");
  });
});
