import * as fc from "fast-check";
import { parse } from "yaml";
import {
  AWS_EC2_TARGET,
  PATHS,
  PATRONI_POST_BOOTSTRAP_SCRIPT,
  PATRONI_TIMING,
  pgBinDir,
  pgDataDir,
  patroniDcsSettings,
  renderPatroniConfig,
  renderPgHba,
  } from "../../src/render";
import { distributedNode, standaloneNode, TOKEN_ADDRESSES } from "./fixtures";

const d = () => parse(renderPatroniConfig(distributedNode(0)));
const s = () => parse(renderPatroniConfig(standaloneNode()));

describe("renderPatroniConfig: identity and REST API", () => {
  test("scope is the cluster name and name is the member name", () => {
    const c = parse(renderPatroniConfig(distributedNode(2)));
    expect(c.scope).toBe("orders");
    expect(c.name).toBe("orders-2");
  });

  test("REST API listens on the member address :8008 over TLS with the cluster CA", () => {
    const r = d().restapi;
    expect(r.listen).toBe("10.10.0.11:8008");
    expect(r.connect_address).toBe("10.10.0.11:8008");
    expect([r.certfile, r.keyfile, r.cafile]).toEqual([PATHS.serverCert, PATHS.serverKey, PATHS.caCert]);
  });

  test("REST API authentication names the user but leaves the password to PATRONI_RESTAPI_PASSWORD", () => {
    expect(d().restapi.authentication).toEqual({ username: "patroni" });
  });

  test("no password appears anywhere in the file", () => {
    for (const text of [renderPatroniConfig(distributedNode(0)), renderPatroniConfig(standaloneNode())]) {
      expect(text).not.toMatch(/password\s*:/i);
    }
  });
});

describe("renderPatroniConfig: DCS", () => {
  test("etcd3 over https on every member's :2379 with client certificates by default", () => {
    expect(d().etcd3).toEqual({
      protocol: "https",
      hosts: ["10.10.0.11:2379", "10.10.0.12:2379", "10.10.0.13:2379"],
      cacert: PATHS.caCert,
      cert: PATHS.serverCert,
      key: PATHS.serverKey,
    });
  });

  test("a standalone node uses its own one-member etcd", () => {
    expect(s().etcd3.hosts).toEqual(["10.10.0.11:2379"]);
  });

  test("the kubernetes DCS replaces etcd3 and carries namespace, labels and endpoint settings", () => {
    const c = parse(
      renderPatroniConfig(distributedNode(0), {
        target: {
          ...AWS_EC2_TARGET,
          dcs: { kind: "kubernetes", namespace: "db", labels: { app: "orders" }, scopeLabel: "cluster", roleLabel: "pg-role", useEndpoints: true, podIp: "10.10.0.11" },
        },
      }),
    );
    expect(c.etcd3).toBeUndefined();
    expect(c.kubernetes).toEqual({
      namespace: "db",
      labels: { app: "orders" },
      scope_label: "cluster",
      role_label: "pg-role",
      use_endpoints: true,
      pod_ip: "10.10.0.11",
      ports: [{ name: "postgresql", port: 5432 }],
    });
  });

  test("the kubernetes DCS rejects an empty namespace", () => {
    expect(() => renderPatroniConfig(distributedNode(0), { target: { ...AWS_EC2_TARGET, dcs: { kind: "kubernetes", namespace: "", labels: {} } } })).toThrow(/dcs\.namespace/);
  });
});

