import { TerraformStack, TerraformVariable, Testing } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { planTimeChecks, privateCidrListCondition, schemaAt, schemaConditions, upgradePlanTimeChecks } from "../../constructs/aws/deferred-checks";
import { ManagedPostgres } from "../../constructs/aws/managed-postgres";
import type { ClusterSpec } from "../../src/cluster-spec";

describe("plan-time checks of token-valued spec fields", () => {
  const expr = (t: unknown) => `EXPR(${String(t).length})`;
  const stack = () => new TerraformStack(Testing.app(), "s");

  test("a literal spec yields no check", () => {
    const spec: ClusterSpec = { name: "orders", deployment: "distributed", size: "M", storageGiB: 50, network: { vpcId: "vpc-0abc1234", subnetIds: ["subnet-0aaa1111", "subnet-0bbb2222", "subnet-0ccc3333"], allowedCidrs: ["10.0.0.0/16"] } };
    expect(planTimeChecks(spec, expr)).toEqual([]);
  });

  test("a subnet list token gets the subnet count of its deployment model as a precondition", () => {
    const s = stack();
    const subnets = new TerraformVariable(s, "subnet_ids", { type: "list(string)" });
    const spec: ClusterSpec = { name: "orders", deployment: "distributed", size: "M", storageGiB: 50, network: { vpcId: "vpc-0abc1234", subnetIds: subnets.listValue, allowedCidrs: ["10.0.0.0/16"] } };
    const checks = planTimeChecks(spec, () => "var.subnet_ids");
    expect(checks.map((c) => c.condition)).toContain("length(var.subnet_ids) == 3");
    expect(checks.find((c) => c.condition === "length(var.subnet_ids) == 3")!.errorMessage).toMatch(/exactly 3 subnet ids for a distributed cluster/);
  });

  test("a standalone cluster's subnet list token must hold exactly 1 subnet", () => {
    const s = stack();
    const subnets = new TerraformVariable(s, "subnet_ids", { type: "list(string)" });
    const spec: ClusterSpec = { name: "orders", deployment: "standalone", size: "M", storageGiB: 50, network: { vpcId: "vpc-0abc1234", subnetIds: subnets.listValue, allowedCidrs: ["10.0.0.0/16"] } };
    expect(planTimeChecks(spec, () => "var.subnet_ids").map((c) => c.condition)).toContain("length(var.subnet_ids) == 1");
  });

  test("token client lists get the at-least-one-source rule, spanning both lists", () => {
    const s = stack();
    const cidrs = new TerraformVariable(s, "cidrs", { type: "list(string)" });
    const spec: ClusterSpec = { name: "orders", deployment: "standalone", size: "M", storageGiB: 50, network: { vpcId: "vpc-0abc1234", subnetIds: ["subnet-0aaa1111"], allowedCidrs: cidrs.listValue, allowedSecurityGroupIds: ["sg-0abc1234"] } };
    expect(planTimeChecks(spec, () => "var.cidrs").map((c) => c.condition)).toContain('length(concat(var.cidrs, ["sg-0abc1234"])) > 0');
  });

  test("a number token gets its schema range", () => {
    const s = stack();
    const days = new TerraformVariable(s, "days", { type: "number" });
    const spec: ClusterSpec = { name: "orders", deployment: "standalone", size: "M", storageGiB: 50, backup: { coldStorageAfterDays: days.numberValue } };
    expect(planTimeChecks(spec, () => "var.days")).toEqual([
      { path: "backup.coldStorageAfterDays", condition: "floor(var.days) == var.days && var.days >= 30 && var.days <= 3650", errorMessage: expect.stringMatching(/`backup.coldStorageAfterDays` must be an integer number of days from 30/) },
    ]);
  });

  test("skipped paths yield no check", () => {
    const s = stack();
    const gib = new TerraformVariable(s, "gib", { type: "number" });
    const spec: ClusterSpec = { name: "orders", deployment: "standalone", size: "M", storageGiB: gib.numberValue };
    expect(planTimeChecks(spec, () => "var.gib", ["storageGiB"])).toEqual([]);
  });

  test("ManagedPostgres with variables synthesizes the checks as preconditions on slot 0's network interface", () => {
    const app = Testing.app();
    const s = new TerraformStack(app, "s");
    new AwsProvider(s, "aws", { region: "eu-west-1" });
    const subnets = new TerraformVariable(s, "subnet_ids", { type: "list(string)" });
    const cidrs = new TerraformVariable(s, "allowed_cidrs", { type: "list(string)" });
    const vpc = new TerraformVariable(s, "vpc_id", { type: "string" });
    const db = new ManagedPostgres(s, "orders", { name: "orders", deployment: "distributed", size: "M", storageGiB: 50, network: { vpcId: vpc.stringValue, subnetIds: subnets.listValue, allowedCidrs: cidrs.listValue } });
    const tf = JSON.parse(Testing.synth(s));
    const enis = Object.entries<any>(tf.resource.aws_network_interface);
    const slot0 = enis.find(([k]) => k.includes("slot-0"))![1];
    const conditions = slot0.lifecycle.precondition.map((p: any) => p.condition);
    expect(conditions).toEqual(expect.arrayContaining(["${length(var.subnet_ids) == 3}", "${length(concat(var.allowed_cidrs, [])) > 0}", `\${${privateCidrListCondition("var.allowed_cidrs")}}`]));
    expect(conditions.some((c: string) => c.includes("var.vpc_id"))).toBe(true);
    // deferredChecks is exactly what was emitted: one entry per precondition it added, same order and message.
    const emitted = slot0.lifecycle.precondition.filter((p: any) => db.deferredChecks.some((c) => c.errorMessage === p.error_message));
    expect(db.deferredChecks.map((c) => [`\${${c.condition}}`, c.errorMessage])).toEqual(emitted.map((p: any) => [p.condition, p.error_message]));
    expect(db.deferredChecks.map((c) => c.path)).toEqual(expect.arrayContaining(["network.vpcId", "network.subnetIds", "network.allowedCidrs"]));
  });

  test("a cluster of literals emits no plan-time check and says so", () => {
    const app = Testing.app();
    const s = new TerraformStack(app, "s");
    new AwsProvider(s, "aws", { region: "eu-west-1" });
    const db = new ManagedPostgres(s, "orders", { name: "orders", deployment: "standalone", size: "S", storageGiB: 20, network: { vpcId: "vpc-0abc1234", subnetIds: ["subnet-0aaa1111"], allowedCidrs: ["10.0.0.0/16"] } });
    expect(db.deferredChecks).toEqual([]);
  });
});

