/**
 * Names, tags and logical ids shared by the constructs (private: not exported from the package
 * entry points; every target uses {@link boundedName} for length-limited cloud names).
 */
import { createHash } from "node:crypto";
import { TAG_CLUSTER, type ResolvedClusterSpec } from "../../src/cluster-spec";

/**
 * The tags every resource of a cluster carries: the spec's `tags`, then
 * `managed-postgres:cluster = <name>`, then `extra` (library tags win over user tags;
 * validation already refuses user keys with the `managed-postgres:` prefix).
 */
export function clusterTags(spec: ResolvedClusterSpec, extra: Record<string, string> = {}): Record<string, string> {
  return { ...spec.tags, [TAG_CLUSTER]: spec.name, ...extra };
}

/**
 * A name of at most `max` characters derived from `base`: `base` itself when it fits,
 * otherwise its first characters, a hyphen and 8 hex digits of its SHA-256 (stable, unique
 * per base). AWS limits: load balancer and target group names 32, IAM role 64.
 */
export function boundedName(base: string, max: number): string {
  if (base.length <= max) return base;
  const hash = createHash("sha256").update(base).digest("hex").slice(0, 8);
  return `${base.slice(0, max - 9).replace(/-+$/, "")}-${hash}`;
}

/** `read-write/Endpoint` → `read_write_endpoint`: lower-case letters, digits, underscores. */
export function snake(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_|_$/g, "");
}
