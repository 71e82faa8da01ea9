/**
 * Storage growth on Kubernetes (issue 12): the maintenance agent of the primary pod
 * (src/render/scripts/k8s-maintenance.py, as the synthesized ConfigMap ships it, with the
 * maintenance container's synthesized environment) sets max_wal_size and max_slot_wal_keep_size
 * for the size of the filesystem at DATA_MOUNT in Patroni's dynamic configuration, so that the
 * ConfigMap and the pod template do not depend on `storageGiB`. Run for real with python3 in a
 * private mount namespace where DATA_MOUNT is a tmpfs of a given size (grown with a remount, as
 * the CSI driver grows the volume's filesystem online), against a fake Patroni REST API
 * (`/primary`, `GET`/`PATCH /config`) served by this test on loopback.
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { walLimitsForVolume } from "../../src/render";
import { requirePrerequisites } from "../support/prerequisites";
import { byName, distributed } from "./fixtures";

let server: Server;
let port = 0;
let dir = "";
let script = "";
let shippedEnv: Record<string, string> = {};
let dataMount = "";
let primary = true;
let config: Record<string, any> = {};
let requests: { method: string; path: string; body?: any; auth?: string }[] = [];

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
  const path = req.url ?? "";
  const body = raw ? JSON.parse(raw) : undefined;
  requests.push({ method: req.method!, path, body, auth: req.headers.authorization });
  if (path === "/patroni/primary") return send(res, primary ? 200 : 503, { role: primary ? "primary" : "replica" });
  if (path === "/patroni/config" && req.method === "GET") return send(res, 200, config);
  if (path === "/patroni/config" && req.method === "PATCH") {
    if (req.headers.authorization !== `Basic ${Buffer.from("patroni:rest-secret").toString("base64")}`) return send(res, 401, "no auth");
    config = { ...config, postgresql: { ...config.postgresql, parameters: { ...config.postgresql?.parameters, ...body.postgresql.parameters } } };
    return send(res, 200, config);
  }
  if (path === "/patroni/patroni") return send(res, 200, { role: primary ? "primary" : "replica", pending_restart: false });
  // the Kubernetes API is not served: the roll part of the run says it cannot tell and waits
  send(res, 404, { kind: "Status", code: 404 });
}

beforeAll(async () => {
  requirePrerequisites({ root: true, commands: ["python3", "unshare", "mount"] });
  dir = mkdtempSync(join(tmpdir(), "k8s-wal-limits-"));
  script = join(dir, "maintenance.py");
  const synthesized = distributed();
  writeFileSync(script, byName(synthesized, "kubernetes_config_map_v1", "orders-database").data["maintenance.py"]);
  const container = byName(synthesized, "kubernetes_stateful_set_v1", "orders").spec.template.spec.container.find((c: any) => c.name === "maintenance");
  shippedEnv = Object.fromEntries(container.env.filter((e: any) => typeof e.value === "string").map((e: any) => [e.name, e.value]));
  dataMount = join(dir, "data");
  mkdirSync(dataMount);
  writeFileSync(join(dir, "token"), "test-token\n");
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => handle(req, res, raw));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  primary = true;
  config = { ttl: 20, postgresql: { parameters: { max_connections: 100 } } };
  requests = [];
});

/** One agent pass (`--once`) with DATA_MOUNT a tmpfs of `sizes[0]`, remounted to each further size before a further pass. */
async function passes(sizes: string[]): Promise<string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    ...shippedEnv,
    POD_NAME: "orders-0",
    PATRONI_URL: `http://127.0.0.1:${port}/patroni`,
    PATRONI_RESTAPI_PASSWORD: "rest-secret",
    K8S_API: `http://127.0.0.1:${port}/k8s`,
    K8S_TOKEN_FILE: join(dir, "token"),
    DATA_MOUNT: dataMount,
  };
  const run = `python3 ${JSON.stringify(script)} --once --now 1796860800`;
  const lines = [`mount -t tmpfs -o size=${sizes[0]} tmpfs "$DATA_MOUNT"`, run, ...sizes.slice(1).flatMap((s) => [`mount -o remount,size=${s} "$DATA_MOUNT"`, run])];
  return new Promise((resolve, reject) => {
    const p = spawn("unshare", ["-m", "--propagation", "private", "bash", "-c", `set -e\n${lines.join("\n")}`], { env });
    let out = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    p.stdout.on("data", (c: Buffer) => (out += c.toString()));
    p.stderr.on("data", (c: Buffer) => (out += c.toString()));
    p.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`agent exited ${code}: ${out}`));
      else resolve(out);
    });
  });
}

