import { spawnSync } from "child_process";
import { parse } from "yaml";
import { PATHS, renderEtcdConfig } from "../../src/render";
import { distributedNode, standaloneNode, TEST_ADDRESSES, TOKEN_ADDRESSES } from "./fixtures";
import { runSandbox, type SandboxResult } from "./sandbox";
import { requireTools, startEtcd } from "./tools";

describe("renderEtcdConfig", () => {
  const conf = parse(renderEtcdConfig(distributedNode(1)));

  test("names the member after the node and keeps its data on the data volume", () => {
    expect(conf.name).toBe("orders-1");
    expect(conf["data-dir"]).toBe(PATHS.etcdDataDir);
  });

  test("listens and advertises over https on the member's own address", () => {
    expect(conf["listen-client-urls"]).toBe("https://10.10.0.12:2379");
    expect(conf["advertise-client-urls"]).toBe("https://10.10.0.12:2379");
    expect(conf["listen-peer-urls"]).toBe("https://10.10.0.12:2380");
    expect(conf["initial-advertise-peer-urls"]).toBe("https://10.10.0.12:2380");
  });

  test("lists every member in the initial cluster with a cluster-specific token", () => {
    expect(conf["initial-cluster"]).toBe(
      "orders-0=https://10.10.0.11:2380,orders-1=https://10.10.0.12:2380,orders-2=https://10.10.0.13:2380",
    );
    expect(conf["initial-cluster-state"]).toBe("new");
    expect(conf["initial-cluster-token"]).toBe("managed-postgres-orders");
  });

  test("requires CA-signed client certificates on client and peer connections, without auto TLS", () => {
    for (const section of ["client-transport-security", "peer-transport-security"]) {
      expect(conf[section]).toEqual({
        "cert-file": PATHS.serverCert,
        "key-file": PATHS.serverKey,
        "trusted-ca-file": PATHS.caCert,
        "client-cert-auth": true,
        "auto-tls": false,
      });
    }
  });

  test("a standalone node is a one-member cluster", () => {
    const s = parse(renderEtcdConfig(standaloneNode()));
    expect(s["initial-cluster"]).toBe("orders-0=https://10.10.0.11:2380");
  });

  test("keeps Terraform token addresses verbatim", () => {
    const text = renderEtcdConfig(distributedNode(0, {}, TOKEN_ADDRESSES));
    const t = parse(text);
    expect(t["listen-client-urls"]).toBe("https://${TfToken[TOKEN.12]}:2379");
    expect(t["initial-cluster"]).toBe(
      "orders-0=https://${TfToken[TOKEN.12]}:2380,orders-1=https://${TfToken[TOKEN.13]}:2380,orders-2=https://${TfToken[TOKEN.14]}:2380",
    );
    expect(text).toContain("${TfToken[TOKEN.14]}");
  });

  test("is deterministic", () => {
    expect(renderEtcdConfig(distributedNode(2))).toBe(renderEtcdConfig(distributedNode(2)));
  });
});

describe("etcd 3.4 runs the rendered configuration", () => {
  let cluster: SandboxResult;
  beforeAll(() => {
    const roots = [0, 1, 2].map((i) => [{ path: PATHS.etcdConfig, content: renderEtcdConfig(distributedNode(i)) }]);
    cluster = runSandbox({
      addresses: TEST_ADDRESSES,
      roots,
      tls: true,
      script: `${requireTools("etcd", "etcdctl", "openssl")}
${startEtcd([0, 1, 2], TEST_ADDRESSES)}
$ETCDCTL member list -w simple
echo "gateway: $(chroot $ROOT0 curl -s --max-time 3 --cacert ${PATHS.caCert} --cert ${PATHS.serverCert} --key ${PATHS.serverKey} -X POST -d '{}' https://10.10.0.12:2379/v3/cluster/member/list | grep -o '"name":"orders-[0-9]"' | sort | tr '\\n' ' ')"
echo "--- no client cert"
chroot $ROOT0 env ETCDCTL_API=3 etcdctl --endpoints=https://10.10.0.11:2379 --cacert=${PATHS.caCert} --dial-timeout=2s --command-timeout=3s put k v && echo "UNEXPECTED: accepted without client cert"
echo "--- plain http"
chroot $ROOT0 env ETCDCTL_API=3 etcdctl --endpoints=http://10.10.0.11:2379 --dial-timeout=2s --command-timeout=3s put k v && echo "UNEXPECTED: accepted plain http"
exit 0
`,
    });
  });

  test("three members form a healthy TLS cluster that rejects clients without a certificate", () => {
    const r = cluster;
    expect(r.stderr + r.stdout).not.toContain("MISSING TOOL");
    expect(r.status).toBe(0);
    for (const name of ["orders-0", "orders-1", "orders-2"]) {
      expect(r.stdout).toMatch(new RegExp(`started, ${name}, https://10\\.10\\.0\\.1\\d:2380, https://10\\.10\\.0\\.1\\d:2379`));
    }
    expect(r.stdout).not.toContain("UNEXPECTED");
  });

  test("the JSON gateway Patroni's etcd3 client uses answers on every member over TLS", () => {
    expect(cluster.stdout).toContain('gateway: "name":"orders-0" "name":"orders-1" "name":"orders-2"');
  });

  test("a standalone node's one-member etcd becomes healthy", () => {
    const r = runSandbox({
      addresses: [TEST_ADDRESSES[0]],
      roots: [[{ path: PATHS.etcdConfig, content: renderEtcdConfig(standaloneNode()) }]],
      tls: true,
      script: `${requireTools("etcd", "etcdctl", "openssl")}
${startEtcd([0], [TEST_ADDRESSES[0]])}
$ETCDCTL put /probe ok && $ETCDCTL get /probe --print-value-only
`,
    });
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("ok");
  });

  test("uses only keys etcd 3.4 knows (it silently ignores unknown keys, so a typo would go unnoticed at start)", () => {
    const help = spawnSync("etcd", ["--help"], { encoding: "utf8" });
    expect(help.error).toBeUndefined();
    const flags = new Set((help.stdout + help.stderr).match(/--[a-z0-9-]+/g) ?? []);
    const conf = parse(renderEtcdConfig(distributedNode(0)));
    const keys: string[] = [];
    for (const [k, v] of Object.entries(conf)) {
      if (k === "client-transport-security") keys.push(...Object.keys(v as object));
      else if (k === "peer-transport-security") keys.push(...Object.keys(v as object).map((s) => `peer-${s}`));
      else keys.push(k);
    }
    // etcd 3.4 accepts --enable-grpc-gateway but leaves it out of --help.
    const hidden = new Set(["enable-grpc-gateway"]);
    expect(keys.length).toBeGreaterThan(20);
    expect(keys.filter((k) => !flags.has(`--${k}`) && !hidden.has(k))).toEqual([]);
  });
});
