import fc from "fast-check";
import { placeResources, type Placement, type ResourceSnapshot, type ReviewInput } from "../../src/review";
import { generatePlan } from "../../bench/review";
import { reviewInputFromPlan } from "../../src/review";

/** The placement as first written: sweep every address until nothing changes, scanning all addresses per reference. Quadratic; the reference. */
function naivePlacement(input: ReviewInput): Map<string, Placement> {
  const all = new Map<string, ResourceSnapshot>([...input.base, ...input.head]);
  const cluster = new Map<string, string>();
  const slot = new Map<string, string>();
  for (const [addr] of all) {
    const tags = { ...(input.base.get(addr)?.values.tags as object), ...(input.head.get(addr)?.values.tags as object) } as Record<string, string>;
    if (tags["managed-postgres:cluster"]) cluster.set(addr, tags["managed-postgres:cluster"]);
    if (tags["managed-postgres:slot"] !== undefined) slot.set(addr, tags["managed-postgres:slot"]);
  }
  const refsOf = (addr: string) => {
    const set = new Set<string>([...(input.base.get(addr)?.references ?? []), ...(input.head.get(addr)?.references ?? [])]);
    return [...set].filter((r) => all.has(r) || [...all.keys()].some((k) => k.startsWith(`${r}[`)));
  };
  const resolve = (ref: string): string[] => (all.has(ref) ? [ref] : [...all.keys()].filter((k) => k.startsWith(`${ref}[`)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const addr of all.keys()) {
      const targets = refsOf(addr).flatMap(resolve);
      if (!cluster.has(addr)) {
        const c = targets.map((t) => cluster.get(t)).find((x) => x !== undefined);
        if (c !== undefined) {
          cluster.set(addr, c);
          changed = true;
        }
      }
      if (!slot.has(addr) && cluster.has(addr)) {
        const slots = new Set(targets.filter((t) => cluster.get(t) === cluster.get(addr)).map((t) => slot.get(t)).filter((x): x is string => x !== undefined));
        if (slots.size === 1) {
          slot.set(addr, [...slots][0]);
          changed = true;
        }
      }
    }
  }
  for (const addr of all.keys()) {
    if (!cluster.has(addr)) continue;
    for (const t of refsOf(addr).flatMap(resolve)) if (!cluster.has(t)) cluster.set(t, cluster.get(addr)!);
  }
  const out = new Map<string, Placement>();
  for (const addr of all.keys()) out.set(addr, { cluster: cluster.get(addr), slot: slot.get(addr) });
  return out;
}

/** Resources r0…r(n-1), some indexed (`[0]`, `["k"]`), with random tags and references (chains, cycles, conflicts). */
const inputs = fc
  .array(
    fc.record({
      index: fc.constantFrom("", "", "[0]", '["k"]'),
      cluster: fc.constantFrom(undefined, undefined, "a", "b"),
      slot: fc.constantFrom(undefined, undefined, "0", "1"),
      refs: fc.array(fc.nat(11), { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((rs): ReviewInput => {
    const head = new Map<string, ResourceSnapshot>();
    rs.forEach((r, i) => {
      const address = `aws_x.r${i}${r.index}`;
      const tags = { ...(r.cluster ? { "managed-postgres:cluster": r.cluster } : {}), ...(r.slot ? { "managed-postgres:slot": r.slot } : {}) };
      head.set(address, { address, type: "aws_x", name: `r${i}`, values: { tags }, references: r.refs.map((j) => `aws_x.r${j}`) });
    });
    return { source: "plan", base: new Map(), head, changes: [] };
  });

describe("placement of resources in clusters and slots", () => {
  test("is the same as sweeping every address until nothing changes", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        expect(placeResources(input)).toEqual(naivePlacement(input));
      }),
      { numRuns: 1000 },
    );
  });

  test("is the same on a generated plan of 50 clusters (the bench's shape)", () => {
    const input = reviewInputFromPlan(generatePlan(1000));
    const p = placeResources(input);
    expect(p).toEqual(naivePlacement(input));
    expect(p.get("aws_iam_instance_profile.c7_slot2_profile[0]")).toEqual({ cluster: "c7", slot: "2" });
  });
});
