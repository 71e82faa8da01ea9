/**
 * TCP ports used by the cluster. The PostgreSQL reference architecture: PgBouncer listens on 6432, separate from
 * PostgreSQL's 5432 (kept for administration).
 */
export const PORTS = {
  /** PostgreSQL on each database node. */
  postgres: 5432,
  /** Patroni REST API (TLS) on each database node; HAProxy health checks use it. */
  patroniRest: 8008,
  /** etcd client API (TLS). */
  etcdClient: 2379,
  /** etcd peer API (TLS). */
  etcdPeer: 2380,
  /**
   * pgBackRest TLS server on each database node (pgBackRest's default `tls-server-port`):
   * the backup, run on the synchronous standby, reaches the primary through it.
   */
  pgbackrestTlsServer: 8432,
  /** PgBouncer read-write pool on pooler instances (standalone: on the node; the only endpoint). */
  pgbouncerReadWrite: 6432,
  /** PgBouncer read-only pool on pooler instances (distributed only). */
  pgbouncerReadOnly: 6433,
  /** Local HAProxy frontend to the current primary (127.0.0.1 on pooler instances). */
  haproxyReadWrite: 15432,
  /** Local HAProxy frontend to the healthy replicas (127.0.0.1 on pooler instances). */
  haproxyReadOnly: 15433,
  /**
   * HTTP health endpoint of a pooler instance (HAProxy, all addresses): the NLB's target groups
   * check `/read-write` and `/read-only` there (see `renderHaproxyConfig`). 8404 is HAProxy's
   * customary stats/health port.
   */
  poolerHealth: 8404,
  /** NLB listener of the read-write endpoint (distributed). */
  endpointReadWrite: 5432,
  /** NLB listener of the read-only endpoint (distributed). */
  endpointReadOnly: 5433,
  /** postgres_exporter metrics (scraped locally by the CloudWatch agent). */
  postgresExporter: 9187,
  /**
   * pgbouncer_exporter metrics of the read-write pool (scraped locally by the CloudWatch
   * agent); the read-only pool's exporter listens on the next port, see
   * {@link PGBOUNCER_EXPORTER_PORTS}.
   */
  pgbouncerExporter: 9127,
} as const;

/**
 * Metrics port of each PgBouncer pool's exporter, 127.0.0.1 only: rw 9127
 * (`PORTS.pgbouncerExporter`), ro 9128. The one definition: the exporter units
 * (src/render/systemd.ts) listen there and the CloudWatch agent's scrape configuration
 * (src/render/monitoring/prometheus.ts) reads there. Keys are PgBouncer pools ("rw", "ro").
 */
export const PGBOUNCER_EXPORTER_PORTS: Readonly<Record<"rw" | "ro", number>> = {
  rw: PORTS.pgbouncerExporter,
  ro: PORTS.pgbouncerExporter + 1,
};
