/**
 * What AWS and the AWS provider compute when Terraform creates a resource or reads a data
 * source: ids, ARNs, addresses and the other read-only attributes the synthesized JSON
 * references (pure: deterministic from the account, the region and the resource address, so
 * a re-apply computes the same values; unit-tested in aws.test.ts).
 *
 * Managed resources (attribute → how; the provider's resource page
 * https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/<type without aws_>
 * lists each "Attribute Reference"):
 *
 * | type | computed attributes | AWS documentation of the shape |
 * |---|---|---|
 * | aws_vpc | id `vpc-`+17 hex, arn, owner_id, main_route_table_id, default_security_group_id, default_network_acl_id | https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html#amazonec2-resources-for-iam-policies (EC2 ARNs) |
 * | aws_subnet | id `subnet-`, arn, availability_zone_id (`euw1-az1`), owner_id | https://docs.aws.amazon.com/ram/latest/userguide/working-with-az-ids.html |
 * | aws_route_table / _association | id `rtb-` / `rtbassoc-`, arn | EC2 ARNs (above) |
 * | aws_security_group | id `sg-`, arn, owner_id | EC2 ARNs |
 * | aws_vpc_security_group_ingress/egress_rule | id = security_group_rule_id `sgr-`, arn | EC2 ARNs |
 * | aws_vpc_endpoint | id `vpce-`, arn, network_interface_ids (Interface: one ENI per subnet, one subnet per zone, address taken from the subnet; private DNS needs the VPC's DNS support and hostnames), prefix_list_id (Gateway), state | https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html |
 * | aws_network_interface | (security groups of the subnet's VPC) id `eni-`, arn, private_ip / private_ips / private_ip_list (a free address of the subnet: AWS reserves the first four and the last one), mac_address, private_dns_name, owner_id | https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html |
 * | aws_ebs_volume | id `vol-`, arn, iops (gp3: 3000), throughput (gp3: 125) | https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html |
 * | aws_launch_template | id `lt-`, arn, latest_version (1, +1 per changed re-apply), default_version (1, or latest with update_default_version) | https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/manage-launch-template-versions.html |
 * | aws_autoscaling_group | id = name, arn `…:autoScalingGroup:<uuid>:autoScalingGroupName/<name>` | https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html |
 * | aws_lb / _target_group / _listener | arn (`loadbalancer/net/<name>/<16 hex>`, `targetgroup/<name>/<16 hex>`, `listener/net/…`), id = arn, arn_suffix, dns_name `<name>-<16 hex>.elb.<region>.amazonaws.com`, zone_id | https://docs.aws.amazon.com/elasticloadbalancing/latest/network/network-load-balancers.html |
 * | aws_kms_key / aws_kms_alias | key_id (UUID) = id, arn `…:key/<uuid>`; alias id = name, arn `…:alias/<name>`, target_key_arn | https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id |
 * | aws_s3_bucket | bucket (from bucket_prefix: prefix + 26 characters, as the provider's `id.PrefixedUniqueId`), id = bucket, arn `arn:aws:s3:::<bucket>`, bucket_domain_name, bucket_regional_domain_name `<bucket>.s3.<region>.amazonaws.com`, hosted_zone_id, region | https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html |
 * | aws_s3_bucket_* (versioning, encryption, policy, …) | id = bucket | provider pages |
 * | aws_s3_object | id = key, etag (MD5 of content, except SSE-KMS: not an MD5), version_id (when the bucket's versioning is Enabled, else none) | https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html (ETag) |
 * | aws_secretsmanager_secret | arn `…:secret:<name>-<6 characters>` = id | https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html#iam-resources |
 * | aws_iam_role / aws_iam_instance_profile | id = name, arn `arn:aws:iam::<account>:role/<path><name>`, unique_id `AROA`/`AIPA` + 17 | https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids |
 * | aws_iam_role_policy | id `<role>:<name>` | provider page |
 * | aws_cloudwatch_log_group | id = name, arn `…:log-group:<name>` (the provider drops the trailing `:*`) | provider page |
 * | aws_cloudwatch_metric_alarm / _dashboard | id = name, arn `…:alarm:<name>` / dashboard_arn | https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html |
 * | aws_sns_topic | arn `…:<name>` = id | https://docs.aws.amazon.com/sns/latest/dg/sns-using-identity-based-policies.html |
 * | aws_ssm_parameter | id = name; arn `arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>`; version 1 | https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html |
 * | any other | id `<type>-`+17 hex | — |
 *
 * Every managed resource with `tags` (or with provider default_tags) gets `tags_all`:
 * default_tags merged with tags, tags winning (provider docs, "default_tags").
 *
 * Data sources (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/<type>):
 * aws_caller_identity (account_id, arn, user_id), aws_partition (partition `aws`, dns_suffix
 * `amazonaws.com`, reverse_dns_prefix), aws_region (`region` and the deprecated `name`,
 * endpoint, description), aws_availability_zones (names `<region>a|b|c`, zone_ids
 * `<code>-az1..3`), aws_ami (the account's AMI id), aws_vpc / aws_subnet (twin resources or the
 * account's pre-existing ones, by id or filters), aws_ebs_volumes / aws_ebs_volume (volumes of
 * the prior state and the account matching the filters; none on a first apply),
 * aws_ec2_managed_prefix_list (`pl-`+8 hex for `com.amazonaws.<region>.s3`), and
 * aws_iam_policy_document (policy-document.ts).
 */
