/**
 * The node bootstrap script, `PATHS.bootstrapScript` (`/usr/local/sbin/managed-postgres-bootstrap`):
 * bash, `set -euo pipefail`, shellcheck-clean, idempotent (safe at every boot and when
 * run again), never prints a secret (no `set -x`; secrets never on a command line).
 *
 * ## Contract (the live harness depends on it)
 *
 * `managed-postgres-bootstrap [prepare|start|finalize|all]`, default `all`; exit 0 on
 * success, non-zero with a message on stderr otherwise.
 *
 * - `prepare` — no systemctl. Database node:
 *   0. packages: every required command present, else `apt-get install` the missing
 *      Debian packages ({@link nodePackages});
 *   1. IMDSv2: `PUT <metadata>/latest/api/token` (header
 *      `X-aws-ec2-metadata-token-ttl-seconds: 21600`), then `GET
 *      /latest/meta-data/instance-id` and `/latest/meta-data/placement/availability-zone`
 *      with `X-aws-ec2-metadata-token`; `<metadata>` = `runtime.metadataEndpoint` or
 *      `http://169.254.169.254`;
 *   2. slot address: skipped when `ctx.self.address` is on an interface; else the ENI
 *      tagged `managed-postgres:cluster=<name>` + `managed-postgres:slot=<index>` +
 *      `managed-postgres:slot-resource=network-interface` (exactly one must match: two or
 *      none is refused, non-zero) is attached as device 1, the address configured (DHCP or
 *      `ip addr add` with the prefix of IMDS
 *      `network/interfaces/macs/<mac>/subnet-ipv4-cidr-block`); when the ENI is not the
 *      default-route interface, replies from the slot address leave through it (`ip rule
 *      from`, table 1001 + slot) and so does every connection to another member (a /32 route
 *      per member address with `src <slot address>`). While another instance holds the ENI
 *      or the volume (an instance being replaced), the node waits up to 10 minutes,
 *      force-detaching from a holder that is `terminated` (at once) or `shutting-down` (after
 *      2 minutes), never from a live one; when it still cannot take its slot it calls
 *      `autoscaling set-instance-health --health-status Unhealthy` on itself and exits non-zero;
 *   3. data volume: skipped (after an online grow) when `PATHS.dataMount` is a mountpoint;
 *      else the volume tagged like the ENI but `managed-postgres:slot-resource=data-volume`
 *      is attached as `/dev/sdf`, its NVMe device
 *      `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol…` awaited, formatted ext4
 *      ONLY when `blkid -p` finds no filesystem and no partition table, added to
 *      /etc/fstab (by UUID, `nofail`), mounted and grown;
 *   4. secrets: `get-secret-value`; when the secret has no value yet
 *      (ResourceNotFoundException) this node generates a candidate (passwords
 *      `openssl rand -hex 32`, an EC P-256 CA valid 10 years) and offers it with
 *      `put-secret-value --client-request-token <secretClientRequestToken(name)>`; success
 *      or not, it re-reads and uses what is stored;
 *   5. TLS: `PATHS.caCert`; a key and certificate for this host (CN = member name,
 *      SAN = IP:<address>, DNS:<address> (pgBackRest 2.45 matches hosts against DNS
 *      names only), DNS:<member name>, serverAuth + clientAuth, 10 years) signed
 *      with the CA key, which only ever exists in a private directory under /run, removed
 *      on exit; kept across runs while valid for 30 more days, signed by the CA and for
 *      this address;
 *   6. secret-bearing files: `PATHS.patroniEnv` (PATRONI_SUPERUSER_PASSWORD,
 *      PATRONI_REPLICATION_PASSWORD, PATRONI_REWIND_PASSWORD, PATRONI_RESTAPI_USERNAME,
 *      PATRONI_RESTAPI_PASSWORD, PGBOUNCER_AUTH_PASSWORD; postgres 0600),
 *      `<PATHS.pgbackrestConfigIncludeDir>/secret.conf` (repo1-cipher-pass; postgres
 *      0640), `BOOT_SECRET_FILES.backupCipherPass` (postgres 0600); where PgBouncer runs,
 *      `PATHS.pgbouncerUserlist` (`"pgbouncer_auth" "<password>"`, postgres 0600) and
 *      `BOOT_SECRET_FILES.pgbouncerExporterPgpass` (postgres 0600);
 *   7. checks that every rendered configuration file (`renderNodeConfigFiles`, paths from
 *      `nodeConfigFilePaths`) exists
 *      (cloud-init `write_files` put it there; the harness writes them itself).
 * - `start` — `systemctl daemon-reload`; on the first start, stop and mask
 *   `MASKED_PACKAGE_UNITS` and stop the package-started units we replace; enable
 *   `managed-postgres-bootstrap.service` (runs `prepare` at later boots); `systemctl
 *   enable --now --no-block` the daemons and timers ({@link nodeServices}); then `finalize`.
 * - `finalize` — database node: wait (up to 10 minutes) until the cluster has a leader
 *   (Patroni `GET https://<address>:8008/cluster` with the CA); on the primary, run the
 *   post-bootstrap script when `pgbouncer.get_auth(text)` is missing, then
 *   `pgbackrest --stanza=<name> stanza-create` (idempotent; retried while archive-push holds
 *   the stanza lock). Pooler: nothing.
 * - `all` — `prepare`, then `start`.
 *
 * The harness runs `prepare`, then every daemon's `execStart` as its `user`
 * ({@link nodeServices}), then `finalize`.
 *
 * Pooler instance (`renderPoolerBootstrapScript`): packages, IMDSv2 (instance-id,
 * local-ipv4), its own secret `runtime.poolerSecretArn` (`POOLER_SECRET_FIELDS`; read only:
 * waits up to 20 minutes, logging each attempt, for a database node to write it), TLS (the
 * CA certificate and the tier's certificate and key from that secret, checked: signed by the
 * CA, key matching), userlist and exporter password file, checks; `start` enables haproxy,
 * pgbouncer@rw, pgbouncer@ro and the exporters. It never reads the cluster secret.
 *
 * Database node, step 6b `publish` (after the secret-bearing files): distributed, the
 * PgBouncer tier's secret: when it has no value, or another auth password or CA, or a
 * certificate expiring within 30 days or not for every name (`DNS:<cluster>-pooler` and each
 * of `runtime.poolerEndpointNames`, an IPv4 one also as `IP:`), the node issues a new
 * key and certificate with the CA key and offers the secret with
 * `put-secret-value --client-request-token <UUID-formatted SHA-256 of the cluster and of the
 * value it replaces>` (nodes that saw the same value agree on the token: one version wins).
 * Then, when `runtime.caCertificateParameter` is set, `ssm put-parameter --type String
 * --overwrite --value file://<CA_CERT>` unless `ssm get-parameter` already returns the CA
 * certificate. Failures of this step are logged, never fatal.
 *
 * ## AWS CLI calls (each with `--region <runtime.region>` and, when set, `--endpoint-url <runtime.awsEndpointUrl>`)
 * - `aws ec2 describe-network-interfaces --filters Name=tag:managed-postgres:cluster,Values=<name> Name=tag:managed-postgres:slot,Values=<index> Name=tag:managed-postgres:slot-resource,Values=network-interface --query 'NetworkInterfaces[].[NetworkInterfaceId,Status,Attachment.InstanceId,Attachment.AttachmentId,MacAddress]' --output text`
 * - `aws ec2 attach-network-interface --network-interface-id <eni> --instance-id <id> --device-index 1`
 * - `aws ec2 describe-volumes --filters <cluster and slot filters> Name=tag:managed-postgres:slot-resource,Values=data-volume --query 'Volumes[].[VolumeId,State,Attachments[0].InstanceId,Attachments[0].State]' --output text`
 * - `aws ec2 attach-volume --volume-id <vol> --instance-id <id> --device /dev/sdf`
 * - while another instance holds the ENI or volume: `aws ec2 describe-instances --instance-ids <holder> --query 'Reservations[].Instances[].State.Name' --output text`;
 *   `aws ec2 detach-network-interface --attachment-id <attachment> --force` /
 *   `aws ec2 detach-volume --volume-id <vol> --instance-id <holder> --force` (holder terminated or shutting down)
 * - `aws autoscaling set-instance-health --instance-id <id> --health-status Unhealthy --no-should-respect-grace-period` (the slot cannot be taken)
 * - `aws secretsmanager get-secret-value --secret-id <runtime.secretArn> --query SecretString --output text`
 *   (no value yet: the error output contains `ResourceNotFoundException`)
 * - `aws secretsmanager put-secret-value --secret-id <arn> --client-request-token <token> --secret-string file://<json>` (database nodes only; the cluster secret and the PgBouncer tier's)
 * - `aws ssm get-parameter --name <runtime.caCertificateParameter> --query Parameter.Value --output text`,
 *   `aws ssm put-parameter --name <same> --type String --overwrite --value file://<CA certificate>` (database nodes only)
 *
 * ## Text
 * The shell lives in `src/render/scripts/`: `bootstrap-common.sh` (shared functions and
 * `main`), then `node-bootstrap.sh` or `pooler-bootstrap.sh`. The renderers put a prologue
 * (shebang, title, strict mode) and a generated header of `readonly` per-cluster values
 * ({@link shellHeader}) in front, and `main "$@"` at the end.
 *
 * Terraform safety: the script never contains `${` or `%{` outside cdktf token markers
 * (see `../terraform-safe.ts`), checked on the assembled text.
 */
