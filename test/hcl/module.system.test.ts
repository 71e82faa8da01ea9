/**
 * The HCL module example (examples/hcl-module): a stack usable as a Terraform module —
 * typed, described variables whose validations come from the cluster spec's JSON Schema,
 * described outputs, no provider or backend block, cross-variable rules as preconditions.
 */
import { spawnSync } from "node:child_process";
import { evaluateTerraform } from "../support/terraform";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { ManagedPostgresModule } from "../../constructs/hcl-module";
import { docsModuleCall, synthBlueModule, synthGreenModule, synthModule, upgradeFromLiteral } from "./module-fixtures";

/** A validation condition with `var.<name>` replaced by a Terraform literal, without `${}`. */
function withValue(condition: string, name: string, literal: string): string {
  return condition.replace(/^\$\{([\s\S]*)\}$/, "$1").split(`var.${name}`).join(`(${literal})`);
}

/** Whether every validation of variable `name` accepts the literal. */
function accepts(tf: any, name: string, literals: string[]): boolean[] {
  const conds: string[] = tf.variable[name].validation.map((v: any) => v.condition);
  return evaluateTerraform(literals.map((l) => `alltrue([${conds.map((c) => withValue(c, name, l)).join(", ")}])`)) as boolean[];
}

const distributed = synthModule("distributed");
const standalone = synthModule("standalone");

