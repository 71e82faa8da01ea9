/**
 * The Kubernetes maintenance agent (src/render/scripts/k8s-maintenance.py, as the ConfigMap
 * ships it), run for real with python3 against a fake Kubernetes API and fake Patroni REST APIs
 * served by this test on loopback (plain HTTP). The fake API keeps what the agent relies on:
 * a StatefulSet's `status.updateRevision`, pods' `controller-revision-hash` labels, a ConfigMap
 * updated only with its current resourceVersion (409 Conflict otherwise, as the API server
 * does), and the Eviction subresource (429 when the PodDisruptionBudget refuses). Every request
 * is recorded, so each test asserts what the agent did and what it did not do.
 */
import { spawnSync } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import fc from "fast-check";
import { inMaintenanceWindow, WEEKDAYS } from "../../src/cluster-spec";
import { requirePrerequisites } from "../support/prerequisites";
import { send, startAgentHarness, type AgentHarness } from "./agent-harness";

interface Member {
  name: string;
  role: string;
  state: string;
  lag?: number | string;
  pending_restart?: boolean;
}

interface World {
  updateRevision: string;
  podRevision: Record<string, string>;
  lock: { resourceVersion: number; data: Record<string, string>; annotations: Record<string, string> };
  members: Member[];
  evictionStatus: number;
  /** Forces the next lock update to lose the race (409). */
  conflictNext: boolean;
  requests: { method: string; path: string; body?: unknown; auth?: string }[];
  /** Patroni's dynamic configuration (GET/PATCH /config, a deep merge as Patroni's); starts as the shipped DCS_CONFIGURATION. */
  config: Record<string, any>;
}

const POD = (i: number) => `orders-${i}`;
// Sunday 02:10 UTC (inside the default window, Sunday 02:00 for 60 minutes) and Sunday 04:00 (outside)
const IN_WINDOW = Date.UTC(2026, 11, 6, 2, 10) / 1000;
const OUTSIDE = Date.UTC(2026, 11, 6, 4, 0) / 1000;

let world: World;
let h: AgentHarness;

function healthy(): Member[] {
  return [
    { name: POD(0), role: "leader", state: "running" },
    { name: POD(1), role: "sync_standby", state: "streaming", lag: 0 },
    { name: POD(2), role: "replica", state: "streaming", lag: 0 },
  ];
}

function freshWorld(): World {
  return {
    updateRevision: "orders-new",
    podRevision: { [POD(0)]: "orders-old", [POD(1)]: "orders-old", [POD(2)]: "orders-old" },
    lock: { resourceVersion: 1, data: { holder: "", renewed: "0", action: "" }, annotations: {} },
    members: healthy(),
    evictionStatus: 201,
    conflictNext: false,
    requests: [],
    config: h ? JSON.parse(h.shippedEnv.DCS_CONFIGURATION!) : {},
  };
}

/** Patroni's PATCH /config: a deep merge (null deletes a key). */
function merge(into: Record<string, any>, patch: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...into };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === "object" && !Array.isArray(v) && typeof out[k] === "object" && out[k] !== null) out[k] = merge(out[k], v);
    else out[k] = v;
  }
  return out;
}

function lockObject(): unknown {
  return { metadata: { name: "orders-maintenance", namespace: "orders-db", resourceVersion: String(world.lock.resourceVersion), annotations: world.lock.annotations }, data: world.lock.data };
}

function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
  const path = req.url ?? "";
  const body = raw ? (JSON.parse(raw) as Record<string, any>) : undefined;
  world.requests.push({ method: req.method!, path, body, auth: req.headers.authorization });
  const ns = "/api/v1/namespaces/orders-db";
  let m: RegExpMatchArray | null;
  if (req.method === "GET" && path === "/apis/apps/v1/namespaces/orders-db/statefulsets/orders") return send(res, 200, { status: { updateRevision: world.updateRevision } });
  if (req.method === "GET" && (m = path.match(new RegExp(`^${ns}/pods/(orders-\\d)$`)))) {
    const rev = world.podRevision[m[1]];
    return rev === undefined ? send(res, 404, { kind: "Status", code: 404 }) : send(res, 200, { metadata: { name: m[1], labels: { "controller-revision-hash": rev } } });
  }
  if (path === `${ns}/configmaps/orders-maintenance`) {
    if (req.method === "GET") return send(res, 200, lockObject());
    if (req.method === "PUT") {
      if (world.conflictNext || body?.metadata?.resourceVersion !== String(world.lock.resourceVersion)) {
        world.conflictNext = false;
        return send(res, 409, { kind: "Status", reason: "Conflict", code: 409 });
      }
      world.lock = { resourceVersion: world.lock.resourceVersion + 1, data: body!.data, annotations: body!.metadata.annotations ?? {} };
      return send(res, 200, lockObject());
    }
  }
  if (req.method === "POST" && (m = path.match(new RegExp(`^${ns}/pods/(orders-\\d)/eviction$`)))) return send(res, world.evictionStatus, { kind: "Status", code: world.evictionStatus });
  if (path.match(/^\/patroni-of\/orders-\d\/config$/)) {
    if (req.method === "PATCH") world.config = merge(world.config, body!);
    return send(res, 200, world.config);
  }
  if ((m = path.match(/^\/patroni-of\/(orders-\d)\/(patroni|cluster|switchover|restart)$/))) {
    const me = world.members.find((x) => x.name === m![1]);
    if (m[2] === "patroni") return send(res, 200, { role: me?.role === "leader" ? "primary" : "replica", pending_restart: me?.pending_restart === true });
    if (m[2] === "cluster") return send(res, 200, { members: world.members });
    return send(res, 200, "accepted");
  }
  send(res, 404, { kind: "Status", code: 404, path });
}

