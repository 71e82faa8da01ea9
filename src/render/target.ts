/**
 * Render targets: what differs in the node configuration between the places a cluster runs.
 *
 * The renderers (`renderPatroniConfig`, `renderPgBackRestConfig`, `renderPgBouncerConfig`,
 * `renderPostgresParameters`, `renderPgHba`) take a {@link RenderTarget} and render every
 * target-specific line themselves; nothing rewrites their output afterwards. The default,
 * {@link AWS_EC2_TARGET}, gives the EC2 files. The Kubernetes target is built by
 * `kubernetesRenderTarget` (src/render/kubernetes). A new target is a new value of this
 * type (plus a field here when it differs in a way no field covers yet). Pure.
 */
import type { PgBouncerPool } from "./types";

/** The DCS Patroni uses. */
export type PatroniDcs =
  | {
      /** etcd v3 API over TLS on the members' addresses (:2379), client-certificate auth. */
      readonly kind: "etcd3";
    }
  | {
      /** Kubernetes API objects (Endpoints or ConfigMaps) hold leader lock and config. */
      readonly kind: "kubernetes";
      /** Namespace of the pods. */
      readonly namespace: string;
      /** Labels Patroni puts on the objects it creates and uses to find members' pods. */
      readonly labels: Readonly<Record<string, string>>;
      /** Label holding the cluster name. @default "cluster-name" (Patroni's) */
      readonly scopeLabel?: string;
      /** Label holding the member's role. @default "role" (Patroni's) */
      readonly roleLabel?: string;
      /** Endpoints instead of ConfigMaps for the leader lock. @default false (Patroni's) */
      readonly useEndpoints?: boolean;
      /**
       * Pod IP (or a placeholder the pod spec substitutes). Patroni requires it with
       * `useEndpoints`; when omitted Patroni reads PATRONI_KUBERNETES_POD_IP.
       * @default - not rendered
       */
      readonly podIp?: string;
    };

/**
 * How the members are addressed.
 * - `member-address`: every member has a stable address known at render time (the slot's
 *   ENI). patroni.yml names the member and its listen/connect addresses; pg_hba admits
 *   replication and pg_rewind from each member's `<address>/32`.
 * - `pod-network`: addresses change (pod IPs on rescheduling). One patroni.yml serves every
 *   member: `name`, `restapi.listen|connect_address` and `postgresql.listen|connect_address`
 *   are left out and come from PATRONI_NAME, PATRONI_RESTAPI_LISTEN|CONNECT_ADDRESS and
 *   PATRONI_POSTGRESQL_LISTEN|CONNECT_ADDRESS (so a process without them fails to start
 *   instead of advertising a wrong address); pg_hba admits replication and pg_rewind from
 *   each of `podNetworkCidrs`. Addresses in pgBackRest files (peers, TLS server) still use
 *   the members' `address` (stable DNS names).
 */
export type MemberAddressing =
  | { readonly kind: "member-address" }
  | {
      readonly kind: "pod-network";
      /** CIDRs of the pod network, e.g. `["10.42.0.0/16"]`; at least one. */
      readonly podNetworkCidrs: readonly string[];
    };

/** Where PgBouncer forwards a pool's databases when not to the node-local HAProxy / PostgreSQL. */
export interface PoolerUpstream {
  /** Host name or address, e.g. `orders-primary.db.svc.cluster.local`. */
  readonly host: string;
  /** TCP port, e.g. 5432. */
  readonly port: number;
  /** One-line comment above the `[databases]` entry (without the leading `; `). */
  readonly comment: string;
  /**
   * The role whose password the userlist holds for `auth_query` logins at this upstream
   * (`auth_user=` of the `[databases]` entry).
   * @default - the `[pgbouncer]` section's `auth_user` (`pgbouncer_auth`)
   */
  readonly authUser?: string;
  /**
   * The CA certificate file that checks this upstream's TLS certificate (`server_tls_ca_file`).
   * @default - the cluster CA (`PATHS.caCert`)
   */
  readonly serverTlsCaFile?: string;
}

/** What differs per target in the rendered node configuration. */
export interface RenderTarget {
  /**
   * AWS credentials of pgBackRest for the S3 repository: `instance-role` (EC2 instance
   * profile, `repo1-s3-key-type=auto`) or `web-identity` (an IAM role assumed with a web
   * identity token, e.g. IRSA: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE,
   * `repo1-s3-key-type=web-id`).
   */
  readonly credentials: "instance-role" | "web-identity";
  /**
   * Where PostgreSQL and PgBouncer log: `file` (PostgreSQL's logging collector into
   * `POSTGRES_LOG_DIRECTORY`, PgBouncer's `logfile`) or `stderr` (`logging_collector = off`,
   * no PgBouncer `logfile`; for a container runtime's log pipeline).
   */
  readonly logging: "file" | "stderr";
  /** Patroni's DCS. */
  readonly dcs: PatroniDcs;
  /** How members are addressed (patroni.yml identity and pg_hba sources). */
  readonly memberAddressing: MemberAddressing;
  /**
   * Where secrets reach the processes: `first-boot-files` (the node bootstrap writes the
   * pgBackRest cipher pass to conf.d/secret.conf) or `environment` (PGBACKREST_REPO1_CIPHER_PASS,
   * e.g. from a Kubernetes Secret).
   */
  readonly secrets: "first-boot-files" | "environment";
  /**
   * TLS certificates of the members: `per-member` (CN = member name; pgBackRest's
   * `tls-server-auth` lists every peer) or `shared` (one certificate, CN = cluster name, for
   * every member; one `tls-server-auth` entry for it).
   */
  readonly certificates: "per-member" | "shared";
  /**
   * PgBouncer upstream per pool.
   * @default - the node-local HAProxy frontend (distributed) or PostgreSQL (standalone)
   */
  readonly poolerUpstreams?: Readonly<Partial<Record<PgBouncerPool, PoolerUpstream>>>;
  /**
   * Where the WAL limits that follow the data volume (`max_wal_size`,
   * `max_slot_wal_keep_size`: `walLimitsForVolume`) come from: `node` (the primary node sets
   * them at run time in Patroni's dynamic configuration from its volume's size; nothing in
   * the rendered files depends on `storageGiB`, so storage growth changes no launch template)
   * or `rendered` (from `spec.storageGiB` into patroni.yml's local parameters: growing the
   * storage changes the file).
   * @default "node"
   */
  readonly walLimits?: "node" | "rendered";
}

/** The EC2 target: instance-role credentials, log files, etcd3, per-member addresses and certificates. */
export const AWS_EC2_TARGET: RenderTarget = Object.freeze({
  credentials: "instance-role",
  logging: "file",
  dcs: Object.freeze({ kind: "etcd3" }),
  memberAddressing: Object.freeze({ kind: "member-address" }),
  secrets: "first-boot-files",
  certificates: "per-member",
});