import { createHash } from "node:crypto";
import { SLOT_RESOURCE, TAG_CLUSTER, TAG_SLOT, TAG_SLOT_RESOURCE, type ResolvedClusterSpec } from "../../cluster-spec";
import { PORTS, windowMinutes } from "../../cluster-spec";
import { nodeConfigFilePaths, poolerConfigFilePaths } from "../node-files";
import { PATHS, PGDATA_ROOT, pgDataDir } from "../paths";
import { HAPROXY_DRAIN_SECONDS } from "../haproxy";
import { PATRONI_MAXIMUM_LAG_ON_FAILOVER, PATRONI_POST_BOOTSTRAP_SCRIPT, PATRONI_RESTAPI_USERNAME } from "../patroni";
import { MONITORING_PATHS } from "../monitoring/paths";
import { METRIC_NAMESPACE } from "../../monitoring/metrics";
import { DEFAULT_MONITORING_THRESHOLDS } from "../../monitoring/thresholds";
import { BACKUP_RUNNER_PATRONI_CHECK, stanzaName } from "../pgbackrest";
import { DB_ROLES, POSTGRES_SOCKET_DIRECTORY } from "../postgres";
import { scriptBody, shellHeader, type ShellValue } from "../scripts";
import { PGBOUNCER_AUTH_PASSWORD_ENV } from "../sql";
import { MASKED_PACKAGE_UNITS, nodeServices, poolerServices, unitsToStart } from "../systemd";
import { assertTerraformSafe } from "../terraform-safe";
import { UPGRADE_UNIT, cutoverFlag } from "../upgrade";
import { POOLER_SECRET_FIELDS, SECRET_FIELDS, type NodeContext, type PoolerContext, type RuntimeContext } from "../types";
import {
  BOOTSTRAP_STATE_DIR,
  BOOT_SECRET_FILES,
  CONFIG_DIGEST_FILE,
  JOB_COMMANDS,
  MAINTENANCE_NEED_FILE,
  ROLL_LOCK_TTL_SECONDS,
  VERIFY_PORT,
  VERIFY_SCRATCH_DIR,
  departWaitSeconds,
  logicalDumpPrefix,
  maintenanceDcsPrefix,
} from "./files";