import { createHash } from "node:crypto";
import type { TwinBucket, TwinKmsKey, TwinSecret } from "../aws/world";

/** The example account id of the AWS documentation. */
export const DEFAULT_ACCOUNT_ID = "111122223333";
export const DEFAULT_REGION = "us-east-1";

/** A pre-existing subnet of the account (for stacks that take subnet ids). */
export interface AccountSubnet {
  id: string;
  vpc_id: string;
  cidr_block: string;
  availability_zone: string;
  tags?: Record<string, string>;
}
/** A pre-existing VPC of the account. */
export interface AccountVpc {
  id: string;
  cidr_block: string;
  /** @default true */
  enable_dns_support?: boolean;
  /** @default true */
  enable_dns_hostnames?: boolean;
  tags?: Record<string, string>;
}
/** A volume that exists outside the stack's own resources (e.g. a root volume an instance launch created and tagged). */
export interface AccountVolume {
  id: string;
  availability_zone: string;
  size: number;
  tags: Record<string, string>;
  encrypted?: boolean;
  kms_key_id?: string;
  volume_type?: string;
}

/** The account the twin applies into. */
export interface TwinAccount {
  /** @default "111122223333" (AWS documentation example) */
  accountId: string;
  /** Used when the provider block has no region. @default "us-east-1" */
  region: string;
  /** The Debian 13 image's id (the first of {@link images}). @default - `ami-` + 17 hex derived from the account */
  amiId: string;
  /**
   * The AMIs data.aws_ami finds (by its `name` filter, as the official Debian AMIs are named)
   * and the node root the twin boots for each. @default - Debian 13 ({@link amiId}, the trixie
   * root) and Debian 12 (an id derived from the account, the bookworm root)
   */
  images: AccountImage[];
  vpcs: AccountVpc[];
  subnets: AccountSubnet[];
  volumes: AccountVolume[];
  /**
   * Resources of the account that another stack created (e.g. the source cluster of a
   * `restoreFrom`: its backup bucket with its objects, its secret with its value, its KMS key
   * and key policy): the twin's AWS world serves them beside the stack's own. @default - none
   */
  external?: { buckets?: TwinBucket[]; secrets?: TwinSecret[]; kmsKeys?: TwinKmsKey[] };
}

/** An AMI of the twin's account. */
export interface AccountImage {
  id: string;
  /**
   * Debian release: the image is named `debian-<release>-<amd64|arm64>-<date>-<build>` like the
   * Debian cloud team's AMIs (https://wiki.debian.org/Cloud/AmazonEC2Image), which the
   * library's data.aws_ami `name` filter selects.
   */
  release: 12 | 13;
  /** Debian suite of the node root the twin boots for an instance of this image (`scripts/build-node-root.sh <suite>`). */
  suite: "bookworm" | "trixie";
}

/** Fills the defaults of {@link TwinAccount}. */
export function resolveAccount(account: Partial<TwinAccount> = {}): TwinAccount {
  const accountId = account.accountId ?? DEFAULT_ACCOUNT_ID;
  const amiId = account.amiId ?? hexId("ami", `ami:${accountId}`);
  return {
    accountId,
    region: account.region ?? DEFAULT_REGION,
    amiId,
    images: account.images ?? [
      { id: amiId, release: 13, suite: "trixie" },
      { id: hexId("ami", `ami:${accountId}:debian-12`), release: 12, suite: "bookworm" },
    ],
    vpcs: (account.vpcs ?? []).map((v) => ({ enable_dns_support: true, enable_dns_hostnames: true, ...v })),
    subnets: account.subnets ?? [],
    volumes: account.volumes ?? [],
    ...(account.external ? { external: account.external } : {}),
  };
}