const patches = () => requests.filter((r) => r.method === "PATCH").map((r) => r.body);

test("the container ships DATA_MOUNT and mounts the data volume read-only", () => {
  expect(shippedEnv.DATA_MOUNT).toBe("/data");
  const container = byName(distributed(), "kubernetes_stateful_set_v1", "orders").spec.template.spec.container.find((c: any) => c.name === "maintenance");
  expect(container.volume_mount.find((m: any) => m.mount_path === "/data")).toMatchObject({ name: "data", read_only: true });
});

test("the primary's agent sets the limits of its 3 GiB volume, then raises them once the filesystem grew to 5 GiB; a pass with nothing new patches nothing", async () => {
  const log = await passes(["3g", "3g", "5g"]);
  const three = walLimitsForVolume(3072);
  const five = walLimitsForVolume(5120);
  expect(patches()).toEqual([
    { postgresql: { parameters: { max_wal_size: three.max_wal_size, max_slot_wal_keep_size: three.max_slot_wal_keep_size } } },
    { postgresql: { parameters: { max_wal_size: five.max_wal_size, max_slot_wal_keep_size: five.max_slot_wal_keep_size } } },
  ]);
  expect(config.postgresql.parameters).toEqual({ max_connections: 100, max_wal_size: "640MB", max_slot_wal_keep_size: "1280MB" });
  expect(log).toMatch(/WAL limits for a 3072 MiB data volume set in Patroni's dynamic configuration: max_wal_size max_slot_wal_keep_size unset unset -> 384MB 768MB/);
  expect(log).toMatch(/WAL limits for a 5120 MiB data volume .*: max_wal_size max_slot_wal_keep_size 384MB 768MB -> 640MB 1280MB \(a reload on every member, no restart\)/);
  // the roll still runs after it (here it cannot reach the Kubernetes API and waits)
  expect(log.match(/^outcome=waiting$/gm)).toHaveLength(3);
});

test("a replica's agent never touches the configuration", async () => {
  primary = false;
  await passes(["5g"]);
  expect(patches()).toEqual([]);
  expect(requests.filter((r) => r.path === "/patroni/config")).toEqual([]);
});

test("no data volume mounted at DATA_MOUNT: nothing is sized, nothing patched", async () => {
  const env = { ...shippedEnv, DATA_MOUNT: join(dir, "not-mounted") };
  expect(env.DATA_MOUNT).not.toBe(dataMount);
  const out = await new Promise<string>((resolve) => {
    const p = spawn("python3", [script, "--once", "--now", "1796860800"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env, POD_NAME: "orders-0", PATRONI_URL: `http://127.0.0.1:${port}/patroni`, PATRONI_RESTAPI_PASSWORD: "rest-secret", K8S_API: `http://127.0.0.1:${port}/k8s`, K8S_TOKEN_FILE: join(dir, "token") },
    });
    let o = "";
    p.stdout.on("data", (c: Buffer) => (o += c.toString()));
    p.on("close", () => resolve(o));
  });
  expect(out).toMatch(/^outcome=waiting$/m);
  expect(requests.filter((r) => r.path.startsWith("/patroni/primary") || r.path === "/patroni/config")).toEqual([]);
});
