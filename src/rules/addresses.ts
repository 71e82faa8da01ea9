/**
 * Resource addresses never move silently: a managed resource whose address disappears
 * from a configuration is destroyed and recreated by Terraform unless a `moved` block
 * maps the old address to the new one (Terraform ≥ 1.1; cdktf `moveFromId` / `moveTo`
 * need Terraform ≥ 1.5).
 */
import { configResources } from "../terraform";

/** A `moved` block of the synthesized JSON. */
export interface MovedBlock {
  readonly from: string;
  readonly to: string;
}

/** Managed resource addresses (`<type>.<name>`) of a synthesized cdk.tf.json, sorted. */
export function managedResourceAddresses(config: { resource?: Record<string, Record<string, unknown>> }): string[] {
  return configResources(config, { data: false })
    .map((r) => r.address)
    .sort();
}

/**
 * Addresses of `before` that `after` lost without a moved block from them to an address
 * of `after`, in `before`'s order. Empty when every change is covered.
 */
export function silentlyRemovedAddresses(before: readonly string[], after: readonly string[], moved: readonly MovedBlock[]): string[] {
  const now = new Set(after);
  return before.filter((addr) => !now.has(addr) && !moved.some((m) => m.from === addr && now.has(m.to)));
}

/** Moved blocks whose target address does not exist in `after`. */
export function danglingMoves(after: readonly string[], moved: readonly MovedBlock[]): MovedBlock[] {
  const now = new Set(after);
  return moved.filter((m) => !now.has(m.to));
}
