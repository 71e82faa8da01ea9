import { clusterDiagram } from "./mermaid";
import type { AttributeChange, ChangeAction, ClusterReview, ClusterSummary, ResourceChange, Review, Risk, RiskLevel, RollPlan } from "./types";
import { windowText } from "./rolls";
import { mdCell, mdCode, mdText } from "../markdown";

const LEVEL_ICON: Readonly<Record<RiskLevel, string>> = { high: "🔴", medium: "🟠", low: "🟡" };
const ACTION_ICON: Readonly<Record<ChangeAction, string>> = { create: "➕", update: "✏️", replace: "♻️", destroy: "🗑️", "no-op": "" };

/** The report's heading when no (or a blank) title is given. */
export const DEFAULT_TITLE = "Managed PostgreSQL plan review";

/** Options of {@link renderReviewMarkdown}. */
export interface MarkdownOptions {
  /**
   * Title of the report: plain text (escaped, shown as written), under a Markdown heading.
   * A title that is empty or only whitespace gives the default (a heading must say something).
   * @default "Managed PostgreSQL plan review"
   */
  readonly title?: string;
  /**
   * Changes per cluster above which the change table is folded in a `<details>` element.
   * @default 15
   */
  readonly foldAbove?: number;
}

function riskLine(r: Risk): string {
  const where = r.addresses.length > 0 ? ` (${r.addresses.slice(0, 3).map((a) => mdCode(a)).join(", ")}${r.addresses.length > 3 ? `, +${r.addresses.length - 3}` : ""})` : "";
  return `- ${LEVEL_ICON[r.level]} **${r.level}** \`${r.rule}\` — ${r.message}${where}`;
}

function attributeText(a: AttributeChange, forcing: boolean): string {
  const after = a.afterUnknown ? "(known after apply)" : mdCell(a.after, 40);
  return `${mdCode(a.path, "table")}: ${mdCell(a.before, 40)} → ${after}${forcing ? " **(forces replacement)**" : ""}`;
}

function whatChanges(c: ResourceChange): string {
  if (c.action === "create") return "new";
  if (c.action === "destroy") return "removed";
  const rank = (a: AttributeChange) => (c.replaceBecause.includes(a.path) ? 0 : a.afterUnknown ? 2 : 1);
  const shown = [...c.attributes].sort((x, y) => rank(x) - rank(y)).slice(0, 4);
  const more = c.attributes.length - shown.length;
  const parts = shown.map((a) => attributeText(a, c.replaceBecause.includes(a.path)));
  if (c.action === "replace" && parts.length === 0 && c.replaceBecause.length > 0) parts.push(`forced by ${c.replaceBecause.map((p) => mdCode(p, "table")).join(", ")}`);
  return parts.join("<br>") + (more > 0 ? `<br>+${more} more` : "");
}

function summaryTable(base: ClusterSummary | undefined, head: ClusterSummary | undefined): string[] {
  // f returns the cell's parts; each is escaped, and several are joined with a line break
  const row = (label: string, f: (s: ClusterSummary) => string | readonly string[] | undefined) => {
    const cell = (s: ClusterSummary) => {
      const v = f(s);
      return v === undefined ? "–" : (typeof v === "string" ? [v] : v).map(mdText).join("<br>");
    };
    const b = base ? cell(base) : "(none)";
    const h = head ? cell(head) : "(destroyed)";
    const mark = base && head && b !== h ? " ⚠️" : "";
    return `| ${label} | ${b} | ${h}${mark} |`;
  };
  return [
    "| | base | head |",
    "|---|---|---|",
    row("Deployment model", (s) => s.deployment),
    row("Size", (s) => (s.size ? `${s.size} (${s.instanceType})` : s.instanceType)),
    row("Storage", (s) => (s.storageGiB ? `${s.storageGiB} GiB` : undefined)),
    row("PostgreSQL", (s) => s.majorVersion),
    row("Slots", (s) => (s.slots.length ? s.slots.map((x) => `${x.slot}${x.availabilityZone ? ` (${x.availabilityZone})` : ""}`).join(", ") : undefined)),
    row("Endpoints", (s) => (s.endpoints.length ? s.endpoints : undefined)),
    row("Allowed clients", (s) => (s.ingressSources.length ? s.ingressSources.join(", ") : undefined)),
  ];
}

