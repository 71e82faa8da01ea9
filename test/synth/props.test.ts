import { TerraformVariable } from "cdktf";
import { SpecValidationError } from "../../src/cluster-spec";
import { ManagedPostgres, type ManagedPostgresProps } from "../../constructs/aws";
import { emptyStack, props, resources, synthStack } from "./helpers";

/** Constructs a cluster in a fresh stack; returns the error thrown and what the stack synthesizes. */
function attempt(p: ManagedPostgresProps): { error: unknown; resourceCount: number } {
  const { stack } = emptyStack();
  let error: unknown;
  try {
    new ManagedPostgres(stack, "db", p);
  } catch (e) {
    error = e;
  }
  const s = synthStack(stack);
  return { error, resourceCount: Object.values(s.resource).reduce((n, r) => n + Object.keys(r).length, 0) };
}

describe("invalid props", () => {
  test.each<[string, Partial<ManagedPostgresProps>, RegExp]>([
    ["storageGiB above 128", { storageGiB: 500 }, /`storageGiB`.*500/],
    ["an unknown size", { size: "XXXL" as any }, /`size`.*"XXXL"/],
    ["two subnets for a distributed cluster", { network: { vpcId: "vpc-0a1b2c3d", subnetIds: ["subnet-0a000001", "subnet-0b000002"], allowedCidrs: ["10.0.0.0/16"] } }, /`network\.subnetIds`.*2 subnets/],
    ["a world-open client CIDR", { network: { ...props("distributed").network, allowedCidrs: ["0.0.0.0/0"] } }, /`network\.allowedCidrs\[0\]`/],
    ["a secret recovery window of 3 days", { secretRecoveryWindowDays: 3 }, /`secretRecoveryWindowDays`: got 3; expected an integer from 7 to 30/],
    ["a malformed egress CIDR", { httpsEgressCidrs: ["mirror.example.com"] }, /`httpsEgressCidrs\[0\]`.*"mirror\.example\.com"/],
  ])("%s throws naming the field and creates nothing", (_what, overrides, message) => {
    const { error, resourceCount } = attempt(props("distributed", overrides));
    expect(error).toBeInstanceOf(SpecValidationError);
    expect((error as Error).message).toMatch(message);
    expect(resourceCount).toBe(0);
  });

  test("the error names the construct path", () => {
    const { error } = attempt(props("distributed", { storageGiB: 1 }));
    expect((error as Error).message).toMatch(/\(test\/db\)/);
  });

  test("every problem is reported at once", () => {
    const { error } = attempt(props("distributed", { storageGiB: 1, secretRecoveryWindowDays: 99 }));
    expect((error as SpecValidationError).issues.map((i) => i.path).sort()).toEqual(["secretRecoveryWindowDays", "storageGiB"]);
  });

  test("a token cluster name is refused: it names resources", () => {
    const { stack } = emptyStack();
    const name = new TerraformVariable(stack, "name", { type: "string" });
    expect(() => new ManagedPostgres(stack, "db", props("distributed", { name: name.stringValue }))).toThrow(/`name` must be a literal value/);
  });
});

describe("unresolved token values", () => {
  test("a storageGiB variable is accepted and becomes a plan-time precondition on the data volumes", () => {
    const { stack } = emptyStack();
    const storage = new TerraformVariable(stack, "storage_gib", { type: "number" });
    new ManagedPostgres(stack, "db", props("distributed", { storageGiB: storage.numberValue }));
    const s = synthStack(stack);
    for (const [, v] of resources(s, "aws_ebs_volume")) {
      expect(v.size).toBe("${var.storage_gib}");
      expect(v.lifecycle.precondition[0].error_message).toMatch(/`storageGiB`/);
      expect(v.lifecycle.precondition[0].condition).toContain("var.storage_gib");
    }
  });

  test("a subnet list variable is accepted: slot i takes element i", () => {
    const { stack } = emptyStack();
    const subnets = new TerraformVariable(stack, "subnet_ids", { type: "list(string)" });
    const vpc = new TerraformVariable(stack, "vpc_id", { type: "string" });
    new ManagedPostgres(stack, "db", props("distributed", { network: { vpcId: vpc.stringValue, subnetIds: subnets.listValue, allowedCidrs: ["10.0.0.0/16"] } }));
    const s = synthStack(stack);
    const enis = resources(s, "aws_network_interface").map(([, e]) => e.subnet_id).sort();
    expect(enis).toEqual([0, 1, 2].map((i) => `\${element(var.subnet_ids, ${i})}`));
  });

  test("a client CIDR list variable becomes one for_each rule per endpoint port", () => {
    const { stack } = emptyStack();
    const cidrs = new TerraformVariable(stack, "client_cidrs", { type: "list(string)" });
    new ManagedPostgres(stack, "db", props("distributed", { network: { ...props("distributed").network, allowedCidrs: cidrs.listValue, allowedSecurityGroupIds: [] } }));
    const s = synthStack(stack);
    const iterated = resources(s, "aws_vpc_security_group_ingress_rule").filter(([, r]) => r.for_each !== undefined);
    expect(iterated.map(([, r]) => r.from_port).sort()).toEqual([5432, 5433]);
    for (const [, r] of iterated) expect(r.cidr_ipv4).toBe("${each.value}");
  });
});

