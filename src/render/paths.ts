import type { MajorVersion } from "../cluster-spec";

/**
 * Where things live on a node. The renderers write configuration that points here; the
 * node bootstrap creates the files marked "bootstrap" (secrets and TLS material are
 * generated on the node, never rendered at synth).
 */
export const PATHS = {
  /** Mount point of the slot's data volume (EBS gp3); survives instance replacement. */
  dataMount: "/data",
  /** etcd data directory, on the data volume so a replaced instance keeps its member identity. */
  etcdDataDir: "/data/etcd",
  /** pgBackRest spool (archive-async queue), on the data volume. */
  pgbackrestSpool: "/data/pgbackrest-spool",
  /** TLS directory (bootstrap): CA certificate, node certificate and key. */
  tlsDir: "/etc/managed-postgres/tls",
  /** CA certificate, PEM (bootstrap). */
  caCert: "/etc/managed-postgres/tls/ca.crt",
  /** This host's certificate, PEM, signed by the cluster CA, SAN = its address (bootstrap). */
  serverCert: "/etc/managed-postgres/tls/server.crt",
  /** This host's private key, PEM, mode 0600 (bootstrap). */
  serverKey: "/etc/managed-postgres/tls/server.key",
  /** Patroni configuration (rendered). */
  patroniConfig: "/etc/patroni/patroni.yml",
  /** Patroni secrets as PATRONI_* environment variables, mode 0600 (bootstrap). */
  patroniEnv: "/etc/patroni/secrets.env",
  /** etcd configuration file (rendered). */
  etcdConfig: "/etc/etcd/etcd.conf.yml",
  /** pgBackRest configuration (rendered). */
  pgbackrestConfig: "/etc/pgbackrest/pgbackrest.conf",
  /** pgBackRest include directory; `secret.conf` there holds repo1-cipher-pass (bootstrap). */
  pgbackrestConfigIncludeDir: "/etc/pgbackrest/conf.d",
  /** PgBouncer auth_user credentials, mode 0600 (bootstrap). */
  pgbouncerUserlist: "/etc/pgbouncer/userlist.txt",
  /** HAProxy configuration on pooler instances (rendered). */
  haproxyConfig: "/etc/haproxy/haproxy.cfg",
  /** Node bootstrap script (rendered; run once per boot by cloud-init). */
  bootstrapScript: "/usr/local/sbin/managed-postgres-bootstrap",
} as const;

/** Parent of the PostgreSQL data directories, one per major version, on the data volume. */
export const PGDATA_ROOT = "/data/pgdata";

/** PostgreSQL data directory of a major version, on the data volume. */
export function pgDataDir(version: MajorVersion): string {
  return `${PGDATA_ROOT}/${version}`;
}

/** PostgreSQL binaries of a major version (Debian/PGDG layout). */
export function pgBinDir(version: MajorVersion): string {
  return `/usr/lib/postgresql/${version}/bin`;
}

/** PgBouncer configuration of a pool ("rw" read-write, "ro" read-only). */
export function pgbouncerConfigPath(pool: "rw" | "ro"): string {
  return `/etc/pgbouncer/pgbouncer-${pool}.ini`;
}
