/**
 * Data sources the synthesized stacks read, answered from the twin's account and state (pure;
 * the attribute table is in aws.ts's module docstring). A data source the twin does not know
 * is an error naming it: better than a made-up value.
 */
import { availabilityZones, hexId, AccountImage, ComputeContext, regionCode, zoneId } from "./aws";
import { renderPolicyDocument, PolicyDocumentConfig } from "./policy-document";

/** A volume as EC2 describes it (twin resources of the prior state and the account's other volumes). */
export interface VolumeView {
  id: string;
  availability_zone: string;
  size: number;
  tags: Record<string, string>;
  encrypted: boolean;
  kms_key_id: string;
  volume_type: string;
  arn: string;
}

/** What data sources read besides the configuration. */
export interface DataContext extends ComputeContext {
  amiId: string;
  /** The account's AMIs. @default - one Debian 13 image, {@link amiId} */
  images?: AccountImage[];
  /** Volumes that exist before this apply (prior state + account). */
  volumes: VolumeView[];
  /** Subnets and VPCs of the account (pre-existing) and of the twin (created earlier in this apply). */
  subnets(): Record<string, unknown>[];
  vpcs(): Record<string, unknown>[];
}

interface Filter {
  name: string;
  values: string[];
}

function filters(config: Record<string, unknown>): Filter[] {
  const f = config.filter;
  if (f === undefined || f === null) return [];
  return (Array.isArray(f) ? f : [f]) as Filter[];
}

/** EC2 filter value matching: `*` and `?` wildcards (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Filtering.html). */
function wildcard(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return re.test(value);
}

/** True when an object matches every filter (EC2: AND across filters, OR across a filter's values). */
function matches(object: Record<string, unknown>, fs: Filter[], field: (name: string, o: Record<string, unknown>) => unknown): boolean {
  return fs.every((f) => {
    const v = field(f.name, object);
    if (v === undefined) throw new Error(`the twin does not model the EC2 filter ${JSON.stringify(f.name)}`);
    const values = Array.isArray(v) ? v.map(String) : v === null ? [] : [String(v)];
    return f.values.some((p) => values.some((x) => wildcard(p, x)));
  });
}

function tagField(name: string, o: Record<string, unknown>): unknown {
  if (name.startsWith("tag:")) {
    const tags = (o.tags ?? {}) as Record<string, string>;
    return name.slice(4) in tags ? tags[name.slice(4)] : null;
  }
  if (name === "tag-key") return Object.keys((o.tags ?? {}) as object);
  return undefined;
}

function volumeField(name: string, o: Record<string, unknown>): unknown {
  const v = o as unknown as VolumeView;
  switch (name) {
    case "volume-id":
      return v.id;
    case "availability-zone":
      return v.availability_zone;
    case "size":
      return String(v.size);
    case "volume-type":
      return v.volume_type;
    case "encrypted":
      return String(v.encrypted);
    default:
      return tagField(name, o);
  }
}

function subnetField(name: string, o: Record<string, unknown>): unknown {
  switch (name) {
    case "subnet-id":
      return o.id;
    case "vpc-id":
      return o.vpc_id;
    case "availability-zone":
      return o.availability_zone;
    case "cidr-block":
    case "cidr":
      return o.cidr_block;
    default:
      return tagField(name, o);
  }
}

function pickOne<T>(what: string, found: T[]): T {
  if (found.length === 0) throw new Error(`${what}: no matching EC2 object found (the provider's "Your query returned no results")`);
  if (found.length > 1) throw new Error(`${what}: multiple EC2 objects matched; use additional constraints to reduce matches to a single EC2 object`);
  return found[0];
}

/**
 * The attributes of a data source read with this (resolved) configuration.
 * @throws Error for an unknown data source type, or a lookup that finds nothing (as the provider does)
 */
