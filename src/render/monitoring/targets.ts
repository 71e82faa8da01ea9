/** What one instance scrapes and ships: the input of the agent and scrape configurations. */
import type { PgBouncerPool } from "../pgbouncer";
import type { NodeContext, PoolerContext } from "../types";
import { POOLER_SLOT } from "../../monitoring/metrics";

/** What one instance scrapes and ships. */
export interface AgentTarget {
  readonly cluster: string;
  /** `Slot` dimension value. */
  readonly slot: string;
  /** Stream name prefix in the log groups (node name, or "pooler"). */
  readonly streamPrefix: string;
  /** Whether the instance runs PostgreSQL (a database node). */
  readonly database: boolean;
  /** PgBouncer pools running on the instance. */
  readonly pools: readonly PgBouncerPool[];
}

/** The target of a database node: PostgreSQL, and the rw pool on a standalone node. */
export function nodeTarget(ctx: NodeContext): AgentTarget {
  return {
    cluster: ctx.spec.name,
    slot: String(ctx.self.slotIndex),
    streamPrefix: ctx.self.name,
    database: true,
    pools: ctx.spec.deployment === "standalone" ? ["rw"] : [],
  };
}

/** The target of a PgBouncer tier instance: both pools. */
export function poolerTarget(ctx: PoolerContext): AgentTarget {
  return { cluster: ctx.spec.name, slot: POOLER_SLOT, streamPrefix: POOLER_SLOT, database: false, pools: ["rw", "ro"] };
}
