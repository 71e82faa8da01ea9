/**
 * The lines several slots share, written once (shareTextRuns, constructs/aws/launch.ts):
 * what EC2 and S3 receive, as Terraform evaluates it, is byte for byte what the same stack
 * gives with one self-contained text per slot. The distributed example and the HCL module's
 * distributed stack are synthesized twice, with and without the sharing, and applied with the
 * twin (the real `terraform console`, test/twin/apply); every launch template's user data
 * (base64 → gunzip) and every bootstrap object's content are compared, and every other
 * resource's attributes. System tier: needs the `terraform` binary.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { App, TerraformStack, Testing } from "cdktf";
import * as launch from "../../constructs/aws/launch";
import { DistributedExample } from "../../examples/distributed/main";
import { addModules } from "../../examples/hcl-module/main";
import { applyStack, type ApplyOptions, type TwinAccount, type TwinState } from "../twin/apply";
import { requirePrerequisites } from "../support/prerequisites";
import { evaluateTerraform } from "../support/terraform";

jest.setTimeout(300_000);

const work = mkdtempSync(join(tmpdir(), "shared-runs-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Synthesizes `build`'s stack into `<work>/<shared|whole>/<name>` (cdk.tf.json; the twin seeds
 * its ids with the directory's name), optionally with shareTextRuns returning the texts unchanged.
 */
function synthesize(name: string, build: () => TerraformStack, shared: boolean): { dir: string; json: any } {
  const spy = shared ? undefined : jest.spyOn(launch, "shareTextRuns").mockImplementation((_scope, _id, texts) => [...texts]);
  try {
    const text = Testing.synth(build());
    const dir = join(work, shared ? "shared" : "whole", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cdk.tf.json"), text);
    return { dir, json: JSON.parse(text) };
  } finally {
    spy?.mockRestore();
  }
}

/** What the instances and the bucket receive: user data text by launch template, content by object. */
function received(state: TwinState): Record<string, string> {
  return Object.fromEntries([
    ...state.ofType("aws_launch_template").map((r) => [r.address, gunzipSync(Buffer.from(r.attributes.user_data as string, "base64")).toString("utf8")]),
    ...state.ofType("aws_s3_object").map((r) => [r.address, r.attributes.content as string]),
  ]);
}

const others = (state: TwinState) =>
  state.resources.filter((r) => r.type !== "aws_launch_template" && r.type !== "aws_s3_object").map((r) => [r.address, r.attributes]);

const vpc = { id: "vpc-0abc12345def67890", cidr_block: "10.0.0.0/16" };
const moduleAccount: Partial<TwinAccount> = {
  region: "eu-west-1",
  vpcs: [vpc],
  subnets: ["a", "b", "c"].map((z, i) => ({ id: `subnet-0${z.repeat(4)}111122223333`, vpc_id: vpc.id, cidr_block: `10.0.${i * 16}.0/20`, availability_zone: `eu-west-1${z}` })),
};
const moduleInputs: ApplyOptions = { variables: { vpc_id: vpc.id, subnet_ids: moduleAccount.subnets!.map((x) => x.id), allowed_cidrs: ["10.0.0.0/16"], storage_gib: 50 } };

test.each([
  ["examples/distributed", () => new DistributedExample(Testing.app(), "distributed"), undefined, {}],
  ["examples/hcl-module orders-db", () => addModules(Testing.app() as App).find((m) => m.node.id === "orders-db")!, moduleAccount, moduleInputs],
] as const)("%s: every slot's user data and bootstrap object evaluate to the same bytes with the shared lines as without", async (name, build, account, options) => {
  requirePrerequisites({ commands: ["terraform"] });
  const shared = synthesize(name.replace(/\W+/g, "-"), build, true);
  const whole = synthesize(name.replace(/\W+/g, "-"), build, false);
  // The two syntheses differ only in the locals (the shared ones added, the slots' texts shorter).
  expect(Object.keys(shared.json.locals).filter((k) => /-shared-\d+_/.test(k)).length).toBeGreaterThan(0);
  expect(Object.keys(whole.json.locals).filter((k) => /-shared-\d+_/.test(k))).toEqual([]);
  expect({ ...shared.json, locals: undefined }).toEqual({ ...whole.json, locals: undefined });

  const a = await applyStack(shared.dir, account, undefined, options);
  const b = await applyStack(whole.dir, account, undefined, options);
  const [ra, rb] = [received(a), received(b)];
  expect(Object.keys(ra).filter((k) => /slot-\d_/.test(k))).toHaveLength(6); // three launch templates, three objects
  expect(Object.keys(ra).sort()).toEqual(Object.keys(rb).sort());
  for (const k of Object.keys(rb)) expect({ k, same: ra[k] === rb[k] }).toEqual({ k, same: true });
  expect(others(a)).toEqual(others(b));
});

test("escaped user text (%%{ … }, $$, quotes, backslashes, a line ending in $ or % before a shared run) evaluates, with the shared runs, as each text does as one local", () => {
  requirePrerequisites({ commands: ["terraform"] });
  // Rendered texts reach a local as Terraform templates: a user's `%{` is already `%%{` there
  // (constructs/private/terraform-literal.ts); a text with a literal `${` (`$${` included) is
  // not shared at all (the unit test).
  const hostile = `%%{ if true }x%%{ endif } $$ "q" 'a' \\ é end$`;
  const block = (tag: string) => Array.from({ length: 30 }, (_, i) => `${tag} ${i}: ${hostile}\n`).join("");
  const input = [0, 1, 2].map((n) => `${block("a")}node-${n} ${hostile} %\n${block("b")}last-${n} $`);
  const stack = new TerraformStack(Testing.app(), "hostile");
  launch.shareTextRuns(stack, "shared", input).forEach((t, i) => launch.textLocal(stack, `text-${i}`, t));
  input.forEach((t, i) => launch.textLocal(stack, `plain-${i}`, t));
  const json = JSON.parse(Testing.synth(stack));
  expect(Object.keys(json.locals).filter((k) => k.startsWith("shared-"))).toHaveLength(2);
  const [shared, plain] = [evaluateTerraform([0, 1, 2].map((i) => `local.text-${i}`), { locals: json.locals }), evaluateTerraform([0, 1, 2].map((i) => `local.plain-${i}`), { locals: json.locals })];
  expect(shared).toEqual(plain);
  expect((plain as string[])[1]).toContain(`node-1 %{ if true }x%{ endif } $$ "q" 'a' \\ é end$ %\nb 0:`);
});
