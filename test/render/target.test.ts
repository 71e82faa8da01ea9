/**
 * The render target options of the base renderers, one behaviour per option: what each
 * field of `RenderTarget` changes in patroni.yml, pg_hba, the PostgreSQL parameters,
 * pgbackrest.conf and the PgBouncer ini, and that the default is the EC2 target.
 */
import { parse } from "yaml";
import {
  AWS_EC2_TARGET,
  renderPatroniConfig,
  renderPgBackRestConfig,
  renderPgBouncerConfig,
  renderPgHba,
  renderPostgresParameters,
  type RenderTarget,
} from "../../src/render";
import { distributedNode, pooler, spec, standaloneNode, members } from "./fixtures";

const target = (overrides: Partial<RenderTarget>): RenderTarget => ({ ...AWS_EC2_TARGET, ...overrides });
const POD_NETWORK = target({ memberAddressing: { kind: "pod-network", podNetworkCidrs: ["10.42.0.0/16", "10.43.0.0/16"] } });
const lines = (text: string) => text.split("\n");

describe("default target", () => {
  test("every renderer's default is AWS_EC2_TARGET", () => {
    const ctx = distributedNode(1);
    expect([
      renderPatroniConfig(ctx) === renderPatroniConfig(ctx, { target: AWS_EC2_TARGET }),
      renderPgBackRestConfig(ctx) === renderPgBackRestConfig(ctx, AWS_EC2_TARGET),
      renderPgBouncerConfig(pooler(), "ro") === renderPgBouncerConfig(pooler(), "ro", AWS_EC2_TARGET),
    ]).toEqual([true, true, true]);
  });

  test("AWS_EC2_TARGET is instance-role, file logging, etcd3, per-member addresses and certificates", () => {
    expect(AWS_EC2_TARGET).toEqual({
      credentials: "instance-role",
      logging: "file",
      dcs: { kind: "etcd3" },
      memberAddressing: { kind: "member-address" },
      secrets: "first-boot-files",
      certificates: "per-member",
    });
  });
});

describe("credentials", () => {
  test("instance-role renders repo1-s3-key-type=auto", () => {
    const text = renderPgBackRestConfig(distributedNode(0));
    expect([lines(text).includes("repo1-s3-key-type=auto"), text.includes("web-id")]).toEqual([true, false]);
  });

  test("web-identity renders the IRSA form repo1-s3-key-type=web-id and no auto", () => {
    const l = lines(renderPgBackRestConfig(distributedNode(0), target({ credentials: "web-identity" })));
    expect([l.includes("repo1-s3-key-type=web-id"), l.includes("repo1-s3-key-type=auto")]).toEqual([true, false]);
    expect(l.filter((x) => x.startsWith("repo1-s3-key-type="))).toHaveLength(1);
  });
});

describe("secrets", () => {
  test("environment: the cipher pass is documented as PGBACKREST_REPO1_CIPHER_PASS and never written", () => {
    const text = renderPgBackRestConfig(standaloneNode(), target({ secrets: "environment" }));
    expect([text.includes("PGBACKREST_REPO1_CIPHER_PASS"), text.includes("secret.conf"), /^repo1-cipher-pass=/m.test(text)]).toEqual([true, false, false]);
  });
});

describe("certificates", () => {
  const auth = (t: RenderTarget) => lines(renderPgBackRestConfig(distributedNode(0), t)).filter((l) => l.startsWith("tls-server-auth="));

  test("per-member: one tls-server-auth entry per peer (CN = member name)", () => {
    expect(auth(AWS_EC2_TARGET)).toEqual(["tls-server-auth=orders-1=orders", "tls-server-auth=orders-2=orders"]);
  });

  test("shared: one tls-server-auth entry for the cluster certificate (CN = cluster name)", () => {
    expect(auth(target({ certificates: "shared" }))).toEqual(["tls-server-auth=orders=orders"]);
  });
});

describe("logging", () => {
  test("file: PostgreSQL's logging collector is on and PgBouncer writes its log file", () => {
    expect(renderPostgresParameters(spec()).logging_collector).toBe("on");
    expect(renderPgBouncerConfig(pooler(), "rw")).toMatch(/^logfile = \/var\/log\/pgbouncer\/pgbouncer-rw\.log$/m);
  });

  test("stderr: the logging collector is off", () => {
    expect(renderPostgresParameters(spec(), target({ logging: "stderr" })).logging_collector).toBe("off");
    expect(parse(renderPatroniConfig(distributedNode(0), { target: target({ logging: "stderr" }) })).postgresql.parameters.logging_collector).toBe("off");
  });

  test("stderr: PgBouncer's ini has no logfile", () => {
    for (const [ctx, pool] of [[pooler(), "rw"], [pooler(), "ro"], [standaloneNode(), "rw"]] as const) {
      expect(renderPgBouncerConfig(ctx, pool, target({ logging: "stderr" }))).not.toMatch(/^logfile/m);
    }
  });
});

