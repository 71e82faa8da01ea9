/**
 * The shared Terraform layer (src/terraform): one reader of cdktf.out (manifest, JSON and
 * `--hcl` output) and the value helpers review, policy and prior-state use.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import {
  configResources,
  expressionReferences,
  parseAttributeReference,
  readSynthOutputDir,
  readSynthOutputJson,
  referencesAddress,
  SynthOutputError,
  tagsOf,
} from "../../src/terraform";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mp-tf-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  mkdirSync(join(dir, rel, ".."), { recursive: true });
  writeFileSync(join(dir, rel), text);
}

const CONFIG = { resource: { aws_s3_bucket: { b: { bucket: "x", "//": { metadata: { path: "s/b" } } } } }, data: { aws_iam_policy_document: { d: {} } } };

describe("readSynthOutputDir", () => {
  test("reads the stacks the manifest names, JSON parsed and --hcl output as text, sorted by name", () => {
    write("manifest.json", JSON.stringify({ stacks: { zeta: { synthesizedStackPath: "stacks/zeta/cdk.tf.json" }, alpha: { synthesizedStackPath: "stacks/alpha/cdk.tf" } } }));
    write("stacks/zeta/cdk.tf.json", JSON.stringify(CONFIG));
    write("stacks/alpha/cdk.tf", 'resource "aws_s3_bucket" "b" {}\n');
    const stacks = readSynthOutputDir(dir);
    expect(stacks.map((s) => [s.name, s.format])).toEqual([["alpha", "hcl"], ["zeta", "json"]]);
    expect(stacks[0].hcl).toContain("aws_s3_bucket");
    expect(stacks[1].json).toEqual(CONFIG);
  });

  test("without a manifest, reads every stacks/<name>/; a stack directory is one stack named after it", () => {
    write("stacks/db/cdk.tf.json", JSON.stringify(CONFIG));
    expect(readSynthOutputDir(dir).map((s) => s.name)).toEqual(["db"]);
    expect(readSynthOutputDir(join(dir, "stacks", "db")).map((s) => s.name)).toEqual(["db"]);
  });

  test("refuses a missing directory, an empty one and a file that is not JSON, naming the path", () => {
    expect(() => readSynthOutputDir(join(dir, "nope"))).toThrow(/nope: no such directory/);
    expect(() => readSynthOutputDir(dir)).toThrow(SynthOutputError);
    expect(() => readSynthOutputDir(dir)).toThrow(/no synthesized stack found \(no cdk\.tf\.json found/);
    write("stacks/db/cdk.tf.json", "{ not json");
    expect(() => readSynthOutputDir(dir)).toThrow(/stacks\/db\/cdk\.tf\.json: not valid JSON/);
  });

  test("readSynthOutputJson refuses --hcl-only output and says why", () => {
    write("stacks/db/cdk.tf", "terraform {}\n");
    expect(() => readSynthOutputJson(dir, "review")).toThrow(/found cdk\.tf: synthesize without --hcl for review/);
    expect(basename(readSynthOutputDir(dir)[0].file)).toBe("cdk.tf");
  });
});

describe("value helpers", () => {
  test("configResources lists resources then data sources with addresses and construct paths", () => {
    expect(configResources(CONFIG).map((r) => [r.address, r.isData, r.constructPath])).toEqual([
      ["aws_s3_bucket.b", false, "s/b"],
      ["data.aws_iam_policy_document.d", true, undefined],
    ]);
    expect(configResources(CONFIG, { data: false }).map((r) => r.address)).toEqual(["aws_s3_bucket.b"]);
  });

  test("parseAttributeReference reads exactly one plain attribute reference", () => {
    expect(parseAttributeReference("${aws_subnet.net_private-1_A06.id}")).toEqual({ address: "aws_subnet.net_private-1_A06", type: "aws_subnet", isData: false, attribute: "id" });
    expect(parseAttributeReference("${data.aws_iam_policy_document.d.json}")).toMatchObject({ address: "data.aws_iam_policy_document.d", isData: true, attribute: "json" });
    for (const other of ["${element(aws_subnet.a.id, 0)}", "x${aws_subnet.a.id}", "${aws_subnet.a.id[0]}", "aws_subnet.a.id"]) {
      expect(parseAttributeReference(other)).toBeUndefined();
    }
  });

  test("referencesAddress and expressionReferences find references inside templates", () => {
    expect(referencesAddress("arn:${aws_s3_bucket.b.arn}/*", "aws_s3_bucket.b")).toBe(true);
    expect(referencesAddress("${aws_s3_bucket.bb.arn}", "aws_s3_bucket.b")).toBe(false);
    expect([...expressionReferences({ a: "${base64gzip(local.ud)}", b: ["${aws_s3_bucket.b.arn}"] })].sort()).toEqual(["aws_s3_bucket.b", "local.ud"]);
  });

  test("tagsOf: tags win over tags_all; ASG tag blocks and launch template tag specifications count", () => {
    expect(tagsOf({ tags: { a: "1" }, tags_all: { a: "2", b: "3" }, tag: [{ key: "c", value: "4" }], tag_specifications: [{ tags: { d: "5" } }] })).toEqual({ a: "1", b: "3", c: "4", d: "5" });
  });
});
