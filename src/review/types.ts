/**
 * Plan review model: what a Terraform plan (or a pair of synth outputs) changes, grouped by
 * cluster and slot, with risk flags. Pure data; see {@link reviewChanges}.
 */

/**
 * What Terraform does to one resource. `replace` is Terraform's delete-then-create (or
 * create-then-delete): the old object is destroyed.
 */
export type ChangeAction = "create" | "update" | "replace" | "destroy" | "no-op";

/** One resource as configured (synth output) or as planned (plan JSON `before` / `after`). */
export interface ResourceSnapshot {
  /** Terraform address, e.g. `aws_ebs_volume.orders_slot-0_data_1A2B3C4D` (with `[0]` under `count`). */
  readonly address: string;
  /** Resource type, e.g. `aws_ebs_volume`. */
  readonly type: string;
  /** Resource name (the address without type and index). */
  readonly name: string;
  /** Attribute values; in synth output, references stay as `${type.name.attr}` text. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Addresses (without index) of the resources this one references. */
  readonly references: readonly string[];
}

/** One changed attribute. `path` is dotted with list indexes, e.g. `metadata_options[0].http_tokens`. */
export interface AttributeChange {
  /** Attribute path. */
  readonly path: string;
  /** Value before (undefined when absent). */
  readonly before: unknown;
  /** Value after (undefined when absent). */
  readonly after: unknown;
  /** True when Terraform only knows the value after apply (plan JSON `after_unknown`). */
  readonly afterUnknown?: boolean;
}

/** What happens to one resource. */
export interface ResourceChange {
  /** Terraform address. */
  readonly address: string;
  /** Resource type. */
  readonly type: string;
  /** Resource name. */
  readonly name: string;
  /** Terraform's action. */
  readonly action: ChangeAction;
  /** The resource before (absent on create). */
  readonly before?: ResourceSnapshot;
  /** The resource after (absent on destroy). */
  readonly after?: ResourceSnapshot;
  /** Changed attributes (update and replace; empty on create and destroy). */
  readonly attributes: readonly AttributeChange[];
  /**
   * Attribute paths that force the replacement: Terraform's `replace_paths` for a plan, the
   * {@link REPLACE_FORCING_ATTRIBUTES} table for synth outputs.
   */
  readonly replaceBecause: readonly string[];
}

/** The normalized input of a review: both sides' resources and the changes between them. */
export interface ReviewInput {
  /** Where the input came from, for the report's header. */
  readonly source: "plan" | "synth";
  /** Resources before the change, by address. */
  readonly base: ReadonlyMap<string, ResourceSnapshot>;
  /** Resources after the change, by address. */
  readonly head: ReadonlyMap<string, ResourceSnapshot>;
  /** Every resource that is created, updated, replaced, destroyed or left unchanged. */
  readonly changes: readonly ResourceChange[];
}

/** Risk levels, highest first. */
export const RISK_LEVELS = ["high", "medium", "low"] as const;
/** One of {@link RISK_LEVELS}. */
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** One risk flag. */
export interface Risk {
  /** How bad it is. */
  readonly level: RiskLevel;
  /** Stable identifier of the rule that raised it, e.g. `data-bearing-replaced`. */
  readonly rule: string;
  /** Cluster name (`managed-postgres:cluster` tag), or undefined for resources of no cluster. */
  readonly cluster?: string;
  /** Resource address(es) concerned. */
  readonly addresses: readonly string[];
  /**
   * One sentence in the field's language: what happens and why it matters. Inline
   * GitHub-flavoured Markdown (code spans); values from the plan in it are escaped
   * (src/markdown), so it can be written into a Markdown list item as it is.
   */
  readonly message: string;
}

/** One slot of a {@link ClusterSummary}. */
export interface SlotSummary {
  /** Slot id: "0", "1" or "2" (the `managed-postgres:slot` tag). */
  readonly slot: string;
  /** Availability zone of the slot's data volume, when a literal (synth outputs often hold a reference). */
  readonly availabilityZone?: string;
  /** Size of the slot's data volume in GiB, as written in the configuration or plan. */
  readonly storageGiB?: string;
}