export function readDataSource(ctx: DataContext, type: string, config: Record<string, unknown>, address: string): Record<string, unknown> {
  const { accountId, region } = ctx;
  switch (type) {
    case "aws_iam_policy_document":
      return { ...renderPolicyDocument(config as PolicyDocumentConfig) };
    case "aws_caller_identity":
      return { id: accountId, account_id: accountId, arn: `arn:aws:sts::${accountId}:assumed-role/twin-deployer/terraform`, user_id: `AROA${"TWINDEPLOYER00000"}:terraform` };
    case "aws_partition":
      return { id: "aws", partition: "aws", dns_suffix: "amazonaws.com", reverse_dns_prefix: "com.amazonaws" };
    case "aws_region": {
      if (config.region && config.region !== region) throw new Error(`${address}: the twin has one region (${region}), asked for ${String(config.region)}`);
      return { id: region, region, name: region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
    }
    case "aws_availability_zones": {
      const z = availabilityZones(region);
      return { id: region, ...z, group_names: [region], state: config.state ?? null };
    }
    case "aws_ami": {
      // The account's images under the Debian cloud team's names; the `name` filter picks the
      // release (every image exists for both architectures: the machines run the host's).
      const arch = filters(config).find((f) => f.name === "architecture")?.values[0] ?? "x86_64";
      const owners = (config.owners ?? []) as string[];
      const named = (i: AccountImage) => `debian-${i.release}-${arch === "arm64" ? "arm64" : "amd64"}-20261201-2000`;
      const patterns = filters(config).find((f) => f.name === "name")?.values;
      const images = (ctx.images ?? [{ id: ctx.amiId, release: 13, suite: "trixie" }]).filter((i) => !patterns || patterns.some((p) => wildcard(p, named(i))));
      const i = config.most_recent === true && images.length > 0 ? images[0] : pickOne(`${address} (aws_ami ${JSON.stringify(patterns ?? [])})`, images);
      return { id: i.id, image_id: i.id, arn: `arn:aws:ec2:${region}::image/${i.id}`, architecture: arch, owner_id: owners[0] ?? "amazon", root_device_name: "/dev/xvda", root_device_type: "ebs", virtualization_type: "hvm", name: named(i) };
    }
    case "aws_vpc": {
      const vpcs = ctx.vpcs().filter((v) => (config.id === undefined || v.id === config.id) && matches(v, filters(config), (n, o) => (n === "vpc-id" ? o.id : n === "cidr" ? o.cidr_block : tagField(n, o))));
      const v = pickOne(`${address} (aws_vpc ${JSON.stringify(config.id ?? "")})`, vpcs);
      return { id: v.id, arn: v.arn ?? `arn:aws:ec2:${region}:${accountId}:vpc/${String(v.id)}`, cidr_block: v.cidr_block, owner_id: accountId, tags: v.tags ?? {}, main_route_table_id: v.main_route_table_id ?? null, default: false, state: "available" };
    }
    case "aws_subnet": {
      const subnets = ctx.subnets().filter((s) => (config.id === undefined || s.id === config.id) && (config.vpc_id === undefined || s.vpc_id === config.vpc_id) && matches(s, filters(config), subnetField));
      const s = pickOne(`${address} (aws_subnet ${JSON.stringify(config.id ?? "")})`, subnets);
      return {
        id: s.id,
        arn: s.arn ?? `arn:aws:ec2:${region}:${accountId}:subnet/${String(s.id)}`,
        vpc_id: s.vpc_id,
        cidr_block: s.cidr_block,
        availability_zone: s.availability_zone,
        availability_zone_id: s.availability_zone_id ?? zoneId(region, String(s.availability_zone)),
        owner_id: accountId,
        tags: s.tags ?? {},
        state: "available",
      };
    }
    case "aws_ebs_volumes": {
      const ids = ctx.volumes.filter((v) => matches(v as unknown as Record<string, unknown>, filters(config), volumeField)).map((v) => v.id);
      return { id: region, ids: ids.sort() };
    }
    case "aws_ebs_volume": {
      let found = ctx.volumes.filter((v) => matches(v as unknown as Record<string, unknown>, filters(config), volumeField));
      if (config.most_recent === true) found = found.slice(-1);
      const v = pickOne(`${address} (aws_ebs_volume)`, found);
      return { id: v.id, volume_id: v.id, arn: v.arn, availability_zone: v.availability_zone, size: v.size, tags: v.tags, encrypted: v.encrypted, kms_key_id: v.kms_key_id, volume_type: v.volume_type };
    }
    case "aws_ec2_managed_prefix_list": {
      const name = String(config.name ?? "");
      const known = [`com.amazonaws.${region}.s3`, `com.amazonaws.${region}.dynamodb`];
      if (config.id === undefined && !known.includes(name)) throw new Error(`${address}: no AWS-managed prefix list named ${JSON.stringify(name)} in ${region} (known: ${known.join(", ")})`);
      const id = (config.id as string | undefined) ?? hexId("pl", `${region}:${name}`, 8);
      return { id, arn: `arn:aws:ec2:${region}:aws:prefix-list/${id}`, name, address_family: "IPv4", owner_id: "AWS", max_entries: 0, version: 0, entries: [], tags: {} };
    }
    default:
      throw new Error(`${address}: the twin does not model the data source ${type} (${regionCode(region)})`);
  }
}