export {
  BOOTSTRAP_STATE_DIR,
  BOOT_SECRET_FILES,
  CONFIG_DIGEST_FILE,
  JOB_COMMANDS,
  ROLL_LOCK_TTL_SECONDS,
  SYSTEMD_UNIT_DIR,
  logicalDumpPrefix,
  maintenanceDcsPrefix,
} from "./files";
export { BOOTSTRAP_LOADER_PATH, renderBootstrapLoader, type BootstrapObject } from "./loader";

/**
 * The Secrets Manager `ClientRequestToken` every node of a cluster uses when it offers the
 * cluster secret: a UUID-formatted SHA-256 of the cluster name (36 characters; the API
 * takes 32 to 64). Equal on every node, so exactly one `PutSecretValue` creates a version
 * and the others fail or are no-ops; different between clusters.
 */
export function secretClientRequestToken(clusterName: string): string {
  const h = createHash("sha256").update(`managed-postgres/cluster-secret/v1/${clusterName}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Common name of the PgBouncer tier's certificate, also one of its DNS names: `<cluster>-pooler`. */
export function poolerCertificateName(clusterName: string): string {
  return `${clusterName}-pooler`;
}

/** A Debian package a node needs and the command whose presence shows it is installed. */
export interface RequiredPackage {
  /** Debian package name, e.g. `postgresql-15`. */
  readonly name: string;
  /** Command (name on PATH or absolute path) the package provides. */
  readonly command: string;
}

/** Not in every Debian 12 cloud image (curl, openssl, iproute2, e2fsprogs, util-linux are). */
const COMMON_PACKAGES: readonly RequiredPackage[] = [
  { name: "awscli", command: "aws" },
  { name: "jq", command: "jq" },
];

/**
 * Debian packages of a database node: PostgreSQL `postgresql-<major>` (Debian 12 has 15,
 * Debian 13 has 17; 16 comes from the PGDG apt repository, which the image must configure), Patroni
 * (with python3-etcd), etcd-server, etcd-client (etcdctl, for the rolling maintenance), pgBackRest,
 * the PostgreSQL exporter, the AWS CLI, jq;
 * standalone adds PgBouncer and its exporter. Base tools of Debian 12 cloud images (curl,
 * openssl, iproute2, e2fsprogs, util-linux) are assumed (Debian 12 and 13 cloud images).
 */
export function nodePackages(spec: ResolvedClusterSpec): RequiredPackage[] {
  const pkgs: RequiredPackage[] = [
    { name: `postgresql-${spec.majorVersion}`, command: `/usr/lib/postgresql/${spec.majorVersion}/bin/postgres` },
    { name: "patroni", command: "patroni" },
    { name: "python3-etcd", command: "/usr/lib/python3/dist-packages/etcd/__init__.py" },
    { name: "etcd-server", command: "etcd" },
    // etcdctl: the rolling maintenance's lock and state keys (docs/operations.md)
    { name: "etcd-client", command: "etcdctl" },
    { name: "pgbackrest", command: "pgbackrest" },
    { name: "prometheus-postgres-exporter", command: "prometheus-postgres-exporter" },
    ...COMMON_PACKAGES,
  ];
  if (spec.deployment === "standalone") {
    pkgs.push({ name: "pgbouncer", command: "/usr/sbin/pgbouncer" }, { name: "prometheus-pgbouncer-exporter", command: "prometheus-pgbouncer-exporter" });
  }
  return pkgs;
}

/** Debian packages of a pooler instance: HAProxy, PgBouncer, its exporter, and the common tools. */
export function poolerPackages(): RequiredPackage[] {
  return [
    { name: "haproxy", command: "/usr/sbin/haproxy" },
    { name: "pgbouncer", command: "/usr/sbin/pgbouncer" },
    { name: "prometheus-pgbouncer-exporter", command: "prometheus-pgbouncer-exporter" },
    ...COMMON_PACKAGES,
  ];
}

/** Header values of `bootstrap-common.sh` (see its first lines). */
function commonValues(
  runtime: RuntimeContext,
  secret: { readonly id: string; readonly fields: readonly string[] },
  packages: readonly RequiredPackage[],
  pgdgPackage: string,
  files: readonly string[],
  units: readonly string[],
  replacedUnits: readonly string[],
  jobs: readonly string[],
): Record<string, ShellValue> {
  return {
    SECRET_ID: secret.id,
    IMDS: runtime.metadataEndpoint ?? "http://169.254.169.254",
    STATE_DIR: BOOTSTRAP_STATE_DIR,
    CA_CERT: PATHS.caCert,
    SERVER_CERT: PATHS.serverCert,
    SERVER_KEY: PATHS.serverKey,
    TLS_DIR: PATHS.tlsDir,
    AWS_REGION: runtime.region,
    AWS_ENDPOINT_URL: runtime.awsEndpointUrl ?? "",
    PACKAGES: packages.map((p) => `${p.name}:${p.command}`).join(" "),
    PGDG_PACKAGE: pgdgPackage,
    SECRET_FIELDS: secret.fields.join(" "),
    CONFIG_FILES: files.join("\n"),
    MASKED_UNITS: MASKED_PACKAGE_UNITS.join(" "),
    REPLACED_UNITS: replacedUnits.join(" "),
    UNITS: units.join(" "),
    JOBS: jobs.join(" "),
    PGBOUNCER_AUTH_ROLE: DB_ROLES.pgbouncerAuth,
    PGBOUNCER_USERLIST: PATHS.pgbouncerUserlist,
    PGBOUNCER_EXPORTER_PGPASS: BOOT_SECRET_FILES.pgbouncerExporterPgpass,
  };
}

/** Prologue, header, `bootstrap-common.sh`, the kind's files and `main "$@"`. */
function assemble(title: string, values: Readonly<Record<string, ShellValue>>, kindScripts: readonly string[]): string {
  const text = [
    "#!/bin/bash",
    `# managed-postgres-bootstrap: ${title}.`,
    "# Rendered by cdktf-managed-postgres from src/render/scripts/; do not edit on the node.",
    "# Usage: managed-postgres-bootstrap [prepare|start|finalize|all] (default all), or a timer job.",
    "# See docs/bootstrap.md. Never prints a secret; safe to run again and at every boot.",
    "set -euo pipefail",
    "umask 077",
    "export LC_ALL=C",
    "",
    shellHeader(values) + scriptBody("bootstrap-common.sh"),
    kindScripts.map((k) => scriptBody(k)).join("\n") + '\nmain "$@"\n',
  ].join("\n");
  return assertTerraformSafe(text, PATHS.bootstrapScript);
}

