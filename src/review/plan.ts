import type { ChangeAction, ResourceChange, ResourceSnapshot, ReviewInput } from "./types";
import { diffValues } from "./values";

/** Thrown when a document is not a Terraform plan in `terraform show -json` format. */
export class PlanFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanFormatError";
  }
}

/** `aws_x.y[0]` → `aws_x.y`; `module.m.aws_x.y["k"]` → `module.m.aws_x.y`. */
function stripIndex(address: string): string {
  return address.replace(/\[[^\]]*\]$/, "");
}

/** Collects every `references` array of a configuration resource's `expressions`, recursively. */
function collectReferences(expr: unknown, into: Set<string>): void {
  if (Array.isArray(expr)) {
    for (const e of expr) collectReferences(e, into);
    return;
  }
  if (expr === null || typeof expr !== "object") return;
  for (const [k, v] of Object.entries(expr)) {
    if (k === "references" && Array.isArray(v)) {
      for (const r of v) {
        if (typeof r !== "string" || r.startsWith("var.") || r.startsWith("local.") || r.startsWith("data.") || r.startsWith("each.") || r.startsWith("count.")) continue;
        const m = /^((?:module\.[^.]+\.)*[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*)/.exec(r);
        if (m) into.add(m[1]);
      }
    } else collectReferences(v, into);
  }
}

/** References per resource address (without index) from the plan's `configuration` section. */
function configurationReferences(plan: any): Map<string, string[]> {
  const refs = new Map<string, string[]>();
  const walkModule = (mod: any, prefix: string) => {
    for (const r of mod?.resources ?? []) {
      if (r?.mode !== undefined && r.mode !== "managed") continue;
      const set = new Set<string>();
      collectReferences(r.expressions, set);
      refs.set(`${prefix}${r.address}`, [...set].map((a) => `${prefix}${a}`));
    }
    for (const [name, call] of Object.entries<any>(mod?.module_calls ?? {})) walkModule(call?.module, `${prefix}module.${name}.`);
  };
  walkModule(plan?.configuration?.root_module, "");
  return refs;
}

function toAction(actions: unknown): ChangeAction | undefined {
  if (!Array.isArray(actions)) return undefined;
  const a = actions.join(",");
  switch (a) {
    case "create":
      return "create";
    case "update":
      return "update";
    case "delete":
      return "destroy";
    case "delete,create":
    case "create,delete":
      return "replace";
    case "no-op":
      return "no-op";
    default:
      return undefined; // "read" (data sources) and "forget" are not reviewed
  }
}

function replacePathText(p: unknown): string {
  if (!Array.isArray(p)) return String(p);
  return p.reduce<string>((acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : String(seg)), "");
}

/**
 * Reads a Terraform plan in `terraform show -json` format (format_version 1.x): every managed
 * resource of `resource_changes` with its actions, `before`, `after`, `after_unknown` and
 * `replace_paths`; references from `configuration`.
 *
 * @param plan the parsed JSON document
 * @throws PlanFormatError when the document has no `resource_changes` list or an unknown major `format_version`
 */
export function reviewInputFromPlan(plan: unknown): ReviewInput {
  const p = plan as any;
  if (p === null || typeof p !== "object" || !Array.isArray(p.resource_changes)) {
    throw new PlanFormatError("not a Terraform plan in JSON format: expected an object with a `resource_changes` list (produce it with `terraform show -json plan.out > plan.json`)");
  }
  if (typeof p.format_version === "string" && !p.format_version.startsWith("1.") && p.format_version !== "0.1" && p.format_version !== "0.2") {
    throw new PlanFormatError(`unsupported plan format_version ${JSON.stringify(p.format_version)}; this review reads format 1.x`);
  }
  const refs = configurationReferences(p);
  const base = new Map<string, ResourceSnapshot>();
  const head = new Map<string, ResourceSnapshot>();
  const changes: ResourceChange[] = [];
  for (const rc of p.resource_changes) {
    if (rc?.mode !== undefined && rc.mode !== "managed") continue;
    const action = toAction(rc?.change?.actions);
    if (!action || typeof rc.address !== "string") continue;
    const type = String(rc.type ?? rc.address.split(".").slice(-2)[0]);
    const name = String(rc.name ?? stripIndex(rc.address).split(".").pop());
    const references = refs.get(stripIndex(rc.address)) ?? [];
    const snap = (values: unknown): ResourceSnapshot | undefined =>
      values && typeof values === "object" ? { address: rc.address, type, name, values: values as Record<string, unknown>, references } : undefined;
    const before = action === "create" ? undefined : snap(rc.change.before);
    const after = action === "destroy" ? undefined : snap(rc.change.after ?? (action !== "no-op" ? {} : undefined));
    if (before) base.set(rc.address, before);
    if (after) head.set(rc.address, after);
    const attributes = action === "update" || action === "replace" ? diffValues(rc.change.before, rc.change.after, rc.change.after_unknown) : [];
    const replaceBecause = action === "replace" ? (Array.isArray(rc.change.replace_paths) ? rc.change.replace_paths.map(replacePathText) : []) : [];
    changes.push({ address: rc.address, type, name, action, before, after, attributes, replaceBecause });
  }
  return { source: "plan", base, head, changes };
}
