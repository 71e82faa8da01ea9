/**
 * AWS naming rules that the JSON Schema's patterns cannot express, checked at synth so that
 * a value AWS would refuse at apply is a spec error instead. Pure.
 */

/**
 * Prefixes and suffixes S3 refuses in general purpose bucket names ("Bucket naming rules",
 * Amazon S3 user guide: docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html;
 * `sthree-configurator` is covered by `sthree-`).
 */
export const S3_RESERVED_BUCKET_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"] as const;
/** See {@link S3_RESERVED_BUCKET_PREFIXES}: access point, Object Lambda, Multi-Region, directory and table bucket suffixes. */
export const S3_RESERVED_BUCKET_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] as const;

/** The reserved prefix or suffix `bucket` uses, in words; undefined when it uses none. */
export function reservedBucketAffix(bucket: string): string | undefined {
  const prefix = S3_RESERVED_BUCKET_PREFIXES.find((p) => bucket.startsWith(p));
  if (prefix) return `S3 refuses bucket names starting with "${prefix}"`;
  const suffix = S3_RESERVED_BUCKET_SUFFIXES.find((s) => bucket.endsWith(s));
  if (suffix) return `S3 refuses bucket names ending with "${suffix}"`;
  return undefined;
}

/**
 * Tag key prefix AWS reserves ("The aws: prefix is reserved for AWS use": the tagging APIs
 * refuse user keys that start with it, in any case).
 */
export const AWS_RESERVED_TAG_PREFIX = "aws:";

/** A parsed IPv4 CIDR. */
export interface Ipv4Cidr {
  readonly octets: readonly number[];
  readonly prefix: number;
}

/** `a.b.c.d/n` with octets 0–255 and a prefix 0–32; undefined otherwise. */
export function parseIpv4Cidr(cidr: string): Ipv4Cidr | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  return { octets, prefix };
}

/** The network form of a CIDR (host bits cleared): `10.0.0.5/16` → `10.0.0.0/16`. */
export function ipv4Network(cidr: Ipv4Cidr): string {
  const address = cidr.octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - cidr.prefix);
  const network = Math.floor(address / size) * size;
  return `${[24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join(".")}/${cidr.prefix}`;
}

/**
 * What is wrong with an IPv4 CIDR value, in words (undefined when it is a network CIDR):
 * not `a.b.c.d/n`, an octet above 255 or a prefix above 32, host bits set (EC2 stores the
 * network form, so the plan would never settle) or leading zeros, with the form meant suggested.
 */
export function ipv4CidrProblem(value: string): string | undefined {
  const parsed = parseIpv4Cidr(value);
  if (!parsed) {
    return /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/.test(value)
      ? "octets must be 0 to 255 and the prefix 0 to 32"
      : 'expected an IPv4 CIDR such as "10.0.0.0/16"';
  }
  const network = ipv4Network(parsed);
  const canonical = `${parsed.octets.join(".")}/${parsed.prefix}`;
  if (network !== canonical) return `host bits are set; did you mean ${network}?`;
  if (canonical !== value) return `leading zeros are not accepted by Terraform or EC2; did you mean ${canonical}?`;
  return undefined;
}
