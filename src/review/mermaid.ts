import { PORTS } from "../cluster-spec/ports";
import { mermaidText } from "../markdown";
import type { ChangeAction, ClusterSummary, Placement, ResourceChange } from "./types";

/** A value from the plan for a quoted label: Terraform expressions shortened to `…`, then escaped (src/markdown). */
function label(text: string): string {
  return mermaidText(text.replace(/\$\{[^}]*\}/g, "…"));
}

const SEVERITY: readonly ChangeAction[] = ["destroy", "replace", "create", "update"];

/** The most severe action among changes (destroy > replace > create > update), if any. */
function worst(changes: readonly ResourceChange[]): ChangeAction | undefined {
  for (const a of SEVERITY) if (changes.some((c) => c.action === a)) return a;
  return undefined;
}

const POOLER_TYPES = new Set(["aws_autoscaling_group", "aws_launch_template", "aws_instance"]);
const LB_TYPES = new Set(["aws_lb", "aws_lb_listener", "aws_lb_target_group"]);
const BACKUP_TYPES = new Set([
  "aws_s3_bucket",
  "aws_s3_bucket_policy",
  "aws_s3_bucket_versioning",
  "aws_s3_bucket_server_side_encryption_configuration",
  "aws_s3_bucket_lifecycle_configuration",
  "aws_s3_bucket_public_access_block",
]);

/**
 * A Mermaid flowchart of a cluster's topology: clients → NLB read-write / read-only listeners
 * → PgBouncer tier → one node per slot (with its availability zone and storage) → S3 backups.
 * A standalone cluster is clients → the node's PgBouncer → the node → S3. Nodes whose
 * resources change are coloured: red destroy/replace, green create, yellow update. Values from
 * the plan (slots, zones, sizes, ingress sources) are escaped with `mermaidText`, so every
 * label stays one quoted string without markup.
 *
 * @param summary the cluster after the change (or before, for a destroyed cluster)
 * @param changes the cluster's changes
 * @param placement slot of every address
 * @returns the diagram text, without the ```mermaid fence
 */
export function clusterDiagram(summary: ClusterSummary, changes: readonly ResourceChange[], placement: ReadonlyMap<string, Placement>): string {
  const lines: string[] = ["flowchart LR"];
  const classes: string[] = [];
  const mark = (id: string, cs: readonly ResourceChange[]) => {
    const a = worst(cs);
    if (a) classes.push(`  class ${id} ${a}`);
  };
  const live = changes.filter((c) => c.action !== "no-op");
  const slotOf = (c: ResourceChange) => placement.get(c.address)?.slot;
  const sources =
    summary.ingressSources.length > 0 ? summary.ingressSources.slice(0, 4).map(label).join("<br/>") + (summary.ingressSources.length > 4 ? "<br/>…" : "") : "private network";
  lines.push(`  clients(["clients<br/>${sources}"])`);
  const slotIds = summary.slots.map((s) => s.slot);
  const distributed = summary.loadBalancer || summary.deployment === "distributed";
  if (distributed) {
    lines.push(`  nlb{{"NLB"}}`);
    lines.push(`  pooler["PgBouncer tier${summary.poolerInstances ? ` ×${label(summary.poolerInstances)}` : ""}<br/>+ HAProxy"]`);
    lines.push(`  clients -->|${PORTS.endpointReadWrite} read-write| nlb`);
    lines.push(`  clients -->|${PORTS.endpointReadOnly} read-only| nlb`);
    lines.push(`  nlb -->|${PORTS.pgbouncerReadWrite} / ${PORTS.pgbouncerReadOnly}| pooler`);
    mark("nlb", live.filter((c) => LB_TYPES.has(c.type)));
    mark("pooler", live.filter((c) => POOLER_TYPES.has(c.type) && slotOf(c) === undefined));
  }
  // node ids: `slot<id>` with non-word characters replaced, made unique when two slots map to one
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  for (const s of summary.slots) {
    let id = `slot${s.slot.replace(/\W/g, "_")}`;
    while (taken.has(id)) id += "_";
    taken.add(id);
    ids.set(s.slot, id);
  }
  for (const s of summary.slots) {
    const id = ids.get(s.slot)!;
    const role = distributed ? "PostgreSQL + Patroni + etcd" : "PostgreSQL + PgBouncer";
    const az = s.availabilityZone ? ` · ${s.availabilityZone}` : "";
    lines.push(`  subgraph ${id}_az["slot ${label(s.slot)}${label(az)}"]`);
    lines.push(`    ${id}[("${role}${s.storageGiB ? `<br/>${label(s.storageGiB)} GiB` : ""}")]`);
    lines.push("  end");
    if (distributed) lines.push(`  pooler --> ${id}`);
    else lines.push(`  clients -->|${PORTS.pgbouncerReadWrite} read-write| ${id}`);
    mark(id, live.filter((c) => slotOf(c) === s.slot));
  }
  if (summary.backupBucket || slotIds.length > 0) {
    lines.push(`  s3[("S3 backups<br/>WAL archive + full backups")]`);
    for (const s of summary.slots) lines.push(`  ${ids.get(s.slot)} -.->|pgBackRest| s3`);
    mark("s3", live.filter((c) => BACKUP_TYPES.has(c.type)));
  }
  if (classes.length > 0) {
    lines.push("  classDef destroy fill:#fdd,stroke:#c00,stroke-width:2px");
    lines.push("  classDef replace fill:#fdd,stroke:#c00,stroke-width:2px,stroke-dasharray:4");
    lines.push("  classDef create fill:#dfd,stroke:#080");
    lines.push("  classDef update fill:#ffd,stroke:#a80");
    lines.push(...classes);
  }
  return lines.join("\n");
}
