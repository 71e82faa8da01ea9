/**
 * The blue side of an upgrade's cutover (src/render/upgrade-redirect.ts): what a blue cluster
 * with `upgradeTo.readWriteEndpoint` renders for its PgBouncer hosts, and nothing without it.
 * The agent itself runs in test/render/upgrade-redirect.system.test.ts.
 */
import { gzipSync } from "node:zlib";
import {
  PATHS,
  pgbouncerConfigPath,
  poolerServices,
  renderNodeUserData,
  renderPgBouncerConfig,
  renderPoolerSystemdUnits,
  renderPoolerUserData,
  renderSystemdUnits,
  renderUpgradePoolConfig,
  renderUpgradeRedirectFiles,
  UPGRADE_POOLER_AUTH_ROLE,
  UPGRADE_REDIRECT_SCRIPT,
  UPGRADE_REDIRECT_UNIT,
  UPGRADE_TARGET_CA,
  unitsToStart,
  upgradePoolConfigPath,
  upgradeRedirectTarget,
} from "../../src/render";
import type { UpgradeTo } from "../../src/cluster-spec";
import { distributedNode, pooler, standaloneNode, TOKEN_ADDRESSES } from "./fixtures";

const GREEN_DISTRIBUTED: UpgradeTo = {
  nodeAddresses: ["10.0.1.20", "10.0.2.20", "10.0.3.20"],
  readWriteEndpoint: "orders-v17-rw-0123456789abcdef.elb.eu-west-1.amazonaws.com",
  readWritePort: 5432,
  readOnlyEndpoint: "orders-v17-ro-0123456789abcdef.elb.eu-west-1.amazonaws.com",
  readOnlyPort: 5433,
};
const GREEN_STANDALONE: UpgradeTo = { nodeAddresses: ["10.0.1.20"], readWriteEndpoint: "10.0.1.20", readWritePort: 6432 };

/** The header value NAME of a rendered script (single-quoted or a number). */
function headerValue(text: string, name: string): string {
  const m = new RegExp(`^readonly ${name}=(?:'([^']*)'|(\\d+))$`, "m").exec(text);
  if (!m) throw new Error(`no ${name} in the header`);
  return m[1] ?? m[2]!;
}

describe("without upgradeTo.readWriteEndpoint nothing changes", () => {
  test.each([
    ["a pooler instance", pooler()],
    ["a pooler instance of a blue whose clients move themselves", pooler({ upgradeTo: { nodeAddresses: ["10.0.1.20"] } })],
    ["a standalone node", standaloneNode()],
  ])("%s: no agent, no upgrade pool file, no unit", (_name, ctx) => {
    expect(renderUpgradeRedirectFiles(ctx)).toEqual([]);
    expect(upgradeRedirectTarget(ctx, "rw")).toBeUndefined();
    const units = "self" in ctx ? renderSystemdUnits(ctx as Parameters<typeof renderSystemdUnits>[0]) : renderPoolerSystemdUnits(ctx);
    expect(units.map((u) => u.path).filter((p) => p.includes(UPGRADE_REDIRECT_UNIT))).toEqual([]);
  });
});