/** A cluster as seen on one side of the change. */
export interface ClusterSummary {
  /** `standalone` or `distributed` (from the data volumes' `managed-postgres:deployment-model` tag, else from the slot count). */
  readonly deployment?: string;
  /** Size name (XS … 4XL) when the instance type maps to one, with the instance type. */
  readonly size?: string;
  /** EC2 instance type of the database nodes. */
  readonly instanceType?: string;
  /** Data volume size in GiB (distinct values joined when slots differ). */
  readonly storageGiB?: string;
  /** PostgreSQL major version (data volumes' `managed-postgres:major-version` tag). */
  readonly majorVersion?: string;
  /** Endpoints, e.g. `read-write :5432 (NLB aws_lb.x)`. */
  readonly endpoints: readonly string[];
  /** The slots, by id, with their availability zone and storage when known. */
  readonly slots: readonly SlotSummary[];
  /** Number of pooler instances (desired capacity of the pooler auto scaling group), when known. */
  readonly poolerInstances?: string;
  /** Whether an NLB fronts the cluster. */
  readonly loadBalancer: boolean;
  /** Ingress sources (CIDRs and security groups) allowed to connect. */
  readonly ingressSources: readonly string[];
  /** Whether a backup bucket exists. */
  readonly backupBucket: boolean;
}

/** The review of one cluster. */
export interface ClusterReview {
  /** Cluster name; `undefined` groups the resources of no cluster. */
  readonly name?: string;
  /** The cluster before the change (undefined when it is created). */
  readonly base?: ClusterSummary;
  /** The cluster after the change (undefined when it is destroyed). */
  readonly head?: ClusterSummary;
  /** Changes (no-ops excluded), cluster-wide ones under the key `""`, then one key per slot. */
  readonly changesBySlot: ReadonlyMap<string, readonly ResourceChange[]>;
  /** Risks of this cluster, highest first. */
  readonly risks: readonly Risk[];
  /** What the change rolls through the running nodes, and when; undefined when nothing rolls. */
  readonly rolls?: RollPlan;
}

/** Where a resource belongs: its cluster and, for slot resources, its slot. */
export interface Placement {
  /** Cluster name, or undefined for resources of no cluster. */
  readonly cluster?: string;
  /** Slot id ("0", "1", "2"), or undefined for cluster-wide resources. */
  readonly slot?: string;
}

/** One database node the change replaces. */
export interface RolledNode {
  /** Slot id. */
  readonly slot: string;
  /** What changes in its launch template, in words (e.g. `instance type m7g.large → r7g.large`). */
  readonly because: readonly string[];
}

/** The nodes apply the change at once (`applyImmediately`). */
export interface RollImmediately {
  /** Discriminant. */
  readonly kind: "immediately";
}

/** The nodes apply the change in the weekly maintenance window (UTC). */
export interface RollInWindow {
  /** Discriminant. */
  readonly kind: "window";
  /** ISO weekday of the window's start, 1 (Monday) to 7 (Sunday). */
  readonly isoDay: number;
  /** Minutes after 00:00 UTC of that day. */
  readonly startMinute: number;
  /** Length of the window in minutes. */
  readonly durationMinutes: number;
}

/** The change does not show when the nodes apply it (no bootstrap script header in it). */
export interface RollTimingUnknown {
  /** Discriminant. */
  readonly kind: "unknown";
}

/** When the nodes apply the change. */
export type RollTiming = RollImmediately | RollInWindow | RollTimingUnknown;

/** A data volume grown in place. */
export interface StorageGrowth {
  /** Slot id. */
  readonly slot: string;
  /** Size before, GiB, as written in the configuration or plan. */
  readonly from: string;
  /** Size after, GiB. */
  readonly to: string;
}

/** What a change rolls in one cluster. */
export interface RollPlan {
  /** Database nodes replaced one at a time (slot order; the maintenance decides the order: replicas first). */
  readonly replacedNodes: readonly RolledNode[];
  /** Data volumes grown in place: slot, size before and after (GiB, as written). */
  readonly storageGrowth: readonly StorageGrowth[];
  /** Whether the PgBouncer tier gets a new launch template version (not rolled by the nodes). */
  readonly poolerTemplateChanged: boolean;
  /** When the nodes apply it. */
  readonly timing: RollTiming;
}

/** A complete review. */
export interface Review {
  /** Where the input came from. */
  readonly source: "plan" | "synth";
  /** One entry per cluster, by name; resources of no cluster last. */
  readonly clusters: readonly ClusterReview[];
  /** Every risk, highest first. */
  readonly risks: readonly Risk[];
  /** Cluster and slot of every address, both sides. */
  readonly placement: ReadonlyMap<string, Placement>;
  /** Number of resources per action (no-ops included). */
  readonly counts: Readonly<Record<ChangeAction, number>>;
}
