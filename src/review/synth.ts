import { replaceForcingPaths } from "./replace";
import type { ResourceChange, ResourceSnapshot, ReviewInput } from "./types";
import { configLocals, configResources, expressionReferences } from "../terraform";
import { diffValues } from "./values";

/** One synthesized stack: its name and its parsed `cdk.tf.json`. */
export interface SynthStack {
  /** Stack name (the directory name under `cdktf.out/stacks/`). */
  readonly name: string;
  /** The parsed `cdk.tf.json` (Terraform JSON configuration). */
  readonly config: unknown;
}

/** The managed resources of a Terraform JSON configuration, by address (prefixed by `prefix`). */
function resourcesOf(config: unknown, prefix: string): Map<string, ResourceSnapshot> {
  const out = new Map<string, ResourceSnapshot>();
  const local = new Map(configResources(config, { data: false }).map((r) => [r.address, { type: r.type, name: r.name, values: r.config as Record<string, unknown> }]));
  const locals = configLocals(config);
  for (const [addr, r] of local) {
    const refs = expressionReferences(r.values);
    const references = [...refs].filter((a) => a !== addr && local.has(a)).map((a) => prefix + a);
    // A local's value is part of the resource that reads it (e.g. user data text behind
    // `base64gzip(local.x)`): shown as a `local.<name>` pseudo-attribute, so its change is one.
    // Lines shared by several slots' texts (other locals) are spliced back in (configLocals).
    const values: Record<string, unknown> = { ...r.values };
    for (const ref of refs) {
      const m = /^local\.(.+)$/.exec(ref);
      if (m && m[1] in locals) values[`local.${m[1]}`] = locals[m[1]];
    }
    out.set(prefix + addr, { address: prefix + addr, type: r.type, name: r.name, values, references });
  }
  return out;
}

/** `lifecycle.prevent_destroy` of a synthesized resource. */
export function preventsDestroy(snapshot: ResourceSnapshot | undefined): boolean {
  const lc = snapshot?.values.lifecycle as { prevent_destroy?: unknown } | undefined;
  return lc?.prevent_destroy === true;
}

/**
 * Compares two synth outputs. A resource's values include, as `local.<name>` pseudo-attributes,
 * the Terraform locals it reads. A resource only in `head` is created, only in `base`
 * destroyed; in both, updated when an attribute differs and replaced when a changed attribute
 * is in {@link REPLACE_FORCING_ATTRIBUTES}. References (`${aws_x.y.attr}`) compare as text,
 * so a resource whose logical id changes shows as destroy + create, as Terraform would plan it.
 * Addresses are prefixed by `<stack>/` when either side has more than one stack.
 *
 * @param base the stacks before the change (e.g. synthesized from the pull request's base branch)
 * @param head the stacks after the change
 */
export function reviewInputFromSynth(base: readonly SynthStack[], head: readonly SynthStack[]): ReviewInput {
  const prefixed = base.length > 1 || head.length > 1;
  const collect = (stacks: readonly SynthStack[]) => {
    const all = new Map<string, ResourceSnapshot>();
    for (const s of stacks) for (const [k, v] of resourcesOf(s.config, prefixed ? `${s.name}/` : "")) all.set(k, v);
    return all;
  };
  const b = collect(base);
  const h = collect(head);
  const changes: ResourceChange[] = [];
  const addresses = [...new Set([...b.keys(), ...h.keys()])].sort();
  for (const address of addresses) {
    const before = b.get(address);
    const after = h.get(address);
    const type = (after ?? before)!.type;
    const name = (after ?? before)!.name;
    if (!before) {
      changes.push({ address, type, name, action: "create", after, attributes: [], replaceBecause: [] });
    } else if (!after) {
      changes.push({ address, type, name, action: "destroy", before, attributes: [], replaceBecause: [] });
    } else {
      const attributes = diffValues(before.values, after.values);
      const replaceBecause = replaceForcingPaths(type, attributes.map((a) => a.path));
      const action = attributes.length === 0 ? "no-op" : replaceBecause.length > 0 ? "replace" : "update";
      changes.push({ address, type, name, action, before, after, attributes, replaceBecause });
    }
  }
  return { source: "synth", base: b, head: h, changes };
}
