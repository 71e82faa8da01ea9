import { parse } from "yaml";
import { PATHS, renderEtcdConfig } from "../../src/render";
import { distributedNode, standaloneNode, TOKEN_ADDRESSES } from "./fixtures";

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
