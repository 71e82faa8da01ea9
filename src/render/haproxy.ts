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
 * Health-check timing (HAProxy configuration manual, 2.6 and 3.0, §5.2 "inter", "fastinter",
 * "downinter", "rise", "fall", "on-marked-down"):
 * - `inter 1s`: a server that is fully UP is checked every second.
 * - `fastinter 500ms`: while a server is in transition (one check failed, or one succeeded
 *   towards `rise`), checks come every 500 ms, so a failing primary is marked down after
 *   `fall 2` failures about 0.5 s after the first one rather than 1 s.
 * - `downinter 500ms` + `rise 1`: a member that is DOWN (every replica, in the read-write
 *   backend) is checked twice a second and marked UP on its first passing check. A failover
 *   needs exactly this transition: the promoted replica must go from DOWN to UP in
 *   `postgres-rw`. With `inter 1s rise 2` that took 1–2 s after Patroni's `GET /primary`
 *   first answered 200; now it takes at most 0.5 s (issue 11, measured in
 *   docs/live-harness.md). One 200 is enough: Patroni answers 200 on `/primary` only while
 *   it holds the leader key, so a single answer is not noise. (Patroni 4.0.7 `do_GET` in
 *   patroni/api.py checks the leader key only: a new leader answers 200 from the moment it
 *   takes the key, before `pg_ctl promote` has finished, and a write sent in that interval
 *   fails at once with "cannot execute INSERT in a read-only transaction"; the client retries.)
 * - `fall 2`: one lost check (a slow REST answer under load) does not cut the primary's sessions.
 * - `on-marked-down shutdown-sessions`: sessions to a server marked down are closed so
 *   clients reconnect to the new primary, and no pooled server connection keeps reading a
 *   partitioned old primary (the live suite's endpoint reader: 0 dirty reads; docs/consistency.md).
 * The cost: up to 2 REST checks a second per member per backend per pooler instance.
 */
/**
 * `retries 0`: HAProxy does not retry a failed connection to a PostgreSQL server (HAProxy
 * configuration manual, 3.0, §4.2 "retries"; the default is 3). Its only client is the
 * instance's PgBouncer, which retries a failed server login itself after `server_login_retry`
 * (0.5 s, src/render/pgbouncer.ts) and picks the server afresh through HAProxy each time.
 * HAProxy's own retry goes to the same server after a turn-around of min(`timeout connect`, 1 s),
 * which in a switchover or failover is the stopped old primary: with `retries 2` a login to it
 * hung for 2 s, and a stream still in that turn-around when `on-marked-down shutdown-sessions`
 * fired stayed open with no server connection and no expiry (HAProxy 3.0.11, `show sess`:
 * `scb fd=-1`, `exp=` empty) until PgBouncer's `server_connect_timeout` (5 s) gave up on it —
 * a 5 s stall of every planned switchover of the live suite (issue 11, docs/live-harness.md).
 * Without retries a refused connection closes at once, and PgBouncer's next attempt follows
 * the health checks to the new primary.
 */
export const HAPROXY_RETRIES = 0;

/** The check timing of every member (above): `inter` in seconds, `fall` in failed checks. */
export const HAPROXY_CHECK = { interSeconds: 1, fall: 2 } as const;

export const HAPROXY_DEFAULT_SERVER =
  `default-server inter ${HAPROXY_CHECK.interSeconds}s fastinter 500ms downinter 500ms fall ${HAPROXY_CHECK.fall} rise 1 on-marked-down shutdown-sessions`;

/**
 * Seconds after which every pooler's HAProxy has marked down a member whose Patroni check
 * started failing (a departing replica's `GET /replica` answering 503 once it carries the
 * `noloadbalance` tag): `fall` × `inter` ({@link HAPROXY_CHECK}: 2 s; with `fastinter` the
 * second failed check comes sooner) plus 1 s for a check in flight (`timeout check` is 2 s but
 * a 503 answers at once). The rolling maintenance waits this long before the member leaves
 * (src/render/scripts/node-maintenance.sh, `depart`).
 */
export const HAPROXY_DRAIN_SECONDS = HAPROXY_CHECK.fall * HAPROXY_CHECK.interSeconds + 1;

/**
 * Paths of the pooler's HTTP health endpoint (`PORTS.poolerHealth`): each answers 200 while
 * HAProxy has at least one server up in the endpoint's backend, 503 otherwise.
 */
export const POOLER_HEALTH_PATHS = {
  /** A primary passes `GET /primary`: the read-write endpoint can serve. */
  readWrite: "/read-write",
  /** At least one replica passes `GET /replica?lag=…`: the read-only endpoint can serve. */
  readOnly: "/read-only",
} as const;

function healthRule(path: string, backend: string, what: string): string[] {
  return [
    `    http-request return status 200 content-type text/plain string "${what} available" if { path ${path} } { nbsrv(${backend}) ge 1 }`,
    `    http-request return status 503 content-type text/plain string "no ${what} available" if { path ${path} }`,
  ];
}

function serverLine(m: ClusterMember): string {
  return (
    `    server ${m.name} ${m.address}:${PORTS.postgres} ` +
    `check port ${PORTS.patroniRest} check-ssl verify required ca-file ${PATHS.caCert}`
  );
}

/**
 * Renders haproxy.cfg: global (syslog logging to /dev/log, admin socket, TLS 1.3 minimum for
 * the health checks), defaults (`mode tcp`, no connection retries: {@link HAPROXY_RETRIES},
 * connect 4 s, client/server 30 min idle, check 2 s), `listen postgres-rw` on 127.0.0.1:15432 (`GET /primary`, expect 200) and
 * `listen postgres-ro` on 127.0.0.1:15433 (`GET /replica?lag=…`, expect 200, leastconn), and
 * `frontend endpoint-health` (`mode http`, every address, `PORTS.poolerHealth`, its requests not
 * logged: `set-log-level silent`):
 * the load balancer's health checks. `GET /read-write` answers 200 while `nbsrv(postgres-rw)`
 * ≥ 1 (a primary passes its check), `GET /read-only` while `nbsrv(postgres-ro)` ≥ 1 (a replica
 * within the lag limit does), 503 otherwise; any other path 404 (`http-request return`,
 * HAProxy ≥ 2.2: one port for both endpoints, where `monitor-uri` allows one URI per proxy).
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
    `    retries ${HAPROXY_RETRIES}`,
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
    "# Health of the endpoints for the load balancer's target groups (HTTP, checked every 10 s).",
    "frontend endpoint-health",
    "    mode http",
    `    bind 0.0.0.0:${PORTS.poolerHealth}`,
    "    http-request set-log-level silent",
    "    timeout client 10s",
    "    timeout http-request 5s",
    ...healthRule(POOLER_HEALTH_PATHS.readWrite, "postgres-rw", "primary"),
    ...healthRule(POOLER_HEALTH_PATHS.readOnly, "postgres-ro", "replica"),
    "    http-request return status 404",
    "",
  ];
  return lines.join("\n");
}