function digest(seed: string): Buffer {
  return createHash("sha256").update(seed).digest();
}

/** `<prefix>-` + 17 lowercase hex digits from the seed (the length EC2 uses for new resource ids). */
export function hexId(prefix: string, seed: string, length = 17): string {
  return `${prefix}-${digest(seed).toString("hex").slice(0, length)}`;
}

/** A UUID (version 4 layout) from the seed. */
export function uuid(seed: string): string {
  const h = digest(seed).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Characters from [A-Za-z0-9] (or a given alphabet) from the seed. */
export function alnum(seed: string, length: number, alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"): string {
  const bytes = digest(seed);
  let out = "";
  for (let i = 0; out.length < length; i++) out += alphabet[bytes[i % bytes.length] % alphabet.length];
  return out;
}

/**
 * The zone-id code of a region (`eu-west-1` → `euw1`, `us-east-1` → `use1`,
 * `ap-southeast-2` → `apse2`), as AWS forms AZ ids (https://docs.aws.amazon.com/ram/latest/userguide/working-with-az-ids.html).
 */
export function regionCode(region: string): string {
  const m = /^([a-z]+)-([a-z]+)-(\d+)$/.exec(region);
  if (!m) return region.replace(/[^a-z0-9]/g, "");
  const dir: Record<string, string> = { east: "e", west: "w", north: "n", south: "s", central: "c", northeast: "ne", northwest: "nw", southeast: "se", southwest: "sw" };
  return `${m[1]}${dir[m[2]] ?? m[2][0]}${m[3]}`;
}

/** Availability zone names and ids of the twin's region: three zones a, b, c. */
export function availabilityZones(region: string): { names: string[]; zone_ids: string[] } {
  return { names: ["a", "b", "c"].map((s) => `${region}${s}`), zone_ids: [1, 2, 3].map((n) => `${regionCode(region)}-az${n}`) };
}

/** The zone id of a zone name of the twin's region (`eu-west-1b` → `euw1-az2`). */
export function zoneId(region: string, zoneName: string): string {
  const i = availabilityZones(region).names.indexOf(zoneName);
  if (i < 0) throw new Error(`availability zone ${JSON.stringify(zoneName)} is not one of ${availabilityZones(region).names.join(", ")} (region ${region})`);
  return availabilityZones(region).zone_ids[i];
}

function ipToInt(ip: string): number {
  const p = ip.split(".").map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}
function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Network, first and last address of an IPv4 CIDR. */
export function cidrRange(cidr: string): { network: number; size: number; prefix: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`not an IPv4 CIDR block: ${JSON.stringify(cidr)}`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const network = (ipToInt(m[1]) - (ipToInt(m[1]) % size)) >>> 0;
  return { network, size, prefix };
}

/**
 * True when `ip` is an address AWS can give an interface of the subnet: inside the CIDR and
 * not one of the five reserved ones (network, +1 router, +2 DNS, +3 future use, broadcast;
 * https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html).
 */
export function isAssignable(cidr: string, ip: string): boolean {
  const { network, size } = cidrRange(cidr);
  const n = ipToInt(ip);
  return n >= network + 4 && n <= network + size - 2;
}

/** True when `ip` is inside `cidr` (reserved addresses included). */
export function inCidr(cidr: string, ip: string): boolean {
  const { network, size } = cidrRange(cidr);
  const n = ipToInt(ip);
  return n >= network && n < network + size;
}

/**
 * A free assignable address of the subnet, chosen from the seed (AWS picks addresses in no
 * documented order; a seeded pick keeps re-applies stable without suggesting `.4` first).
 * @throws Error `InsufficientFreeAddressesInSubnet` when the subnet is full
 */
export function allocateAddress(cidr: string, taken: ReadonlySet<string>, seed: string): string {
  const { network, size } = cidrRange(cidr);
  const usable = size - 5;
  if (usable <= 0) throw new Error(`InsufficientFreeAddressesInSubnet: ${cidr} has no assignable address`);
  const start = digest(seed).readUInt32BE(0) % usable;
  for (let k = 0; k < usable; k++) {
    const ip = intToIp(network + 4 + ((start + k) % usable));
    if (!taken.has(ip)) return ip;
  }
  throw new Error(`InsufficientFreeAddressesInSubnet: every assignable address of ${cidr} is in use`);
}

/** A locally administered unicast MAC address from the seed (`02:xx:…`, the form EC2 gives ENIs in VPCs). */
export function macAddress(seed: string): string {
  const b = digest(seed);
  return ["02", ...[0, 1, 2, 3, 4].map((i) => b[i].toString(16).padStart(2, "0"))].join(":");
}

/** The private DNS name EC2 gives an address (`ip-10-0-0-5.eu-west-1.compute.internal`; `ec2.internal` in us-east-1). */
export function privateDnsName(region: string, ip: string): string {
  return `ip-${ip.replace(/\./g, "-")}.${region === "us-east-1" ? "ec2.internal" : `${region}.compute.internal`}`;
}

/** S3 website/hosted zone ids per region (https://docs.aws.amazon.com/general/latest/gr/s3.html); others get a seeded one. */
const S3_HOSTED_ZONES: Record<string, string> = { "us-east-1": "Z3AQBSTGFYJSTF", "eu-west-1": "Z1BKCTXD74EZPE", "eu-central-1": "Z21DNDUVLTQW6Q", "us-west-2": "Z3BJ6K6RIION7M" };
/** Network Load Balancer hosted zone ids per region (https://docs.aws.amazon.com/general/latest/gr/elb.html). */
const NLB_HOSTED_ZONES: Record<string, string> = { "us-east-1": "Z26RNL4JYFTOTI", "eu-west-1": "Z2IFOLAFXWLO4F", "eu-central-1": "Z3F0SRJ5LGBH90", "us-west-2": "Z18D5FSROUN65G" };

/**
 * The name the provider gives a resource with a `*_prefix`: the prefix + 26 characters
 * (terraform-plugin-sdk `id.PrefixedUniqueId`: 18 timestamp digits and an 8-hex counter).
 */
export function prefixedUniqueId(prefix: string, seed: string): string {
  return `${prefix}202612020000000000${digest(seed).toString("hex").slice(0, 8)}`;
}

/**
 * S3 general purpose bucket naming rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
 * @returns the broken rule, or undefined when the name is valid
 */
export function bucketNameIssue(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `must be between 3 and 63 characters long (got ${name.length})`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return "may contain only lowercase letters, numbers, dots and hyphens, and must begin and end with a letter or number";
  if (name.includes("..")) return "must not contain two adjacent periods";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "must not be formatted as an IP address";
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name) || /(-s3alias|--ol-s3|--x-s3|--table-s3)$/.test(name)) return "must not use a reserved prefix or suffix";
  return undefined;
}

