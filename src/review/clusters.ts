import { PORTS } from "../cluster-spec/ports";
import { SIZES, SIZE_NAMES } from "../cluster-spec/sizes";
import { TAG_CLUSTER, TAG_DEPLOYMENT_MODEL, TAG_MAJOR_VERSION, TAG_SLOT } from "../cluster-spec/types";
import type { ClusterSummary, Placement, ResourceSnapshot, ReviewInput } from "./types";
import { blocks, isExpression, isFalse, strings, tagsOf } from "../terraform";

/**
 * Places every resource of both sides in a cluster and slot. A resource's own tags decide
 * (`managed-postgres:cluster`, `managed-postgres:slot`; head values first, then base).
 * Untagged resources (bucket policies, IAM attachments, listeners…) take the cluster of a
 * resource they reference, then of a resource that references them; they take a slot only
 * when everything they reference in a slot is in the same one.
 *
 * @returns placement by address
 */
export function placeResources(input: ReviewInput): Map<string, Placement> {
  const all = new Map<string, ResourceSnapshot>([...input.base, ...input.head]);
  const addrs = [...all.keys()];
  const cluster = new Map<string, string>();
  const slot = new Map<string, string>();
  for (const addr of addrs) {
    const tags = { ...tagsOf(input.base.get(addr)?.values), ...tagsOf(input.head.get(addr)?.values) };
    if (tags[TAG_CLUSTER]) cluster.set(addr, tags[TAG_CLUSTER]);
    if (tags[TAG_SLOT] !== undefined) slot.set(addr, tags[TAG_SLOT]);
  }
  // A reference without index (`aws_x.y`) stands for every address that starts with `aws_x.y[`:
  // index every such prefix once, instead of scanning every address for every reference.
  const byPrefix = new Map<string, string[]>();
  for (const addr of addrs) {
    for (let i = addr.indexOf("["); i > 0; i = addr.indexOf("[", i + 1)) {
      const p = addr.slice(0, i);
      const list = byPrefix.get(p);
      if (list === undefined) byPrefix.set(p, [addr]);
      else if (list[list.length - 1] !== addr) list.push(addr);
    }
  }
  const resolve = (ref: string): string[] => (all.has(ref) ? [ref] : (byPrefix.get(ref) ?? []));
  const targets = new Map<string, string[]>();
  const referrers = new Map<string, number[]>();
  addrs.forEach((addr, i) => {
    const refs = new Set<string>([...(input.base.get(addr)?.references ?? []), ...(input.head.get(addr)?.references ?? [])]);
    const ts = [...refs].flatMap(resolve);
    targets.set(addr, ts);
    for (const t of ts) {
      const list = referrers.get(t);
      if (list === undefined) referrers.set(t, [i]);
      else list.push(i);
    }
  });
  // forward: a resource belongs with what it references. Same result as sweeping every address
  // in order until nothing changes, but an address is only looked at again when a resource it
  // references changed: in the same sweep when it comes later, else in the next one.
  const visit = (addr: string): boolean => {
    let changed = false;
    const ts = targets.get(addr)!;
    if (!cluster.has(addr)) {
      const c = ts.map((t) => cluster.get(t)).find((x) => x !== undefined);
      if (c !== undefined) {
        cluster.set(addr, c);
        changed = true;
      }
    }
    if (!slot.has(addr) && cluster.has(addr)) {
      const slots = new Set(ts.filter((t) => cluster.get(t) === cluster.get(addr)).map((t) => slot.get(t)).filter((x): x is string => x !== undefined));
      if (slots.size === 1) {
        slot.set(addr, [...slots][0]);
        changed = true;
      }
    }
    return changed;
  };
  const queue = new SweepQueue(addrs.length);
  for (let i = 0; i < addrs.length; i++) queue.push(0, i);
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    const [sweep, i] = next;
    if (!visit(addrs[i])) continue;
    for (const r of referrers.get(addrs[i]) ?? []) queue.push(r > i ? sweep : sweep + 1, r);
  }
  // reverse: an untagged resource referenced by a cluster's resource belongs to that cluster
  for (const addr of addrs) {
    if (!cluster.has(addr)) continue;
    for (const t of targets.get(addr)!) if (!cluster.has(t)) cluster.set(t, cluster.get(addr)!);
  }
  const out = new Map<string, Placement>();
  for (const addr of addrs) out.set(addr, { cluster: cluster.get(addr), slot: slot.get(addr) });
  return out;
}