describe("image", () => {
  test("the default image is the most recent official Debian 13 AMI of the architecture for PostgreSQL 17 (Debian 13's own postgresql-17)", () => {
    const { stack } = emptyStack();
    new ManagedPostgres(stack, "db", props("standalone", { architecture: "x86_64", majorVersion: 17 }));
    const [ami] = Object.values(synthStack(stack).data.aws_ami) as any[];
    expect(ami.owners).toEqual(["136693071363"]);
    expect(ami.most_recent).toBe(true);
    expect(ami.filter).toContainEqual({ name: "name", values: ["debian-13-amd64-*"] });
  });

  test("PostgreSQL 15 keeps the Debian 12 AMI (its own postgresql-15): deployed 15 clusters keep their image line", () => {
    const { stack } = emptyStack();
    new ManagedPostgres(stack, "db", props("standalone", { architecture: "arm64", majorVersion: 15 }));
    const [ami] = Object.values(synthStack(stack).data.aws_ami) as any[];
    expect(ami.filter).toContainEqual({ name: "name", values: ["debian-12-arm64-*"] });
  });

  test("PostgreSQL 16 without imageId is refused at synth: no Debian release ships it", () => {
    const { stack } = emptyStack();
    expect(() => new ManagedPostgres(stack, "db", props("standalone", { majorVersion: 16 }))).toThrow(
      /`imageId`: required with `majorVersion` 16: no official Debian image ships PostgreSQL 16 \(Debian 12 has 15, Debian 13 has 17\)/,
    );
    const { stack: ok } = emptyStack();
    expect(() => new ManagedPostgres(ok, "db", props("standalone", { majorVersion: 16, imageId: "ami-0123456789abcdef0" }))).not.toThrow();
  });

  test("an explicit imageId replaces the Debian lookup", () => {
    const { stack } = emptyStack();
    new ManagedPostgres(stack, "db", props("standalone", { imageId: "ami-0123456789abcdef0" }));
    const s = synthStack(stack);
    expect(s.data.aws_ami).toBeUndefined();
    expect(resources(s, "aws_launch_template")[0][1].image_id).toBe("ami-0123456789abcdef0");
  });
});

describe("egress", () => {
  test("httpsEgressCidrs adds one HTTPS egress rule per CIDR on the nodes and the PgBouncer tier", () => {
    const { stack } = emptyStack();
    new ManagedPostgres(stack, "db", props("distributed", { httpsEgressCidrs: ["10.99.0.0/24"] }));
    const rules = resources(synthStack(stack), "aws_vpc_security_group_egress_rule").filter(([, r]) => r.cidr_ipv4 === "10.99.0.0/24");
    expect(rules.map(([, r]) => r.from_port)).toEqual([443, 443]);
  });

  test("a httpsEgressCidrs list variable becomes a for_each rule", () => {
    const { stack } = emptyStack();
    const mirrors = new TerraformVariable(stack, "mirror_cidrs", { type: "list(string)" });
    new ManagedPostgres(stack, "db", props("standalone", { httpsEgressCidrs: mirrors.listValue }));
    const iterated = resources(synthStack(stack), "aws_vpc_security_group_egress_rule").filter(([, r]) => r.for_each !== undefined);
    expect(iterated).toHaveLength(1);
    expect(iterated[0][1]).toMatchObject({ from_port: 443, cidr_ipv4: "${each.value}", for_each: "${toset(var.mirror_cidrs)}" });
  });
});