/** The context computed attributes need: who, where, and what exists already. */
export interface ComputeContext {
  accountId: string;
  region: string;
  partition: "aws";
  /** Resolved attributes of an earlier resource of this apply (or of the prior state), by id attribute. */
  findResource(type: string, predicate: (attributes: Record<string, unknown>) => boolean): Record<string, unknown> | undefined;
  /** Addresses in use in a subnet (ENIs, endpoint and load balancer interfaces). */
  takenAddresses(subnetId: string): Set<string>;
}

function str(v: unknown): string {
  return v === undefined || v === null ? "" : String(v);
}
function list(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** The subnet (twin resource or account subnet) with this id. */
export function findSubnet(ctx: ComputeContext, subnetId: string): Record<string, unknown> | undefined {
  return ctx.findResource("aws_subnet", (a) => a.id === subnetId);
}

/**
 * Interfaces an endpoint or load balancer puts in each of its subnets: each takes an address
 * of the subnet, as on AWS.
 */
function interfacesIn(ctx: ComputeContext, subnetIds: unknown[], seed: string, what: string): { id: string; subnet_id: string; private_ip: string }[] {
  const zones = new Map<string, string>();
  return subnetIds.map((s) => {
    const subnet = findSubnet(ctx, str(s));
    if (!subnet) throw new Error(`InvalidSubnetID.NotFound: the subnet ID '${str(s)}' does not exist`);
    const zone = str(subnet.availability_zone);
    if (zones.has(zone)) throw new Error(`${what}: subnets ${zones.get(zone)} and ${str(s)} are in the same availability zone ${zone}; one subnet per zone`);
    zones.set(zone, str(s));
    const taken = ctx.takenAddresses(str(s));
    const ip = allocateAddress(str(subnet.cidr_block), taken, `${seed}:${str(s)}`);
    taken.add(ip);
    return { id: hexId("eni", `${seed}:${str(s)}`), subnet_id: str(s), private_ip: ip };
  });
}

/**
 * Security groups of an interface must be in the interface's VPC (EC2: "InvalidParameter:
 * Security group … and subnet … belong to different networks").
 */
function checkSecurityGroups(ctx: ComputeContext, groupIds: unknown[], vpcId: string, where: string): void {
  for (const g of groupIds) {
    const sg = ctx.findResource("aws_security_group", (a) => a.id === g);
    if (!sg) {
      if (/^sg-/.test(str(g))) continue; // a group outside the stack: not known to the twin
      throw new Error(`InvalidGroup.NotFound: The security group '${str(g)}' does not exist`);
    }
    if (str(sg.vpc_id) !== vpcId) throw new Error(`InvalidParameter: Security group ${str(g)} (VPC ${str(sg.vpc_id)}) and ${where} (VPC ${vpcId}) belong to different networks`);
  }
}

/**
 * The computed attributes of a managed resource (see the table above), from its resolved
 * configuration. `seed` makes ids unique and stable (the resource address and the account).
 * @throws Error shaped like the AWS API error for what AWS refuses (a bucket name, an address outside the subnet or in use)
 */
export function computeManaged(ctx: ComputeContext, type: string, config: Record<string, unknown>, seed: string): Record<string, unknown> {
  const { accountId, region } = ctx;
  const ec2Arn = (kind: string, id: string) => `arn:aws:ec2:${region}:${accountId}:${kind}/${id}`;
  switch (type) {
    case "aws_vpc": {
      const id = hexId("vpc", seed);
      return { id, arn: ec2Arn("vpc", id), owner_id: accountId, main_route_table_id: hexId("rtb", `${seed}:main`), default_security_group_id: hexId("sg", `${seed}:default`), default_network_acl_id: hexId("acl", `${seed}:default`), dhcp_options_id: hexId("dopt", `${seed}:dhcp`), instance_tenancy: config.instance_tenancy ?? "default" };
    }
    case "aws_subnet": {
      const id = hexId("subnet", seed);
      const vpc = ctx.findResource("aws_vpc", (a) => a.id === config.vpc_id);
      if (!vpc) throw new Error(`InvalidVpcID.NotFound: The vpc ID '${str(config.vpc_id)}' does not exist`);
      const cidr = str(config.cidr_block);
      const { network, size } = cidrRange(cidr);
      if (cidrRange(cidr).network !== ipToInt(cidr.split("/")[0])) throw new Error(`InvalidSubnet.Range: The CIDR '${cidr}' is invalid.`);
      if (!inCidr(str(vpc.cidr_block), intToIp(network)) || !inCidr(str(vpc.cidr_block), intToIp(network + size - 1))) {
        throw new Error(`InvalidSubnet.Range: The CIDR '${cidr}' is invalid (outside the VPC's ${str(vpc.cidr_block)}).`);
      }
      return { id, arn: ec2Arn("subnet", id), owner_id: accountId, availability_zone_id: zoneId(region, str(config.availability_zone)), available_ip_address_count: size - 5 };
    }
    case "aws_route_table": {
      const id = hexId("rtb", seed);
      return { id, arn: ec2Arn("route-table", id), owner_id: accountId };
    }
    case "aws_route_table_association":
      return { id: hexId("rtbassoc", seed) };
    case "aws_security_group": {
      const id = hexId("sg", seed);
      return { id, arn: ec2Arn("security-group", id), owner_id: accountId, name: config.name ?? prefixedUniqueId(str(config.name_prefix) || "terraform-", seed) };
    }
    case "aws_vpc_security_group_ingress_rule":
    case "aws_vpc_security_group_egress_rule": {
      const id = hexId("sgr", seed);
      return { id, security_group_rule_id: id, arn: ec2Arn("security-group-rule", id) };
    }
    case "aws_vpc_endpoint": {
      const id = hexId("vpce", seed);
      const iface = str(config.vpc_endpoint_type) === "Interface";
      if (iface && config.private_dns_enabled === true) {
        const vpc = ctx.findResource("aws_vpc", (a) => a.id === config.vpc_id);
        if (vpc && !(vpc.enable_dns_support !== false && vpc.enable_dns_hostnames === true)) {
          throw new Error(`InvalidParameter: Enabling private DNS for ${str(config.service_name)} requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for ${str(config.vpc_id)}`);
        }
      }
      checkSecurityGroups(ctx, list(config.security_group_ids), str(config.vpc_id), `the VPC endpoint for ${str(config.service_name)}`);
      const enis = iface ? interfacesIn(ctx, list(config.subnet_ids), seed, "DuplicateSubnetsInSameZone") : [];
      return {
        id,
        arn: ec2Arn("vpc-endpoint", id),
        owner_id: accountId,
        state: "available",
        network_interface_ids: enis.map((e) => e.id),
        twin_interfaces: enis,
        prefix_list_id: iface ? null : hexId("pl", `${seed}:pl`, 8),
        dns_entry: iface ? [{ dns_name: `${id}.${str(config.service_name).split(".").pop()}.${region}.vpce.amazonaws.com`, hosted_zone_id: alnum(`${seed}:z`, 14, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") }] : [],
      };
    }
    case "aws_network_interface": {
      const id = hexId("eni", seed);
      const subnet = findSubnet(ctx, str(config.subnet_id));
      if (!subnet) throw new Error(`InvalidSubnetID.NotFound: The subnet ID '${str(config.subnet_id)}' does not exist`);
      checkSecurityGroups(ctx, list(config.security_groups), str(subnet.vpc_id), `subnet ${str(config.subnet_id)}`);
      const cidr = str(subnet.cidr_block);
      const taken = ctx.takenAddresses(str(config.subnet_id));
      const wanted = [...list(config.private_ips), ...list(config.private_ip_list), ...(config.private_ip ? [config.private_ip] : [])].map(str);
      const ips = wanted.length > 0 ? [...new Set(wanted)] : [allocateAddress(cidr, taken, seed)];
      for (const ip of ips) {
        if (!isAssignable(cidr, ip)) throw new Error(`InvalidParameterValue: Address ${ip} does not fall within the subnet's address range (${cidr}, first four and last reserved)`);
        if (taken.has(ip)) throw new Error(`InvalidIPAddress.InUse: The specified address ${ip} is already in use`);
        taken.add(ip);
      }
      return {
        id,
        arn: ec2Arn("network-interface", id),
        owner_id: accountId,
        private_ip: ips[0],
        private_ips: ips,
        private_ip_list: ips,
        private_ips_count: ips.length - 1,
        mac_address: macAddress(seed),
        private_dns_name: privateDnsName(region, ips[0]),
        interface_type: "interface",
        source_dest_check: config.source_dest_check ?? true,
      };
    }
    case "aws_ebs_volume": {
      const id = hexId("vol", seed);
      const gp3 = (config.type ?? "gp2") === "gp3";
      return { id, arn: ec2Arn("volume", id), iops: config.iops ?? (gp3 ? 3000 : null), throughput: config.throughput ?? (gp3 ? 125 : null), type: config.type ?? "gp2" };
    }
    case "aws_launch_template": {
      const id = hexId("lt", seed);
      return { id, arn: ec2Arn("launch-template", id), latest_version: 1, default_version: 1, name: config.name ?? prefixedUniqueId(str(config.name_prefix) || "terraform-", seed) };
    }
    case "aws_autoscaling_group": {
      const name = str(config.name) || prefixedUniqueId(str(config.name_prefix) || "terraform-", seed);
      return { id: name, name, arn: `arn:aws:autoscaling:${region}:${accountId}:autoScalingGroup:${uuid(seed)}:autoScalingGroupName/${name}` };
    }
    case "aws_lb": {
      const name = str(config.name) || prefixedUniqueId(str(config.name_prefix) || "tf-lb-", seed).slice(0, 32);
      const kind = str(config.load_balancer_type || "application") === "network" ? "net" : str(config.load_balancer_type) === "gateway" ? "gwy" : "app";
      const suffix = digest(seed).toString("hex").slice(0, 16);
      const arn = `arn:aws:elasticloadbalancing:${region}:${accountId}:loadbalancer/${kind}/${name}/${suffix}`;
      const subnets = [...list(config.subnets), ...list(config.subnet_mapping).map((m) => (m as Record<string, unknown>).subnet_id)];
      const enis = interfacesIn(ctx, subnets, seed, "InvalidConfigurationRequest");
      checkSecurityGroups(ctx, list(config.security_groups), str(findSubnet(ctx, str(subnets[0]))?.vpc_id ?? ""), `load balancer ${name}`);
      const internalPrefix = config.internal === true && kind === "app" ? "internal-" : "";
      return {
        id: arn,
        arn,
        arn_suffix: `${kind}/${name}/${suffix}`,
        name,
        dns_name: `${internalPrefix}${name}-${suffix}.elb.${region}.amazonaws.com`,
        zone_id: NLB_HOSTED_ZONES[region] ?? alnum(`${region}:nlb`, 14, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
        vpc_id: findSubnet(ctx, str(subnets[0]))?.vpc_id ?? null,
        twin_interfaces: enis,
      };
    }
    case "aws_lb_target_group": {
      const name = str(config.name) || prefixedUniqueId(str(config.name_prefix) || "tf-", seed).slice(0, 32);
      const suffix = digest(seed).toString("hex").slice(0, 16);
      const arn = `arn:aws:elasticloadbalancing:${region}:${accountId}:targetgroup/${name}/${suffix}`;
      return { id: arn, arn, arn_suffix: `targetgroup/${name}/${suffix}`, name };
    }
    case "aws_lb_listener": {
      const lb = str(config.load_balancer_arn);
      const m = /loadbalancer\/(.+)$/.exec(lb);
      const arn = `arn:aws:elasticloadbalancing:${region}:${accountId}:listener/${m ? m[1] : "net/unknown/0"}/${digest(seed).toString("hex").slice(0, 16)}`;
      return { id: arn, arn };
    }
    case "aws_kms_key": {
      const keyId = uuid(seed);
      return { id: keyId, key_id: keyId, arn: `arn:aws:kms:${region}:${accountId}:key/${keyId}`, key_usage: config.key_usage ?? "ENCRYPT_DECRYPT", customer_master_key_spec: config.customer_master_key_spec ?? "SYMMETRIC_DEFAULT", is_enabled: config.is_enabled ?? true };
    }
    case "aws_kms_alias": {
      const name = str(config.name);
      if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(name) || name.startsWith("alias/aws/")) throw new Error(`InvalidAliasNameException: alias name ${JSON.stringify(name)} must begin with alias/ followed by [a-zA-Z0-9/_-], and not alias/aws/`);
      const key = ctx.findResource("aws_kms_key", (a) => a.key_id === config.target_key_id || a.arn === config.target_key_id);
      return { id: name, arn: `arn:aws:kms:${region}:${accountId}:${name}`, target_key_arn: key?.arn ?? null };
    }
    case "aws_s3_bucket": {
      const bucket = str(config.bucket) || prefixedUniqueId(str(config.bucket_prefix) || "terraform-", seed);
      const issue = bucketNameIssue(bucket);
      if (issue) throw new Error(`InvalidBucketName: The specified bucket is not valid: ${JSON.stringify(bucket)} ${issue}`);
      return {
        id: bucket,
        bucket,
        arn: `arn:aws:s3:::${bucket}`,
        bucket_domain_name: `${bucket}.s3.amazonaws.com`,
        bucket_regional_domain_name: `${bucket}.s3.${region}.amazonaws.com`,
        hosted_zone_id: S3_HOSTED_ZONES[region] ?? alnum(`${region}:s3`, 14, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
        region,
      };
    }
    case "aws_s3_bucket_versioning":
    case "aws_s3_bucket_server_side_encryption_configuration":
    case "aws_s3_bucket_policy":
    case "aws_s3_bucket_public_access_block":
    case "aws_s3_bucket_ownership_controls":
    case "aws_s3_bucket_lifecycle_configuration": {
      const bucket = str(config.bucket);
      if (!ctx.findResource("aws_s3_bucket", (a) => a.bucket === bucket)) throw new Error(`NoSuchBucket: The specified bucket does not exist (${type} bucket ${JSON.stringify(bucket)})`);
      return { id: bucket };
    }
    case "aws_s3_object": {
      const bucket = str(config.bucket);
      const b = ctx.findResource("aws_s3_bucket", (a) => a.bucket === bucket);
      if (!b) throw new Error(`NoSuchBucket: The specified bucket does not exist (aws_s3_object ${JSON.stringify(str(config.key))} in ${JSON.stringify(bucket)})`);
      const versioning = ctx.findResource("aws_s3_bucket_versioning", (a) => a.bucket === bucket);
      const status = versioning ? str((list(versioning.versioning_configuration)[0] as Record<string, unknown> | undefined)?.status) : "";
      const content = str(config.content ?? config.content_base64 ?? "");
      const body = config.content_base64 !== undefined && config.content === undefined ? Buffer.from(content, "base64") : Buffer.from(content, "utf8");
      const md5 = createHash("md5").update(body).digest("hex");
      const kms = str(config.server_side_encryption) === "aws:kms" || str(config.server_side_encryption) === "aws:kms:dsse";
      return {
        id: str(config.key),
        etag: kms ? digest(`${seed}:etag:${md5}`).toString("hex").slice(0, 32) : md5,
        version_id: status === "Enabled" ? alnum(`${seed}:version:${md5}`, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._") : "",
        arn: `arn:aws:s3:::${bucket}/${str(config.key)}`,
        storage_class: config.storage_class ?? "STANDARD",
        twin_bucket_versioning: status || "Disabled",
      };
    }
    case "aws_secretsmanager_secret": {
      const name = str(config.name) || prefixedUniqueId(str(config.name_prefix) || "terraform-", seed);
      const arn = `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${alnum(seed, 6)}`;
      return { id: arn, arn, name };
    }
    case "aws_iam_role": {
      const name = str(config.name) || prefixedUniqueId(str(config.name_prefix) || "terraform-", seed).slice(0, 64);
      const path = str(config.path) || "/";
      return { id: name, name, arn: `arn:aws:iam::${accountId}:role${path}${name}`, unique_id: `AROA${alnum(seed, 17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}`, path, create_date: "2026-12-02T00:00:00Z" };
    }
    case "aws_iam_instance_profile": {
      const name = str(config.name) || prefixedUniqueId(str(config.name_prefix) || "terraform-", seed).slice(0, 128);
      const path = str(config.path) || "/";
      return { id: name, name, arn: `arn:aws:iam::${accountId}:instance-profile${path}${name}`, unique_id: `AIPA${alnum(seed, 17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}`, path };
    }
    case "aws_iam_role_policy":
      return { id: `${str(config.role)}:${str(config.name)}` };
    case "aws_cloudwatch_log_group": {
      const name = str(config.name) || prefixedUniqueId(str(config.name_prefix) || "terraform-", seed);
      return { id: name, name, arn: `arn:aws:logs:${region}:${accountId}:log-group:${name}` };
    }
    case "aws_cloudwatch_metric_alarm":
      return { id: str(config.alarm_name), arn: `arn:aws:cloudwatch:${region}:${accountId}:alarm:${str(config.alarm_name)}` };
    case "aws_cloudwatch_dashboard":
      return { id: str(config.dashboard_name), dashboard_arn: `arn:aws:cloudwatch::${accountId}:dashboard/${str(config.dashboard_name)}` };
    case "aws_ssm_parameter": {
      // a name with a leading slash appears once in the ARN (…:parameter/managed-postgres/x)
      const name = str(config.name);
      return { id: name, name, arn: `arn:aws:ssm:${region}:${accountId}:parameter/${name.replace(/^\//, "")}`, version: 1, tier: str(config.tier) || "Standard", data_type: str(config.data_type) || "text" };
    }
    case "aws_sns_topic": {
      const name = str(config.name) || prefixedUniqueId(str(config.name_prefix) || "terraform-", seed);
      const arn = `arn:aws:sns:${region}:${accountId}:${name}`;
      return { id: arn, arn, name, owner: accountId };
    }
    default:
      return { id: hexId(type.replace(/^aws_/, "").replace(/_/g, "-"), seed) };
  }
}

/** Whether `tags_all` applies: resources that take `tags` (the S3 bucket sub-resources, associations, rules-of-policy and aliases do not). */
const UNTAGGED = new Set([
  "aws_route_table_association",
  "aws_iam_role_policy",
  "aws_kms_alias",
  "aws_s3_bucket_versioning",
  "aws_s3_bucket_server_side_encryption_configuration",
  "aws_s3_bucket_policy",
  "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_ownership_controls",
  "aws_s3_bucket_lifecycle_configuration",
  "aws_cloudwatch_dashboard",
]);

/** `tags_all`: the provider's default_tags merged with the resource's tags (tags win); undefined for untaggable types. */
export function tagsAll(type: string, tags: unknown, defaultTags: Record<string, string>): Record<string, string> | undefined {
  if (UNTAGGED.has(type)) return undefined;
  if ((tags === undefined || tags === null) && Object.keys(defaultTags).length === 0) return undefined;
  return { ...defaultTags, ...((tags ?? {}) as Record<string, string>) };
}
