/** The twin's computed AWS attributes and data sources (issue 10, part A): pure helpers. */
import {
  allocateAddress,
  availabilityZones,
  bucketNameIssue,
  computeManaged,
  ComputeContext,
  hexId,
  isAssignable,
  prefixedUniqueId,
  regionCode,
  resolveAccount,
  tagsAll,
  zoneId,
} from "./aws";
import { readDataSource, DataContext } from "./data-sources";
import { checkCycles } from "./index";

function context(resources: Record<string, Record<string, unknown>[]> = {}): DataContext {
  const taken = new Map<string, Set<string>>();
  const ctx: ComputeContext = {
    accountId: "111122223333",
    region: "eu-west-1",
    partition: "aws",
    findResource: (type, p) => (resources[type] ?? []).find(p),
    takenAddresses: (s) => {
      if (!taken.has(s)) taken.set(s, new Set());
      return taken.get(s)!;
    },
  };
  return { ...ctx, amiId: "ami-0123456789abcdef0", volumes: [], subnets: () => resources.aws_subnet ?? [], vpcs: () => resources.aws_vpc ?? [] };
}

describe("addresses", () => {
  test("AWS reserves the first four and the last address of a subnet", () => {
    expect(isAssignable("10.0.0.0/28", "10.0.0.3")).toBe(false);
    expect(isAssignable("10.0.0.0/28", "10.0.0.4")).toBe(true);
    expect(isAssignable("10.0.0.0/28", "10.0.0.14")).toBe(true);
    expect(isAssignable("10.0.0.0/28", "10.0.0.15")).toBe(false);
    expect(isAssignable("10.0.0.0/28", "10.0.0.16")).toBe(false);
  });

  test("allocation takes every assignable address once, then reports the subnet full", () => {
    const taken = new Set<string>();
    for (let i = 0; i < 11; i++) taken.add(allocateAddress("10.0.0.0/28", taken, `eni-${i}`));
    expect([...taken].sort()).toEqual(Array.from({ length: 11 }, (_, i) => `10.0.0.${i + 4}`).sort());
    expect(() => allocateAddress("10.0.0.0/28", taken, "one-more")).toThrow(/InsufficientFreeAddressesInSubnet/);
  });

  test("allocation is stable for a seed", () => {
    expect(allocateAddress("10.42.0.0/20", new Set(), "a")).toBe(allocateAddress("10.42.0.0/20", new Set(), "a"));
  });
});

