/**
 * The twin's VPC: what EC2 networking does for the cluster, on this machine, in network
 * namespaces the twin creates (never touching any other address).
 *
 * ```
 *  root namespace (the test process; the twin's AWS endpoints listen on HOST_ADDRESS)
 *     │ veth <prefix>h ── 198.18.1.0/30 ── "host" (router side)
 *  netns <prefix>-vpc  — the VPC router: ip_forward, the subnets' first address (.1, which
 *     │                  AWS reserves for the VPC router), one bridge per subnet, nftables:
 *     │                    · source/destination check per ENI port (bridge family)
 *     │                    · 169.254.169.254:80 → the twin's IMDS (DNAT, source kept: IMDS knows
 *     │                      the instance by its primary address)
 *     │                    · availability-zone partitions (forwarding between subnets dropped)
 *     ├── bridge b0 (subnet 0, AZ a) ── veth ── netns <prefix>-i<n> (an instance: "ens5" primary ENI)
 *     │                               └─ veth ── the same netns, "ens6": an attached slot ENI
 *     ├── bridge b1 (subnet 1, AZ b) ── …
 *     └── bridge b2 (subnet 2, AZ c) ── …
 * ```
 *
 * What AWS does and the twin enforces here (docs/live-harness.md lists them with the pages):
 * - An ENI only sends packets from its own private addresses and only receives packets for them
 *   (source/destination checking, on by default:
 *   https://docs.aws.amazon.com/vpc/latest/userguide/VPC_ENI.html#eni-basics — "source/destination
 *   checking"; https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-eni.html#change_source_dest_check).
 *   The twin drops, per bridge port, IPv4 frames whose source (on the way in) or destination (on the
 *   way out) is not one of the port's ENI addresses, and ARP from any other sender address — so a
 *   node that answers for its slot address on its primary interface, or sends from the slot address
 *   through it, is cut off as on EC2.
 * - The first four addresses and the last of a subnet are reserved; .1 is the VPC router
 *   (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html).
 * - IMDS is at 169.254.169.254 (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html).
 * - The VPC router knows which ENI holds each private address from the VPC's own mapping, not by
 *   asking the instances: an ENI's address is reachable as soon as it is attached, and an instance
 *   that answers ARP for an address it does not own changes nothing: a VPC has no broadcast, and
 *   the ARP replies an instance receives are synthesized by AWS from that mapping
 *   (https://tty.neveragain.de/2020/08/12/aws-multicast.html, "the Mapping Service"; AWS's own
 *   pages only say a VPC does not support broadcast or multicast:
 *   https://aws.amazon.com/vpc/faqs/). The twin writes a
 *   permanent neighbour entry (address → the ENI's MAC) in the router for every ENI address while
 *   its port is plugged; before this, the router's ARP entry for an address that had just moved
 *   from an interface where the twin dropped the replies stayed FAILED for ~3 s (a CI flake).
 *
 * Names: every namespace and link starts with the prefix (≤ 5 characters), so cleanup finds
 * leftovers of a crashed run and touches nothing else.
 */
import { run, runOk } from "../live/harness/exec";

/** A subnet of the twin's VPC. */
export interface TwinSubnet {
  /** `subnet-…` */
  readonly id: string;
  /** e.g. 10.42.0.0/20 */
  readonly cidr: string;
  readonly availabilityZone: string;
}

/** The address of the twin's AWS endpoints and IMDS on the root side of the host link. */
export const HOST_ADDRESS = "198.18.1.2";
const ROUTER_HOST_SIDE = "198.18.1.1";
/** The port the twin's IMDS listens on at HOST_ADDRESS (the router DNATs 169.254.169.254:80 to it). */
export const IMDS_PORT = 18169;
export const IMDS_ADDRESS = "169.254.169.254";

/** Parses a dotted IPv4 address. */
export function ipToInt(ip: string): number {
  const p = ip.split(".").map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3];
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Network address, prefix length, the VPC router's address (.1) and the usable range of a CIDR (AWS reservations applied). */
export function subnetInfo(cidr: string): { network: number; bits: number; router: string; first: number; last: number } {
  const [ip, b] = cidr.split("/");
  const bits = Number(b);
  if (!Number.isInteger(bits) || bits < 16 || bits > 28) throw new Error(`subnet ${cidr}: AWS subnets are /16 to /28`);
  const size = 2 ** (32 - bits);
  const network = ipToInt(ip) - (ipToInt(ip) % size);
  return { network, bits, router: intToIp(network + 1), first: network + 4, last: network + size - 2 };
}

interface Port {
  readonly name: string; // router-side link name
  readonly subnet: number;
  readonly addresses: string[];
  readonly mac: string;
}

/** The twin's VPC; create with `TwinNetwork.create`, always `destroy()` (also after failures). */
export class TwinNetwork {
  readonly routerNs: string;
  private readonly ports = new Map<string, Port>();
  private readonly instances = new Set<string>();
  private readonly partitioned = new Set<number>();
  private counter = 0;

  private constructor(
    readonly prefix: string,
    readonly subnets: readonly TwinSubnet[],
  ) {
    this.routerNs = `${prefix}-vpc`;
  }

