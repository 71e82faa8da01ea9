import { HAPROXY_DEFAULT_SERVER, HAPROXY_RETRIES, PATHS, POOLER_HEALTH_PATHS, renderHaproxyConfig } from "../../src/render";
import { pooler, TEST_ADDRESSES, TOKEN_ADDRESSES } from "./fixtures";

/** Lines of one `listen` section. */
function section(text: string, name: string, kind = "listen"): string[] {
  const lines = text.split("\n");
  const start = lines.indexOf(`${kind} ${name}`);
  if (start < 0) throw new Error(`no ${kind} ${name}`);
  const out: string[] = [];
  for (let i = start + 1; i < lines.length && lines[i]!.startsWith("    "); i++) out.push(lines[i]!.trim());
  return out;
}

describe("renderHaproxyConfig", () => {
  const text = renderHaproxyConfig(pooler());

  test("read-write frontend on 127.0.0.1:15432 routes only to the member Patroni reports as primary", () => {
    const rw = section(text, "postgres-rw");
    expect(rw).toContain("bind 127.0.0.1:15432");
    expect(rw).toContain("option httpchk GET /primary");
    expect(rw).toContain("http-check expect status 200");
  });

  test("read-only frontend on 127.0.0.1:15433 routes to replicas within the configured lag", () => {
    const ro = section(renderHaproxyConfig(pooler({ pooler: { readOnlyMaxLagBytes: 1000 } })), "postgres-ro");
    expect(ro).toContain("bind 127.0.0.1:15433");
    expect(ro).toContain("option httpchk GET /replica?lag=1000");
    expect(ro).toContain("http-check expect status 200");
  });

  test("every member is a server on :5432, health-checked on Patroni's TLS port 8008 with CA verification", () => {
    for (const name of ["postgres-rw", "postgres-ro"]) {
      const servers = section(text, name).filter((l) => l.startsWith("server "));
      expect(servers).toEqual(
        TEST_ADDRESSES.map(
          (a, i) => `server orders-${i} ${a}:5432 check port 8008 check-ssl verify required ca-file ${PATHS.caCert}`,
        ),
      );
    }
  });

  test("servers are checked every second (500 ms in transition or down), up after 1 success, down after 2 failures, and their sessions cut when marked down", () => {
    expect(HAPROXY_DEFAULT_SERVER).toBe(
      "default-server inter 1s fastinter 500ms downinter 500ms fall 2 rise 1 on-marked-down shutdown-sessions",
    );
    expect(section(text, "postgres-rw")).toContain(HAPROXY_DEFAULT_SERVER);
    expect(section(text, "postgres-ro")).toContain(HAPROXY_DEFAULT_SERVER);
  });

  test("never retries a failed server connection itself: PgBouncer retries, through the health checks (a retry to the stopped old primary stalled switchovers)", () => {
    expect(HAPROXY_RETRIES).toBe(0);
    expect(text).toMatch(/^defaults\n(?: {4}.*\n)* {4}retries 0\n/m);
    expect(text.match(/^\s*retries /gm)).toHaveLength(1);
  });

  test("proxies TCP (PostgreSQL's TLS passes through untouched) and logs", () => {
    expect(text).toMatch(/^defaults\n {4}mode tcp\n {4}log global/m);
    expect(text).toContain("log /dev/log local0");
  });

  test("the health endpoint answers /read-write by the primary backend and /read-only by the replica backend", () => {
    const health = section(text, "endpoint-health", "frontend");
    expect(health).toContain("mode http");
    expect(health).toContain("bind 0.0.0.0:8404");
    expect(POOLER_HEALTH_PATHS).toEqual({ readWrite: "/read-write", readOnly: "/read-only" });
    expect(health.filter((l) => l.startsWith("http-request return"))).toEqual([
      'http-request return status 200 content-type text/plain string "primary available" if { path /read-write } { nbsrv(postgres-rw) ge 1 }',
      'http-request return status 503 content-type text/plain string "no primary available" if { path /read-write }',
      'http-request return status 200 content-type text/plain string "replica available" if { path /read-only } { nbsrv(postgres-ro) ge 1 }',
      'http-request return status 503 content-type text/plain string "no replica available" if { path /read-only }',
      "http-request return status 404",
    ]);
  });

  test("keeps Terraform token addresses verbatim", () => {
    const t = renderHaproxyConfig(pooler({}, TOKEN_ADDRESSES));
    expect(t).toContain("server orders-2 ${TfToken[TOKEN.14]}:5432 check port 8008");
  });
});
