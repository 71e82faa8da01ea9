/**
 * Names and addresses of the live harness. Everything it creates on the machine carries
 * the prefix {@link PREFIX}, so a cleanup can find leftovers of a crashed run without
 * touching anything else.
 */

/** Prefix of every namespace, link, process tag and temporary directory of the harness. */
export const PREFIX = "mph3";

/** The harness's private IPv4 /24. All its traffic stays inside it (and on loopback). */
export const SUBNET = "10.77.213";
/** Prefix length of {@link SUBNET}. */
export const SUBNET_BITS = 24;

/** The bridge joining the namespaces; its address lets the test process reach them. */
export const BRIDGE = { name: `${PREFIX}-br`, address: `${SUBNET}.1` } as const;

/** A host of the harness: a network namespace with one veth on the bridge. */
export interface HostDef {
  /** Short name, e.g. `az-a`. */
  readonly key: string;
  /** Network namespace name. */
  readonly netns: string;
  /** Its address on the bridge. */
  readonly address: string;
  /** veth end on the bridge side (root namespace); setting it down partitions the host. */
  readonly vethHost: string;
  /** veth end inside the namespace. */
  readonly vethNs: string;
}

function host(key: string, octet: number, short: string): HostDef {
  return {
    key,
    netns: `${PREFIX}-${key}`,
    address: `${SUBNET}.${octet}`,
    vethHost: `${PREFIX}h-${short}`,
    vethNs: `${PREFIX}n-${short}`,
  };
}

/** The three availability zones, one database node (slot) each. */
export const ZONES: readonly HostDef[] = [host("az-a", 11, "a"), host("az-b", 12, "b"), host("az-c", 13, "c")];
/** Availability zone names the IMDS stand-in reports, slot order. */
export const ZONE_NAMES = ["harness-1a", "harness-1b", "harness-1c"] as const;
/** The PgBouncer tier instance (HAProxy + PgBouncer rw/ro). */
export const POOLER: HostDef = host("pool", 20, "p");
/** The services host: s3rver (S3 over TLS) and the AWS stand-in (IMDSv2, EC2, Secrets Manager). */
export const SERVICES: HostDef = host("svc", 30, "s");

/** Every host, services first (it must be up before the nodes boot). */
export const ALL_HOSTS: readonly HostDef[] = [SERVICES, ...ZONES, POOLER];

/** Region the stand-in pretends to be. */
export const REGION = "eu-west-1";
/** Port of the AWS stand-in (plain HTTP inside the harness subnet, like IMDS). */
export const AWS_PORT = 80;
/** Port of s3rver (HTTPS, self-signed certificate). */
export const S3_PORT = 443;
/** Backup bucket name. */
export const BUCKET = "mph3-backups";
/** s3rver's built-in account (its default credentials). */
export const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;
/** Cluster name of the live spec. */
export const CLUSTER_NAME = "live";
/** Application role the tests create and connect as through the endpoints. */
export const APP_USER = { name: "app", password: "app-live-harness-password" } as const;
/** Root directory of a run: `/var/tmp/mph3-run` (not under /tmp, which every host mounts privately). One run at a time; removed by cleanup. */
export const RUN_ROOT = `/var/tmp/${PREFIX}-run`;
