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
import type { IncomingMessage, ServerResponse } from "node:http";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { walLimitsForVolume } from "../../src/render";
import { requirePrerequisites } from "../support/prerequisites";
import { send, startAgentHarness, type AgentHarness } from "./agent-harness";
import { byName, distributed } from "./fixtures";

let h: AgentHarness;
let dataMount = "";
let primary = true;
let config: Record<string, any> = {};
let requests: { method: string; path: string; body?: any; auth?: string }[] = [];

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
  h = await startAgentHarness("k8s-wal-limits", handle);
  dataMount = join(h.dir, "data");
  mkdirSync(dataMount);
});

afterAll(async () => {
  await h?.close();
});

beforeEach(() => {
  primary = true;
  config = { ttl: 20, postgresql: { parameters: { max_connections: 100 } } };
  requests = [];
});

/** One agent pass (`--once`) with DATA_MOUNT a tmpfs of `sizes[0]`, remounted to each further size before a further pass. */
async function passes(sizes: string[]): Promise<string> {
  const env = h.env("orders-0", { patroni: "/patroni", k8s: "/k8s" }, { DATA_MOUNT: dataMount });
  const run = `python3 ${JSON.stringify(h.script)} --once --now 1796860800`;
  const lines = [`mount -t tmpfs -o size=${sizes[0]} tmpfs "$DATA_MOUNT"`, run, ...sizes.slice(1).flatMap((s) => [`mount -o remount,size=${s} "$DATA_MOUNT"`, run])];
  const r = await h.run("unshare", ["-m", "--propagation", "private", "bash", "-c", `set -e\n${lines.join("\n")}`], env, 60_000);
  if (r.code !== 0) throw new Error(`agent exited ${r.code}: ${r.output}`);
  return r.output;
}

const patches = () => requests.filter((r) => r.method === "PATCH").map((r) => r.body);

test("the container ships DATA_MOUNT and mounts the data volume read-only", () => {
  expect(h.shippedEnv.DATA_MOUNT).toBe("/data");
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
  const notMounted = join(h.dir, "not-mounted");
  expect(notMounted).not.toBe(dataMount);
  const out = (await h.run("python3", [h.script, "--once", "--now", "1796860800"], h.env("orders-0", { patroni: "/patroni", k8s: "/k8s" }, { DATA_MOUNT: notMounted }))).stdout;
  expect(out).toMatch(/^outcome=waiting$/m);
  expect(requests.filter((r) => r.path.startsWith("/patroni/primary") || r.path === "/patroni/config")).toEqual([]);
});
