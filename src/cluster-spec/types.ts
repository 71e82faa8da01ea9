import type { Architecture, SizeName } from "./sizes";
import type { MajorVersion } from "./versions";

/** Deployment models (Cloud Temple Managed PostgreSQL). Immutable once deployed. */
export const DEPLOYMENT_MODELS = ["standalone", "distributed"] as const;
/**
 * `standalone`: one PostgreSQL node, PgBouncer on the node, one endpoint.
 * `distributed`: three nodes in three availability zones (one primary, one synchronous
 * standby, one replica), automatic failover by Patroni, a PgBouncer tier with a
 * read-write and a read-only endpoint.
 */
export type DeploymentModel = (typeof DEPLOYMENT_MODELS)[number];

/** PgBouncer pool modes. */
export const POOL_MODES = ["transaction", "session", "statement"] as const;
/** One of {@link POOL_MODES}. */
export type PoolMode = (typeof POOL_MODES)[number];

/** Days of the week for the maintenance window. */
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
/** One of {@link WEEKDAYS}. */
export type Weekday = (typeof WEEKDAYS)[number];

/** Backup options. */
export interface BackupSpec {
  /**
   * Days a full physical backup (and the WAL needed to restore from it) is kept; the
   * PITR window. Integer, 1 to 365.
   * @default 7 (PostgreSQL reference architecture: "Daily, 7-day retention")
   */
  readonly retentionDays?: number;
  /**
   * Time of day (UTC, "HH:MM") of the daily full physical backup.
   * @default "01:00"
   */
  readonly fullBackupTime?: string;
  /** Logical (pg_dump) exports. */
  readonly logicalDump?: LogicalDumpSpec;
  /**
   * Days after which backup objects move to S3 Standard-IA. Integer ≥ 30 (S3's minimum
   * for Standard-IA transitions).
   * @default 30
   */
  readonly coldStorageAfterDays?: number;
}

/** Logical dump options. */
export interface LogicalDumpSpec {
  /**
   * When to run pg_dump of every database, as a systemd OnCalendar expression (UTC).
   * @default "Sun *-*-* 03:00:00" (PostgreSQL reference architecture: weekly logical exports)
   */
  readonly schedule?: string;
  /**
   * Days logical dumps are kept. Integer, 1 to 3650.
   * @default 30 (PostgreSQL reference architecture: "Logical Exports (pg_dump) … 30 days")
   */
  readonly retentionDays?: number;
}

/** PgBouncer options (defaults from the PostgreSQL reference architecture's production PgBouncer configuration). */
export interface PoolerSpec {
  /** @default "transaction" (PostgreSQL reference architecture) */
  readonly poolMode?: PoolMode;
  /**
   * Application client connections per PgBouncer (the rendered max_client_conn adds a few for
   * the exporter and operators). Integer, 10 to 100000. @default 1000 (PostgreSQL reference architecture)
   */
  readonly maxClientConnections?: number;
  /** default_pool_size per user/database pair. Integer, 1 to 10000. @default 20 (PostgreSQL reference architecture) */
  readonly defaultPoolSize?: number;
  /**
   * Number of PgBouncer instances in the pooler tier (distributed only). Integer, 2 to 9.
   * @default 2
   */
  readonly instanceCount?: number;
  /**
   * Replication lag, in bytes, above which a replica leaves the read-only pool
   * (HAProxy checks Patroni's `/replica?lag=<bytes>`). Integer ≥ 0.
   * @default 16777216 (16 MiB: one WAL segment)
   */
  readonly readOnlyMaxLagBytes?: number;
}

/**
 * Patroni's failover timing, in whole seconds (Patroni's `ttl`, `loop_wait`,
 * `retry_timeout`; docs "Dynamic Configuration Settings"). Rules (Patroni 4.0.7,
 * `patroni/config.py`, which does not reject a value breaking them but adjusts it with a
 * warning, so the spec rejects it): `ttl` ≥ 20, `loopWait` ≥ 1, `retryTimeout` ≥ 3, and
 * `loopWait + 2 × retryTimeout ≤ ttl`. Applied when the cluster is created (Patroni's
 * `bootstrap.dcs`); a running cluster keeps the values stored in its DCS.
 * Defaults and their reasoning: `PATRONI_TIMING` in src/render/patroni.ts.
 */