/**
 * The header values of a green cluster (`upgradeFrom`, docs/UPGRADING.md "Major versions"),
 * read by the node's upgrade script; none without `upgradeFrom` (the header is then the same
 * as before the feature):
 * - `UPGRADE_FROM_CLUSTER`: blue's cluster name;
 * - `UPGRADE_FROM_MAJOR`: blue's major version (15 or 16);
 * - `UPGRADE_FROM_SECRET`: ARN of blue's cluster secret (fields `SECRET_FIELDS`);
 * - `UPGRADE_FROM_ADDRESSES`: blue's database node addresses, space-separated (PostgreSQL
 *   5432 and Patroni REST 8008 on each);
 * - `UPGRADE_CUTOVER`: `1` when `upgradeFrom.cutover` is true, else `0`.
 * The values are user data: shell-quoted by {@link shellHeader}; the spec reaches the renderer
 * with `${` and `%{` already written `$${`, `%%{` (constructs/private/terraform-literal.ts).
 * A field holding a cdktf token is written as the token (resolved by Terraform); a list token
 * of addresses must arrive as one string token of the joined list (the construct does it).
 * @throws Error when `nodeAddresses` is not a list
 */
export function upgradeValues(spec: Pick<ResolvedClusterSpec, "upgradeFrom">): Record<string, ShellValue> {
  const u = spec.upgradeFrom;
  if (!u) return {};
  if (!Array.isArray(u.nodeAddresses)) throw new Error(`upgradeValues(${spec.upgradeFrom?.clusterName}): upgradeFrom.nodeAddresses must be a list`);
  return {
    UPGRADE_FROM_CLUSTER: u.clusterName,
    UPGRADE_FROM_MAJOR: typeof u.majorVersion === "number" ? u.majorVersion : String(u.majorVersion),
    UPGRADE_FROM_SECRET: u.secretArn,
    UPGRADE_FROM_ADDRESSES: u.nodeAddresses.join(" "),
    UPGRADE_CUTOVER: cutoverFlag(u.cutover),
  };
}