beforeAll(async () => {
  requirePrerequisites({ commands: ["python3"] });
  h = await startAgentHarness("k8s-maintenance", handle);
});

afterAll(async () => {
  await h?.close();
});

beforeEach(() => {
  world = freshWorld();
});

describe("Patroni's dynamic configuration follows the pod template (DCS_CONFIGURATION)", () => {
  const patches = () => world.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/config")).map((r) => r.body);

  test("the container ships bootstrap.dcs as JSON: the timing and the parameters Patroni takes from the DCS only", () => {
    const shipped = JSON.parse(h.shippedEnv.DCS_CONFIGURATION!);
    expect(shipped).toMatchObject({ ttl: 20, synchronous_mode: true, synchronous_mode_strict: true, postgresql: { use_slots: true } });
    expect(Object.keys(shipped.postgresql.parameters)).toEqual(expect.arrayContaining(["max_connections", "max_wal_senders", "wal_level"]));
  });

  test("a pod on the StatefulSet's revision PATCHes what differs (a new size's max_connections, older timing), once, with the REST API credentials; a pod to be replaced does not", async () => {
    const shipped = JSON.parse(h.shippedEnv.DCS_CONFIGURATION!);
    world.config = merge(shipped, { loop_wait: 2, postgresql: { parameters: { max_connections: "50", max_wal_size: "1024MB" } } });
    world.podRevision[POD(2)] = "orders-new";
    const stale = await agent(0, OUTSIDE);
    expect(stale.log).not.toMatch(/dynamic configuration/);
    expect(patches()).toEqual([]);
    const expected = { loop_wait: shipped.loop_wait, postgresql: { parameters: { max_connections: shipped.postgresql.parameters.max_connections } } };
    const first = await agent(2, OUTSIDE);
    expect(first.log).toContain(`Patroni's dynamic configuration set to what the pod template renders: ${JSON.stringify(expected)}`);
    expect(patches()).toEqual([expected]);
    const patch = world.requests.find((r) => r.method === "PATCH")!;
    expect(patch.auth).toBe(`Basic ${Buffer.from("patroni:rest-secret").toString("base64")}`);
    expect(world.config.postgresql.parameters).toMatchObject({ max_wal_size: "1024MB", max_connections: shipped.postgresql.parameters.max_connections });
    await agent(2, OUTSIDE);
    expect(patches()).toHaveLength(1);
  });

  test("a decrease a standby must match is held with the reason; the rest is applied", async () => {
    const shipped = JSON.parse(h.shippedEnv.DCS_CONFIGURATION!);
    world.config = merge(shipped, { loop_wait: 2, postgresql: { parameters: { max_connections: "5000", max_wal_senders: 20 } } });
    world.podRevision[POD(1)] = "orders-new";
    const { log } = await agent(1, OUTSIDE);
    const p = shipped.postgresql.parameters;
    expect(log).toContain(`not lowering max_connections 5000 -> ${p.max_connections}, max_wal_senders 20 -> ${p.max_wal_senders} in Patroni's dynamic configuration: a decrease must restart the primary before the replicas`);
    expect(patches()).toEqual([{ loop_wait: shipped.loop_wait }]);
    expect(world.config.postgresql.parameters).toMatchObject({ max_connections: "5000", max_wal_senders: 20 });
  });
});

/** Runs one agent pass for pod `i` at `now` (epoch seconds); resolves to its outcome and log. */
async function agent(i: number, now: number, extraEnv: Record<string, string> = {}): Promise<{ outcome: string; log: string }> {
  const r = await h.run("python3", [h.script, "--once", "--now", String(now)], h.env(POD(i), { patroni: `/patroni-of/${POD(i)}`, k8s: "" }, extraEnv));
  const m = r.stdout.match(/^outcome=(\w+)$/m);
  if (r.code !== 0 || !m) throw new Error(`agent ${POD(i)} exited ${r.code}: ${r.stdout}\n${r.stderr}`);
  return { outcome: m[1], log: r.stdout };
}

