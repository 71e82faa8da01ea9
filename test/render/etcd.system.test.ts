import { spawnSync } from "child_process";
import { parse } from "yaml";
import { PATHS, renderEtcdConfig } from "../../src/render";
import { distributedNode, standaloneNode, TEST_ADDRESSES } from "./fixtures";
import { runSandbox, type SandboxResult } from "./sandbox";
import { requireTools, startEtcd } from "./tools";

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