/**
 * The bootstrap script of a database node (see the module documentation for the
 * contract). Deterministic; addresses, ARNs and the region are used verbatim (they may be
 * cdktf tokens). Pure.
 * @throws Error if the rendered text would contain a Terraform template sequence (a bug)
 */
export function renderBootstrapScript(ctx: NodeContext): string {
  const { spec, self, runtime } = ctx;
  const distributed = spec.deployment === "distributed";
  const jobs = [
    JOB_COMMANDS.fullBackup,
    JOB_COMMANDS.logicalDump,
    JOB_COMMANDS.growFilesystem,
    JOB_COMMANDS.checkDataVersion,
    JOB_COMMANDS.maintenance,
    JOB_COMMANDS.verifyBackup,
    JOB_COMMANDS.publish,
    ...(distributed ? [JOB_COMMANDS.etcdLeader] : []),
  ];
  const window = windowMinutes(spec.maintenanceWindow);
  const values: Record<string, ShellValue> = {
    ...commonValues(
      runtime,
      { id: runtime.secretArn, fields: SECRET_FIELDS },
      nodePackages(spec),
      spec.majorVersion === 16 ? `postgresql-${spec.majorVersion}` : "",
      nodeConfigFilePaths(ctx),
      [...unitsToStart(nodeServices(ctx)), ...(spec.upgradeFrom ? [`${UPGRADE_UNIT}.timer`] : [])],
      ["etcd.service", "patroni.service", "prometheus-postgres-exporter.service"],
      jobs,
    ),
    CLUSTER: spec.name,
    SELF_NAME: self.name,
    SELF_ADDRESS: self.address,
    PEER_ADDRESSES: ctx.members
      .filter((m) => m.slotIndex !== self.slotIndex)
      .map((m) => m.address)
      .join(" "),
    // green (upgradeFrom): blue's nodes are reached from the slot address too (blue's pg_hba admits green's slots)
    ...(spec.upgradeFrom ? { BLUE_NODE_ADDRESSES: spec.upgradeFrom.nodeAddresses.join(" ") } : {}),
    FILTER_CLUSTER: `Name=tag:${TAG_CLUSTER},Values=${spec.name}`,
    FILTER_SLOT: `Name=tag:${TAG_SLOT},Values=${self.slotIndex}`,
    FILTER_ENI: `Name=tag:${TAG_SLOT_RESOURCE},Values=${SLOT_RESOURCE.networkInterface}`,
    FILTER_VOLUME: `Name=tag:${TAG_SLOT_RESOURCE},Values=${SLOT_RESOURCE.dataVolume}`,
    CLIENT_REQUEST_TOKEN: secretClientRequestToken(spec.name),
    DATA_MOUNT: PATHS.dataMount,
    ROUTE_TABLE: 1001 + self.slotIndex,
    PATRONI_URL: `https://${self.address}:${PORTS.patroniRest}`,
    STANZA: stanzaName(spec),
    DEPLOYMENT: spec.deployment,
    ETCD_DATA_DIR: PATHS.etcdDataDir,
    PGBACKREST_SPOOL: PATHS.pgbackrestSpool,
    POSTGRES_SOCKET_DIR: POSTGRES_SOCKET_DIRECTORY,
    PGBACKREST_INCLUDE_DIR: PATHS.pgbackrestConfigIncludeDir,
    PATRONI_ENV: PATHS.patroniEnv,
    BACKUP_CIPHER_PASS_FILE: BOOT_SECRET_FILES.backupCipherPass,
    PGBOUNCER_HERE: distributed ? "no" : "yes",
    PATRONI_RESTAPI_USERNAME,
    PGBOUNCER_AUTH_PASSWORD_ENV,
    PATRONI_POST_BOOTSTRAP_SCRIPT,
    // distributed: the synchronous standby backs up (backup-standby=y); standalone: the primary.
    BACKUP_RUNNER_CHECK: distributed ? BACKUP_RUNNER_PATRONI_CHECK.replace(/^\//, "") : "primary",
    BACKUP_RUNNER: distributed ? "the synchronous standby" : "the primary",
    BACKUP_BUCKET: runtime.backupBucket,
    KMS_KEY_ARN: runtime.kmsKeyArn,
    LOGICAL_DUMP_PREFIX: logicalDumpPrefix(spec.name),
    S3_ENDPOINT_URL: runtime.s3Endpoint ? `https://${runtime.s3Endpoint}` : "",
    S3_VERIFY_TLS: runtime.s3VerifyTls === false ? "no" : "yes",
    JOB_FULL_BACKUP: JOB_COMMANDS.fullBackup,
    JOB_LOGICAL_DUMP: JOB_COMMANDS.logicalDump,
    JOB_GROW_FILESYSTEM: JOB_COMMANDS.growFilesystem,
    JOB_CHECK_DATA_VERSION: JOB_COMMANDS.checkDataVersion,
    JOB_MAINTENANCE: JOB_COMMANDS.maintenance,
    MAJOR_VERSION: spec.majorVersion,
    PGDATA: pgDataDir(spec.majorVersion),
    PGDATA_ROOT: PGDATA_ROOT,
    EVENTS_LOG: MONITORING_PATHS.eventsLog,
    METRIC_NAMESPACE,
    SLOT: String(self.slotIndex),
    PATRONI_CONFIG: PATHS.patroniConfig,
    PATRONI_SCOPE: spec.name,
    CONFIG_DIGEST_FILE,
    MW_DAY: window.isoDay,
    MW_START_MINUTE: window.startMinute,
    MW_DURATION: window.durationMinutes,
    APPLY_IMMEDIATELY: spec.applyImmediately ? "yes" : "no",
    ETCD_ENDPOINTS: ctx.members.map((m) => `https://${m.address}:${PORTS.etcdClient}`).join(","),
    DCS_PREFIX: maintenanceDcsPrefix(spec.name),
    MEMBER_NAMES: ctx.members.map((m) => m.name).join(" "),
    LAG_LIMIT_BYTES: PATRONI_MAXIMUM_LAG_ON_FAILOVER,
    ROLL_LOCK_TTL: ROLL_LOCK_TTL_SECONDS,
    MAINTENANCE_NEED_FILE,
    DEPART_WAIT_SECONDS: departWaitSeconds(spec.patroni.loopWait),
    DEPART_DRAIN_SECONDS: HAPROXY_DRAIN_SECONDS,
    BACKUP_STATUS_FILE: MONITORING_PATHS.backupStatusFile,
    // the default backup alarm threshold (the thresholds are a construct prop the nodes do not see)
    BACKUP_MAX_AGE_SECONDS: DEFAULT_MONITORING_THRESHOLDS.backupMaxAgeHours * 3600,
    JOB_VERIFY_BACKUP: JOB_COMMANDS.verifyBackup,
    JOB_PUBLISH: JOB_COMMANDS.publish,
    JOB_ETCD_LEADER: JOB_COMMANDS.etcdLeader,
    VERIFY_SCRATCH: VERIFY_SCRATCH_DIR,
    VERIFY_PORT,
    POOLER_SECRET_ID: distributed ? (runtime.poolerSecretArn ?? "") : "",
    POOLER_SECRET_FIELDS: POOLER_SECRET_FIELDS.join(" "),
    POOLER_CERT_CN: poolerCertificateName(spec.name),
    POOLER_CERT_NAMES: (runtime.poolerEndpointNames ?? []).join(" "),
    CA_PARAMETER: runtime.caCertificateParameter ?? "",
    ...upgradeValues(spec),
  };
  return assemble(`database node ${self.name} (cluster ${spec.name}, ${spec.deployment}, slot ${self.slotIndex})`, values, ["node-bootstrap.sh", "node-maintenance.sh"]);
}

/**
 * The bootstrap script of a pooler instance (see the module documentation). Pure.
 * @throws Error if the cluster is standalone (it has no pooler tier), or when
 *   `runtime.poolerSecretArn` is missing (the tier reads nothing else)
 */
export function renderPoolerBootstrapScript(ctx: PoolerContext): string {
  const { spec, runtime } = ctx;
  if (!runtime.poolerSecretArn) throw new Error(`renderPoolerBootstrapScript(${spec.name}): runtime.poolerSecretArn is required: the PgBouncer tier reads its own secret only`);
  const values: Record<string, ShellValue> = {
    ...commonValues(
      runtime,
      { id: runtime.poolerSecretArn ?? "", fields: POOLER_SECRET_FIELDS },
      poolerPackages(),
      "",
      poolerConfigFilePaths(ctx),
      unitsToStart(poolerServices(ctx)),
      ["haproxy.service"],
      [],
    ),
  };
  return assemble(`PgBouncer tier instance of cluster ${spec.name}`, values, ["pooler-bootstrap.sh"]);
}
