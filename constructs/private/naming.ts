/**
 * Names, tags and logical ids shared by the constructs (private: not exported from the package
 * entry points; every target uses {@link boundedName} for length-limited cloud names).
 */
import { createHash } from "node:crypto";
import { Fn, TerraformIterator, TerraformStack, Token, type IResolvable } from "cdktf";
import type { IConstruct } from "constructs";
import { showValue, TAG_CLUSTER, type ResolvedClusterSpec, type SpecIssue } from "../../src/cluster-spec";

/**
 * The tags every resource of a cluster carries: the spec's `tags`, then
 * `managed-postgres:cluster = <name>`, then `extra` (library tags win over user tags;
 * validation already refuses user keys with the `managed-postgres:` prefix). When `tags` is a
 * token (a `map(string)` variable), the result is the token of Terraform's
 * `merge(tags, { … })`, in the same order.
 */
export function clusterTags(spec: Pick<ResolvedClusterSpec, "tags" | "name">, extra: Record<string, string> = {}): Record<string, string> {
  const own = { [TAG_CLUSTER]: spec.name, ...extra };
  if (Token.isUnresolved(spec.tags)) return Token.asStringMap(Fn.merge([spec.tags, own]));
  return { ...spec.tags, ...own };
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

/**
 * An Auto Scaling group's `tag` blocks (not propagated at launch: the launch template tags
 * the instances) from a tag map: one block per entry, or a `dynamic "tag"` block over a map
 * token (a `map(string)` variable merged by {@link clusterTags}).
 */
export function autoScalingGroupTags(tags: Record<string, string>): { key: string; value: string; propagateAtLaunch: boolean }[] | IResolvable {
  if (!Token.isUnresolved(tags)) return Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: false }));
  const each = TerraformIterator.fromMap(tags);
  return each.dynamic({ key: each.key, value: each.value, propagate_at_launch: false });
}

/** Cluster names taken in each stack: name → path of the construct that took it. */
const TAKEN = new WeakMap<TerraformStack, Map<string, string>>();

/**
 * Claims `name` for the cluster construct `scope` in its stack. Two clusters of one stack
 * with the same name would get the same AWS names (roles, log groups, alarms, dashboard,
 * bucket prefix…) and find each other's network interfaces and volumes by their
 * `managed-postgres:cluster` tag.
 * @returns undefined when the name was free (it is now taken), else the issue naming both
 *   construct paths
 */
export function claimClusterName(scope: IConstruct, name: string): SpecIssue | undefined {
  const stack = TerraformStack.of(scope);
  const taken = TAKEN.get(stack) ?? new Map<string, string>();
  TAKEN.set(stack, taken);
  const other = taken.get(name);
  if (other !== undefined && other !== scope.node.path) {
    return {
      path: "name",
      value: name,
      message:
        `\`name\`: got ${showValue(name)}, already the name of the cluster ${other} in stack "${stack.node.id}"; ` +
        `${scope.node.path} needs another name (two clusters of one stack would collide on AWS resource names and on the tag-based discovery of their volumes and network interfaces)`,
    };
  }
  taken.set(name, scope.node.path);
  return undefined;
}
