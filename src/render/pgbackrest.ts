/**
 * pgBackRest 2.45 configuration (pgbackrest.conf) of a database node.
 *
 * Repository: the cluster's S3 bucket, path `/<cluster name>`, instance-role credentials by default
 * (`repo1-s3-key-type=auto`), SSE-KMS with the cluster key, client-side AES-256-CBC
 * encryption. The cipher pass is NOT here: the node bootstrap writes it to
 * `<PATHS.pgbackrestConfigIncludeDir>/secret.conf`, which pgBackRest reads by default
 * (`config-include-path` defaults to /etc/pgbackrest/conf.d).
 *
 * Backup from a standby (distributed model). pgBackRest 2.45 copies the data files of a
 * `backup-standby=y` backup from a standby but must still reach the primary to start and
 * stop the backup; every pgN host other than the local one is reached through a remote
 * protocol. We use pgBackRest's own TLS server (2.37+, no SSH): every node runs
 * `pgbackrest server` on {@link PGBACKREST_TLS_SERVER_PORT}, accepting only client
 * certificates signed by the cluster CA whose CN is a member name (`tls-server-auth`).
 * Each node's configuration lists itself as `pg1` (local) and its peers as `pg2`/`pg3`
 * (`pgN-host-type=tls`); pgBackRest finds out which is the primary at run time, so no
 * file changes on failover. The daily backup runs on exactly one node: the one whose
 * Patroni REST API answers 200 on {@link BACKUP_RUNNER_PATRONI_CHECK} (the synchronous
 * standby; at most one exists with synchronous_node_count 1). It reads its own data
 * directory locally and asks the primary only for start/stop backup and the few
 * non-replicated files. Standalone: pg1 only, backup from the primary.
 * Node certificates must therefore carry CN = member name (`tls-server-auth`) and a
 * `DNS:<address>` subject alternative name besides `IP:<address>`: pgBackRest 2.45's TLS
 * client matches the host only against DNS names and the CN (verified on this machine:
 * "unable to find hostname '10.10.0.11' in certificate common name or subject alternative
 * names" with IP entries only). See {@link nodeCertificateSubjectAltNames}.
 * Keys: pgBackRest 2.45 "Configuration Reference".
 */
import { PORTS, SIZES, type ResolvedClusterSpec } from "../cluster-spec";
import { PATHS, pgDataDir } from "./paths";
import { POSTGRES_SOCKET_DIRECTORY } from "./postgres";
import { AWS_EC2_TARGET, type RenderTarget } from "./target";
import type { ClusterMember, NodeContext } from "./types";

/** Port of the pgBackRest TLS server on every node (pgBackRest's default, `tls-server-port`). */
export const PGBACKREST_TLS_SERVER_PORT = PORTS.pgbackrestTlsServer;

/**
 * The Patroni REST endpoint that elects the node running the scheduled backup in the
 * distributed model: `GET /sync` answers 200 on the synchronous standby only.
 */
export const BACKUP_RUNNER_PATRONI_CHECK = "/sync";

/**
 * Subject alternative names a database node's certificate needs, in openssl's
 * `subjectAltName` syntax: `IP:<address>` (libpq verify-full, etcd, Patroni, HAProxy),
 * `DNS:<address>` (pgBackRest's TLS client checks DNS names only) and `DNS:<member name>`.
 * The certificate's CN must be the member name (pgBackRest `tls-server-auth`).
 */
export function nodeCertificateSubjectAltNames(member: ClusterMember): string[] {
  return [`IP:${member.address}`, `DNS:${member.address}`, `DNS:${member.name}`];
}

/** pgBackRest log directory. */
export const PGBACKREST_LOG_PATH = "/var/log/pgbackrest";

/** The stanza of a cluster: its name. */
export function stanzaName(spec: ResolvedClusterSpec): string {
  return spec.name;
}

/**
 * Parallel processes for backup/restore: half the vCPUs, at least 1 (Cloud Temple Managed PostgreSQL sizes), so a
 * backup leaves CPU to the database.
 */
export function pgbackrestProcessMax(spec: ResolvedClusterSpec): number {
  return Math.max(1, Math.floor(SIZES[spec.size].vcpu / 2));
}

function yn(b: boolean): string {
  return b ? "y" : "n";
}

/**
 * Renders pgbackrest.conf for `ctx.self`.
 *
 * `[global]`: repo1 on S3 (`repo1-s3-endpoint` = `runtime.s3Endpoint` or
 * `s3.<region>.amazonaws.com`; `repo1-s3-uri-style` host, or path when an endpoint override
 * is given — S3-compatible stand-ins such as s3rver only do path style), KMS key,
 * `repo1-storage-verify-tls` (`runtime.s3VerifyTls`, default y), aes-256-cbc,
 * time-based retention of `spec.backup.retentionDays` days, asynchronous archiving with the
 * spool on the data volume, zstd compression, `process-max` {@link pgbackrestProcessMax}.
 * Distributed: `backup-standby=y`, TLS server settings, and the peers as pg2/pg3.
 * `[<stanza>]`: pg1 = the local data directory and socket.
 *
 * What `target` changes:
 * - `credentials`: `instance-role` → `repo1-s3-key-type=auto`; `web-identity` →
 *   `repo1-s3-key-type=web-id` (pgBackRest reads AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE).
 * - `secrets`: where the cipher pass comes from (conf.d/secret.conf or the
 *   PGBACKREST_REPO1_CIPHER_PASS environment variable); only the comment differs.
 * - `certificates`: `per-member` → one `tls-server-auth=<peer>=<stanza>` per peer; `shared` →
 *   one `tls-server-auth=<cluster>=<stanza>` for the certificate every member presents.
 *
 * Values (bucket, region, key ARN, addresses) are used verbatim (they may be tokens). Pure.
 * @param target - @default AWS_EC2_TARGET
 */
