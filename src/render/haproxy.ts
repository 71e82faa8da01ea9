/**
 * HAProxy 2.6 configuration of a pooler instance (distributed model).
 *
 * Two local frontends feed the instance's PgBouncers: 127.0.0.1:15432 follows the primary,
 * 127.0.0.1:15433 balances over the replicas whose lag is at most
 * `spec.pooler.readOnlyMaxLagBytes`. Health comes from Patroni's REST API over TLS
 * (`GET /primary`, `GET /replica?lag=<bytes>`, Patroni 3.0 "REST API" documentation);
 * PostgreSQL traffic itself is TLS end to end (PgBouncer ⇄ PostgreSQL), HAProxy runs in
 * `mode tcp` and never sees it in clear.
 */
import { PORTS } from "../cluster-spec";
import { PATHS } from "./paths";
import type { ClusterMember, PoolerContext } from "./types";

/**
 * Health-check timing: a check every second, down after 2 failures, up after 2 successes,
 * sessions to a server marked down are closed so clients reconnect to the new primary.
 */
export const HAPROXY_DEFAULT_SERVER = "default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions";

function serverLine(m: ClusterMember): string {
  return (
    `    server ${m.name} ${m.address}:${PORTS.postgres} ` +
    `check port ${PORTS.patroniRest} check-ssl verify required ca-file ${PATHS.caCert}`
  );
}

/**
 * Renders haproxy.cfg: global (syslog logging to /dev/log, admin socket, TLS 1.3 minimum for
 * the health checks), defaults (`mode tcp`, connect 4 s, client/server 30 min idle,
 * check 2 s), `listen postgres-rw` on 127.0.0.1:15432 (`GET /primary`, expect 200) and
 * `listen postgres-ro` on 127.0.0.1:15433 (`GET /replica?lag=…`, expect 200, leastconn).
 * Member addresses are used verbatim (they may be Terraform tokens). Pure.
 */
export function renderHaproxyConfig(ctx: PoolerContext): string {
  const { spec, members } = ctx;
  const servers = members.map(serverLine);
  const lines = [
    `# HAProxy of the PgBouncer tier of cluster ${spec.name}. Rendered by cdktf-managed-postgres.`,
    "global",
    "    log /dev/log local0",
    "    user haproxy",
    "    group haproxy",
    "    maxconn 8192",
    "    stats socket /run/haproxy/admin.sock mode 660 level admin",
    "    ssl-default-server-options ssl-min-ver TLSv1.3",
    "",
    "defaults",
    "    mode tcp",
    "    log global",
    "    option tcplog",
    "    option dontlognull",
    "    retries 2",
    "    timeout connect 4s",
    "    timeout client 30m",
    "    timeout server 30m",
    "    timeout check 2s",
    "",
    "# Read-write: only the member whose Patroni REST API answers 200 on /primary.",
    "listen postgres-rw",
    `    bind 127.0.0.1:${PORTS.haproxyReadWrite}`,
    "    option httpchk GET /primary",
    "    http-check expect status 200",
    `    ${HAPROXY_DEFAULT_SERVER}`,
    ...servers,
    "",
    `# Read-only: running replicas at most ${spec.pooler.readOnlyMaxLagBytes} bytes behind the primary.`,
    "listen postgres-ro",
    `    bind 127.0.0.1:${PORTS.haproxyReadOnly}`,
    "    balance leastconn",
    `    option httpchk GET /replica?lag=${spec.pooler.readOnlyMaxLagBytes}`,
    "    http-check expect status 200",
    `    ${HAPROXY_DEFAULT_SERVER}`,
    ...servers,
    "",
  ];
  return lines.join("\n");
}