/**
 * Addresses (by position) waiting to be looked at, ordered by sweep then position: a binary
 * heap holding each position at most once per sweep.
 */
class SweepQueue {
  private readonly heap: [number, number][] = [];
  private readonly queued: Int32Array;
  constructor(size: number) {
    this.queued = new Int32Array(size).fill(-1);
  }
  private static less(a: [number, number], b: [number, number]): boolean {
    return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  }
  push(sweep: number, i: number): void {
    if (this.queued[i] >= sweep) return;
    this.queued[i] = sweep;
    const h = this.heap;
    h.push([sweep, i]);
    for (let k = h.length - 1; k > 0; ) {
      const p = (k - 1) >> 1;
      if (!SweepQueue.less(h[k], h[p])) break;
      [h[k], h[p]] = [h[p], h[k]];
      k = p;
    }
  }
  pop(): [number, number] | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let k = 0; ; ) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < h.length && SweepQueue.less(h[l], h[m])) m = l;
        if (r < h.length && SweepQueue.less(h[r], h[m])) m = r;
        if (m === k) break;
        [h[k], h[m]] = [h[m], h[k]];
        k = m;
      }
    }
    return top;
  }
}

/** Whether an aws_ebs_volume is a data volume: the library's only standalone EBS volumes are the slots' data volumes (root volumes live in launch templates). */
function isDataVolume(r: ResourceSnapshot): boolean {
  return r.type === "aws_ebs_volume";
}

/**
 * Ingress sources a security group resource allows: literal CIDRs (`0.0.0.0/0`, `10.0.0.0/16`),
 * security group ids and prefix lists, from `aws_vpc_security_group_ingress_rule`,
 * `aws_security_group_rule` (type ingress) and `aws_security_group` inline `ingress` blocks.
 * Expressions (references to other resources, variables) are left out.
 */
export function ingressSources(r: ResourceSnapshot): string[] {
  const v = r.values;
  const raw: string[] = [];
  if (r.type === "aws_vpc_security_group_ingress_rule") {
    raw.push(...strings(v.cidr_ipv4), ...strings(v.cidr_ipv6), ...strings(v.referenced_security_group_id), ...strings(v.prefix_list_id));
  } else if (r.type === "aws_security_group_rule" && v.type === "ingress") {
    raw.push(...strings(v.cidr_blocks), ...strings(v.ipv6_cidr_blocks), ...strings(v.source_security_group_id), ...strings(v.prefix_list_ids));
  } else if (r.type === "aws_security_group") {
    for (const b of blocks(v.ingress)) {
      raw.push(...strings(b.cidr_blocks), ...strings(b.ipv6_cidr_blocks), ...strings(b.security_groups), ...strings(b.prefix_list_ids));
    }
  }
  return raw.filter((s) => !isExpression(s));
}

/** Size names whose instance type (either architecture) is `instanceType`. */
export function sizesForInstanceType(instanceType: string): string[] {
  return SIZE_NAMES.filter((n) => SIZES[n].instanceType.arm64 === instanceType || SIZES[n].instanceType.x86_64 === instanceType);
}

function distinct(values: unknown[]): string | undefined {
  const set = [...new Set(values.filter((v) => v !== undefined && v !== null).map((v) => String(v)))];
  return set.length === 0 ? undefined : set.join(" / ");
}

/**
 * Summarizes one cluster on one side of the change.
 * @param resources the side's resources
 * @param placement placement of every address (from {@link placeResources})
 * @param name cluster name; undefined summarizes the resources of no cluster
 * @returns undefined when the side has no resource of the cluster
 */
