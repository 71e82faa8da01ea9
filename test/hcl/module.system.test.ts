/**
 * The HCL module example (examples/hcl-module): a stack usable as a Terraform module —
 * typed, described variables whose validations come from the cluster spec's JSON Schema,
 * described outputs, no provider or backend block, cross-variable rules as preconditions.
 */
import { spawnSync } from "node:child_process";
import { evaluateTerraform } from "../support/terraform";
import { docsModuleCall, synthModule } from "./module-fixtures";

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
