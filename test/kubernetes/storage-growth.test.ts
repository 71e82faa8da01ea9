/**
 * Storage growth on Kubernetes (issue 12): raising `storageGiB` changes only the PVCs' requested
 * size (they grow in place). The ConfigMap (patroni.yml holds no WAL limit: the primary's
 * maintenance agent sets them from its volume, test/kubernetes/wal-limits-agent.system.test.ts)
 * and the StatefulSet (pod template and its config hash) are byte-identical, so no pod rolls.
 */
import { parse } from "yaml";
import { props, synth, type Synthesized } from "./fixtures";

/** Every leaf that differs between two synthesized stacks, as `path: before → after`. */
function differences(a: Synthesized, b: Synthesized): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (x !== null && y !== null && typeof x === "object" && typeof y === "object") {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y as object)])) walk((x as any)[k], (y as any)[k], `${path}/${k}`);
    } else if (x !== y) out.push(`${path}: ${JSON.stringify(x)} → ${JSON.stringify(y)}`);
  };
  walk(JSON.parse(a.raw), JSON.parse(b.raw), "");
  return out;
}

test.each(["distributed", "standalone"] as const)("%s: storageGiB 50 → 80 changes only the PVCs' requested storage; the pod template stays byte-identical", (deployment) => {
  const before = synth(props({ deployment, storageGiB: 50 }));
  const after = synth(props({ deployment, storageGiB: 80 }));
  const members = deployment === "distributed" ? 3 : 1;
  const d = differences(before, after);
  const pvcs = d.filter((l) => l.startsWith("/resource/kubernetes_persistent_volume_claim_v1/"));
  expect(pvcs).toHaveLength(members);
  for (const line of pvcs) expect(line).toMatch(/^\/resource\/kubernetes_persistent_volume_claim_v1\/[^/]+\/spec\/resources\/requests\/storage: "50Gi" → "80Gi"$/);
  // besides: only the StatefulSet's claim template, which Terraform ignores (immutable in the API)
  expect(d.filter((l) => !pvcs.includes(l))).toEqual([
    expect.stringMatching(/^\/resource\/kubernetes_stateful_set_v1\/[^/]+\/spec\/volume_claim_template\/0\/spec\/resources\/requests\/storage: "50Gi" → "80Gi"$/),
  ]);
  const sts = (s: Synthesized) => Object.values(s.resource.kubernetes_stateful_set_v1)[0] as any;
  expect(sts(after).lifecycle.ignore_changes).toContain("spec[0].volume_claim_template");
  expect(JSON.stringify(sts(after).spec.template)).toBe(JSON.stringify(sts(before).spec.template));
  const cms = (s: Synthesized) => JSON.stringify(s.resource.kubernetes_config_map_v1);
  expect(cms(after)).toBe(cms(before));
});

test("patroni.yml on Kubernetes holds no WAL limit that depends on the storage", () => {
  const cm = Object.values(synth(props({ storageGiB: 50 })).resource.kubernetes_config_map_v1).find((r: any) => r.metadata.name === "orders-database") as any;
  const yml = parse(cm.data["patroni.yml"]);
  for (const parameters of [yml.postgresql.parameters, yml.bootstrap.dcs.postgresql.parameters]) {
    expect(parameters).not.toHaveProperty("max_wal_size");
    expect(parameters).not.toHaveProperty("max_slot_wal_keep_size");
  }
  expect(yml.postgresql.parameters).toHaveProperty("min_wal_size", "80MB");
});