describe("HCL module example", () => {
  test("storage_gib accepts 2 and 128 and refuses 1, 129 and 50.5 (terraform console)", () => {
    expect(accepts(distributed, "storage_gib", ["2", "128", "1", "129", "50.5"])).toEqual([true, true, false, false, false]);
  });

  test("subnet_ids of a distributed module must be 3 distinct subnet ids", () => {
    expect(
      accepts(distributed, "subnet_ids", ['["subnet-0aaa1111", "subnet-0bbb2222", "subnet-0ccc3333"]', '["subnet-0aaa1111"]', '["subnet-0aaa1111", "subnet-0aaa1111", "subnet-0ccc3333"]', '["subnet-0aaa1111", "subnet-0bbb2222", "vpc-0ccc3333"]']),
    ).toEqual([true, false, false, false]);
  });

  test("subnet_ids of a standalone module must be exactly 1 subnet id", () => {
    expect(accepts(standalone, "subnet_ids", ['["subnet-0aaa1111"]', '["subnet-0aaa1111", "subnet-0bbb2222", "subnet-0ccc3333"]'])).toEqual([true, false]);
  });

  test("allowed_cidrs refuses 0.0.0.0/0 and malformed CIDRs, accepts private ones", () => {
    expect(accepts(distributed, "allowed_cidrs", ['["10.0.0.0/16", "192.168.0.0/24"]', '["0.0.0.0/0"]', '["10.0.0.0"]', "[]"])).toEqual([true, false, false, true]);
  });

  test("the pinned deployment_model accepts only the synthesized model, with a message saying why", () => {
    expect(accepts(distributed, "deployment_model", ['"distributed"', '"standalone"'])).toEqual([true, false]);
    const messages = distributed.variable.deployment_model.validation.map((v: any) => v.error_message).join(" ");
    expect(messages).toMatch(/immutable once deployed/);
  });

  test("the cross-variable rule 'at least one client source' refuses no source and accepts a CIDR or a security group (terraform console)", () => {
    const eni = Object.entries<any>(distributed.resource.aws_network_interface).find(([k]) => k.includes("slot-0"))![1];
    const rule = eni.lifecycle.precondition.map((p: any) => p.condition).find((c: string) => c.includes("concat("))!.replace(/^\$\{|\}$/g, "");
    const both = (a: string, b: string) => rule.split("var.allowed_cidrs").join(a).split("var.allowed_security_group_ids").join(b);
    expect(evaluateTerraform([both("[]", "[]"), both('["10.0.0.0/16"]', "[]"), both("[]", '["sg-0abc1234"]')])).toEqual([false, true, true]);
  });

  test("the module call in docs/hcl.md parses (terraform fmt)", () => {
    const fmt = spawnSync("terraform", ["fmt", "-no-color", "-"], { input: docsModuleCall(), encoding: "utf8", env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null" }, timeout: 30_000 });
    expect(fmt.status).toBe(0);
  });
});

describe("HCL module of a blue/green upgrade (terraform console)", () => {
  const green = synthGreenModule();
  const blue = synthBlueModule("distributed");
  const u = upgradeFromLiteral;

  test("upgrade_from accepts blue's outputs and refuses each field outside its rule, hostile values included", () => {
    const cases: [string, boolean][] = [
      [u(), true],
      [u({ major_version: "16", cutover: "true", node_addresses: '["10.0.1.10"]' }), true],
      [u({ cluster_name: '"orders-v17"' }), false], // green itself
      [u({ major_version: "17" }), false], // not lower than green's 17
      [u({ major_version: "14" }), false],
      [u({ major_version: "15.5" }), false],
      [u({ major_version: "-1" }), false], // written unquoted into the nodes' header (the type is number: text never gets here)
      [u({ cluster_name: '"orders\'; rm -rf / #"' }), false],
      [u({ cluster_name: '"$${HOME}"' }), false],
      [u({ cluster_name: '"Orders"' }), false],
      [u({ secret_arn: '"arn:aws:secretsmanager:eu-west-1:123456789012:secret:x\' y"' }), false],
      [u({ secret_arn: '"arn:aws:s3:::bucket"' }), false],
      [u({ kms_key_arn: '"arn:aws:kms:eu-west-1:123456789012:alias/orders"' }), false],
      [u({ node_addresses: "[]" }), false],
      [u({ node_addresses: '["10.0.1.10", "10.0.1.10"]' }), false],
      [u({ node_addresses: '["10.0.1.10", "10.0.2.10", "10.0.3.10", "10.0.4.10"]' }), false],
      [u({ node_addresses: '["10.0.1.10/32"]' }), false],
      [u({ node_addresses: '["10.0.1.10\\nhost all all 0.0.0.0/0 trust"]' }), false],
      [u({ node_addresses: '["256.0.0.1"]' }), false],
      [u({ security_group_id: '"sg-0abc12345 "' }), false],
    ];
    // one console run per case: terraform console reads one line of at most 64 KiB
    expect(cases.map(([l]) => accepts(green, "upgrade_from", [l])[0])).toEqual(cases.map(([, ok]) => ok));
  });

  test("the same rules guard slot 0's launch template: each precondition on upgrade_from holds for blue's outputs, and the cross-field ones refuse green itself and a version not below green's", () => {
    const template = Object.entries<any>(green.resource.aws_launch_template).find(([k]) => k.includes("slot-0"))![1];
    const conds: string[] = template.lifecycle.precondition.map((p: any) => p.condition).filter((c: string) => c.includes("var.upgrade_from"));
    expect(conds.length).toBeGreaterThanOrEqual(8);
    const all = (literal: string) => `alltrue([${conds.map((c) => withValue(c, "upgrade_from", literal)).join(", ")}])`;
    expect(evaluateTerraform([all(u()), all(u({ cluster_name: '"orders-v17"' })), all(u({ major_version: "17" })), all(u({ node_addresses: '["10.0.1.10", "10.0.1.10"]' }))])).toEqual([true, false, false, false]);
  });

  test("green's nodes get UPGRADE_CUTOVER 1 only for cutover = true", () => {
    const t = JSON.stringify(green);
    const expr = /readonly UPGRADE_CUTOVER=\$\{([^}]*)\}/.exec(t)![1]!;
    expect(evaluateTerraform([withValue(expr, "upgrade_from", u()), withValue(expr, "upgrade_from", u({ cutover: "true" }))])).toEqual([0, 1]);
  });

  test("upgrade_to of a blue module for a distributed green takes exactly 3 distinct IPv4 addresses", () => {
    const given: [string, boolean][] = [
      ['{ node_addresses = ["10.0.1.20", "10.0.2.20", "10.0.3.20"] }', true],
      ['{ node_addresses = ["10.0.1.20"] }', false],
      ['{ node_addresses = ["10.0.1.20", "10.0.1.20", "10.0.3.20"] }', false],
      ['{ node_addresses = ["10.0.1.20", "10.0.2.20", "0.0.0.0/0 trust"] }', false],
      // without followGreen, green's endpoints would be ignored: refused (the optional fields as Terraform's conversion sets them)
      ['{ node_addresses = ["10.0.1.20", "10.0.2.20", "10.0.3.20"], read_write_endpoint = "mp-orders-v17-0123abcd.elb.eu-west-1.amazonaws.com", read_only_endpoint = null }', false],
    ];
    const cases = given.map(([l, ok]): [string, boolean] => [l.includes("read_write_endpoint") ? l : l.replace(/ \}$/, ", read_write_endpoint = null, read_only_endpoint = null }"), ok]);
    expect(accepts(blue, "upgrade_to", cases.map(([l]) => l))).toEqual(cases.map(([, ok]) => ok));
  });

  test("upgrade_to of a followGreen blue module requires green's endpoint hosts (DNS name or IPv4) and refuses hostile ones", () => {
    const following = synthBlueModule("distributed", true);
    const to = (rw: string, ro: string) => `{ node_addresses = ["10.0.1.20", "10.0.2.20", "10.0.3.20"], read_write_endpoint = ${rw}, read_only_endpoint = ${ro} }`;
    const nlb = '"mp-orders-v17-0123abcd.elb.eu-west-1.amazonaws.com"';
    const cases: [string, boolean][] = [
      [to(nlb, nlb), true],
      [to('"10.0.1.20"', '"10.0.1.20"'), true],
      [to("null", nlb), false],
      [to(nlb, "null"), false],
      [to('"a b"', nlb), false],
      [to('"x\\n[databases]"', nlb), false],
      [to('"$${x}"', nlb), false],
      [to('"; rm -rf"', nlb), false],
      [to(nlb, '"10.0.1.20:6432"'), false],
      [to(nlb, '"999.1.1.1"'), false],
      [to(`"${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}"`, nlb), false], // 255 characters
    ];
    expect(cases.map(([l]) => accepts(following, "upgrade_to", [l])[0])).toEqual(cases.map(([, ok]) => ok));
  });

  test("upgrade_from of an admitBluePoolers green module requires blue's PgBouncer security group; without admitBluePoolers it must be null", () => {
    const admitting = synthGreenModule("distributed", true);
    const cases: [string, boolean][] = [
      [u({ pooler_security_group_id: '"sg-0fed98765"' }), true],
      [u(), false],
      [u({ pooler_security_group_id: '"sg-0fed98765 0.0.0.0/0"' }), false],
      [u({ pooler_security_group_id: '"$${x}"' }), false],
    ];
    expect(cases.map(([l]) => accepts(admitting, "upgrade_from", [l])[0])).toEqual(cases.map(([, ok]) => ok));
    expect(accepts(green, "upgrade_from", [u({ pooler_security_group_id: '"sg-0fed98765"' })])).toEqual([false]);
  });

  test("the HCL of a green and a blue module (cdktf synth --hcl) parses (terraform fmt) and holds no token text", () => {
    const outdir = mkdtempSync(join(tmpdir(), "mp-hcl-upgrade-"));
    const before = process.env.SYNTH_HCL_OUTPUT;
    try {
      process.env.SYNTH_HCL_OUTPUT = "true"; // read by the stack's constructor (cdktf 0.21)
      const app = new App({ outdir, hclOutput: true });
      // with the optional shapes: their validations are conditionals (`x == null ? true : (...)`)
      new ManagedPostgresModule(app, "green", { name: "orders-v17", deployment: "distributed", size: "M", majorVersion: 17, upgradeFrom: true, admitBluePoolers: true });
      new ManagedPostgresModule(app, "blue", { name: "orders", deployment: "distributed", size: "M", majorVersion: 15, upgradeTo: { greenDeployment: "distributed", followGreen: true } });
      app.synth();
      for (const stack of ["green", "blue"]) {
        const hcl = readFileSync(join(outdir, "stacks", stack, "cdk.tf"), "utf8");
        expect(hcl).not.toMatch(/TfToken\[|-1\.\d+e\+289/);
        expect(hcl).toContain(stack === "green" ? 'variable "upgrade_from"' : 'variable "upgrade_to"');
        expect(hcl).toContain(stack === "green" ? "var.upgrade_from.pooler_security_group_id == null ? true : (" : "var.upgrade_to.read_write_endpoint == null ? true : (");
        const fmt = spawnSync("terraform", ["fmt", "-no-color", "-"], { input: hcl, encoding: "utf8", env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null" }, timeout: 60_000 });
        expect([stack, fmt.status, fmt.stderr]).toEqual([stack, 0, ""]);
      }
    } finally {
      if (before === undefined) delete process.env.SYNTH_HCL_OUTPUT;
      else process.env.SYNTH_HCL_OUTPUT = before;
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 120_000);
});

