import { placeResources, summarizeCluster } from "./clusters";
import { findRisks } from "./risks";
import type { ChangeAction, ClusterReview, ClusterSummary, ResourceChange, Review, ReviewInput } from "./types";

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
  const summaries = new Map<string, { base?: ClusterSummary; head?: ClusterSummary }>();
  for (const k of keys) summaries.set(k ?? "", { base: summarizeCluster(input.base, placement, k), head: summarizeCluster(input.head, placement, k) });
  const risks = findRisks(input, placement, summaries);
  const clusters: ClusterReview[] = keys.map((name) => {
    const bySlot = new Map<string, ResourceChange[]>([["", []]]);
    const mine = input.changes.filter((c) => c.action !== "no-op" && placement.get(c.address)?.cluster === name);
    const slots = [...new Set(mine.map((c) => placement.get(c.address)?.slot).filter((s): s is string => s !== undefined))].sort();
    for (const s of slots) bySlot.set(s, []);
    for (const c of mine) bySlot.get(placement.get(c.address)?.slot ?? "")!.push(c);
    const s = summaries.get(name ?? "")!;
    return { name, base: s.base, head: s.head, changesBySlot: bySlot, risks: risks.filter((r) => r.cluster === name) };
  });
  const counts: Record<ChangeAction, number> = { create: 0, update: 0, replace: 0, destroy: 0, "no-op": 0 };
  for (const c of input.changes) counts[c.action]++;
  return { source: input.source, clusters, risks, placement, counts };
}