describe("member addressing", () => {
  test("member-address: replication and pg_rewind from each member's /32", () => {
    const hba = renderPgHba(spec(), members("orders", 3));
    expect(hba.filter((r) => r.endsWith("/32 scram-sha-256") && !r.includes("127.0.0.1"))).toHaveLength(6);
  });

  test("pod-network: replication and pg_rewind from each pod network CIDR, no member /32 rule, same order around them", () => {
    const ms = members("orders", 3);
    const aws = renderPgHba(spec(), ms);
    const pods = renderPgHba(spec(), ms, POD_NETWORK);
    expect(pods.filter((r) => ms.some((m) => r.includes(m.address)))).toEqual([]);
    expect(pods.slice(3, 7)).toEqual([
      "hostssl replication replicator 10.42.0.0/16 scram-sha-256",
      "hostssl replication replicator 10.43.0.0/16 scram-sha-256",
      "hostssl postgres rewind_user 10.42.0.0/16 scram-sha-256",
      "hostssl postgres rewind_user 10.43.0.0/16 scram-sha-256",
    ]);
    expect([pods.slice(0, 3), pods.slice(7)]).toEqual([aws.slice(0, 3), aws.slice(9)]);
  });

  test("pod-network: patroni.yml has no member name and no listen/connect addresses (they come from the environment)", () => {
    const c = parse(renderPatroniConfig(distributedNode(1), { target: POD_NETWORK }));
    expect([c.name, c.restapi.listen, c.restapi.connect_address, c.postgresql.listen, c.postgresql.connect_address]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  test("pod-network: one file for every member (only the header comment names a member)", () => {
    const body = (i: number) => renderPatroniConfig(distributedNode(i), { target: POD_NETWORK }).replace(/^#.*\n/gm, "");
    expect([body(1) === body(0), body(2) === body(0)]).toEqual([true, true]);
  });

  test("pod-network: postgresql.pg_hba and bootstrap.pg_hba carry the pod-network rules", () => {
    const ctx = distributedNode(0);
    const c = parse(renderPatroniConfig(ctx, { target: POD_NETWORK }));
    const expected = renderPgHba(ctx.spec, ctx.members, POD_NETWORK);
    expect([c.postgresql.pg_hba, c.bootstrap.pg_hba]).toEqual([expected, expected]);
  });

  test("member-address: patroni.yml names the member and listens on its address", () => {
    const c = parse(renderPatroniConfig(distributedNode(1)));
    expect([c.name, c.restapi.listen, c.postgresql.connect_address]).toEqual(["orders-1", "10.10.0.12:8008", "10.10.0.12:5432"]);
  });
});

describe("dcs", () => {
  test("kubernetes replaces etcd3", () => {
    const c = parse(renderPatroniConfig(distributedNode(0), { target: target({ dcs: { kind: "kubernetes", namespace: "db", labels: {} } }) }));
    expect([c.etcd3, c.kubernetes]).toEqual([undefined, { namespace: "db", labels: {} }]);
  });
});

describe("pooler upstreams", () => {
  const upstream = { host: "orders-primary.db.svc.cluster.local", port: 5432, comment: "the primary's Service" };

  test("a pool with an upstream forwards every database to it, with its comment", () => {
    const l = lines(renderPgBouncerConfig(pooler(), "rw", target({ poolerUpstreams: { rw: upstream } })));
    const at = l.indexOf("[databases]");
    expect(l.slice(at, at + 3)).toEqual(["[databases]", "; the primary's Service", "* = host=orders-primary.db.svc.cluster.local port=5432"]);
    expect(l.some((x) => x.includes("HAProxy"))).toBe(false);
  });

  test("a pool without an upstream keeps the local HAProxy frontend", () => {
    const text = renderPgBouncerConfig(pooler(), "ro", target({ poolerUpstreams: { rw: upstream } }));
    expect(text).toMatch(/^\* = host=127\.0\.0\.1 port=15433$/m);
  });
});