describe("names and ids", () => {
  test("zone ids follow AWS's region codes", () => {
    expect(regionCode("eu-west-1")).toBe("euw1");
    expect(regionCode("us-east-1")).toBe("use1");
    expect(regionCode("ap-southeast-2")).toBe("apse2");
    expect(availabilityZones("eu-west-1")).toEqual({ names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"], zone_ids: ["euw1-az1", "euw1-az2", "euw1-az3"] });
    expect(zoneId("eu-west-1", "eu-west-1c")).toBe("euw1-az3");
    expect(() => zoneId("eu-west-1", "us-east-1a")).toThrow(/not one of/);
  });

  test("ids are AWS-shaped and deterministic", () => {
    expect(hexId("vpc", "x")).toMatch(/^vpc-[0-9a-f]{17}$/);
    expect(hexId("vpc", "x")).toBe(hexId("vpc", "x"));
    expect(hexId("vpc", "x")).not.toBe(hexId("vpc", "y"));
    expect(prefixedUniqueId("cms-backups-", "s")).toMatch(/^cms-backups-\d{18}[0-9a-f]{8}$/);
  });

  test("S3 bucket naming rules", () => {
    expect(bucketNameIssue("cms-backups-2026120200000000002d26884d")).toBeUndefined();
    expect(bucketNameIssue("Upper")).toMatch(/lowercase/);
    expect(bucketNameIssue("a".repeat(64))).toMatch(/63/);
    expect(bucketNameIssue("a..b")).toMatch(/adjacent/);
    expect(bucketNameIssue("192.168.0.1")).toMatch(/IP address/);
  });

  test("tags_all merges default tags under the resource's tags; untaggable types have none", () => {
    expect(tagsAll("aws_vpc", { a: "1" }, { a: "0", b: "2" })).toEqual({ a: "1", b: "2" });
    expect(tagsAll("aws_vpc", undefined, {})).toBeUndefined();
    expect(tagsAll("aws_s3_bucket_policy", undefined, { b: "2" })).toBeUndefined();
  });
});

describe("computeManaged", () => {
  const vpc = { id: "vpc-0123456789abcdef0", cidr_block: "10.0.0.0/16" };
  const subnet = { id: "subnet-0123456789abcdef0", cidr_block: "10.0.1.0/24", vpc_id: vpc.id };

  test("an ENI gets an address of its subnet, a given one is checked like EC2", () => {
    const ctx = context({ aws_vpc: [vpc], aws_subnet: [subnet] });
    const eni = computeManaged(ctx, "aws_network_interface", { subnet_id: subnet.id }, "s");
    expect(isAssignable(subnet.cidr_block, eni.private_ip as string)).toBe(true);
    expect(eni.arn).toBe(`arn:aws:ec2:eu-west-1:111122223333:network-interface/${eni.id}`);
    expect(() => computeManaged(ctx, "aws_network_interface", { subnet_id: subnet.id, private_ips: [eni.private_ip] }, "t")).toThrow(/InvalidIPAddress\.InUse/);
    expect(() => computeManaged(ctx, "aws_network_interface", { subnet_id: subnet.id, private_ips: ["10.0.1.255"] }, "u")).toThrow(/does not fall within/);
    expect(() => computeManaged(ctx, "aws_network_interface", { subnet_id: "subnet-nope" }, "v")).toThrow(/InvalidSubnetID\.NotFound/);
  });

  test("EC2 refuses a security group of another VPC, an endpoint's private DNS without VPC DNS hostnames, two endpoint subnets in one zone", () => {
    const other = { id: "sg-0123456789abcdef0", vpc_id: "vpc-other" };
    const own = { id: "sg-0fedcba9876543210", vpc_id: vpc.id };
    const subnetB = { id: "subnet-0fedcba9876543210", cidr_block: "10.0.2.0/24", vpc_id: vpc.id, availability_zone: "eu-west-1a" };
    const ctx = context({ aws_vpc: [{ ...vpc, enable_dns_support: true }], aws_subnet: [{ ...subnet, availability_zone: "eu-west-1a" }, subnetB], aws_security_group: [other, own] });
    expect(() => computeManaged(ctx, "aws_network_interface", { subnet_id: subnet.id, security_groups: [other.id] }, "s")).toThrow(/belong to different networks/);
    expect(computeManaged(ctx, "aws_network_interface", { subnet_id: subnet.id, security_groups: [own.id] }, "s").id).toMatch(/^eni-/);
    const endpoint = { vpc_id: vpc.id, vpc_endpoint_type: "Interface", service_name: "com.amazonaws.eu-west-1.ec2", private_dns_enabled: true, subnet_ids: [subnet.id], security_group_ids: [own.id] };
    expect(() => computeManaged(ctx, "aws_vpc_endpoint", endpoint, "e")).toThrow(/requires both enableDnsSupport and enableDnsHostnames/);
    const dnsCtx = context({ aws_vpc: [{ ...vpc, enable_dns_support: true, enable_dns_hostnames: true }], aws_subnet: [{ ...subnet, availability_zone: "eu-west-1a" }, subnetB], aws_security_group: [own] });
    expect((computeManaged(dnsCtx, "aws_vpc_endpoint", endpoint, "e").network_interface_ids as string[]).length).toBe(1);
    expect(() => computeManaged(dnsCtx, "aws_vpc_endpoint", { ...endpoint, subnet_ids: [subnet.id, subnetB.id] }, "e")).toThrow(/DuplicateSubnetsInSameZone/);
  });

  test("a subnet outside its VPC is refused", () => {
    expect(() => computeManaged(context({ aws_vpc: [vpc] }), "aws_subnet", { vpc_id: vpc.id, cidr_block: "10.1.0.0/24", availability_zone: "eu-west-1a" }, "s")).toThrow(/InvalidSubnet\.Range/);
  });

  test("secret ARN has the 6-character suffix; role and KMS ARNs have the account", () => {
    const ctx = context();
    expect(computeManaged(ctx, "aws_secretsmanager_secret", { name: "managed-postgres/cms" }, "s").arn).toMatch(/^arn:aws:secretsmanager:eu-west-1:111122223333:secret:managed-postgres\/cms-[A-Za-z0-9]{6}$/);
    const role = computeManaged(ctx, "aws_iam_role", { name: "r" }, "s");
    expect(role.arn).toBe("arn:aws:iam::111122223333:role/r");
    expect(role.unique_id).toMatch(/^AROA[A-Z2-7]{17}$/);
    const key = computeManaged(ctx, "aws_kms_key", {}, "s");
    expect(key.arn).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${key.key_id}`);
  });

  test("an S3 object has a version id only when its bucket's versioning is Enabled", () => {
    const bucket = { bucket: "b-1", id: "b-1" };
    const on = context({ aws_s3_bucket: [bucket], aws_s3_bucket_versioning: [{ bucket: "b-1", versioning_configuration: { status: "Enabled" } }] });
    expect(computeManaged(on, "aws_s3_object", { bucket: "b-1", key: "k", content: "x" }, "s").version_id).toMatch(/^.{32}$/);
    const off = context({ aws_s3_bucket: [bucket] });
    const plain = computeManaged(off, "aws_s3_object", { bucket: "b-1", key: "k", content: "x" }, "s");
    expect(plain.version_id).toBe("");
    expect(plain.etag).toBe("9dd4e461268c8034f5c8564e155c67a6"); // MD5 of "x"
  });
});

describe("data sources", () => {
  test("region, partition, caller identity and the S3 prefix list", () => {
    const ctx = context();
    expect(readDataSource(ctx, "aws_region", {}, "data.aws_region.r")).toMatchObject({ region: "eu-west-1", name: "eu-west-1" });
    expect(readDataSource(ctx, "aws_partition", {}, "p")).toMatchObject({ partition: "aws", dns_suffix: "amazonaws.com" });
    expect(readDataSource(ctx, "aws_caller_identity", {}, "c")).toMatchObject({ account_id: "111122223333" });
    expect(readDataSource(ctx, "aws_ec2_managed_prefix_list", { name: "com.amazonaws.eu-west-1.s3" }, "l").id).toMatch(/^pl-[0-9a-f]{8}$/);
    expect(() => readDataSource(ctx, "aws_ec2_managed_prefix_list", { name: "com.amazonaws.eu-west-1.nope" }, "l")).toThrow(/no AWS-managed prefix list/);
    expect(() => readDataSource(ctx, "aws_instances", {}, "data.aws_instances.x")).toThrow(/does not model the data source aws_instances/);
  });

  test("EBS volumes by tag filters (wildcards), and a lookup that finds nothing fails like the provider", () => {
    const ctx = { ...context(), volumes: [{ id: "vol-1", availability_zone: "eu-west-1a", size: 20, tags: { c: "cms", s: "0" }, encrypted: true, kms_key_id: "", volume_type: "gp3", arn: "" }] };
    expect(readDataSource(ctx, "aws_ebs_volumes", { filter: [{ name: "tag:c", values: ["cm*"] }] }, "v").ids).toEqual(["vol-1"]);
    expect(readDataSource(ctx, "aws_ebs_volumes", { filter: [{ name: "tag:c", values: ["x"] }] }, "v").ids).toEqual([]);
    expect(readDataSource(ctx, "aws_ebs_volume", { filter: [{ name: "volume-id", values: ["vol-1"] }] }, "v").size).toBe(20);
    expect(() => readDataSource(ctx, "aws_ebs_volume", { filter: [{ name: "volume-id", values: ["vol-2"] }] }, "v")).toThrow(/no matching EC2 object/);
  });

  test("data.aws_ami: the Debian release of the name filter picks the account's image (the official AMIs' names); none matching fails like the provider", () => {
    const ctx = { ...context(), images: resolveAccount().images };
    const ami = (release: number, arch = "arm64", mostRecent = true) =>
      readDataSource(ctx, "aws_ami", { owners: ["136693071363"], most_recent: mostRecent, filter: [{ name: "name", values: [`debian-${release}-${arch === "arm64" ? "arm64" : "amd64"}-*`] }, { name: "architecture", values: [arch] }] }, "data.aws_ami.image");
    const [d13, d12] = [ctx.images.find((i) => i.release === 13)!, ctx.images.find((i) => i.release === 12)!];
    expect(d13).toMatchObject({ id: resolveAccount().amiId, suite: "trixie" });
    expect(d12.suite).toBe("bookworm");
    expect(ami(13)).toMatchObject({ id: d13.id, name: expect.stringMatching(/^debian-13-arm64-/), architecture: "arm64" });
    expect(ami(12, "x86_64")).toMatchObject({ id: d12.id, name: expect.stringMatching(/^debian-12-amd64-/), architecture: "x86_64" });
    expect(d12.id).not.toBe(d13.id);
    expect(() => ami(11)).toThrow(/no matching EC2 object/);
    expect(() => readDataSource(ctx, "aws_ami", { filter: [{ name: "name", values: ["debian-*"] }] }, "a")).toThrow(/multiple EC2 objects matched/);
  });
});

describe("checkCycles", () => {
  test("names the members of a cycle, including a self-reference; a DAG passes", () => {
    expect(() => checkCycles(new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])], ["d", new Set<string>()]]))).toThrow("Cycle: a, b, c");
    expect(() => checkCycles(new Map([["a", new Set(["a"])]]))).toThrow("Cycle: a");
    expect(() => checkCycles(new Map([["a", new Set(["b"])], ["b", new Set<string>()]]))).not.toThrow();
  });
});