export interface PatroniTimingSpec {
  /** Seconds the leader key lives without renewal: the failover time's main term. Integer, 20 to 3600. @default 20 */
  readonly ttl?: number;
  /** Seconds between Patroni's HA loops (the leader renews its key once per loop). Integer, 1 to 3600. @default 8 */
  readonly loopWait?: number;
  /** Seconds Patroni retries the DCS and PostgreSQL before giving up (a leader then demotes). Integer, 3 to 3600. @default 5 */
  readonly retryTimeout?: number;
}

/** Where the cluster lives and who may connect. */
export interface NetworkSpec {
  /** VPC id (`vpc-…`) or an unresolved token. */
  readonly vpcId: string;
  /**
   * Private subnet ids: exactly 3, in 3 different availability zones, for `distributed`
   * (slot i goes to subnet i); exactly 1 for `standalone`.
   */
  readonly subnetIds: readonly string[];
  /** IPv4 CIDRs allowed to connect to the endpoints. Never 0.0.0.0/0. @default [] */
  readonly allowedCidrs?: readonly string[];
  /** Security group ids allowed to connect to the endpoints. @default [] */
  readonly allowedSecurityGroupIds?: readonly string[];
}

/** Weekly maintenance window (UTC) for minor updates, applied node by node. */
export interface MaintenanceWindowSpec {
  /** @default "sun" */
  readonly day?: Weekday;
  /** "HH:MM", UTC. @default "02:00" */
  readonly startTime?: string;
  /** Integer minutes, 30 to 480. @default 60 */
  readonly durationMinutes?: number;
}

/**
 * A cluster's specification: what a user writes in TypeScript props or in a
 * `postgres.yaml` spec file. Validated by {@link validateClusterSpec} against the JSON
 * Schema `cluster-spec.schema.json` plus the cross-field rules.
 */