export function summarizeCluster(resources: ReadonlyMap<string, ResourceSnapshot>, placement: ReadonlyMap<string, Placement>, name: string | undefined): ClusterSummary | undefined {
  const mine = [...resources.values()].filter((r) => placement.get(r.address)?.cluster === name);
  if (mine.length === 0) return undefined;
  const slotOf = (r: ResourceSnapshot) => placement.get(r.address)?.slot;
  const volumes = mine.filter(isDataVolume);
  const volTags = volumes.map((v) => tagsOf(v.values));
  const slotIds = [...new Set(mine.map(slotOf).filter((s): s is string => s !== undefined))].sort();
  const lbs = mine.filter((r) => r.type === "aws_lb");
  let deployment = distinct(volTags.map((t) => t[TAG_DEPLOYMENT_MODEL]));
  if (!deployment && slotIds.length > 0) deployment = slotIds.length >= 3 ? "distributed" : slotIds.length === 1 ? (lbs.length > 0 ? "distributed" : "standalone") : undefined;
  const nodeTemplates = mine.filter((r) => (r.type === "aws_launch_template" || r.type === "aws_instance") && slotOf(r) !== undefined);
  const instanceType = distinct(nodeTemplates.map((r) => r.values.instance_type).filter((t) => !isExpression(t)));
  let size: string | undefined;
  if (instanceType && !instanceType.includes(" / ")) {
    const names = sizesForInstanceType(instanceType);
    if (names.length > 0) size = names.join("/");
  }
  const listeners = mine.filter((r) => r.type === "aws_lb_listener");
  const lbText = lbs
    .map((lb) => {
      const dns = lb.values.dns_name;
      return typeof dns === "string" && !isExpression(dns) ? dns : `NLB ${lb.address}${isFalse(lb.values.internal) ? " (internet-facing)" : ""}`;
    })
    .join(", ");
  const endpoints: string[] = [];
  for (const l of listeners.sort((a, b) => Number(a.values.port) - Number(b.values.port))) {
    const port = Number(l.values.port);
    const role = port === PORTS.endpointReadWrite ? "read-write" : port === PORTS.endpointReadOnly ? "read-only" : "port";
    endpoints.push(`${role} :${l.values.port}`);
  }
  if (endpoints.length > 0 && lbText) endpoints[endpoints.length - 1] += ` (${lbText})`;
  if (endpoints.length === 0 && slotIds.length === 1 && (deployment === "standalone" || (deployment === undefined && lbs.length === 0))) {
    const eni = mine.find((r) => r.type === "aws_network_interface");
    const ip = eni && typeof eni.values.private_ip === "string" && !isExpression(eni.values.private_ip) ? ` ${eni.values.private_ip}` : "";
    endpoints.push(`read-write :${PORTS.pgbouncerReadWrite} (PgBouncer on the node${eni ? `, ENI ${eni.address}${ip}` : ""})`);
  }
  const slots = slotIds.map((s) => {
    const vol = volumes.find((v) => slotOf(v) === s);
    const az = vol?.values.availability_zone;
    return {
      slot: s,
      availabilityZone: typeof az === "string" && !isExpression(az) ? az : undefined,
      storageGiB: vol?.values.size !== undefined ? String(vol.values.size) : undefined,
    };
  });
  const poolerAsg = mine.filter((r) => r.type === "aws_autoscaling_group" && slotOf(r) === undefined);
  return {
    deployment,
    size,
    instanceType,
    storageGiB: distinct(volumes.map((v) => v.values.size)),
    majorVersion: distinct(volTags.map((t) => t[TAG_MAJOR_VERSION])),
    endpoints,
    slots,
    poolerInstances: distinct(poolerAsg.map((a) => a.values.desired_capacity ?? a.values.min_size)),
    loadBalancer: lbs.length > 0,
    ingressSources: [...new Set(mine.flatMap(ingressSources))].sort(),
    backupBucket: mine.some((r) => r.type === "aws_s3_bucket"),
  };
}