  /** Creates the router namespace, the subnets' bridges and the host link. Removes leftovers with the same prefix first. */
  static async create(prefix: string, subnets: readonly TwinSubnet[]): Promise<TwinNetwork> {
    if (!/^[a-z][a-z0-9]{1,4}$/.test(prefix)) throw new Error(`network prefix ${JSON.stringify(prefix)}: 2–5 lowercase letters/digits`);
    await cleanupTwinNetwork(prefix);
    const net = new TwinNetwork(prefix, subnets);
    try {
      await net.build();
    } catch (e) {
      await net.destroy();
      throw e;
    }
    return net;
  }

  private async build(): Promise<void> {
    const ns = this.routerNs;
    const host = `${this.prefix}h`;
    await runOk(["ip", "netns", "add", ns]);
    await runOk(["ip", "-n", ns, "link", "set", "lo", "up"]);
    await runOk(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    await runOk(["ip", "link", "add", host, "type", "veth", "peer", "name", "host", "netns", ns]);
    await runOk(["ip", "addr", "add", `${HOST_ADDRESS}/30`, "dev", host]);
    await runOk(["ip", "link", "set", host, "up"]);
    await runOk(["ip", "-n", ns, "addr", "add", `${ROUTER_HOST_SIDE}/30`, "dev", "host"]);
    await runOk(["ip", "-n", ns, "link", "set", "host", "up"]);
    const routes = await runOk(["ip", "-4", "route", "show"]);
    for (const [i, s] of this.subnets.entries()) {
      const info = subnetInfo(s.cidr);
      const net = `${intToIp(info.network)}/${info.bits}`;
      if (routes.split("\n").some((l) => l.startsWith(net + " ") || l.startsWith(intToIp(info.network) + " "))) {
        throw new Error(`the twin subnet ${net} is already routed on this machine: refusing to shadow it`);
      }
      // a fixed MAC: a bridge otherwise takes its ports' lowest, and changes it (and breaks every
      // instance's ARP entry for the router) whenever an ENI is attached or detached
      await runOk(["ip", "-n", ns, "link", "add", `b${i}`, "type", "bridge"]);
      await runOk(["ip", "-n", ns, "link", "set", `b${i}`, "address", `02:00:0a:ff:00:${i.toString(16).padStart(2, "0")}`]);
      await runOk(["ip", "-n", ns, "addr", "add", `${info.router}/${info.bits}`, "dev", `b${i}`]);
      await runOk(["ip", "-n", ns, "link", "set", `b${i}`, "up"]);
      await runOk(["ip", "route", "add", net, "via", ROUTER_HOST_SIDE, "dev", host]);
    }
    await this.applyRules();
  }

  /** Bridge of a subnet (by id), inside the router namespace. */
  private subnetIndex(subnetId: string): number {
    const i = this.subnets.findIndex((s) => s.id === subnetId);
    if (i < 0) throw new Error(`the twin VPC has no subnet ${subnetId} (has ${this.subnets.map((s) => s.id).join(", ")})`);
    return i;
  }

  /**
   * A new instance's network namespace with its primary ENI as `ens5` (MAC, address, default
   * route via the VPC router: what EC2's DHCP gives a Nitro instance). Returns the namespace name.
   */
  async addInstance(subnetId: string, address: string, mac: string): Promise<string> {
    const i = this.subnetIndex(subnetId);
    const info = subnetInfo(this.subnets[i].cidr);
    const netns = `${this.prefix}-i${++this.counter}`;
    await runOk(["ip", "netns", "add", netns]);
    this.instances.add(netns);
    await runOk(["ip", "-n", netns, "link", "set", "lo", "up"]);
    const port = await this.plug(netns, i, "ens5", mac, [address]);
    await runOk(["ip", "-n", netns, "addr", "add", `${address}/${info.bits}`, "dev", "ens5"]);
    await runOk(["ip", "-n", netns, "link", "set", "ens5", "up"]);
    await runOk(["ip", "-n", netns, "route", "add", "default", "via", info.router, "dev", "ens5"]);
    void port;
    return netns;
  }

  /**
   * AttachNetworkInterface: a new link with the ENI's MAC appears in the instance's namespace
   * (down, no address: the OS configures it, as on EC2). Returns the router-side port name,
   * the handle for `detach`.
   */
  async attachInterface(netns: string, subnetId: string, addresses: string[], mac: string, name = "ens6"): Promise<string> {
    return this.plug(netns, this.subnetIndex(subnetId), name, mac, addresses);
  }

  /** DetachNetworkInterface (or the instance's termination): the link disappears from the instance. */
  async detach(port: string): Promise<void> {
    const gone = this.ports.get(port);
    this.ports.delete(port);
    await run(["ip", "-n", this.routerNs, "link", "del", port]);
    if (gone) await this.forgetAddresses([gone]);
    await this.applyRules();
  }

  private async plug(netns: string, subnet: number, name: string, mac: string, addresses: string[]): Promise<string> {
    const port = `p${++this.counter}`;
    const tmp = `${this.prefix}t${this.counter}`;
    await runOk(["ip", "-n", this.routerNs, "link", "add", port, "type", "veth", "peer", "name", tmp, "netns", netns]);
    await runOk(["ip", "-n", netns, "link", "set", tmp, "address", mac, "name", name]);
    await runOk(["ip", "-n", this.routerNs, "link", "set", port, "master", `b${subnet}`, "up"]);
    this.ports.set(port, { name: port, subnet, addresses, mac });
    await this.applyRules();
    for (const a of addresses) {
      await runOk(["ip", "-n", this.routerNs, "neigh", "replace", a, "lladdr", mac, "dev", `b${subnet}`, "nud", "permanent"]);
    }
    return port;
  }

  /** Deletes the router's neighbour entries of unplugged ports, unless a plugged port holds the address now. */
  private async forgetAddresses(unplugged: readonly Port[]): Promise<void> {
    const held = new Set([...this.ports.values()].flatMap((p) => p.addresses.map((a) => `${p.subnet} ${a}`)));
    for (const p of unplugged) {
      for (const a of p.addresses) {
        if (!held.has(`${p.subnet} ${a}`)) await run(["ip", "-n", this.routerNs, "neigh", "del", a, "dev", `b${p.subnet}`]);
      }
    }
  }

  /** Removes an instance's namespace and its ports (termination; the namespace's processes must be gone). */
  async removeInstance(netns: string): Promise<void> {
    await run(["ip", "netns", "del", netns]); // deletes its veth ends, and with them the router-side ports
    this.instances.delete(netns);
    const links = await run(["ip", "-n", this.routerNs, "-o", "link", "show"]);
    const unplugged = [...this.ports.values()].filter((p) => !links.stdout.includes(` ${p.name}@`));
    for (const p of unplugged) this.ports.delete(p.name);
    await this.forgetAddresses(unplugged);
    await this.applyRules();
  }

  /** Availability-zone partition: the subnet's instances reach nothing outside their subnet (nor does anything reach them). */
  async partition(subnetId: string): Promise<void> {
    this.partitioned.add(this.subnetIndex(subnetId));
    await this.applyRules();
  }

  async heal(subnetId: string): Promise<void> {
    this.partitioned.delete(this.subnetIndex(subnetId));
    await this.applyRules();
  }

  /** The router's nftables ruleset: source/destination check per port, IMDS, partitions (replaced atomically). */
  rules(): string {
    const lines: string[] = ["flush ruleset", "table bridge vpc {", "  chain forward {", "    type filter hook forward priority 0; policy accept;"];
    const inputLines: string[] = [];
    for (const p of this.ports.values()) {
      const set = `{ ${p.addresses.join(", ")} }`;
      lines.push(`    iifname "${p.name}" ether type ip ip saddr != ${set} drop`);
      lines.push(`    iifname "${p.name}" ether type arp arp saddr ip != ${set} drop`);
      lines.push(`    oifname "${p.name}" ether type ip ip daddr != ${set} drop`);
      inputLines.push(`    iifname "${p.name}" ether type ip ip saddr != ${set} drop`);
      inputLines.push(`    iifname "${p.name}" ether type arp arp saddr ip != ${set} drop`);
    }
    lines.push("  }", "  chain input {", "    type filter hook input priority 0; policy accept;", ...inputLines, "  }", "}");
    lines.push("table ip nat {", "  chain prerouting {", "    type nat hook prerouting priority -100; policy accept;");
    lines.push(`    ip daddr ${IMDS_ADDRESS} tcp dport 80 dnat to ${HOST_ADDRESS}:${IMDS_PORT}`);
    lines.push("  }", "}");
    lines.push("table ip filter {", "  chain forward {", "    type filter hook forward priority 0; policy accept;");
    for (const i of this.partitioned) {
      lines.push(`    iifname "b${i}" oifname != "b${i}" drop`);
      lines.push(`    oifname "b${i}" iifname != "b${i}" drop`);
    }
    lines.push("  }", "}");
    return lines.join("\n") + "\n";
  }

  private async applyRules(): Promise<void> {
    await runOk(["ip", "netns", "exec", this.routerNs, "nft", "-f", "-"], { input: this.rules() });
  }

  /** Removes every namespace and link of this network. Idempotent. */
  async destroy(): Promise<void> {
    await cleanupTwinNetwork(this.prefix);
  }
}

/** Deletes every namespace named `<prefix>-…` and the host link `<prefix>h` (and with it the routes). */
export async function cleanupTwinNetwork(prefix: string): Promise<void> {
  const list = await run(["ip", "netns", "list"]);
  for (const line of list.stdout.split("\n")) {
    const ns = line.trim().split(/\s+/)[0];
    if (!ns || !ns.startsWith(`${prefix}-`)) continue;
    const pids = await run(["ip", "netns", "pids", ns]);
    for (const pid of pids.stdout.split("\n").map(Number).filter((n) => Number.isInteger(n) && n > 1)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    await run(["ip", "netns", "del", ns]);
  }
  await run(["ip", "link", "del", `${prefix}h`]);
}
