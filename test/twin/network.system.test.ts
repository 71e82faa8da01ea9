/**
 * The twin's VPC (test/twin/network.ts) behaves as EC2 networking does for the cluster: routing
 * between subnets through the VPC router, source/destination checking per ENI (two ENIs in one
 * subnet), IMDS at 169.254.169.254 reaching the twin with the instance's address as the source,
 * and availability-zone partitions. Root only (namespaces, nftables).
 */
import { createServer, type Server } from "node:http";
import { run, runOk } from "../live/harness/exec";
import { requirePrerequisites } from "../support/prerequisites";
import { HOST_ADDRESS, IMDS_PORT, subnetInfo, TwinNetwork } from "./network";

const SUBNETS = [
  { id: "subnet-0a0000000000000a1", cidr: "10.211.0.0/24", availabilityZone: "eu-west-1a" },
  { id: "subnet-0a0000000000000b2", cidr: "10.211.1.0/24", availabilityZone: "eu-west-1b" },
];
const A = "10.211.0.10";
const A_SLOT = "10.211.0.20";
const B = "10.211.1.10";

let net: TwinNetwork;
let nsA = "";
let nsB = "";
let imds: Server | undefined;
const imdsCallers: string[] = [];

/** ICMP echoes from a namespace, one per second until the first reply or 2 s (`-c 1 -w 2`); true when one was answered. */
async function ping(ns: string, to: string, from?: string): Promise<boolean> {
  const r = await run(["ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-w", "2", ...(from ? ["-I", from] : []), to], { timeoutMs: 10_000 });
  return r.code === 0;
}

beforeAll(async () => {
  requirePrerequisites({ root: true, commands: ["ip", "nft", "ping"] });
  net = await TwinNetwork.create("twnt", SUBNETS);
  nsA = await net.addInstance(SUBNETS[0].id, A, "02:00:00:00:0a:01");
  nsB = await net.addInstance(SUBNETS[1].id, B, "02:00:00:00:0b:01");
  imds = createServer((req, res) => {
    imdsCallers.push(req.socket.remoteAddress ?? "");
    res.end("i-0123456789abcdef0");
  });
  await new Promise<void>((resolve) => imds!.listen(IMDS_PORT, HOST_ADDRESS, resolve));
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (imds ? imds.close(() => resolve()) : resolve()));
  await net?.destroy();
}, 120_000);

test("subnet arithmetic follows AWS's reservations (.0–.3 and the last address; .1 is the router)", () => {
  const s = subnetInfo("10.42.16.0/20");
  expect(s.router).toBe("10.42.16.1");
  expect(s.first).toBe(s.network + 4);
  expect(s.last).toBe(s.network + 4096 - 2);
  expect(() => subnetInfo("10.0.0.0/29")).toThrow(/\/16 to \/28/);
});

test("instances in two subnets reach each other through the VPC router", async () => {
  expect(await ping(nsA, B)).toBe(true);
  expect(await ping(nsB, A)).toBe(true);
});

test("IMDS at 169.254.169.254 reaches the twin, which sees the instance's primary address", async () => {
  const out = await runOk(["ip", "netns", "exec", nsA, "curl", "-sS", "--max-time", "5", "http://169.254.169.254/latest/meta-data/instance-id"]);
  expect(out).toBe("i-0123456789abcdef0");
  expect(imdsCallers.map((a) => a.replace(/^::ffff:/, ""))).toContain(A);
});

test("an address that is not the ENI's is dropped on the way out (source/destination check)", async () => {
  await runOk(["ip", "-n", nsA, "addr", "add", "10.211.0.99/24", "dev", "ens5"]);
  try {
    expect(await ping(nsA, B, "10.211.0.99")).toBe(false);
    expect(await ping(nsB, "10.211.0.99")).toBe(false);
  } finally {
    await runOk(["ip", "-n", nsA, "addr", "del", "10.211.0.99/24", "dev", "ens5"]);
  }
});

test("a second ENI in the same subnet: its address only works on its own interface", async () => {
  const port = await net.attachInterface(nsA, SUBNETS[0].id, [A_SLOT], "02:00:00:00:0a:02");
  try {
    const links = await runOk(["ip", "-n", nsA, "-o", "link", "show"]);
    expect(links).toMatch(/ens6.*link\/ether 02:00:00:00:0a:02/);
    // the slot address on the primary interface: EC2 never delivers it there
    await runOk(["ip", "-n", nsA, "addr", "add", `${A_SLOT}/24`, "dev", "ens5"]);
    expect(await ping(nsB, A_SLOT)).toBe(false);
    await runOk(["ip", "-n", nsA, "addr", "del", `${A_SLOT}/24`, "dev", "ens5"]);
    // on its own interface (with a route back out of it, as the bootstrap's source routing does)
    await runOk(["ip", "-n", nsA, "link", "set", "ens6", "up"]);
    await runOk(["ip", "-n", nsA, "addr", "add", `${A_SLOT}/24`, "dev", "ens6"]);
    await runOk(["ip", "-n", nsA, "route", "add", "default", "via", "10.211.0.1", "dev", "ens6", "table", "100"]);
    await runOk(["ip", "-n", nsA, "rule", "add", "from", A_SLOT, "lookup", "100"]);
    expect(await ping(nsB, A_SLOT)).toBe(true);
    // the VPC router never asked the instance: its entry is the ENI's MAC from the mapping
    expect(await runOk(["ip", "-n", net.routerNs, "neigh", "show", A_SLOT])).toMatch(/lladdr 02:00:00:00:0a:02 PERMANENT/);
    // a connection opened without choosing the source leaves from the primary address
    expect(await ping(nsA, B)).toBe(true);
    const route = await runOk(["ip", "-n", nsA, "route", "get", B]);
    expect(route).toContain(`src ${A}`);
  } finally {
    await net.detach(port);
  }
  const links = await runOk(["ip", "-n", nsA, "-o", "link", "show"]);
  expect(links).not.toContain("ens6");
  expect(await runOk(["ip", "-n", net.routerNs, "neigh", "show", A_SLOT])).not.toContain("PERMANENT");
});

test("an availability-zone partition cuts the subnet off, and healing restores it", async () => {
  await net.partition(SUBNETS[1].id);
  try {
    expect(await ping(nsA, B)).toBe(false);
  } finally {
    await net.heal(SUBNETS[1].id);
  }
  expect(await ping(nsA, B)).toBe(true);
});

test("removing an instance deletes its namespace and its ports", async () => {
  const ns = await net.addInstance(SUBNETS[1].id, "10.211.1.11", "02:00:00:00:0b:02");
  expect(await ping(nsA, "10.211.1.11")).toBe(true);
  await net.removeInstance(ns);
  expect((await runOk(["ip", "netns", "list"])).split("\n").some((l) => l.startsWith(`${ns} `) || l === ns)).toBe(false);
  expect(await ping(nsA, "10.211.1.11")).toBe(false);
});