const writes = () => world.requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path.replace(/^\/api\/v1\/namespaces\/orders-db/, "").replace(/^\/patroni-of/, "patroni")}`);

test("outside the window nothing happens, however outdated the pods are", async () => {
  const r = await agent(1, OUTSIDE);
  expect(r.outcome).toBe("window");
  expect(r.log).toMatch(/replace of orders-1 pending \(pod template revision orders-old, StatefulSet orders wants orders-new\): waiting for the maintenance window/);
  expect(writes()).toEqual([]);
});

test("in the window a replica takes the lock, then evicts itself (the Eviction API, never a delete)", async () => {
  const r = await agent(2, IN_WINDOW);
  expect(r.outcome).toBe("evicted");
  expect(writes()).toEqual(["PUT /configmaps/orders-maintenance", "POST /pods/orders-2/eviction"]);
  expect(world.lock.data).toEqual({ holder: "orders-2", renewed: String(IN_WINDOW), action: "replace" });
  expect(world.requests.every((r) => r.path.startsWith("/patroni-of") || r.auth === "Bearer test-token")).toBe(true);
});

test("applyImmediately rolls outside the window", async () => {
  const r = await agent(2, OUTSIDE, { APPLY_IMMEDIATELY: "yes" });
  expect(r.outcome).toBe("evicted");
});

test("one pod at a time: a second replica waits while the lock is held, and takes it once the holder stopped renewing it for longer than its time to live", async () => {
  await agent(2, IN_WINDOW);
  world.requests = [];
  const waiting = await agent(1, IN_WINDOW + 60);
  expect([waiting.outcome, writes()]).toEqual(["waiting", []]);
  expect(waiting.log).toMatch(/orders-2 is rolling/);
  const taken = await agent(1, IN_WINDOW + 901 + 1);
  expect(taken.outcome).toBe("evicted");
  expect(world.lock.data.holder).toBe("orders-1");
});

test("two pods racing for the lock: the one whose update conflicts (409) evicts nothing", async () => {
  world.conflictNext = true;
  const r = await agent(1, IN_WINDOW);
  expect(r.outcome).toBe("waiting");
  expect(r.log).toMatch(/another pod took the roll lock first/);
  expect(writes()).toEqual(["PUT /configmaps/orders-maintenance"]);
});

test("the primary waits while a replica is outdated, then switches over to the synchronous standby (authenticated) instead of leaving", async () => {
  const early = await agent(0, IN_WINDOW);
  expect(early.outcome).toBe("waiting");
  expect(early.log).toMatch(/primary orders-0 waits for the replicas first: orders-1 orders-2/);
  expect(writes()).toEqual([]);
  world.podRevision[POD(1)] = world.podRevision[POD(2)] = "orders-new";
  const r = await agent(0, IN_WINDOW);
  expect(r.outcome).toBe("switchover");
  expect(writes()).toEqual(["PUT /configmaps/orders-maintenance", "POST patroni/orders-0/switchover"]);
  const sw = world.requests.find((x) => x.path.endsWith("/switchover"))!;
  expect(sw.body).toEqual({ leader: "orders-0", candidate: "orders-1" });
  expect(sw.auth).toBe(`Basic ${Buffer.from("patroni:rest-secret").toString("base64")}`);
  // next run: it is a replica now, holds the lock, and evicts itself
  world.members = [
    { name: POD(0), role: "replica", state: "streaming", lag: 0 },
    { name: POD(1), role: "leader", state: "running" },
    { name: POD(2), role: "sync_standby", state: "streaming", lag: 0 },
  ];
  world.requests = [];
  const after = await agent(0, IN_WINDOW + 60);
  expect(after.outcome).toBe("evicted");
  expect(writes()).toEqual(["PUT /configmaps/orders-maintenance", "POST /pods/orders-0/eviction"]);
});

test.each<[string, (m: Member[]) => Member[], RegExp]>([
  ["a member missing", (m) => m.slice(0, 2), /member orders-2 is missing/],
  ["a member starting", (m) => m.map((x) => (x.name === POD(2) ? { ...x, state: "starting" } : x)), /member orders-2 is starting/],
  ["a replica lagging 2 MiB", (m) => m.map((x) => (x.name === POD(2) ? { ...x, lag: 2 * 1048576 } : x)), /member orders-2 lags 2097152 bytes \(limit 1048576\)/],
  ["a replica whose lag is unknown", (m) => m.map((x) => (x.name === POD(2) ? { ...x, lag: "unknown" } : x)), /member orders-2 lags unknown bytes/],
  ["no synchronous standby", (m) => m.map((x) => (x.role === "sync_standby" ? { ...x, role: "replica" } : x)), /no synchronous standby/],
  ["two leaders", (m) => m.map((x) => (x.name === POD(2) ? { ...x, role: "leader", state: "running" } : x)), /2 leaders/],
])("an unhealthy cluster (%s) pauses the roll with the reason, and nothing is evicted", async (_name, change, reason) => {
  world.members = change(healthy());
  const r = await agent(1, IN_WINDOW);
  expect(r.outcome).toBe("unhealthy");
  expect(r.log).toMatch(reason);
  expect(writes()).toEqual([]);
});

test("the pause annotation on the lock ConfigMap stops the roll", async () => {
  world.lock.annotations["managed-postgres/maintenance-paused"] = "incident 42";
  const r = await agent(2, IN_WINDOW);
  expect(r.outcome).toBe("paused");
  expect(r.log).toMatch(/paused \(managed-postgres\/maintenance-paused = incident 42\)/);
  expect(writes()).toEqual([]);
});

test("the replaced pod (same name, new revision) releases the lock only once the cluster is healthy again", async () => {
  world.lock.data = { holder: POD(2), renewed: String(IN_WINDOW), action: "replace" };
  world.podRevision[POD(2)] = "orders-new";
  world.members = healthy().map((x) => (x.name === POD(2) ? { ...x, state: "starting" } : x));
  const waiting = await agent(2, IN_WINDOW + 120);
  expect(waiting.outcome).toBe("waiting");
  expect(world.lock.data.holder).toBe(POD(2));
  expect(world.lock.data.renewed).toBe(String(IN_WINDOW + 120));
  world.members = healthy();
  const done = await agent(2, IN_WINDOW + 180);
  expect(done.outcome).toBe("released");
  expect(world.lock.data.holder).toBe("");
});

test("an eviction the PodDisruptionBudget refuses (429) is retried at the next run", async () => {
  world.evictionStatus = 429;
  const r = await agent(2, IN_WINDOW);
  expect(r.outcome).toBe("waiting");
  expect(r.log).toMatch(/the eviction was refused \(429/);
});

test("a pending restart without a new template restarts PostgreSQL through Patroni, not the pod", async () => {
  world.podRevision = { [POD(0)]: "orders-new", [POD(1)]: "orders-new", [POD(2)]: "orders-new" };
  world.members = healthy().map((x) => (x.name === POD(2) ? { ...x, pending_restart: true } : x));
  const r = await agent(2, IN_WINDOW);
  expect(r.outcome).toBe("restarted");
  expect(writes()).toEqual(["PUT /configmaps/orders-maintenance", "POST patroni/orders-2/restart"]);
});

test("up to date and not holding the lock: the agent only reads", async () => {
  world.podRevision = { [POD(0)]: "orders-new", [POD(1)]: "orders-new", [POD(2)]: "orders-new" };
  const r = await agent(1, IN_WINDOW);
  expect([r.outcome, writes()]).toEqual(["none", []]);
});

test("the agent's window arithmetic agrees with the library's for any window and instant", () => {
  const cases = fc.sample(
    fc.record({
      day: fc.constantFrom(...WEEKDAYS),
      hh: fc.integer({ min: 0, max: 23 }),
      mm: fc.integer({ min: 0, max: 59 }),
      durationMinutes: fc.integer({ min: 30, max: 480 }),
      at: fc.integer({ min: Date.UTC(2026, 0, 1) / 1000, max: Date.UTC(2028, 0, 1) / 1000 }),
    }),
    { numRuns: 300, seed: 12 },
  );
  const windows = cases.map((c) => ({ day: c.day, startTime: `${String(c.hh).padStart(2, "0")}:${String(c.mm).padStart(2, "0")}`, durationMinutes: c.durationMinutes }));
  const iso: Record<string, number> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };
  const program = [
    "import importlib.util, sys",
    `spec = importlib.util.spec_from_file_location("agent", ${JSON.stringify(h.script)})`,
    "agent = importlib.util.module_from_spec(spec); spec.loader.exec_module(agent)",
    "for line in sys.stdin:",
    "    a = [int(x) for x in line.split()]",
    "    print(1 if agent.in_window(a[0], a[1], a[2], a[3]) else 0)",
  ].join("\n");
  const input = cases.map((c) => `${c.at} ${iso[c.day]} ${c.hh * 60 + c.mm} ${c.durationMinutes}`).join("\n") + "\n";
  const r = spawnSync("python3", ["-c", program], { input, encoding: "utf8", timeout: 30_000 });
  expect(r.status).toBe(0);
  const agentSays = r.stdout.trim().split("\n").map((x) => x === "1");
  const librarySays = cases.map((c, i) => inMaintenanceWindow(windows[i] as never, new Date(c.at * 1000)));
  expect(agentSays).toEqual(librarySays);
  expect(librarySays.filter(Boolean).length).toBeGreaterThan(0);
});
