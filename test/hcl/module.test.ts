/**
 * The HCL module example (examples/hcl-module): a stack usable as a Terraform module —
 * typed, described variables whose validations come from the cluster spec's JSON Schema,
 * described outputs, no provider or backend block, cross-variable rules as preconditions.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import schema from "../../src/cluster-spec/cluster-spec.schema.json";
import { Testing } from "cdktf";
import { ManagedPostgresModule } from "../../constructs/hcl-module";
import { resolveTokens } from "../../constructs/private/tokens";
import { docsModuleCall, synthBlueModule, synthGreenModule, synthModule } from "./module-fixtures";

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
    // the fields set, the commented `# cutover = true` included
    const set = [...call.matchAll(/^\s*#?\s*([a-z_]+)\s+=/gm)].map((m) => m[1]).filter((k) => k !== "source");
    expect(set.filter((k) => !(k in distributed.variable))).toEqual([]);
    const outputs = [...block.matchAll(/module\.orders_db\.([a-z_]+)/g)].map((m) => m[1]);
    expect(outputs.filter((o) => !(o in distributed.output))).toEqual([]);
  });
});

describe("HCL module of a blue/green upgrade (upgradeFrom, upgradeTo)", () => {
  const green = synthGreenModule();
  const blue = synthBlueModule("distributed");
  // the upgrade's checks guard slot 0's launch template (not its network interface: blue and green reference each other's addresses)
  const template = (tf: any) => Object.entries<any>(tf.resource.aws_launch_template).find(([k]) => k.includes("slot-0"))![1];
  const conditions = (tf: any): string[] => template(tf).lifecycle.precondition.map((p: any) => p.condition);
  const text = (tf: any) => JSON.stringify(tf);

  test("a module synthesized without them has neither variable, no upgrade resource and wal_level replica (examples unchanged)", () => {
    for (const tf of [distributed, standalone]) {
      expect(tf.variable.upgrade_from).toBeUndefined();
      expect(tf.variable.upgrade_to).toBeUndefined();
      expect(text(tf)).not.toMatch(/UPGRADE_FROM_CLUSTER|mp_upgrade_lag_bytes|upgrade-source-read/);
      expect(text(tf)).toMatch(/wal_level: replica/);
    }
  });

  test("a green module requires upgrade_from (no default, not nullable), typed and described, with a validation per schema rule of each field and the two cross-field rules", () => {
    const v = green.variable.upgrade_from;
    expect(v.default).toBeUndefined();
    expect(v.nullable).toBe(false);
    expect(v.type).toBe(
      "object({ cluster_name = string, major_version = number, secret_arn = string, kms_key_arn = string, node_addresses = list(string), security_group_id = string, pooler_security_group_id = optional(string), cutover = optional(bool, false) })",
    );
    expect(v.description).toMatch(/cluster_secret_arn.*cluster_kms_key_arn.*cluster_node_addresses.*cluster_node_security_group_id/);
    const conds: string[] = v.validation.map((x: any) => x.condition);
    for (const f of ["cluster_name", "major_version", "secret_arn", "kms_key_arn", "node_addresses", "security_group_id"]) {
      expect(conds.some((c) => c.includes(`var.upgrade_from.${f}`))).toBe(true);
    }
    expect(conds).toContain("${var.upgrade_from.major_version < 17}");
    expect(conds).toContain('${var.upgrade_from.cluster_name != "orders-v17"}');
    expect(conds).toContain("${length(distinct(var.upgrade_from.node_addresses)) == length(var.upgrade_from.node_addresses)}");
    for (const x of v.validation) expect(x.error_message).toMatch(/^[A-Z`][\s\S]*\.$/);
  });

  test("green's nodes read every field from the variable (Terraform replaces it), the cutover as 1 or 0, and the same rules are preconditions on slot 0's launch template", () => {
    const t = text(green);
    expect(t).toContain("readonly UPGRADE_FROM_CLUSTER='${var.upgrade_from.cluster_name}'");
    expect(t).toContain("readonly UPGRADE_FROM_MAJOR=${var.upgrade_from.major_version}");
    expect(t).toContain("readonly UPGRADE_FROM_SECRET='${var.upgrade_from.secret_arn}'");
    expect(t).toContain("readonly UPGRADE_CUTOVER=${var.upgrade_from.cutover ? 1 : 0}");
    expect(t).not.toMatch(/UPGRADE_CUTOVER=1|TfToken\[|-1\.\d+e\+289/);
    const c = conditions(green);
    expect(c).toContain("${var.upgrade_from.major_version < 17}");
    expect(c).toContain('${var.upgrade_from.cluster_name != "orders-v17"}');
    expect(c).toContain("${contains([15, 16], var.upgrade_from.major_version)}");
    expect(c.some((x) => x.includes("var.upgrade_from.secret_arn"))).toBe(true);
    expect(c.some((x) => x.includes("var.upgrade_from.security_group_id"))).toBe(true);
    expect(c.some((x) => x.includes("length(distinct(var.upgrade_from.node_addresses))"))).toBe(true);
  });

  test("a green module has green's resources: the read of blue's secret and key, the rules on blue's group, the upgrade alarms", () => {
    const t = text(green);
    expect(t).toContain("${var.upgrade_from.kms_key_arn}");
    const rules = Object.values<any>(green.resource.aws_vpc_security_group_ingress_rule).filter((r) => r.security_group_id === "${var.upgrade_from.security_group_id}");
    expect(rules.map((r) => r.from_port).sort()).toEqual([5432, 8008]);
    const alarms = Object.values<any>(green.resource.aws_cloudwatch_metric_alarm).map((a) => a.alarm_name);
    expect(alarms.filter((n: string) => n.includes("-upgrade-")).sort()).toEqual(["orders-v17-upgrade-cutover-critical", "orders-v17-upgrade-lag-warning", "orders-v17-upgrade-preflight-warning", "orders-v17-upgrade-run-failing-warning", "orders-v17-upgrade-schema-drift-warning"]);
  });

  test("the blue/green module calls in docs/hcl.md set exactly the fields upgrade_from and upgrade_to declare", () => {
    const doc = readFileSync(resolve(__dirname, "../../docs/hcl.md"), "utf8");
    const call = [...doc.matchAll(/```hcl\n([\s\S]*?)```/g)][1]![1]!;
    const fromBody = /upgrade_from = \{([\s\S]*?)\n  \}/.exec(call)![1]!;
    // the fields set, the commented `# cutover = true` included
    const set = [...fromBody.matchAll(/\b(\w+)\s*=/g)].map((m) => m[1]).sort();
    const declared = [...String(green.variable.upgrade_from.type).matchAll(/(\w+) = /g)].map((m) => m[1]).sort();
    expect(set).toEqual(declared);
    const toBody = /upgrade_to = \{([\s\S]*?)\n  \}/.exec(call)![1]!;
    expect([...toBody.matchAll(/\b(\w+)\s*=/g)].map((m) => m[1]).sort()).toEqual([...String(blue.variable.upgrade_to.type).matchAll(/(\w+) = /g)].map((m) => m[1]).sort());
    expect(toBody).toContain("node_addresses      = module.orders_v17_db.cluster_node_addresses");
    for (const out of [...call.matchAll(/module\.\w+\.(\w+)/g)].map((m) => m[1])) expect(Object.keys(green.output)).toContain(out);
  });

  test("a green module with admitBluePoolers requires upgrade_from.pooler_security_group_id and admits that group on its endpoint ports only; without it the field must be null and no rule exists", () => {
    const conds = (tf: any) => tf.variable.upgrade_from.validation.map((x: any) => x.condition as string);
    const pooled = (tf: any) =>
      [...Object.values<any>(tf.resource.aws_vpc_security_group_ingress_rule), ...Object.values<any>(tf.resource.aws_vpc_security_group_egress_rule)].filter((r) => JSON.stringify(r).includes("var.upgrade_from.pooler_security_group_id"));
    expect(conds(green)).toContain("${var.upgrade_from.pooler_security_group_id == null}");
    expect(pooled(green)).toEqual([]);
    for (const [deployment, ports] of [["distributed", [5432, 5433]], ["standalone", [6432]]] as const) {
      const tf = synthGreenModule(deployment, true);
      expect(conds(tf)).toContain("${var.upgrade_from.pooler_security_group_id != null}");
      expect(conds(tf)).toContain('${var.upgrade_from.pooler_security_group_id == null ? true : (can(regex("^sg-[0-9a-f]{8,17}$", var.upgrade_from.pooler_security_group_id)))}');
      expect(conds(tf)).not.toContain("${var.upgrade_from.pooler_security_group_id == null}");
      expect(tf.variable.upgrade_from.description).toMatch(new RegExp(`pooler_security_group_id \\(cluster_pooler_security_group_id; required: .*${ports.join(" and ")}`));
      const rules = pooled(tf);
      expect(rules.map((r) => r.from_port).sort()).toEqual([...ports, ...ports].sort());
      expect(conditions(tf).some((c) => c.includes("var.upgrade_from.pooler_security_group_id"))).toBe(true);
    }
    expect(() => new ManagedPostgresModule(Testing.app(), "x", { name: "orders", deployment: "standalone", size: "M", admitBluePoolers: true })).toThrow(/`admitBluePoolers` is only for a green module \(`upgradeFrom: true`\)/);
  });

  test("a blue module with followGreen requires green's endpoints in upgrade_to and passes them to the cluster with the ports of its green; without it they must be null", () => {
    const conds = (tf: any) => tf.variable.upgrade_to.validation.map((x: any) => x.condition as string);
    for (const f of ["read_write_endpoint", "read_only_endpoint"]) expect(conds(blue)).toContain(`\${var.upgrade_to.${f} == null}`);
    const following = synthBlueModule("distributed", true);
    for (const f of ["read_write_endpoint", "read_only_endpoint"]) {
      expect(conds(following)).toContain(`\${var.upgrade_to.${f} != null}`);
      expect(conds(following).filter((c: string) => c.startsWith(`\${var.upgrade_to.${f} == null ? true : (`))).toHaveLength(2);
      expect(conditions(following).some((c) => c.includes(`var.upgrade_to.${f}`))).toBe(true);
    }
    for (const [greenDeployment, ports] of [["distributed", [5432, 5433]], ["standalone", [6432, 6432]]] as const) {
      const m = new ManagedPostgresModule(Testing.app(), "blue", { name: "orders", deployment: "distributed", size: "M", majorVersion: 15, upgradeTo: { greenDeployment, followGreen: true } });
      const u = m.cluster.spec.upgradeTo!;
      expect([resolveTokens(m, u.readWriteEndpoint), u.readWritePort, resolveTokens(m, u.readOnlyEndpoint), u.readOnlyPort]).toEqual(["${var.upgrade_to.read_write_endpoint}", ports[0], "${var.upgrade_to.read_only_endpoint}", ports[1]]);
    }
    const plain = new ManagedPostgresModule(Testing.app(), "blue", { name: "orders", deployment: "distributed", size: "M", majorVersion: 15, upgradeTo: { greenDeployment: "standalone" } });
    expect(Object.keys(plain.cluster.spec.upgradeTo!)).toEqual(["nodeAddresses"]);
  });

  test("a blue module requires upgrade_to with exactly as many addresses as green has nodes; each is its own pg_hba rule and wal_level is logical", () => {
    const v = blue.variable.upgrade_to;
    expect(v.default).toBeUndefined();
    expect(v.type).toBe("object({ node_addresses = list(string), read_write_endpoint = optional(string), read_only_endpoint = optional(string) })");
    expect(v.validation.map((x: any) => x.condition)).toContain("${length(var.upgrade_to.node_addresses) == 3}");
    expect(synthBlueModule("standalone").variable.upgrade_to.validation.map((x: any) => x.condition)).toContain("${length(var.upgrade_to.node_addresses) == 1}");
    const t = text(blue);
    for (const i of [0, 1, 2]) expect(t).toContain(`hostssl all postgres \${element(var.upgrade_to.node_addresses, ${i})}/32 scram-sha-256`);
    expect(t).not.toContain("element(var.upgrade_to.node_addresses, 3)");
    expect(t).toMatch(/wal_level: logical/);
    expect(conditions(blue).some((c) => c.includes("length(distinct([element(var.upgrade_to.node_addresses, 0), element(var.upgrade_to.node_addresses, 1), element(var.upgrade_to.node_addresses, 2)]))"))).toBe(true);
    expect(blue.variable.upgrade_from).toBeUndefined();
    expect(text(blue)).not.toContain("mp_upgrade_lag_bytes");
  });
});