function rollLines(p: RollPlan): string[] {
  const out: string[] = [];
  const when =
    p.timing.kind === "immediately"
      ? "at once (`applyImmediately`)"
      : p.timing.kind === "window"
        ? `in the maintenance window, ${mdText(windowText(p.timing))}`
        : "in the cluster's maintenance window (its setting is not in this change)";
  const n = p.replacedNodes.length;
  if (n > 0) {
    const slots = p.replacedNodes.map((r) => `slot ${mdText(r.slot)}: ${r.because.map((b) => mdText(b)).join("; ")}`).join(" · ");
    out.push(`- ♻️ **${n} database node${n === 1 ? "" : "s"} replaced**, one at a time (replicas first, the primary after a switchover), ${when} — ${slots}`);
  }
  if (p.storageGrowth.length > 0) {
    const sizes = [...new Set(p.storageGrowth.map((g) => `${mdText(g.from)} → ${mdText(g.to)} GiB`))].join(", ");
    out.push(`- 📈 **storage grows in place** on ${p.storageGrowth.length} node${p.storageGrowth.length === 1 ? "" : "s"} (${sizes}): the volume is modified and the filesystem grown online within 5 minutes of the apply, no restart, no window`);
  }
  if (p.poolerTemplateChanged) out.push("- ⚠️ **PgBouncer tier**: new launch template version; the nodes do not roll it (replace its instances one at a time, docs/operations.md)");
  return out;
}

function changeTable(c: ClusterReview): string[] {
  const rows: string[] = [];
  for (const [slot, changes] of c.changesBySlot) {
    for (const ch of changes) {
      rows.push(`| ${slot === "" ? "cluster" : `slot ${mdText(slot)}`} | ${ACTION_ICON[ch.action]} ${ch.action} | ${mdCode(ch.address, "table")} | ${whatChanges(ch)} |`);
    }
  }
  if (rows.length === 0) return ["No change."];
  return ["| Where | Action | Resource | What changes |", "|---|---|---|---|", ...rows];
}

/**
 * Renders a review as GitHub-flavoured Markdown. Every value taken from the plan or the synth
 * output (addresses, attribute values, cluster and slot names) and the title is escaped
 * (src/markdown), so none can add HTML, a table row, a list item or end the Mermaid block.
 * Risk messages are Markdown already escaped by the rules that write them. The report: a header with counts and risk totals, then per
 * cluster a before/after summary table, its risks, its changes grouped by slot with
 * Terraform's actions, and a Mermaid topology diagram.
 */
export function renderReviewMarkdown(review: Review, options: MarkdownOptions = {}): string {
  const out: string[] = [];
  const title = options.title !== undefined && options.title.trim() !== "" ? options.title : DEFAULT_TITLE;
  const foldAbove = options.foldAbove ?? 15;
  const n = review.counts;
  out.push(`## ${mdText(title)}`, "");
  out.push(
    `${review.source === "plan" ? "Terraform plan" : "Synth outputs (base → head)"}: ${n.create} to create, ${n.update} to update, ${n.replace} to replace, ${n.destroy} to destroy, ${n["no-op"]} unchanged.`,
    "",
  );
  const count = (l: RiskLevel) => review.risks.filter((r) => r.level === l).length;
  out.push(
    review.risks.length === 0
      ? "**Risks:** ✅ none found."
      : `**Risks:** ${LEVEL_ICON.high} ${count("high")} high · ${LEVEL_ICON.medium} ${count("medium")} medium · ${LEVEL_ICON.low} ${count("low")} low`,
    "",
  );
  if (review.clusters.length === 0) out.push("No managed PostgreSQL resource in this change.", "");
  for (const c of review.clusters) {
    out.push(c.name !== undefined ? `### Cluster ${mdCode(c.name)}` : "### Resources of no cluster", "");
    if (c.name !== undefined) out.push(...summaryTable(c.base, c.head), "");
    if (c.risks.length > 0) out.push("**Risks**", "", ...c.risks.map(riskLine), "");
    if (c.rolls) out.push("**Rolling maintenance**", "", ...rollLines(c.rolls), "");
    const changes = changeTable(c);
    const total = [...c.changesBySlot.values()].reduce((s, l) => s + l.length, 0);
    if (total > foldAbove) out.push(`<details><summary><b>Changes</b> (${total})</summary>`, "", ...changes, "", "</details>", "");
    else out.push(`**Changes**${total ? ` (${total})` : ""}`, "", ...changes, "");
    const shape = c.head ?? c.base;
    if (c.name !== undefined && shape) {
      const all = [...c.changesBySlot.values()].flat();
      out.push("```mermaid", clusterDiagram(shape, all, review.placement), "```", "");
    }
  }
  return out.join("\n");
}
