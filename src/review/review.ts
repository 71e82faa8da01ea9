import { placeResources, summarizeCluster } from "./clusters";
import { findRisks } from "./risks";
import { rollPlan } from "./rolls";
import type { ChangeAction, ClusterReview, ClusterSummary, ResourceChange, ResourceSnapshot, Review, ReviewInput } from "./types";

/**
 * Reviews normalized input (from {@link reviewInputFromPlan} or {@link reviewInputFromSynth}):
 * places every resource in its cluster and slot, summarizes each cluster before and after,
 * and finds the risks. Pure.
 *
 * @returns clusters sorted by name (resources of no cluster last, only when some change), every risk highest first
 */
export function reviewChanges(input: ReviewInput): Review {
  const placement = placeResources(input);
  const names = [...new Set([...placement.values()].map((p) => p.cluster).filter((c): c is string => c !== undefined))].sort();
  const orphans = input.changes.some((c) => c.action !== "no-op" && placement.get(c.address)?.cluster === undefined);
  const keys: (string | undefined)[] = [...names, ...(orphans ? [undefined] : [])];
  // each side's resources and the changes grouped by cluster once (key "" for no cluster), so
  // that the work per cluster is proportional to its own resources
  const clusterOf = (address: string) => placement.get(address)?.cluster ?? "";
  const group = <T>(items: Iterable<T>, key: (t: T) => string) => {
    const out = new Map<string, T[]>();
    for (const item of items) {
      const k = key(item);
      const list = out.get(k);
      if (list === undefined) out.set(k, [item]);
      else list.push(item);
    }
    return out;
  };
  const sideOf = (side: ReadonlyMap<string, ResourceSnapshot>) => {
    const byCluster = group(side.values(), (r) => clusterOf(r.address));
    return (k: string) => new Map((byCluster.get(k) ?? []).map((r) => [r.address, r]));
  };
  const baseOf = sideOf(input.base);
  const headOf = sideOf(input.head);
  const changesOf = group(input.changes, (c) => clusterOf(c.address));
  const summaries = new Map<string, { base?: ClusterSummary; head?: ClusterSummary }>();
  for (const k of keys) summaries.set(k ?? "", { base: summarizeCluster(baseOf(k ?? ""), placement, k), head: summarizeCluster(headOf(k ?? ""), placement, k) });
  const risks = findRisks(input, placement, summaries);
  const risksOf = group(risks, (r) => r.cluster ?? "");
  const clusters: ClusterReview[] = keys.map((name) => {
    const bySlot = new Map<string, ResourceChange[]>([["", []]]);
    const mine = (changesOf.get(name ?? "") ?? []).filter((c) => c.action !== "no-op");
    const slots = [...new Set(mine.map((c) => placement.get(c.address)?.slot).filter((s): s is string => s !== undefined))].sort();
    for (const s of slots) bySlot.set(s, []);
    for (const c of mine) bySlot.get(placement.get(c.address)?.slot ?? "")!.push(c);
    const s = summaries.get(name ?? "")!;
    const rolls = name === undefined || s.base === undefined ? undefined : rollPlan(mine, placement, headOf(name).values());
    return { name, base: s.base, head: s.head, changesBySlot: bySlot, risks: risksOf.get(name ?? "") ?? [], ...(rolls ? { rolls } : {}) };
  });
  const counts: Record<ChangeAction, number> = { create: 0, update: 0, replace: 0, destroy: 0, "no-op": 0 };
  for (const c of input.changes) counts[c.action]++;
  return { source: input.source, clusters, risks, placement, counts };
}