describe("a distributed blue (pooler instances) with green's endpoints", () => {
  const ctx = pooler({ upgradeTo: GREEN_DISTRIBUTED }, TOKEN_ADDRESSES);
  const files = renderUpgradeRedirectFiles(ctx);

  test("the agent (root 0755) and an upgrade pool file per pool (postgres 0640, as the live ones)", () => {
    expect(files.map((f) => [f.path, f.mode, f.owner])).toEqual([
      [UPGRADE_REDIRECT_SCRIPT, "0755", "root:root"],
      [upgradePoolConfigPath("rw"), "0640", "postgres:postgres"],
      [upgradePoolConfigPath("ro"), "0640", "postgres:postgres"],
    ]);
    expect(upgradePoolConfigPath("rw")).toBe("/etc/pgbouncer/pgbouncer-rw.upgrade.ini");
  });

  test("each upgrade pool file differs from the live one only in where the databases go, the auth role there and the CA that checks it", () => {
    for (const [pool, host, port] of [["rw", GREEN_DISTRIBUTED.readWriteEndpoint, 5432], ["ro", GREEN_DISTRIBUTED.readOnlyEndpoint, 5433]] as const) {
      const live = renderPgBouncerConfig(ctx, pool).split("\n");
      const upgrade = renderUpgradePoolConfig(ctx, pool).split("\n");
      const removed = live.filter((l) => !upgrade.includes(l));
      const added = upgrade.filter((l) => !live.includes(l));
      expect(removed).toEqual([
        `; Every database goes to the local HAProxy frontend that follows the ${pool === "rw" ? "primary" : "healthy replicas"}.`,
        `* = host=127.0.0.1 port=${pool === "rw" ? 15432 : 15433}`,
        `server_tls_ca_file = ${PATHS.caCert}`,
      ]);
      expect(added).toEqual([
        `; After the cutover of the upgrade (upgradeTo): every database goes to green's ${pool === "rw" ? "read-write" : "read-only"} endpoint.`,
        `* = host=${host} port=${port} auth_user=${UPGRADE_POOLER_AUTH_ROLE}`,
        `server_tls_ca_file = ${UPGRADE_TARGET_CA}`,
      ]);
      expect(files.find((f) => f.path === upgradePoolConfigPath(pool))?.content).toBe(upgrade.join("\n"));
    }
  });

  test("the agent's header: blue's members for GET /config, both pools' ports, sockets, live and upgrade files", () => {
    const script = files[0]!.content;
    expect(script.startsWith("#!/bin/bash\n")).toBe(true);
    expect(script.endsWith("\nmain\n")).toBe(true);
    expect(headerValue(script, "REST_ADDRESSES")).toBe(TOKEN_ADDRESSES.join(" "));
    expect(headerValue(script, "REST_PORT")).toBe("8008");
    expect(headerValue(script, "POOLS")).toBe("rw ro");
    expect(headerValue(script, "POOL_MODE")).toBe("transaction");
    expect([headerValue(script, "PORT_RW"), headerValue(script, "PORT_RO")]).toEqual(["6432", "6433"]);
    expect([headerValue(script, "RUN_DIR_RW"), headerValue(script, "RUN_DIR_RO")]).toEqual(["/run/pgbouncer-rw", "/run/pgbouncer-ro"]);
    expect([headerValue(script, "CONFIG_RW"), headerValue(script, "UPGRADE_CONFIG_RO")]).toEqual([pgbouncerConfigPath("rw"), upgradePoolConfigPath("ro")]);
    expect(headerValue(script, "USERLIST")).toBe(PATHS.pgbouncerUserlist);
    expect(headerValue(script, "STATE_DIR")).toBe("/var/lib/managed-postgres-upgrade-redirect");
    // a read a second while idle; ten a second while the pools are paused (clients wait then)
    expect([headerValue(script, "POLL_SECONDS"), headerValue(script, "PAUSED_POLL_SECONDS")]).toEqual(["1", "0.1"]);
    expect(script).toContain('if [ "$paused" = 1 ] && [ "$retry" = 0 ]; then sleep "$PAUSED_POLL_SECONDS"; else sleep "$POLL_SECONDS"; fi');
  });

  test("the unit: a daemon as postgres (PgBouncer's admin console admits that user over the socket), writing only /etc/pgbouncer and its state directory, started by the bootstrap", () => {
    const unit = renderPoolerSystemdUnits(ctx).find((u) => u.path.endsWith(`/${UPGRADE_REDIRECT_UNIT}.service`));
    expect(unit?.content).toContain("User=postgres\n");
    expect(unit?.content).toContain(`ExecStart=${UPGRADE_REDIRECT_SCRIPT}\n`);
    expect(unit?.content).toContain("ReadWritePaths=/etc/pgbouncer\n");
    expect(unit?.content).toContain("StateDirectory=managed-postgres-upgrade-redirect\n");
    expect(unit?.content).toContain("ProtectSystem=strict\n");
    expect(unit?.content).toContain("Restart=always\n");
    expect(unit?.content).toContain("After=network-online.target managed-postgres-bootstrap.service pgbouncer@rw.service pgbouncer@ro.service\n");
    expect(unitsToStart(poolerServices(ctx))).toContain(`${UPGRADE_REDIRECT_UNIT}.service`);
    expect(unitsToStart(poolerServices(pooler()))).not.toContain(`${UPGRADE_REDIRECT_UNIT}.service`);
  });

  test("without a read-only endpoint the read-only pool goes where the read-write one goes (green's primary)", () => {
    const { readOnlyEndpoint: _e, readOnlyPort: _p, ...rwOnly } = GREEN_DISTRIBUTED;
    expect(upgradeRedirectTarget(pooler({ upgradeTo: rwOnly }), "ro")).toEqual({ host: GREEN_DISTRIBUTED.readWriteEndpoint, port: 5432 });
  });

  test("token hosts and ports pass through verbatim (Terraform replaces them; the construct turns a number token port into a string token)", () => {
    const tokens = pooler({ upgradeTo: { nodeAddresses: ["10.0.1.20"], readWriteEndpoint: "${TfToken[TOKEN.71]}", readWritePort: "${TfToken[TOKEN.72]}" as unknown as number } });
    expect(renderUpgradePoolConfig(tokens, "rw")).toContain(`* = host=\${TfToken[TOKEN.71]} port=\${TfToken[TOKEN.72]} auth_user=${UPGRADE_POOLER_AUTH_ROLE}\n`);
  });
});

