import {
  PATHS,
  PGBOUNCER_AUTH_QUERY,
  pgbouncerLogFile,
  pgbouncerRunDir,
  renderPgBouncerConfig,
  PGBOUNCER_RESERVED_CLIENT_CONNECTIONS,
} from "../../src/render";
import { distributedNode, pooler, standaloneNode } from "./fixtures";

/** Parses an ini file into section → key → value (last wins). */
function ini(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith(";") || line.startsWith("#")) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      section = m[1]!;
      out[section] = out[section] ?? {};
      continue;
    }
    const eq = line.indexOf("=");
    out[section]![line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

describe("renderPgBouncerConfig", () => {
  test("distributed rw pool forwards every database to the local HAProxy read-write frontend", () => {
    expect(ini(renderPgBouncerConfig(pooler(), "rw")).databases).toEqual({ "*": "host=127.0.0.1 port=15432" });
  });

  test("distributed ro pool forwards every database to the local HAProxy read-only frontend", () => {
    expect(ini(renderPgBouncerConfig(pooler(), "ro")).databases).toEqual({ "*": "host=127.0.0.1 port=15433" });
  });

  test("standalone rw pool forwards to the node's own PostgreSQL", () => {
    expect(ini(renderPgBouncerConfig(standaloneNode(), "rw")).databases).toEqual({ "*": "host=127.0.0.1 port=5432" });
  });

  test("standalone has no read-only pool", () => {
    expect(() => renderPgBouncerConfig(standaloneNode(), "ro")).toThrow(/pool "ro" does not exist for a standalone cluster/);
  });

  test("listens on all addresses of the private instance, 6432 for rw and 6433 for ro, with per-pool runtime files", () => {
    for (const [pool, port] of [["rw", "6432"], ["ro", "6433"]] as const) {
      const c = ini(renderPgBouncerConfig(pooler(), pool)).pgbouncer!;
      expect(c.listen_addr).toBe("0.0.0.0");
      expect(c.listen_port).toBe(port);
      expect(c.unix_socket_dir).toBe(pgbouncerRunDir(pool));
      expect(c.pidfile).toBe(`${pgbouncerRunDir(pool)}/pgbouncer.pid`);
      expect(c.logfile).toBe(pgbouncerLogFile(pool));
    }
  });

  test("authenticates clients with SCRAM through the auth user and the SECURITY DEFINER function", () => {
    const c = ini(renderPgBouncerConfig(pooler(), "rw")).pgbouncer!;
    expect(c.auth_type).toBe("scram-sha-256");
    expect(c.auth_file).toBe(PATHS.pgbouncerUserlist);
    expect(c.auth_user).toBe("pgbouncer_auth");
    expect(c.auth_query).toBe(PGBOUNCER_AUTH_QUERY);
    expect(c.auth_query).toBe("SELECT username, password FROM pgbouncer.get_auth($1)");
    expect(c.admin_users).toBe("");
  });

  test("pool mode and sizes come from spec.pooler (seed 004 defaults)", () => {
    const def = ini(renderPgBouncerConfig(pooler(), "rw")).pgbouncer!;
    expect([def.pool_mode, def.max_client_conn, def.default_pool_size]).toEqual(["transaction", "1005", "20"]);
    const custom = ini(renderPgBouncerConfig(pooler({ pooler: { poolMode: "session", maxClientConnections: 300, defaultPoolSize: 7 } }), "ro")).pgbouncer!;
    expect([custom.pool_mode, custom.max_client_conn, custom.default_pool_size]).toEqual(["session", "305", "7"]);
  });

  test("max_client_conn keeps room beyond the spec's client limit for the exporter's and operators' sessions", () => {
    const c = ini(renderPgBouncerConfig(pooler({ pooler: { maxClientConnections: 1000 } }), "rw")).pgbouncer!;
    expect(Number(c.max_client_conn)).toBe(1000 + PGBOUNCER_RESERVED_CLIENT_CONNECTIONS);
    expect(PGBOUNCER_RESERVED_CLIENT_CONNECTIONS).toBeGreaterThanOrEqual(1);
  });

  test("requires TLS 1.3 from clients and verifies PostgreSQL against the cluster CA over TLS 1.3", () => {
    const c = ini(renderPgBouncerConfig(pooler(), "rw")).pgbouncer!;
    expect(c.client_tls_sslmode).toBe("require");
    expect(c.client_tls_protocols).toBe("tlsv1.3");
    expect(c.client_tls_cert_file).toBe(PATHS.serverCert);
    expect(c.client_tls_key_file).toBe(PATHS.serverKey);
    expect(c.server_tls_sslmode).toBe("verify-ca");
    expect(c.server_tls_protocols).toBe("tlsv1.3");
    expect(c.server_tls_ca_file).toBe(PATHS.caCert);
  });

  test("never cuts a running query or transaction: no query_timeout, transaction_timeout or idle_transaction_timeout (docs/consistency.md)", () => {
    for (const [ctx, pools] of [[pooler(), ["rw", "ro"]], [standaloneNode(), ["rw"]]] as const) {
      for (const pool of pools) {
        const cfg = ini(renderPgBouncerConfig(ctx, pool)).pgbouncer;
        for (const key of ["query_timeout", "transaction_timeout", "idle_transaction_timeout"]) expect([undefined, "0"]).toContain(cfg[key]);
      }
    }
  });

  test("checks idle server connections before reuse", () => {
    const c = ini(renderPgBouncerConfig(pooler(), "rw")).pgbouncer!;
    expect(c.server_check_query).toBe("select 1");
    expect(c.server_check_delay).toBe("10");
  });

  test("retries a failed server login after 0.5 s (a failover's first write waits at most that long once HAProxy has the new primary)", () => {
    for (const pool of ["rw", "ro"] as const) expect(ini(renderPgBouncerConfig(pooler(), pool)).pgbouncer!.server_login_retry).toBe("0.5");
  });

  test("a NodeContext and a PoolerContext of the same cluster render the same distributed pool", () => {
    expect(renderPgBouncerConfig(distributedNode(1), "ro")).toBe(renderPgBouncerConfig(pooler(), "ro"));
  });
});