export function renderPgBackRestConfig(ctx: NodeContext, target: RenderTarget = AWS_EC2_TARGET): string {
  const { spec, self, members, runtime } = ctx;
  const webIdentity = target.credentials === "web-identity";
  const distributed = spec.deployment === "distributed";
  const stanza = stanzaName(spec);
  const endpoint = runtime.s3Endpoint ?? `s3.${runtime.region}.amazonaws.com`;
  const dataDir = pgDataDir(spec.majorVersion);
  const global: string[] = [
    "[global]",
    `# Repository: S3, ${webIdentity ? "service-account (IRSA)" : "instance-role"} credentials, SSE-KMS + client-side AES-256.`,
    "repo1-type=s3",
    `repo1-path=/${stanza}`,
    `repo1-s3-bucket=${runtime.backupBucket}`,
    `repo1-s3-endpoint=${endpoint}`,
    `repo1-s3-region=${runtime.region}`,
    ...(webIdentity
      ? ["# Credentials: the service account's IAM role (IRSA: AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE).", "repo1-s3-key-type=web-id"]
      : ["repo1-s3-key-type=auto"]),
    `repo1-s3-kms-key-id=${runtime.kmsKeyArn}`,
    `repo1-s3-uri-style=${runtime.s3Endpoint ? "path" : "host"}`,
    `repo1-storage-verify-tls=${yn(runtime.s3VerifyTls ?? true)}`,
    "repo1-cipher-type=aes-256-cbc",
    target.secrets === "environment"
      ? "# repo1-cipher-pass: environment variable PGBACKREST_REPO1_CIPHER_PASS, from the credentials Secret."
      : "# repo1-cipher-pass: conf.d/secret.conf, written at first boot.",
    "repo1-retention-full-type=time",
    `repo1-retention-full=${spec.backup.retentionDays}`,
    "repo1-bundle=y",
    "",
    "# WAL archiving: asynchronous, queued on the data volume.",
    "archive-async=y",
    `spool-path=${PATHS.pgbackrestSpool}`,
    "archive-get-queue-max=1GiB",
    "",
    "compress-type=zst",
    "compress-level=3",
    `process-max=${pgbackrestProcessMax(spec)}`,
    "start-fast=y",
    "delta=y",
    "",
    `log-path=${PGBACKREST_LOG_PATH}`,
    "log-level-console=info",
    "log-level-file=detail",
  ];
  if (distributed) {
    global.push(
      "",
      "# Backup from the synchronous standby; the primary is reached through the TLS server.",
      "backup-standby=y",
      `tls-server-address=${self.address}`,
      `tls-server-port=${PGBACKREST_TLS_SERVER_PORT}`,
      `tls-server-cert-file=${PATHS.serverCert}`,
      `tls-server-key-file=${PATHS.serverKey}`,
      `tls-server-ca-file=${PATHS.caCert}`,
      ...(target.certificates === "shared"
        ? [`# Every pod presents the cluster certificate (common name ${spec.name}).`, `tls-server-auth=${spec.name}=${stanza}`]
        : members.filter((m) => m.name !== self.name).map((m) => `tls-server-auth=${m.name}=${stanza}`)),
    );
  }
  const stanzaLines: string[] = [
    `[${stanza}]`,
    `pg1-path=${dataDir}`,
    `pg1-socket-path=${POSTGRES_SOCKET_DIRECTORY}`,
    "pg1-port=5432",
  ];
  if (distributed) {
    const peers: ClusterMember[] = members.filter((m) => m.name !== self.name);
    peers.forEach((m, i) => {
      const n = i + 2;
      stanzaLines.push(
        "",
        `# ${m.name}`,
        `pg${n}-host=${m.address}`,
        `pg${n}-host-type=tls`,
        `pg${n}-host-port=${PGBACKREST_TLS_SERVER_PORT}`,
        `pg${n}-host-ca-file=${PATHS.caCert}`,
        `pg${n}-host-cert-file=${PATHS.serverCert}`,
        `pg${n}-host-key-file=${PATHS.serverKey}`,
        `pg${n}-path=${dataDir}`,
        `pg${n}-socket-path=${POSTGRES_SOCKET_DIRECTORY}`,
        `pg${n}-port=5432`,
      );
    });
  }
  return [
    `# pgBackRest configuration of ${self.name} (cluster ${spec.name}, ${spec.deployment}). Rendered by cdktf-managed-postgres.`,
    ...global,
    "",
    ...stanzaLines,
    "",
  ].join("\n");
}
