import type { ResolvedClusterSpec } from "../cluster-spec";

/** A PgBouncer pool: `rw` read-write (the primary), `ro` read-only (the replicas). */
export type PgBouncerPool = "rw" | "ro";

/** A file the node bootstrap writes. */
export interface RenderedFile {
  /** Absolute path on the node, e.g. `/etc/patroni/patroni.yml`. */
  readonly path: string;
  /** Full text of the file. Never contains a password or private key. */
  readonly content: string;
  /** Octal mode, e.g. "0640". */
  readonly mode: string;
  /** "user:group", e.g. "postgres:postgres". */
  readonly owner: string;
}

/** One database node ("slot") of the cluster. */
export interface ClusterMember {
  /** Node name, `<cluster>-<slotIndex>`, e.g. `orders-0`; Patroni and etcd member name. */
  readonly name: string;
  /** Slot index: 0 (standalone) or 0..2 (distributed). */
  readonly slotIndex: number;
  /**
   * Stable private IPv4 address of the slot's ENI. May be an unresolved Terraform token
   * string at synth: renderers must use it verbatim and never parse it.
   */
  readonly address: string;
  /** Availability zone name (or token), informational. */
  readonly zone: string;
}

/** Where the cluster's cloud resources are; differs between AWS and the live harness. */
export interface RuntimeContext {
  /** AWS region (or token), e.g. `eu-west-1`. */
  readonly region: string;
  /** Name of the S3 backup bucket (or token). */
  readonly backupBucket: string;
  /** ARN of the customer-managed KMS key (or token). */
  readonly kmsKeyArn: string;
  /**
   * ARN (or token) of the cluster's Secrets Manager secret. Created empty by Terraform;
   * its JSON value is written once, race-free, by the first node to boot (see
   * `SECRET_FIELDS`).
   */
  readonly secretArn: string;
  /**
   * ARN (or token) of the PgBouncer tier's own Secrets Manager secret (distributed clusters):
   * `POOLER_SECRET_FIELDS` only, written by the database nodes, the only secret the pooler
   * instances read. @default - none (standalone: no pooler tier)
   */
  readonly poolerSecretArn?: string;
  /**
   * Host names (or IPv4 addresses) clients use to reach the PgBouncer tier, which its
   * certificate carries besides `DNS:<cluster>-pooler`: the load balancer's DNS name (a token
   * at synth). @default []
   */
  readonly poolerEndpointNames?: readonly string[];
  /**
   * Name (or token) of the SSM parameter (type String) where the database nodes publish the
   * cluster CA certificate (PEM) for clients' `sslrootcert`. @default - not published
   */
  readonly caCertificateParameter?: string;
  /** S3 endpoint host[:port]. @default - `s3.<region>.amazonaws.com` */
  readonly s3Endpoint?: string;
  /** Whether pgBackRest verifies the S3 endpoint's TLS certificate. @default true */
  readonly s3VerifyTls?: boolean;
  /**
   * Endpoint URL for the AWS API calls of the bootstrap (EC2, Secrets Manager). Only the
   * live harness sets it (a local stand-in).
   * @default - the AWS public endpoints
   */
  readonly awsEndpointUrl?: string;
  /**
   * Instance metadata service (IMDSv2) base URL. Only the live harness sets it.
   * @default "http://169.254.169.254"
   */
  readonly metadataEndpoint?: string;
}

/** Everything a database node's renderers need. */
export interface NodeContext {
  readonly spec: ResolvedClusterSpec;
  /** The node being rendered. */
  readonly self: ClusterMember;
  /** All database nodes of the cluster (1 or 3), slot order. */
  readonly members: readonly ClusterMember[];
  readonly runtime: RuntimeContext;
}

/** Everything a PgBouncer tier instance's renderers need (distributed). */
export interface PoolerContext {
  readonly spec: ResolvedClusterSpec;
  /** The database nodes HAProxy routes to. */
  readonly members: readonly ClusterMember[];
  readonly runtime: RuntimeContext;
}

/**
 * Fields of the cluster secret's JSON value, generated on the first node at first boot.
 * No Terraform resource ever holds them.
 */
export const SECRET_FIELDS = [
  "superuser_password",
  "replication_password",
  "rewind_password",
  "restapi_password",
  "pgbouncer_auth_password",
  "backup_cipher_pass",
  "ca_cert_pem",
  "ca_key_pem",
] as const;

/**
 * Fields of the PgBouncer tier's secret (`RuntimeContext.poolerSecretArn`), written by a
 * database node: the auth user's password, the CA certificate (not its key), and the tier's
 * own certificate and key, issued by the node with the CA key (SAN: the endpoint names and
 * `<cluster>-pooler`). Nothing in it can sign a certificate or log in as another role.
 */
export const POOLER_SECRET_FIELDS = ["pgbouncer_auth_password", "ca_cert_pem", "tls_cert_pem", "tls_key_pem"] as const;
