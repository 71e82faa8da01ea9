/**
 * PgBouncer configuration (pgbouncer-rw.ini / pgbouncer-ro.ini), one text for both node images:
 * PgBouncer 1.18 (Debian 12, PostgreSQL 15) and 1.24 (Debian 13, the default), so only keys
 * and values 1.18 already accepts (the system tier starts it on the host's 1.18 and on the
 * Debian 13 node root's 1.24).
 *
 * Distributed: each pooler instance runs two PgBouncers, `rw` on 6432 and `ro` on 6433
 * (PostgreSQL reference architecture: PgBouncer on 6432), each forwarding every database to the local HAProxy
 * frontend that follows the primary (rw) or the healthy replicas (ro).
 * Standalone: one PgBouncer (`rw`) on the database node, forwarding to the local
 * PostgreSQL.
 *
 * Authentication: clients use scram-sha-256; PgBouncer looks their SCRAM secret up with
 * `auth_query` as `pgbouncer_auth` (whose own secret is in `PATHS.pgbouncerUserlist`,
 * written by the node bootstrap) and logs in to PostgreSQL with SCRAM pass-through.
 * Keys: PgBouncer "Configuration" documentation, 1.18 and 1.24.
 */
import { PORTS } from "../cluster-spec";
import { PATHS } from "./paths";
import { DB_ROLES } from "./postgres";
import { PGBOUNCER_AUTH_QUERY } from "./sql";
import { AWS_EC2_TARGET, type RenderTarget } from "./target";
import type { NodeContext, PgBouncerPool, PoolerContext } from "./types";

export type { PgBouncerPool } from "./types";

/** The PgBouncer pools of a cluster: rw, plus ro when distributed. */
export function poolerPools(spec: Pick<NodeContext["spec"], "deployment">): PgBouncerPool[] {
  return spec.deployment === "distributed" ? ["rw", "ro"] : ["rw"];
}

/** Runtime directory (Unix socket, pid file) of a pool's PgBouncer. */
export function pgbouncerRunDir(pool: PgBouncerPool): string {
  return `/run/pgbouncer-${pool}`;
}

/** Log file of a pool's PgBouncer. */
export function pgbouncerLogFile(pool: PgBouncerPool): string {
  return `/var/log/pgbouncer/pgbouncer-${pool}.log`;
}

/** Listening port of a pool's PgBouncer (PostgreSQL reference architecture: 6432; read-only 6433). */
export function pgbouncerPort(pool: PgBouncerPool): number {
  return pool === "rw" ? PORTS.pgbouncerReadWrite : PORTS.pgbouncerReadOnly;
}

/**
 * Client connections PgBouncer keeps beyond `spec.pooler.maxClientConnections` for the
 * library's own sessions: the metrics exporter holds one per pool (found by the live
 * benchmark: with max_client_conn = 1000 only 999 application clients fitted), the rest is
 * room for an operator's `SHOW` sessions.
 */
export const PGBOUNCER_RESERVED_CLIENT_CONNECTIONS = 5;

/**
 * Renders a pool's PgBouncer ini file.
 *
 * - `[databases]`: `* = host=127.0.0.1 port=<15432|15433>` (HAProxy, distributed) or
 *   `port=5432` (the node's PostgreSQL, standalone), over TLS (`server_tls_sslmode`
 *   verify-ca with the cluster CA, TLS 1.3).
 * - Listens on 0.0.0.0 (the instance is in a private subnet, reachable only through its
 *   security group) on 6432 (rw) / 6433 (ro); clients must use TLS 1.3
 *   (`client_tls_sslmode` require).
 * - `pool_mode`, `max_client_conn`, `default_pool_size` from `spec.pooler` (the PostgreSQL reference architecture:
 *   transaction, 1000, 20); `max_client_conn` is the spec's client limit plus
 *   {@link PGBOUNCER_RESERVED_CLIENT_CONNECTIONS} for the library's own sessions, so that
 *   `maxClientConnections` application clients always fit.
 * - No admin user; `pgbouncer_auth` is a stats user (the metrics exporter reads SHOW
 *   commands with the credentials of the userlist file).
 * - No `query_timeout`, `transaction_timeout` or `idle_transaction_timeout` (PgBouncer's
 *   default 0, disabled): PgBouncer enforces them by disconnecting the server connection
 *   (`pool_server_maint`, src/janitor.c), so a COMMIT waiting for the synchronous standby
 *   would end as a lost connection while it may still commit (the "invisible commit",
 *   docs/consistency.md). `query_wait_timeout` only applies to clients still waiting for a
 *   server connection.
 *
 * What `target` changes:
 * - `poolerUpstreams[pool]`: forward to that host and port instead of the node-local
 *   HAProxy / PostgreSQL, with the upstream's comment above the `[databases]` entry, its
 *   `authUser` as the entry's `auth_user=` and its `serverTlsCaFile` as `server_tls_ca_file`
 *   (the redirection of a blue cluster's pools to green: src/render/upgrade-redirect.ts).
 * - `logging` `stderr`: no `logfile` (PgBouncer then logs to stderr).
 *
 * @param target - @default AWS_EC2_TARGET
 * @throws Error if `pool` is "ro" for a standalone cluster (it has only the rw endpoint),
 *   or is not "rw"/"ro"
 */