describe("renderPatroniConfig: failover behaviour", () => {
  test("distributed: synchronous mode strict with one synchronous standby", () => {
    const dcs = d().bootstrap.dcs;
    expect(dcs.synchronous_mode).toBe(true);
    expect(dcs.synchronous_mode_strict).toBe(true);
    expect(dcs.synchronous_node_count).toBe(1);
  });

  test("standalone: no synchronous mode (there is no standby to wait for)", () => {
    const dcs = s().bootstrap.dcs;
    expect(dcs.synchronous_mode).toBe(false);
    expect(dcs.synchronous_mode_strict).toBe(false);
    expect(dcs.synchronous_node_count).toBeUndefined();
  });

  test("failsafe mode, pg_rewind and replication slots are on", () => {
    const dcs = d().bootstrap.dcs;
    expect(dcs.failsafe_mode).toBe(true);
    expect(dcs.postgresql.use_pg_rewind).toBe(true);
    expect(dcs.postgresql.use_slots).toBe(true);
    expect(dcs.maximum_lag_on_failover).toBe(1048576);
  });

  test("timing satisfies Patroni's rule ttl >= loop_wait + 2 * retry_timeout", () => {
    const { ttl, loop_wait, retry_timeout } = d().bootstrap.dcs;
    expect({ ttl, loop_wait, retry_timeout }).toEqual(PATRONI_TIMING);
    expect(ttl).toBeGreaterThanOrEqual(loop_wait + 2 * retry_timeout);
  });

  test("the default timing is valid on Patroni 4: ttl 20, loop_wait 8, retry_timeout 5", () => {
    expect(PATRONI_TIMING).toEqual({ ttl: 20, loop_wait: 8, retry_timeout: 5 });
    const { ttl, loop_wait, retry_timeout } = s().bootstrap.dcs;
    expect({ ttl, loop_wait, retry_timeout }).toEqual(PATRONI_TIMING);
  });

  test("the spec's patroni timing overrides the default in both models", () => {
    const patroni = { ttl: 30, loopWait: 5, retryTimeout: 10 };
    for (const ctx of [distributedNode(1, { patroni }), standaloneNode({ patroni })]) {
      const { ttl, loop_wait, retry_timeout } = parse(renderPatroniConfig(ctx)).bootstrap.dcs;
      expect({ ttl, loop_wait, retry_timeout }).toEqual({ ttl: 30, loop_wait: 5, retry_timeout: 10 });
    }
    expect(renderPatroniConfig(distributedNode(0, { patroni: { ttl: 25 } }))).toMatch(/#.*ttl 25 s >= loop_wait 8 \+ 2 \* retry_timeout 5/);
  });

  test("a YAML comment justifies the timing", () => {
    expect(renderPatroniConfig(distributedNode(0))).toMatch(/#.*ttl 20 s >= loop_wait 8 \+ 2 \* retry_timeout 5/);
  });
});

describe("renderPatroniConfig: postgresql section", () => {
  test("listens on the member address and localhost, advertises the member address", () => {
    const p = d().postgresql;
    expect(p.listen).toBe("10.10.0.11,127.0.0.1:5432");
    expect(p.connect_address).toBe("10.10.0.11:5432");
  });

  test("data and binary directories follow the major version", () => {
    const p = parse(renderPatroniConfig(distributedNode(0, { majorVersion: 17 }))).postgresql;
    expect(p.data_dir).toBe(pgDataDir(17));
    expect(p.bin_dir).toBe(pgBinDir(17));
  });

  test("replication and rewind connections verify the server against the cluster CA", () => {
    const a = d().postgresql.authentication;
    expect(a.superuser).toEqual({ username: "postgres" });
    expect(a.replication).toEqual({ username: "replicator", sslmode: "verify-ca", sslrootcert: PATHS.caCert });
    expect(a.rewind).toEqual({ username: "rewind_user", sslmode: "verify-ca", sslrootcert: PATHS.caCert });
  });

  test("issue 15: with upgradeTo (blue of an upgrade) wal_level logical goes to bootstrap.dcs, never to the local parameters Patroni would ignore", () => {
    const upgradeTo = { nodeAddresses: ["10.20.0.21", "10.20.0.22"] };
    for (const ctx of [distributedNode(1, { upgradeTo }), standaloneNode({ upgradeTo })]) {
      const c = parse(renderPatroniConfig(ctx));
      expect(c.bootstrap.dcs.postgresql.parameters.wal_level).toBe("logical");
      expect(c.postgresql.parameters.wal_level).toBeUndefined();
    }
    expect(patroniDcsSettings(distributedNode(0, { upgradeTo }).spec)).toMatchObject({ postgresql: { parameters: { wal_level: "logical" } } });
    expect(patroniDcsSettings(distributedNode(0).spec)).toMatchObject({ postgresql: { parameters: { wal_level: "replica" } } });
  });

  test("cluster-wide parameters go to the DCS, node parameters to the local configuration", () => {
    const c = d();
    expect(c.bootstrap.dcs.postgresql.parameters.max_connections).toBe("150");
    expect(c.bootstrap.dcs.postgresql.parameters.wal_level).toBe("replica");
    expect(c.postgresql.parameters.max_connections).toBeUndefined();
    expect(c.postgresql.parameters.ssl_min_protocol_version).toBe("TLSv1.3");
    expect(c.postgresql.parameters.archive_command).toBe("pgbackrest --stanza=orders archive-push %p");
  });

  test("on/off values are quoted so YAML 1.1 readers (PyYAML) keep them as strings", () => {
    const text = renderPatroniConfig(distributedNode(0));
    expect(text).toContain('ssl: "on"');
    expect(text).not.toMatch(/: on$/m);
  });

  test("pg_hba is the hostssl-only rule set, also under bootstrap", () => {
    const c = d();
    const ctx = distributedNode(0);
    expect(c.postgresql.pg_hba).toEqual(renderPgHba(ctx.spec, ctx.members));
    expect(c.bootstrap.pg_hba).toEqual(c.postgresql.pg_hba);
  });

  test("replicas are created from the pgBackRest backup first, pg_basebackup second", () => {
    const p = d().postgresql;
    expect(p.create_replica_methods).toEqual(["pgbackrest", "basebackup"]);
    expect(p.pgbackrest).toEqual({ command: "pgbackrest --stanza=orders --delta restore", keep_data: true, no_params: true });
    expect(p.recovery_conf.restore_command).toBe('pgbackrest --stanza=orders archive-get %f "%p"');
  });

  test("initdb enables data checksums with UTF8 and runs the post-bootstrap script", () => {
    const b = d().bootstrap;
    expect(b.initdb).toContain("data-checksums");
    expect(b.initdb).toContainEqual({ encoding: "UTF8" });
    expect(b.post_bootstrap).toBe(PATRONI_POST_BOOTSTRAP_SCRIPT);
  });
});

describe("renderPatroniConfig: restore into a new cluster", () => {
  const restoreAt = (target: string) =>
    parse(renderPatroniConfig(distributedNode(0, { name: "orders-v2" }), { restore: { stanza: "orders", target } })).bootstrap;

  test("a timestamp target restores with --type=time and promotes at the target", () => {
    const b = restoreAt("2026-11-20 10:00:00+00");
    expect(b.method).toBe("pgbackrest_restore");
    expect(b.pgbackrest_restore.command).toBe(
      'pgbackrest --stanza=orders --pg1-path=/data/pgdata/15 --repo1-path=/orders --type=time "--target=2026-11-20 10:00:00+00" --target-action=promote --delta restore',
    );
    expect(b.pgbackrest_restore.keep_existing_recovery_conf).toBe(true);
    expect(b.pgbackrest_restore.no_params).toBe(true);
    expect(b.pgbackrest_restore.recovery_conf).toEqual({
      restore_command: 'pgbackrest --stanza=orders --pg1-path=/data/pgdata/15 --repo1-path=/orders archive-get %f "%p"',
      recovery_target_timeline: "latest",
      recovery_target_time: "2026-11-20 10:00:00+00",
      recovery_target_action: "promote",
    });
  });

  test("the latest target replays the whole archive without --type", () => {
    const b = restoreAt("latest");
    expect(b.pgbackrest_restore.command).toBe("pgbackrest --stanza=orders --pg1-path=/data/pgdata/15 --repo1-path=/orders --delta restore");
    expect(b.pgbackrest_restore.recovery_conf.recovery_target_time).toBeUndefined();
  });

  test("the new cluster archives to its own stanza", () => {
    const c = parse(renderPatroniConfig(distributedNode(0, { name: "orders-v2" }), { restore: { stanza: "orders", target: "latest" } }));
    expect(c.postgresql.parameters.archive_command).toBe("pgbackrest --stanza=orders-v2 archive-push %p");
  });

  test("a target without a time zone is rejected with the allowed forms", () => {
    expect(() => restoreAt("2026-11-20 10:00:00")).toThrow(/restore\.target must be "latest" or a timestamp with a time zone.*Got "2026-11-20 10:00:00"/);
  });

  test("a long restore command is not folded across lines", () => {
    const text = renderPatroniConfig(distributedNode(0, { name: "orders-v2" }), {
      restore: { stanza: "orders", target: "2026-11-20T10:00:00.123456+01:00", repoPath: "/a/very/long/repository/path/for/the/source/cluster", configFile: "/etc/pgbackrest/source.conf" },
    });
    const line = text.split("\n").find((l) => l.includes("command: pgbackrest --config=/etc/pgbackrest/source.conf"));
    expect(line).toContain("--delta restore");
  });
});

describe("renderPatroniConfig: Terraform tokens", () => {
  test("token addresses pass through the YAML emitter unchanged", () => {
    const text = renderPatroniConfig(distributedNode(1, {}, TOKEN_ADDRESSES));
    const c = parse(text);
    expect(c.restapi.listen).toBe("${TfToken[TOKEN.13]}:8008");
    expect(c.postgresql.connect_address).toBe("${TfToken[TOKEN.13]}:5432");
    expect(c.postgresql.listen).toBe("${TfToken[TOKEN.13]},127.0.0.1:5432");
    expect(c.etcd3.hosts).toEqual(["${TfToken[TOKEN.12]}:2379", "${TfToken[TOKEN.13]}:2379", "${TfToken[TOKEN.14]}:2379"]);
    expect(c.postgresql.pg_hba).toContain("hostssl replication replicator ${TfToken[TOKEN.14]}/32 scram-sha-256");
    expect(text).toContain("${TfToken[TOKEN.14]}");
  });

  test("is deterministic", () => {
    expect(renderPatroniConfig(distributedNode(1))).toBe(renderPatroniConfig(distributedNode(1)));
  });
});

describe("renderPatroniConfig: any address string survives the YAML emitter", () => {
  test("Terraform tokens, IPv4 and IPv6-like strings round-trip exactly (property)", () => {
    const token = fc.nat(99999).map((n) => `\${TfToken[TOKEN.${n}]}`);
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
    const odd = fc.constantFrom("${aws_network_interface.slot0.private_ip}", "#{x}", "- a", "on", "null", "'q'", '"dq"', "a: b");
    fc.assert(
      fc.property(fc.array(fc.oneof(token, ipv4, odd), { minLength: 3, maxLength: 3 }), (addrs) => {
        const c = parse(renderPatroniConfig(distributedNode(0, {}, addrs)));
        expect(c.restapi.listen).toBe(`${addrs[0]}:8008`);
        expect(c.etcd3.hosts).toEqual(addrs.map((a) => `${a}:2379`));
        expect(c.postgresql.pg_hba[3]).toBe(`hostssl replication replicator ${addrs[0]}/32 scram-sha-256`);
      }),
      { numRuns: 200 },
    );
  });
});

describe("renderPatroniConfig: one cluster's nodes", () => {
  test("the nodes of one cluster differ only in their name and addresses", () => {
    const [a, b] = [0, 1].map((i) => renderPatroniConfig(distributedNode(i)));
    const differing = a.split("\n").filter((line, i) => line !== b.split("\n")[i]);
    expect(differing).toEqual([
      "# Patroni configuration of orders-0 (cluster orders, distributed).",
      "name: orders-0",
      "  listen: 10.10.0.11:8008",
      "  connect_address: 10.10.0.11:8008",
      "  listen: 10.10.0.11,127.0.0.1:5432",
      "  connect_address: 10.10.0.11:5432",
    ]);
  });
});
