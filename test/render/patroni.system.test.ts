import {
  AWS_EC2_TARGET,
  PATHS,
  renderEtcdConfig,
  renderPatroniConfig,
  type NodeContext,
  type PatroniOptions,
} from "../../src/render";
import { distributedNode, standaloneNode, TEST_ADDRESSES } from "./fixtures";
import { runSandbox } from "./sandbox";
import { requireTools, startEtcd, validatePatroniConfigs } from "./tools";

/** The PATRONI_* secrets the node bootstrap puts in PATHS.patroniEnv (dummy values). */
const NODE_ENV =
  "PATRONI_SUPERUSER_PASSWORD=x1 PATRONI_REPLICATION_PASSWORD=x2 PATRONI_REWIND_PASSWORD=x3 PATRONI_RESTAPI_PASSWORD=x4";

/** Runs `patroni --validate-config` on each rendered config (root i = member i), etcd up when asked. */
function validate(configs: { ctx: NodeContext; options?: PatroniOptions }[], etcd: boolean, env = NODE_ENV) {
  const addresses = configs.length === 1 && configs[0]!.ctx.members.length === 1 ? [TEST_ADDRESSES[0]] : [...TEST_ADDRESSES];
  const roots = configs.map(({ ctx, options }) => [
    { path: PATHS.patroniConfig, content: renderPatroniConfig(ctx, options) },
    { path: PATHS.etcdConfig, content: renderEtcdConfig(ctx) },
  ]);
  const indexes = configs.map((_, i) => i);
  return runSandbox({
    addresses,
    roots,
    tls: true,
    script: `${requireTools("patroni", "etcd", "etcdctl")}
${etcd ? startEtcd(indexes, addresses) : ""}
${validatePatroniConfigs(indexes, env)}`,
  });
}

describe("patroni --validate-config accepts the rendered files", () => {
  test("distributed: every member's configuration, with etcd reachable", () => {
    const r = validate([0, 1, 2].map((i) => ({ ctx: distributedNode(i) })), true);
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(r.stdout).toBe("member 0: rc=0\nmember 1: rc=0\nmember 2: rc=0\n");
    expect(r.status).toBe(0);
  });

  test("standalone, with its one-member etcd reachable", () => {
    const r = validate([{ ctx: standaloneNode() }], true);
    expect(r.stdout).toBe("member 0: rc=0\n");
    expect(r.status).toBe(0);
  });

  test("the kubernetes DCS variant", () => {
    const r = validate(
      [{ ctx: distributedNode(0), options: { target: { ...AWS_EC2_TARGET, dcs: { kind: "kubernetes", namespace: "db", labels: { app: "orders" }, useEndpoints: true, podIp: "10.10.0.11" } } } }],
      false,
    );
    expect(r.stdout).toBe("member 0: rc=0\n");
    expect(r.status).toBe(0);
  });

  test("the restore variant", () => {
    const r = validate([0, 1, 2].map((i) => ({ ctx: distributedNode(i, { name: "orders-v2" }), options: { restore: { stanza: "orders", target: "2026-11-20 10:00:00+00" } } })), true);
    expect(r.stdout).toBe("member 0: rc=0\nmember 1: rc=0\nmember 2: rc=0\n");
    expect(r.status).toBe(0);
  });

  test("without PATRONI_RESTAPI_PASSWORD Patroni refuses the configuration (the REST API never runs unauthenticated)", () => {
    const r = validate([{ ctx: standaloneNode() }], true, "PATRONI_SUPERUSER_PASSWORD=x1");
    expect(r.stdout).toMatch(/member 0: rc=[1-9]/);
    expect(r.stdout).toContain("KeyError: 'password'");
  });

  test("the validator really checks: a loopback connect address is rejected", () => {
    const ctx = distributedNode(0, {}, ["127.0.0.1", "10.10.0.12", "10.10.0.13"]);
    const r = validate([{ ctx }], false);
    expect(r.stdout).toMatch(/member 0: rc=[1-9]/);
    expect(r.stdout).toMatch(/connect_address.*must not contain "127\.0\.0\.1"/);
  });
});
