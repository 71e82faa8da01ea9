/**
 * The HCL module example (examples/hcl-module): a stack usable as a Terraform module —
 * typed, described variables whose validations come from the cluster spec's JSON Schema,
 * described outputs, no provider or backend block, cross-variable rules as preconditions.
 */
import schema from "../../src/cluster-spec/cluster-spec.schema.json";
import { docsModuleCall, synthModule } from "./module-fixtures";

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

  test("every validation error message is a full sentence (capital letter or backtick first, period last)", () => {
    const bad = Object.entries<any>(distributed.variable).flatMap(([k, v]) => (v.validation ?? []).filter((x: any) => !/^[A-Z`][\s\S]*[.?]$/.test(x.error_message)).map(() => k));
    expect(bad).toEqual([]);
  });

  test("the cross-variable rule 'at least one client source' is a precondition on slot 0's network interface", () => {
    const eni = Object.entries<any>(distributed.resource.aws_network_interface).find(([k]) => k.includes("slot-0"))![1];
    const conds: string[] = eni.lifecycle.precondition.map((p: any) => p.condition);
    expect(conds).toContain("${length(concat(var.allowed_cidrs, var.allowed_security_group_ids)) > 0}");
  });

  test("the deployment model decides the slots at synth: 3 data volumes and an NLB, or 1 volume and no NLB", () => {
    expect(Object.keys(distributed.resource.aws_ebs_volume)).toHaveLength(3);
    expect(distributed.resource.aws_lb).toBeDefined();
    expect(Object.keys(standalone.resource.aws_ebs_volume)).toHaveLength(1);
    expect(standalone.resource.aws_lb).toBeUndefined();
  });

  test("the module call in docs/hcl.md sets only variables the module declares and reads only its outputs", () => {
    const block = docsModuleCall();
    const call = /module "orders_db" \{([\s\S]*?)\n\}/.exec(block)![1];
    const set = [...call.matchAll(/^\s*#?\s*([a-z_]+)\s+=/gm)].map((m) => m[1]).filter((k) => k !== "source");
    expect(set.filter((k) => !(k in distributed.variable))).toEqual([]);
    const outputs = [...block.matchAll(/module\.orders_db\.([a-z_]+)/g)].map((m) => m[1]);
    expect(outputs.filter((o) => !(o in distributed.output))).toEqual([]);
  });
});
