/**
 * The HCL module example (examples/hcl-module): a stack usable as a Terraform module —
 * typed, described variables whose validations come from the cluster spec's JSON Schema,
 * described outputs, no provider or backend block, cross-variable rules as preconditions.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { evaluateTerraform } from "../support/terraform";
import { Testing } from "cdktf";
import schema from "../../src/cluster-spec/cluster-spec.schema.json";
import { ManagedPostgresModule } from "../../constructs/hcl-module";

function synthModule(deployment: "distributed" | "standalone"): any {
  const app = Testing.app();
  const stack = new ManagedPostgresModule(app, "db", { name: "orders", deployment, size: "M", majorVersion: 17 });
  return JSON.parse(Testing.synth(stack));
}

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
const TOKEN_VARIABLES = ["vpc_id", "subnet_ids", "allowed_cidrs", "allowed_security_group_ids", "storage_gib", "backup_cold_storage_after_days", "logical_dump_retention_days", "pooler_instance_count"];
const PINNED_VARIABLES = ["name", "deployment_model", "size", "major_version", "backup_retention_days"];

describe("HCL module example", () => {
  test("no token leaks into the configuration as text (string markers or stringified number tokens)", () => {
    const text = JSON.stringify([distributed, standalone]);
    expect(text.match(/TfToken\[|-1\.\d+e\+289/g)).toBeNull();
  });

  test("the module configures no provider and no backend", () => {
    expect(distributed.provider).toBeUndefined();
    expect(distributed.terraform.backend).toBeUndefined();
    expect(distributed.terraform.required_providers.aws).toBeDefined();
  });

  test("every variable has a type and a description", () => {
    const missing = Object.entries<any>(distributed.variable).filter(([, v]) => !v.type || !v.description).map(([k]) => k);
    expect(missing).toEqual([]);
  });

  test("every input the construct takes as a token, and every pinned shape variable, has validation blocks", () => {
    const without = [...TOKEN_VARIABLES, ...PINNED_VARIABLES].filter((k) => !(distributed.variable[k]?.validation?.length > 0));
    expect(without).toEqual([]);
  });

  test("a standalone module has no pooler_instance_count variable (no PgBouncer tier)", () => {
    expect(standalone.variable.pooler_instance_count).toBeUndefined();
  });

  test("every output has a description, and the endpoints, ports, secret, bucket and key are outputs", () => {
    expect(Object.entries<any>(distributed.output).filter(([, o]) => !o.description).map(([k]) => k)).toEqual([]);
    expect(Object.keys(distributed.output)).toEqual(
      expect.arrayContaining(["cluster_read_write_endpoint", "cluster_read_write_port", "cluster_read_only_endpoint", "cluster_read_only_port", "cluster_secret_arn", "cluster_backup_bucket_name", "cluster_kms_key_arn"]),
    );
  });

  test("storage_gib's range comes from the JSON Schema", () => {
    const conds = distributed.variable.storage_gib.validation.map((v: any) => v.condition);
    expect(conds).toEqual(expect.arrayContaining([`\${var.storage_gib >= ${schema.properties.storageGiB.minimum}}`, `\${var.storage_gib <= ${schema.properties.storageGiB.maximum}}`]));
  });

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

  test("every validation error message is a full sentence (capital letter or backtick first, period last)", () => {
    const bad = Object.entries<any>(distributed.variable).flatMap(([k, v]) => (v.validation ?? []).filter((x: any) => !/^[A-Z`][\s\S]*[.?]$/.test(x.error_message)).map(() => k));
    expect(bad).toEqual([]);
  });

  test("the cross-variable rule 'at least one client source' is a precondition on slot 0's network interface", () => {
    const eni = Object.entries<any>(distributed.resource.aws_network_interface).find(([k]) => k.includes("slot-0"))![1];
    const conds: string[] = eni.lifecycle.precondition.map((p: any) => p.condition);
    expect(conds).toContain("${length(concat(var.allowed_cidrs, var.allowed_security_group_ids)) > 0}");
    const rule = conds.find((c) => c.includes("concat("))!.replace(/^\$\{|\}$/g, "");
    const both = (a: string, b: string) => rule.split("var.allowed_cidrs").join(a).split("var.allowed_security_group_ids").join(b);
    expect(evaluateTerraform([both("[]", "[]"), both('["10.0.0.0/16"]', "[]"), both("[]", '["sg-0abc1234"]')])).toEqual([false, true, true]);
  });

  test("the deployment model decides the slots at synth: 3 data volumes and an NLB, or 1 volume and no NLB", () => {
    expect(Object.keys(distributed.resource.aws_ebs_volume)).toHaveLength(3);
    expect(distributed.resource.aws_lb).toBeDefined();
    expect(Object.keys(standalone.resource.aws_ebs_volume)).toHaveLength(1);
    expect(standalone.resource.aws_lb).toBeUndefined();
  });

  test("the module call in docs/hcl.md parses and sets only variables the module declares", () => {
    const doc = readFileSync(resolve(__dirname, "../../docs/hcl.md"), "utf8");
    const block = /```hcl\n([\s\S]*?)```/.exec(doc)![1];
    const fmt = spawnSync("terraform", ["fmt", "-no-color", "-"], { input: block, encoding: "utf8", env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null" }, timeout: 30_000 });
    expect(fmt.status).toBe(0);
    const call = /module "orders_db" \{([\s\S]*?)\n\}/.exec(block)![1];
    const set = [...call.matchAll(/^\s*#?\s*([a-z_]+)\s+=/gm)].map((m) => m[1]).filter((k) => k !== "source");
    expect(set.filter((k) => !(k in distributed.variable))).toEqual([]);
    const outputs = [...block.matchAll(/module\.orders_db\.([a-z_]+)/g)].map((m) => m[1]);
    expect(outputs.filter((o) => !(o in distributed.output))).toEqual([]);
  });
});
