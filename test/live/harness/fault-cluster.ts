/**
 * What the fault scenarios (scenarios.ts, invisible-commit.ts) need of a running 3-AZ cluster
 * (issues 10, 11): implemented by the EC2 twin's adapter (test/twin/live.ts: the synthesized
 * example's instances). Members are addressed by index 0..2 = slot = availability zone.
 */
import { request } from "https";
import { PORTS } from "../../../src/cluster-spec";
import { PATRONI_RESTAPI_USERNAME } from "../../../src/render";
import { waitFor, type RunResult } from "./exec";

/** A member as Patroni's `GET /cluster` reports it. */
export interface PatroniMember {
  readonly name: string;
  readonly role: "leader" | "sync_standby" | "replica" | string;
  readonly state: string;
  readonly host: string;
  readonly timeline?: number;
  readonly lag?: number | string;
}

/** Patroni's timing in effect, seconds (Patroni's names). */
export interface PatroniTiming {
  readonly ttl: number;
  readonly loop_wait: number;
  readonly retry_timeout: number;
}

/** A running distributed cluster the fault scenarios drive. */
export interface FaultCluster {
  /** Per index: Patroni member name and the address peers and HAProxy use (the slot address). */
  readonly members: readonly { readonly name: string; readonly address: string }[];
  /** Index of the member named `name`. @throws Error for an unknown name */
  indexOf(name: string): number;
  /** The running leader's index (asked of the members other than `exclude`), if any. */
  leaderIndex(exclude?: readonly number[]): Promise<number | undefined>;
  /** Waits for a running leader, a streaming synchronous standby and a streaming replica. @throws Error after `timeoutMs` */
  waitFormed(timeoutMs: number): Promise<PatroniMember[]>;
  /** HTTPS request to a member's Patroni REST API (cluster CA, basic auth of the API user). */
  patroniRequest(index: number, method: string, path: string, body?: unknown, timeoutMs?: number): Promise<{ status: number; body: string }>;
  /** Patroni's ttl/loop_wait/retry_timeout in effect. */
  patroniTiming(): Promise<PatroniTiming>;
  /** libpq connection string of the rw (PgBouncer 6432) or ro (6433) endpoint, application role, TLS verified against the cluster CA. */
  endpointConnInfo(pool: "rw" | "ro", extra?: string): string;
  /** psql through an endpoint as the application role; never rejects for a failing statement. */
  endpointQuery(pool: "rw" | "ro", sql: string, timeoutMs?: number, extraConnInfo?: string): Promise<RunResult>;
  /** psql as the superuser over node `index`'s Unix socket (works inside a partition). */
  nodeQuery(index: number, sql: string, db?: string, timeoutMs?: number): Promise<RunResult>;
  /** Like {@link nodeQuery}; rejects on failure, resolves the trimmed output. */
  nodeQueryOk(index: number, sql: string, db?: string): Promise<string>;
  /** Command prefix that runs the rest of an argv inside node `index` (its network and mount namespaces; PIDs as the node sees them). */
  nodeCommand(index: number): string[];
  /** Hard failure of node `index`'s instance (SIGKILL of everything at once). */
  crashNode(index: number): Promise<unknown>;
  /**
   * Brings the crashed slot back as a replacement instance and resolves once it runs as a
   * member again (the caller waits for a formed cluster). The twin launched it at the crash.
   */
  recoverNode(index: number): Promise<void>;
  /** Cuts node `index`'s availability zone off the rest of the network / restores it. */
  partitionZone(index: number): Promise<void>;
  healZone(index: number): Promise<void>;
  /** Makes the endpoints use a pooler outside node `index`'s zone (before that zone is cut off). */
  endpointAvoiding(index: number): void;
}

/** States of a working replica in `GET /cluster` (Patroni 3.0: running; later versions: streaming). */
export const REPLICA_UP: readonly string[] = ["running", "streaming"];

/**
 * Patroni's view of the cluster (`GET /cluster`), asked of members `indexes` at once through
 * `request`; the view most members agree on wins. A member cut off from etcd serves its last
 * (stale) view, so a single answer is not enough after a partition.
 * @throws Error when no member answered
 */
export async function majorityClusterView(
  indexes: readonly number[],
  request: (index: number) => Promise<{ status: number; body: string }>,
): Promise<PatroniMember[]> {
  let last: unknown;
  const views: PatroniMember[][] = [];
  await Promise.all(
    indexes.map(async (i) => {
      try {
        const r = await request(i);
        if (r.status === 200) views.push((JSON.parse(r.body) as { members: PatroniMember[] }).members);
      } catch (err) {
        last = err;
      }
    }),
  );
  if (views.length === 0) throw new Error(`no Patroni REST API answered /cluster: ${String(last)}`);
  const key = (v: PatroniMember[]) => JSON.stringify(v.map((m) => [m.name, m.role]).sort());
  const counts = new Map<string, number>();
  for (const v of views) counts.set(key(v), (counts.get(key(v)) ?? 0) + 1);
  return [...views].sort((a, b) => counts.get(key(b))! - counts.get(key(a))!)[0];
}

/** Three members: a running leader, a streaming synchronous standby and a streaming replica (both with a numeric lag). */
export function formedOfThree(ms: readonly PatroniMember[]): boolean {
  const up = (role: string) => ms.filter((m) => m.role === role && REPLICA_UP.includes(m.state) && typeof m.lag === "number").length === 1;
  return ms.length === 3 && ms.filter((m) => m.role === "leader" && m.state === "running").length === 1 && up("sync_standby") && up("replica");
}

/**
 * HTTPS request to the Patroni REST API at `host`:8008, verifying its certificate against
 * `caPem`, with basic auth of the API user. Rejects on a connection error or after `timeoutMs`.
 */
export function patroniHttps(host: string, caPem: string, password: string, method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: PORTS.patroniRest,
        path,
        method,
        ca: caPem,
        timeout: timeoutMs,
        headers: {
          ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
          authorization: `Basic ${Buffer.from(`${PATRONI_RESTAPI_USERNAME}:${password}`).toString("base64")}`,
        },
      },
      (res) => {
        let data = "";
        res.on("data", (d: Buffer) => (data += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`timeout ${method} ${path} on ${host}`)));
    req.end(payload);
  });
}

/** Polls `view` every second until {@link formedOfThree}; resolves that view. @throws Error after `timeoutMs` */
export function waitFormedOfThree(view: () => Promise<PatroniMember[]>, timeoutMs: number): Promise<PatroniMember[]> {
  return waitFor(
    "one primary, one synchronous standby, one replica",
    async () => {
      const ms = await view();
      return formedOfThree(ms) ? ms : undefined;
    },
    timeoutMs,
    1000,
  );
}
