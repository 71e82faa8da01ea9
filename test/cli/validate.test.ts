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
    expect(r.stdout).toMatch(/validate \[options\] <spec-file>/);
  });
});
