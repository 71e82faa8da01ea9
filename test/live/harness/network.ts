/**
 * The harness network: one bridge in the root namespace and one network namespace per
 * host (three availability zones, the pooler, the services host), each joined to the
 * bridge by a veth pair. Setting a zone's bridge-side veth down is a real partition of
 * that availability zone.
 */
import { existsSync, readFileSync, rmSync, rmdirSync, writeFileSync } from "fs";
import { ALL_HOSTS, BRIDGE, PREFIX, RUN_ROOT, SUBNET_BITS, type HostDef } from "./constants";
import { run, runOk, sleep } from "./exec";

/** Mount-point directories the harness created on the host filesystem (removed at cleanup). */
const CREATED_MOUNTPOINTS_FILE = `/var/tmp/${PREFIX}-created-mountpoints`;

/** Records a directory the harness created on the host, so cleanup removes it again (if empty). */
export function recordCreatedMountpoint(dir: string): void {
  const list = existsSync(CREATED_MOUNTPOINTS_FILE) ? readFileSync(CREATED_MOUNTPOINTS_FILE, "utf8") : "";
  writeFileSync(CREATED_MOUNTPOINTS_FILE, list + dir + "\n");
}

/** Network namespaces of the harness that exist now (prefix match only). */
export async function harnessNamespaces(): Promise<string[]> {
  const out = await runOk(["ip", "netns", "list"], { timeoutMs: 20_000 });
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n && n.startsWith(`${PREFIX}-`));
}

/** PIDs of every process in a network namespace. */
export async function namespacePids(netns: string): Promise<number[]> {
  const r = await run(["ip", "netns", "pids", netns], { timeoutMs: 20_000 });
  return r.stdout
    .split("\n")
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 1);
}

/** SIGKILLs every process of a network namespace (all at once), then waits until none is left. */
export async function killNamespace(netns: string): Promise<number[]> {
  const killed: number[] = [];
  for (let round = 0; round < 20; round++) {
    const pids = await namespacePids(netns);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
        killed.push(pid);
      } catch {
        /* already gone */
      }
    }
    await sleep(200);
  }
  return killed;
}

/**
 * Removes everything a previous (possibly crashed) run left: processes in the harness's
 * namespaces, the namespaces, links named with the prefix, the run directory and the
 * mount points it created. Touches nothing without the prefix.
 */
export async function cleanupLeftovers(): Promise<void> {
  for (const ns of await harnessNamespaces()) {
    await killNamespace(ns);
    await run(["ip", "netns", "del", ns], { timeoutMs: 20_000 });
  }
  const links = await runOk(["ip", "-o", "link", "show"], { timeoutMs: 20_000 });
  for (const line of links.split("\n")) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m && m[1].startsWith(PREFIX)) await run(["ip", "link", "del", m[1]], { timeoutMs: 20_000 });
  }
  if (existsSync(RUN_ROOT)) rmSync(RUN_ROOT, { recursive: true, force: true });
  if (existsSync(CREATED_MOUNTPOINTS_FILE)) {
    for (const dir of readFileSync(CREATED_MOUNTPOINTS_FILE, "utf8").split("\n").filter(Boolean).reverse()) {
      try {
        rmdirSync(dir); // only succeeds if empty
      } catch {
        /* not empty or gone: leave it */
      }
    }
    rmSync(CREATED_MOUNTPOINTS_FILE, { force: true });
  }
}

/** Creates the bridge and one namespace + veth pair per host. */
export async function createNetwork(): Promise<void> {
  await runOk(["ip", "link", "add", BRIDGE.name, "type", "bridge"]);
  await runOk(["ip", "addr", "add", `${BRIDGE.address}/${SUBNET_BITS}`, "dev", BRIDGE.name]);
  await runOk(["ip", "link", "set", BRIDGE.name, "up"]);
  for (const h of ALL_HOSTS) await createHost(h);
}

async function createHost(h: HostDef): Promise<void> {
  await runOk(["ip", "netns", "add", h.netns]);
  await runOk(["ip", "link", "add", h.vethHost, "type", "veth", "peer", "name", h.vethNs, "netns", h.netns]);
  await runOk(["ip", "link", "set", h.vethHost, "master", BRIDGE.name, "up"]);
  await runOk(["ip", "-n", h.netns, "addr", "add", `${h.address}/${SUBNET_BITS}`, "dev", h.vethNs]);
  await runOk(["ip", "-n", h.netns, "link", "set", h.vethNs, "up"]);
  await runOk(["ip", "-n", h.netns, "link", "set", "lo", "up"]);
}

/** Cuts a host off the bridge (availability-zone partition). */
export async function partition(h: HostDef): Promise<void> {
  await runOk(["ip", "link", "set", h.vethHost, "down"]);
}

/** Reconnects a partitioned host. */
export async function heal(h: HostDef): Promise<void> {
  await runOk(["ip", "link", "set", h.vethHost, "up"]);
}