describe("plan-time checks of upgradeFrom and upgradeTo fields holding tokens", () => {
  const UPGRADE = {
    clusterName: "orders",
    majorVersion: 15 as const,
    secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:managed-postgres/orders-AbCdEf",
    nodeAddresses: ["10.0.1.10"],
    securityGroupId: "sg-0abc12345",
  };
  const base = { name: "orders-v17", deployment: "distributed", size: "M", storageGiB: 50, majorVersion: 16 } as const;
  const vars = () => {
    const s = new TerraformStack(Testing.app(), "s");
    const v = (id: string, type: string) => new TerraformVariable(s, id, { type });
    return { name: v("blue", "string").stringValue, major: v("major", "number").numberValue, list: v("addrs", "list(string)").listValue, a: v("a", "string").stringValue, b: v("b", "string").stringValue };
  };
  const exprOf = (map: Map<unknown, string>) => (t: unknown) => map.get(t) ?? "UNKNOWN";

  test("a uniqueItems schema node (the address lists) gets a distinct-items condition", () => {
    expect(schemaConditions(schemaAt("upgradeFrom.nodeAddresses"), "x")).toContain("length(distinct(x)) == length(x)");
    expect(schemaConditions(schemaAt("upgradeTo.nodeAddresses"), "x")).toContain("length(distinct(x)) == length(x)");
    expect(schemaConditions(schemaAt("network.subnetIds"), "x")).not.toContain("length(distinct(x)) == length(x)");
  });

  test("token endpoint hosts, ports and blue's pooler security group get their schema rules as plan-time checks (the host pattern is RE2: no lookaround)", () => {
    const s = new TerraformStack(Testing.app(), "s");
    const v = (id: string, type: string) => new TerraformVariable(s, id, { type });
    const [rw, ro, rwPort, roPort, poolerSg] = [v("rw", "string").stringValue, v("ro", "string").stringValue, v("rwp", "number").numberValue, v("rop", "number").numberValue, v("psg", "string").stringValue];
    const map = new Map<unknown, string>([[rw, "var.rw"], [ro, "var.ro"], [rwPort, "var.rwp"], [roPort, "var.rop"], [poolerSg, "var.psg"]]);
    const spec = {
      ...base,
      upgradeFrom: { ...UPGRADE, poolerSecurityGroupId: poolerSg },
      upgradeTo: { nodeAddresses: ["10.0.1.20"], readWriteEndpoint: rw, readWritePort: rwPort, readOnlyEndpoint: ro, readOnlyPort: roPort },
    } as ClusterSpec;
    const checks = planTimeChecks(spec, exprOf(map));
    const host = schemaAt("upgradeTo.readWriteEndpoint").pattern!;
    expect(host).not.toMatch(/\(\?[=!<]/);
    expect(checks.map((c) => [c.path, c.condition])).toEqual([
      ["upgradeFrom.poolerSecurityGroupId", 'can(regex("^sg-[0-9a-f]{8,17}$", var.psg))'],
      ["upgradeTo.readWriteEndpoint", `can(regex(${JSON.stringify(host)}, var.rw)) && length(var.rw) <= 253`],
      ["upgradeTo.readWritePort", "contains([5432, 6432], var.rwp)"],
      ["upgradeTo.readOnlyEndpoint", `can(regex(${JSON.stringify(host)}, var.ro)) && length(var.ro) <= 253`],
      ["upgradeTo.readOnlyPort", "contains([5433, 6432], var.rop)"],
    ]);
    expect(checks[1].errorMessage).toMatch(/^The cluster spec field `upgradeTo.readWriteEndpoint` must be the green cluster's read-write endpoint host/);
  });

  test("a token major version must be below green's, a token blue name must not be green's (the synth-time rules on literals)", () => {
    const t = vars();
    const spec = { ...base, upgradeFrom: { ...UPGRADE, clusterName: t.name, majorVersion: t.major as 15 } } as ClusterSpec;
    const checks = upgradePlanTimeChecks(spec, exprOf(new Map<unknown, string>([[t.name, "var.blue"], [t.major, "var.major"]])));
    expect(checks).toEqual([
      { path: "upgradeFrom.majorVersion", condition: "var.major < 16", errorMessage: expect.stringMatching(/^The cluster spec field `upgradeFrom.majorVersion` must be lower than this cluster's majorVersion 16/) },
      { path: "upgradeFrom.clusterName", condition: 'var.blue != "orders-v17"', errorMessage: expect.stringMatching(/`upgradeFrom.clusterName` must be another cluster's name than this cluster's \("orders-v17"\)/) },
    ]);
  });

  test("literal fields yield nothing; literal lists with token items must be distinct (blue's and green's addresses)", () => {
    expect(upgradePlanTimeChecks({ ...base, upgradeFrom: UPGRADE, upgradeTo: { nodeAddresses: ["10.0.1.20"] } } as ClusterSpec, () => "UNUSED")).toEqual([]);
    const t = vars();
    const map = new Map<unknown, string>([[t.a, "var.a"], [t.b, "var.b"]]);
    const checks = upgradePlanTimeChecks({ ...base, upgradeFrom: { ...UPGRADE, nodeAddresses: [t.a, "10.0.2.10"] }, upgradeTo: { nodeAddresses: [t.a, t.b] } } as ClusterSpec, exprOf(map));
    expect(checks.map((c) => [c.path, c.condition])).toEqual([
      ["upgradeFrom.nodeAddresses", 'length(distinct([var.a, "10.0.2.10"])) == length([var.a, "10.0.2.10"])'],
      ["upgradeTo.nodeAddresses", "length(distinct([var.a, var.b])) == length([var.a, var.b])"],
    ]);
  });

  test("ManagedPostgres turns a token cutover into UPGRADE_CUTOVER `cutover ? 1 : 0` on every node (a boolean token is never written as 1), and adds the upgrade checks to slot 0's launch template", () => {
    const app = Testing.app();
    const s = new TerraformStack(app, "s");
    new AwsProvider(s, "aws", { region: "eu-west-1" });
    const cutover = new TerraformVariable(s, "cutover", { type: "bool" });
    const major = new TerraformVariable(s, "blue_major", { type: "number" });
    new ManagedPostgres(s, "orders-v17", {
      ...base, // green on 16: the check compares with green's own major version, not the default 17
      imageId: "ami-0123456789abcdef0", // 16 has no official Debian image
      network: { vpcId: "vpc-0abc1234", subnetIds: ["subnet-0aaa1111", "subnet-0bbb2222", "subnet-0ccc3333"], allowedCidrs: ["10.0.0.0/16"] },
      upgradeFrom: { ...UPGRADE, majorVersion: major.numberValue as 15, cutover: cutover.booleanValue as unknown as boolean },
    });
    const json = JSON.parse(Testing.synth(s));
    const text = JSON.stringify(json);
    const flags = text.match(/readonly UPGRADE_CUTOVER=[^\\]*/g) ?? [];
    // the bootstrap header of each node and the upgrade script of each node
    expect(flags.length).toBeGreaterThanOrEqual(4);
    expect(new Set(flags)).toEqual(new Set(["readonly UPGRADE_CUTOVER=${var.cutover ? 1 : 0}"]));
    const template = Object.entries<any>(json.resource.aws_launch_template).find(([k]) => k.includes("slot-0"))![1];
    expect(template.lifecycle.precondition.map((p: any) => p.condition)).toContain("${var.blue_major < 16}");
  });
});