export function renderPgBouncerConfig(ctx: NodeContext | PoolerContext, pool: PgBouncerPool, target: RenderTarget = AWS_EC2_TARGET): string {
  const { spec } = ctx;
  if (pool !== "rw" && pool !== "ro") {
    throw new Error(`pool must be "rw" or "ro". Got ${JSON.stringify(pool)}`);
  }
  const standalone = spec.deployment === "standalone";
  if (standalone && pool === "ro") {
    throw new Error(`pool "ro" does not exist for a standalone cluster (${spec.name}): it has only the read-write endpoint`);
  }
  const backendPort = standalone
    ? PORTS.postgres
    : pool === "rw"
      ? PORTS.haproxyReadWrite
      : PORTS.haproxyReadOnly;
  const p = spec.pooler;
  const run = pgbouncerRunDir(pool);
  const upstream = target.poolerUpstreams?.[pool];
  const lines = [
    `; PgBouncer ${pool === "rw" ? "read-write" : "read-only"} pool of cluster ${spec.name} (${spec.deployment}).`,
    "; Rendered by cdktf-managed-postgres; do not edit on the instance.",
    ...(upstream
      ? []
      : standalone
        ? ["; Standalone: every database goes to the node's own PostgreSQL."]
        : [`; Every database goes to the local HAProxy frontend that follows the ${pool === "rw" ? "primary" : "healthy replicas"}.`]),
    "",
    "[databases]",
    ...(upstream
      ? [`; ${upstream.comment}`, `* = host=${upstream.host} port=${upstream.port}${upstream.authUser ? ` auth_user=${upstream.authUser}` : ""}`]
      : [`* = host=127.0.0.1 port=${backendPort}`]),
    "",
    "[pgbouncer]",
    "listen_addr = 0.0.0.0",
    `listen_port = ${pgbouncerPort(pool)}`,
    `unix_socket_dir = ${run}`,
    `pidfile = ${run}/pgbouncer.pid`,
    ...(target.logging === "file" ? [`logfile = ${pgbouncerLogFile(pool)}`] : []),
    "",
    "; Authentication: SCRAM, secrets looked up through a SECURITY DEFINER function.",
    "auth_type = scram-sha-256",
    `auth_file = ${PATHS.pgbouncerUserlist}`,
    `auth_user = ${DB_ROLES.pgbouncerAuth}`,
    `auth_query = ${PGBOUNCER_AUTH_QUERY}`,
    "admin_users =",
    `stats_users = ${DB_ROLES.pgbouncerAuth}`,
    "",
    `; Pooling (defaults: transaction mode, 1000 clients, 20 server connections per user/database); max_client_conn adds ${PGBOUNCER_RESERVED_CLIENT_CONNECTIONS} for the exporter and operators.`,
    `pool_mode = ${p.poolMode}`,
    `max_client_conn = ${p.maxClientConnections + PGBOUNCER_RESERVED_CLIENT_CONNECTIONS}`,
    `default_pool_size = ${p.defaultPoolSize}`,
    "min_pool_size = 0",
    "reserve_pool_size = 5",
    "reserve_pool_timeout = 3",
    "server_reset_query = DISCARD ALL",
    "server_check_query = select 1",
    "server_check_delay = 10",
    "server_lifetime = 3600",
    "server_idle_timeout = 600",
    "server_connect_timeout = 5",
    // After a failed server login (failover: HAProxy has no primary UP and closes the
    // connection), PgBouncer waits server_login_retry seconds before it tries again, and meanwhile
    // fails new clients at once when no server connection is left (PgBouncer 1.24
    // configuration docs, "server_login_retry", default 15; fast-fail: src/objects.c
    // check_fast_fail). 0.5 s instead of 2 s: the first write after HAProxy marks the new
    // primary UP waits at most 0.5 s for PgBouncer's next attempt (issue 11; measured in
    // docs/live-harness.md). The value is fractional seconds (parsed as a time, 1.18 and 1.24);
    // a retry is one local TCP connection to HAProxy (or the node's own PostgreSQL, standalone).
    "server_login_retry = 0.5",
    "query_wait_timeout = 120",
    "client_login_timeout = 60",
    "; JDBC sends extra_float_digits; other untracked startup parameters fail loudly rather than being dropped.",
    "ignore_startup_parameters = extra_float_digits",
    "",
    "; TLS 1.3 towards clients and towards PostgreSQL.",
    "client_tls_sslmode = require",
    "client_tls_protocols = tlsv1.3",
    `client_tls_cert_file = ${PATHS.serverCert}`,
    `client_tls_key_file = ${PATHS.serverKey}`,
    `client_tls_ca_file = ${PATHS.caCert}`,
    "server_tls_sslmode = verify-ca",
    "server_tls_protocols = tlsv1.3",
    `server_tls_ca_file = ${upstream?.serverTlsCaFile ?? PATHS.caCert}`,
    "",
    "log_connections = 1",
    "log_disconnections = 1",
    "log_pooler_errors = 1",
    "stats_period = 60",
    "",
  ];
  return lines.join("\n");
}