describe("a standalone blue (PgBouncer on its node) with green's endpoint", () => {
  const ctx = standaloneNode({ upgradeTo: GREEN_STANDALONE });

  test("one pool: the agent for rw only, the node's unit", () => {
    const files = renderUpgradeRedirectFiles(ctx);
    expect(files.map((f) => f.path)).toEqual([UPGRADE_REDIRECT_SCRIPT, upgradePoolConfigPath("rw")]);
    expect(headerValue(files[0]!.content, "POOLS")).toBe("rw");
    expect(headerValue(files[0]!.content, "PORT_RO")).toBe("");
    expect(headerValue(files[0]!.content, "REST_ADDRESSES")).toBe(ctx.self.address);
    expect(files[1]!.content).toContain(`* = host=10.0.1.20 port=6432 auth_user=${UPGRADE_POOLER_AUTH_ROLE}\n`);
    expect(renderSystemdUnits(ctx).map((u) => u.path)).toContain(`/etc/systemd/system/${UPGRADE_REDIRECT_UNIT}.service`);
  });
});

describe("user data with the redirection", () => {
  const object = { bucket: "${TfToken[TOKEN.901]}", key: "config/orders/orders-0/managed-postgres-bootstrap", versionId: "${TfToken[TOKEN.902]}", sha256: "${TfToken[TOKEN.903]}" };
  test.each([
    ["pooler instance of a distributed blue", () => renderPoolerUserData(pooler({ upgradeTo: GREEN_DISTRIBUTED }, TOKEN_ADDRESSES))],
    ["standalone blue node", () => renderNodeUserData(standaloneNode({ size: "4XL", upgradeTo: GREEN_STANDALONE }), { bootstrapObject: object, installPackages: true })],
  ])("the %s carries the agent and the upgrade pool files, gzipped within EC2's 16 KB", (_name, render) => {
    const text = render();
    expect(text).toContain(`path: ${UPGRADE_REDIRECT_SCRIPT}\n`);
    expect(text).toContain(`path: ${upgradePoolConfigPath("rw")}\n`);
    expect(gzipSync(Buffer.from(text, "utf8"), { level: 6 }).length).toBeLessThanOrEqual(16 * 1024);
  });
});

describe("a distributed blue's database nodes run no PgBouncer", () => {
  test("no agent, no upgrade pool file, no unit in their user data (its pooler instances carry them)", () => {
    const ctx = distributedNode(0, { upgradeTo: GREEN_DISTRIBUTED });
    expect(renderUpgradeRedirectFiles(ctx)).toEqual([]);
    expect(renderNodeUserData(ctx)).not.toContain(UPGRADE_REDIRECT_SCRIPT);
    expect(renderSystemdUnits(ctx).map((u) => u.path).filter((p) => p.includes(UPGRADE_REDIRECT_UNIT))).toEqual([]);
  });
});
