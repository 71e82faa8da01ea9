import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "../support/cli";

const FIXTURES = join(__dirname, "fixtures");

describe("managed-postgres review", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "mp-review-cli-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("--fail-on high exits 3 when a high risk is present, and still writes the Markdown", () => {
    const out = join(dir, "shrink.md");
    const r = cli("review", "--plan", join(FIXTURES, "storage-shrink.plan.json"), "--out", out, "--fail-on", "high");
    expect(r.code).toBe(3);
    expect(readFileSync(out, "utf8")).toMatch(/storage-shrink/);
    expect(r.stderr).toMatch(/1 risk at or above high/);
  });

  test("--fail-on high exits 0 when only low risks are present", () => {
    const r = cli("review", "--plan", join(FIXTURES, "cidr-added.plan.json"), "--fail-on", "high");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ingress-added/);
  });

  test("--fail-on low exits 3 on a low risk", () => {
    const r = cli("review", "--plan", join(FIXTURES, "cidr-added.plan.json"), "--fail-on", "low");
    expect(r.code).toBe(3);
  });

  test("--help documents exit code 3", () => {
    const r = cli("review", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3 a risk at or above --fail-on/);
  });

  test("an unknown --fail-on level is refused", () => {
    const r = cli("review", "--plan", join(FIXTURES, "cidr-added.plan.json"), "--fail-on", "critical");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/expected one of high, medium, low/);
  });

  test("--base without --head is refused", () => {
    const r = cli("review", "--base", dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/both --base <dir> and --head <dir>/);
  });

  test("a directory without cdk.tf.json exits 2 with the reason", () => {
    const r = cli("review", "--base", dir, "--head", dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no cdk\.tf\.json found/);
  });
});

describe("managed-postgres review and policy: bad arguments and inputs", () => {
  test("an extra argument is an error (exit 1), for review and policy", () => {
    const r = cli("review", "--plan", join(FIXTURES, "cidr-added.plan.json"), "extra");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/too many arguments for 'review'/);
    const p = cli("policy", FIXTURES, "extra");
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/too many arguments for 'policy'/);
  });

  test("a plan that is not a regular file exits 2 with one line naming it", () => {
    const r = cli("review", "--plan", "/dev/zero");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("managed-postgres: /dev/zero: not a regular file\n");
  });

  test("a plan that is not JSON exits 2 naming the file, without a stack trace", () => {
    const r = cli("review", "--plan", join(__dirname, "cli.test.ts"));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^managed-postgres: .*cli\.test\.ts: not valid JSON/)]);
  });
});