export interface ClusterSpec {
  /**
   * Cluster name: 1 to 40 characters, lower-case letters, digits and hyphens, starting with
   * a letter, not ending with a hyphen. Used in resource names, tags and the pgBackRest stanza.
   */
  readonly name: string;
  /** Deployment model; immutable once deployed (Cloud Temple Managed PostgreSQL). */
  readonly deployment: DeploymentModel;
  /** Instance size (the size table). */
  readonly size: SizeName;
  /** Data volume size in GiB: integer, 2 to 128. Grows online, never shrinks. */
  readonly storageGiB: number;
  /** PostgreSQL major version. @default 17 */
  readonly majorVersion?: MajorVersion;
  /**
   * Allows a `majorVersion` higher than the deployed one; the entry point of the major
   * upgrade path. @default false
   */
  readonly allowMajorVersionUpgrade?: boolean;
  /** EC2 CPU architecture. @default "arm64" (Graviton) */
  readonly architecture?: Architecture;
  /** Backup options. @default - see {@link BackupSpec} */
  readonly backup?: BackupSpec;
  /** PgBouncer options. @default - see {@link PoolerSpec} */
  readonly pooler?: PoolerSpec;
  /** Network placement; required to synthesize, optional in a spec file. */
  readonly network?: NetworkSpec;
  /** Maintenance window. @default - Sunday 02:00 UTC for 60 minutes */
  readonly maintenanceWindow?: MaintenanceWindowSpec;
  /**
   * Roll pending changes (a new launch template version, a restart or reload) through the
   * nodes at once instead of waiting for {@link maintenanceWindow} (Amazon RDS's term). The
   * roll stays one node at a time, replicas first, and pauses while the cluster is unhealthy
   * (docs/operations.md). @default false
   */
  readonly applyImmediately?: boolean;
  /** Patroni failover timing. @default - ttl 20, loopWait 8, retryTimeout 5 (see {@link PatroniTimingSpec}) */
  readonly patroni?: PatroniTimingSpec;
  /** Tags added to every resource. Keys must not start with `managed-postgres:`. @default {} */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Create this cluster ("green") as the major-version upgrade of another cluster ("blue"),
   * through logical replication: green bootstraps on its own `majorVersion`, copies blue's
   * roles and schema, subscribes to all of blue's tables and follows it until
   * `upgradeFrom.cutover` is set (docs/UPGRADING.md, "Major versions"). AWS target only: the
   * Kubernetes construct refuses it. Checked by `upgradeFromIssues` (src/rules/upgrade.ts) and,
   * against the prior state, by `checkUpgradeFrom` (src/rules/safety.ts).
   * @default - a new, empty cluster (or `restoreFrom`'s restore; the two exclude each other)
   */
  readonly upgradeFrom?: UpgradeFrom;
  /**
   * On the blue cluster of a blue/green major upgrade: admit the green cluster's nodes, which
   * connect to blue's PostgreSQL as blue's superuser (roles and schema copy, publication,
   * subscriptions' walsenders), over TLS with scram-sha-256, from each of
   * `upgradeTo.nodeAddresses` (`/32` rules of blue's `pg_hba.conf`, before the rules that reject
   * the superuser from every other address), and `wal_level` `logical` instead of `replica`
   * (logical decoding on blue). Setting or removing it is a new launch template version of
   * blue's nodes (rolled like any change) and, through `wal_level`, a restart of every member
   * of blue (docs/UPGRADING.md, "Blue/green"). With `upgradeTo.readWriteEndpoint` (and its
   * port), blue's endpoints follow green at the cutover ({@link UpgradeTo.readWriteEndpoint});
   * green then needs `upgradeFrom.poolerSecurityGroupId`. AWS target only (a synth error on
   * Kubernetes).
   * @default - blue admits its superuser from no remote address
   */
  readonly upgradeTo?: UpgradeTo;
}

/** `upgradeTo` of the blue cluster (see {@link ClusterSpec.upgradeTo}). */
export interface UpgradeTo {
  /**
   * Green's database node addresses (its `<id>_node_addresses` output): 1 to 3 distinct IPv4
   * addresses, each admitted as `hostssl all <superuser> <address>/32 scram-sha-256`.
   */
  readonly nodeAddresses: readonly string[];
  /**
   * Green's read-write endpoint host (its `<id>_read_write_endpoint` output): the DNS name of
   * green's internal Network Load Balancer when green is distributed, green's node private IPv4
   * address when green is standalone; may be a Terraform token (then checked at plan time).
   * When set, blue's endpoints follow green at the cutover: blue's PgBouncers (on blue's pooler
   * instances when blue is distributed, on blue's node when standalone) are re-pointed at
   * green's endpoints, blue's read-write pool to this host on {@link readWritePort}, so clients
   * of blue's endpoints change nothing. Blue's PgBouncer hosts must reach it: give green
   * `upgradeFrom.poolerSecurityGroupId` (blue's `<id>_pooler_security_group_id` output).
   *
   * Allowed: a DNS name of at most 253 characters, dot-separated labels of 1 to 63 letters,
   * digits and hyphens (not starting or ending with a hyphen, the last label starting with a
   * letter), or an IPv4 address. Errors (`SpecValidationError` naming the field, the value and
   * what is allowed): anything else (spaces, newlines, `$`, `;`, `/`, `:`, a port suffix), and
   * this field without {@link readWritePort} or the port without it.
   * @default - blue's PgBouncers are not re-pointed: clients move to green's endpoints themselves
   */
  readonly readWriteEndpoint?: string;
  /**
   * Green's read-write endpoint port (its `<id>_read_write_port` output): 5432 when green is
   * distributed (its load balancer's listener, `PORTS.endpointReadWrite`), 6432 when standalone
   * (PgBouncer on its node, `PORTS.pgbouncerReadWrite`); a number token is checked at plan
   * time. Required with {@link readWriteEndpoint}, refused without it; any other number is a
   * `SpecValidationError`.
   * @default - none (only with {@link readWriteEndpoint})
   */
  readonly readWritePort?: number;
  /**
   * Green's read-only endpoint host (its `<id>_read_only_endpoint` output; standalone: the
   * read-write one), same shape, token handling and errors as {@link readWriteEndpoint}:
   * blue's read-only pool goes to this host on {@link readOnlyPort} at the cutover. Only with
   * {@link readWriteEndpoint} and {@link readOnlyPort}; alone, a `SpecValidationError`.
   * @default - blue's read-only pool goes to green's read-write endpoint
   *   ({@link readWriteEndpoint} on {@link readWritePort}: green's primary), like its read-write pool
   */
  readonly readOnlyEndpoint?: string;
  /**
   * Green's read-only endpoint port (its `<id>_read_only_port` output): 5433 when green is
   * distributed (`PORTS.endpointReadOnly`), 6432 when standalone. Required with
   * {@link readOnlyEndpoint}, refused without it; any other number is a `SpecValidationError`.
   * @default - none (only with {@link readOnlyEndpoint})
   */
  readonly readOnlyPort?: number;
}

/**
 * `upgradeFrom`: the blue cluster a new ("green") cluster upgrades by logical replication
 * (see {@link ClusterSpec.upgradeFrom}). Every field is user data: it reaches green's nodes as
 * the bootstrap header values `UPGRADE_FROM_CLUSTER`, `UPGRADE_FROM_MAJOR`,
 * `UPGRADE_FROM_SECRET`, `UPGRADE_FROM_ADDRESSES` (space-separated) and `UPGRADE_CUTOVER`
 * (`0` or `1`), shell-quoted and Terraform-escaped (`$${`, `%%{`).
 *
 * Blue must admit green's nodes: `upgradeTo: { nodeAddresses: <green's node addresses> }` on blue
 * ({@link ClusterSpec.upgradeTo}); until then green's nodes retry every minute.
 *
 * Errors (`SpecValidationError`, each naming the field, the value and what is allowed):
 * a field outside its pattern, `majorVersion` not lower than green's `majorVersion`,
 * `upgradeFrom` together with `restoreFrom`; with a prior state, `upgradeFrom` on a cluster
 * deployed without it, and a `clusterName` the prior state does not hold.
 */
export interface UpgradeFrom {
  /** Blue's cluster name (its `name`, the `managed-postgres:cluster` tag of its resources). */
  readonly clusterName: string;
  /** Blue's PostgreSQL major version: 15 or 16, lower than this cluster's `majorVersion`. */
  readonly majorVersion: 15 | 16;
  /**
   * ARN of blue's Secrets Manager secret (its `<id>_secret_arn` output): green's nodes read
   * blue's superuser and replication passwords from it (fields of `SECRET_FIELDS`,
   * src/render/types.ts). Green's node role gets `secretsmanager:GetSecretValue` on this ARN only.
   */
  readonly secretArn: string;
  /**
   * ARN of blue's KMS key (its `<id>_kms_key_arn` output), which encrypts blue's secret.
   * Green's node role gets `kms:Decrypt` on this key only, through Secrets Manager only
   * (`kms:ViaService`), as `restoreFrom.backupKmsKeyArn` does.
   * @default - no KMS permission (blue's secret uses an AWS-managed key)
   */
  readonly kmsKeyArn?: string;
  /**
   * Blue's database node addresses (its `<id>_node_addresses` output): 1 (standalone) to 3
   * (distributed) IPv4 addresses. Green's nodes connect to PostgreSQL on 5432 and to Patroni's
   * REST API on 8008 of each.
   */
  readonly nodeAddresses: readonly string[];
  /**
   * Blue's database security group id (its `<id>_node_security_group_id` output). Green's
   * stack adds two ingress rules to it, from green's node security group, TCP 5432 and 8008;
   * they belong to green and go away with green (or when `upgradeFrom` is removed).
   */
  readonly securityGroupId: string;
  /**
   * The security group of blue's PgBouncer hosts (blue's `<id>_pooler_security_group_id`
   * output: its pooler instances' group when blue is distributed, its node group when
   * standalone), for blue's endpoints to follow green at the cutover (blue's
   * `upgradeTo.readWriteEndpoint`). Green's stack adds, from green's side, an ingress rule on
   * green's endpoint security group (distributed: its load balancer's group, TCP 5432 and
   * 5433; standalone: its node group, TCP 6432) from this group, and the matching egress rules
   * of this group to green's; they belong to green and go away with green (or when the field
   * is removed). A security group id such as `"sg-0abc1234"` (token allowed, checked at plan
   * time); anything else is a `SpecValidationError`.
   * @default - no rule: blue's PgBouncers cannot reach green's endpoints
   */
  readonly poolerSecurityGroupId?: string;
  /**
   * Run the cutover: blue read-only, green applies the rest, sequences copied, subscription
   * dropped. Setting it is a new launch template version of green's nodes, rolled like any
   * other change (maintenance window, or at once with `applyImmediately`); `managed-postgres
   * review` shows it as a cutover with its risks.
   * @default false
   */
  readonly cutover?: boolean;
}

/**
 * A {@link ClusterSpec} with every default applied (see {@link DEFAULTS}); what renderers and
 * constructs work from. Each field means what the same field of {@link ClusterSpec} means.
 */
export interface ResolvedClusterSpec {
  /** Cluster name (see {@link ClusterSpec.name}). */
  readonly name: string;
  /** Deployment model; immutable once deployed. */
  readonly deployment: DeploymentModel;
  /** Instance size (Cloud Temple Managed PostgreSQL). */
  readonly size: SizeName;
  /** Data volume size in GiB, 2 to 128; may be an unresolved token number. */
  readonly storageGiB: number;
  /** PostgreSQL major version. */
  readonly majorVersion: MajorVersion;
  /** Whether a higher major version than the deployed one is allowed. */
  readonly allowMajorVersionUpgrade: boolean;
  /** EC2 CPU architecture. */
  readonly architecture: Architecture;
  /** Backup options with defaults applied (see {@link BackupSpec}). */
  readonly backup: {
    /** Days full backups and their WAL are kept (the PITR window). */
    readonly retentionDays: number;
    /** UTC "HH:MM" of the daily full backup. */
    readonly fullBackupTime: string;
    /** Logical dump schedule (systemd OnCalendar, UTC) and retention in days. */
    readonly logicalDump: { readonly schedule: string; readonly retentionDays: number };
    /** Days before backup objects move to S3 Standard-IA. */
    readonly coldStorageAfterDays: number;
  };
  /** PgBouncer options with defaults applied (see {@link PoolerSpec}). */
  readonly pooler: {
    /** PgBouncer pool mode. */
    readonly poolMode: PoolMode;
    /** max_client_conn per PgBouncer. */
    readonly maxClientConnections: number;
    /** default_pool_size per user/database pair. */
    readonly defaultPoolSize: number;
    /** PgBouncer instances in the pooler tier (distributed). */
    readonly instanceCount: number;
    /** Replication lag in bytes above which a replica leaves the read-only pool. */
    readonly readOnlyMaxLagBytes: number;
  };
  /** Network placement; absent only when the spec was validated without one (spec files). */
  readonly network?: {
    /** VPC id or token. */
    readonly vpcId: string;
    /** Private subnet ids (1 or 3), slot order. */
    readonly subnetIds: readonly string[];
    /** Client IPv4 CIDRs allowed to the endpoints. */
    readonly allowedCidrs: readonly string[];
    /** Client security groups allowed to the endpoints. */
    readonly allowedSecurityGroupIds: readonly string[];
  };
  /** Weekly maintenance window, UTC. */
  readonly maintenanceWindow: {
    /** Day of the week. */
    readonly day: Weekday;
    /** Start, "HH:MM" UTC. */
    readonly startTime: string;
    /** Length in minutes. */
    readonly durationMinutes: number;
  };
  /** Whether pending changes roll at once rather than in the maintenance window. */
  readonly applyImmediately: boolean;
  /** User tags added to every resource. */
  readonly tags: Readonly<Record<string, string>>;
  /** Patroni failover timing in seconds (see {@link PatroniTimingSpec}). */
  readonly patroni: {
    /** Leader key time to live. */
    readonly ttl: number;
    /** Seconds between HA loops. */
    readonly loopWait: number;
    /** Seconds of retries before giving up. */
    readonly retryTimeout: number;
  };
  /** The blue cluster this one upgrades, `cutover` defaulted to false (see {@link ClusterSpec.upgradeFrom}); absent when not given. */
  readonly upgradeFrom?: UpgradeFrom & { readonly cutover: boolean };
  /** The green cluster's addresses blue admits (see {@link ClusterSpec.upgradeTo}); absent when not given. */
  readonly upgradeTo?: UpgradeTo;
}

/** Tag keys the library sets on every resource (prior-state readers find resources by them). */
export const TAG_CLUSTER = "managed-postgres:cluster";
/** Tag key of the deployment model, on data volumes. */
export const TAG_DEPLOYMENT_MODEL = "managed-postgres:deployment-model";
/** Tag key of a slot's index ("0", "1", "2"), on slot resources. */
export const TAG_SLOT = "managed-postgres:slot";
/**
 * Tag key naming what a slot's own resource is: `network-interface` on the slot's ENI,
 * `data-volume` on its data volume ({@link SLOT_RESOURCE}). The node bootstrap and the
 * plan-time guard select a slot's ENI and volume by it, never by the cluster and slot tags
 * alone: an instance's launch-created root volume and primary interface carry the cluster's
 * cost tags too.
 */
export const TAG_SLOT_RESOURCE = "managed-postgres:slot-resource";
/** Values of {@link TAG_SLOT_RESOURCE}. */
export const SLOT_RESOURCE = { networkInterface: "network-interface", dataVolume: "data-volume" } as const;
/**
 * Tag key on the resources a launch template creates with each instance (its root volume and
 * primary network interface): `root-volume` or `primary-network-interface`. They never carry
 * {@link TAG_SLOT} or {@link TAG_SLOT_RESOURCE}.
 */
export const TAG_LAUNCH_RESOURCE = "managed-postgres:launch-resource";
/** Tag key of the major version, on data volumes. */
export const TAG_MAJOR_VERSION = "managed-postgres:major-version";
/**
 * Tag key on the data volumes of a cluster created with `upgradeFrom`: the blue cluster's
 * name. The prior-state rule tells a green cluster (which keeps `upgradeFrom` until after its
 * cutover) from a deployed cluster that `upgradeFrom` was added to (refused).
 */
export const TAG_UPGRADE_FROM = "managed-postgres:upgrade-from";
/** Prefix reserved for the library's own tags. */
export const RESERVED_TAG_PREFIX = "managed-postgres:";

/**
 * `restoreFrom`: create a cluster from another cluster's pgBackRest backups (PITR), the way
 * to change a deployment model, to shrink storage, or to go back in time into a new cluster.
 * Checked by `restoreFromIssues` (src/rules/restore.ts); rendered by src/render/restore.ts.
 */
export interface RestoreFrom {
  /** Name of the source cluster's backup bucket (S3 bucket name, not an ARN). */
  readonly backupBucket: string;
  /** pgBackRest stanza of the source cluster: its cluster name. */
  readonly stanza: string;
  /**
   * Recovery target: `"latest"` (the end of the archived WAL) or an ISO 8601 timestamp with
   * a time zone, to the second or finer: `2026-11-20T10:00:00Z`, `2026-11-20 10:00:00+00:00`.
   */
  readonly target: string;
  /**
   * ARN of the source cluster's Secrets Manager secret (its `<id>_secret_arn` output). The
   * backups are encrypted client-side (pgBackRest aes-256-cbc) with the source's
   * `backup_cipher_pass`; the new nodes read it from this secret, and only from it.
   */
  readonly secretArn: string;
  /**
   * ARN of the source cluster's KMS key (its `<id>_kms_key_arn` output), which encrypts its
   * bucket (SSE-KMS) and its secret. The instance role gets `kms:Decrypt` on this key only,
   * through S3 and Secrets Manager only (`kms:ViaService`).
   * @default - no KMS permission (the source bucket and secret use AWS-managed keys)
   */
  readonly backupKmsKeyArn?: string;
  /**
   * AWS region of the source bucket.
   * @default - this cluster's region
   */
  readonly region?: string;
}
