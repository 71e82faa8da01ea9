/**
 * `cdktf synth --hcl` of lifecycle conditions: cdktf 0.21 writes them as an attribute list
 * Terraform rejects; fixHclConditionBlocks (applied by ManagedPostgres to its stack's HCL
 * output) turns them into blocks. Checked with Terraform itself: `terraform fmt` parses the
 * HCL of the plan-time guard, and `terraform validate` accepts the repaired form where it
 * rejects cdktf's.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { applySafetyRules } from "../../constructs/aws/prior-state";
import { fixHclConditionBlocks } from "../../constructs/private/hcl";
import { CDKTF_STYLE_CONDITIONS as CDKTF_STYLE } from "./fixtures";
import { validateClusterSpec } from "../../src/cluster-spec";
import { freshDir } from "./synth-helpers";
import { requirePrerequisites } from "../support/prerequisites";

const terraform = (args: string[], cwd: string, input?: string) =>
  spawnSync("terraform", args, { cwd, input, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1" } });

describe("with Terraform", () => {
  beforeAll(() => requirePrerequisites({ commands: ["terraform"] }));
  function validate(hcl: string): { status: number | null; output: string } {
    const dir = freshDir("mp-validate-");
    fs.writeFileSync(path.join(dir, "main.tf"), `locals {\n  ok = true\n  deployed = {}\n}\n${hcl}`);
    const r = terraform(["validate", "-no-color"], dir);
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  }

  test("terraform validate rejects cdktf's attribute list", () => {
    expect(validate(CDKTF_STYLE).output).toMatch(/An argument named "precondition" is not expected here/);
  });

  test("terraform validate accepts the repaired blocks", () => {
    expect(validate(fixHclConditionBlocks(CDKTF_STYLE))).toMatchObject({ status: 0 });
  });

  test("the HCL synthesized for the plan-time guard parses (terraform fmt) and has condition blocks", () => {
    const outdir = freshDir();
    const app = new App({ outdir, hclOutput: true });
    const before = process.env.SYNTH_HCL_OUTPUT;
    process.env.SYNTH_HCL_OUTPUT = "true"; // read by the stack's constructor (cdktf 0.21)
    const stack = new TerraformStack(app, "s");
    if (before === undefined) delete process.env.SYNTH_HCL_OUTPUT;
    else process.env.SYNTH_HCL_OUTPUT = before;
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    const scope = new Construct(stack, "orders");
    const { spec } = validateClusterSpec({ name: "orders", deployment: "standalone", size: "S", storageGiB: 20, network: { vpcId: "vpc-0abc1234", subnetIds: ["subnet-0abc1234"], allowedCidrs: ["10.0.0.0/16"] } });
    const volume = new EbsVolume(scope, "data-volume", { availabilityZone: "eu-west-1a", size: 20, lifecycle: { preventDestroy: true } });
    applySafetyRules(scope, { spec, volumes: [{ slot: 0, volume, availabilityZone: "eu-west-1a" }], now: "2026-11-21" });
    app.synth();
    const hcl = fs.readFileSync(path.join(outdir, "stacks", "s", "cdk.tf"), "utf8");
    expect([hcl.includes("precondition = ["), (hcl.match(/precondition \{/g) ?? []).length]).toEqual([false, 5]);
    const fmt = terraform(["fmt", "-"], outdir, hcl);
    expect([fmt.status, /Error:/.test(fmt.stderr)]).toEqual([0, false]);
  });
});
