import { spawnSync } from "child_process";
import * as net from "net";

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a bash script (bounded by `timeoutMs`); returns stdout, stderr and status. */
export function bash(script: string, args: string[], timeoutMs: number): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync("bash", ["-c", script, "bash", ...args], { encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL" });
  return { stdout: r.stdout ?? "", stderr: r.stderr ?? "", status: r.status };
}

/** Samples of a metric in Prometheus text exposition: `[labels, value]` pairs. */
export function samples(exposition: string, name: string): { labels: string; value: number }[] {
  const re = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "gm");
  return [...exposition.matchAll(re)].map((m) => ({ labels: m[1] ?? "", value: Number(m[2]) }));
}

/** A green cluster's `upgradeFrom` (blue "orders" on PostgreSQL 15). */
export const UPGRADE_FROM = {
  clusterName: "orders",
  majorVersion: 15 as const,
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:managed-postgres/orders-AbCdEf",
  nodeAddresses: ["10.0.1.10", "10.0.2.10", "10.0.3.10"],
  securityGroupId: "sg-0abc12345",
};

/** The alarm keys only a green cluster (`upgradeFrom`) has, in their order. */
export const UPGRADE_ALARM_KEYS = ["upgrade-preflight-warning", "upgrade-lag-warning", "upgrade-schema-drift-warning", "upgrade-cutover-critical", "upgrade-run-failing-warning"] as const;
