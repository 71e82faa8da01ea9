/**
 * The "invisible commit" (issue 11): a client whose COMMIT waits for the synchronous
 * standby and is cancelled. PostgreSQL cannot undo the commit at that point (it is in the
 * local WAL already), so `SyncRepWaitForLSN` (src/backend/replication/syncrep.c) ends the
 * wait with a WARNING — "canceling wait for synchronous replication due to user request",
 * DETAIL "The transaction has already committed locally, but might not have been
 * replicated to the standby." — and reports success. The row is visible on the primary at
 * once; whether it survives depends on whether the primary fails before a standby has it.
 *
 * Helpers to start such a commit, wait until it waits (`wait_event = 'SyncRep'`), cancel
 * it (pg_cancel_backend, or the client's own cancel request) and see what the client got.
 */
import { spawn, type ChildProcess } from "child_process";
import { APP_USER } from "./constants";
import { runOk, waitFor } from "./exec";
import type { FaultCluster } from "./fault-cluster";

/** Tag (`writes.writer`) of the rows the invisible-commit checks insert. */
export const INVISIBLE_TAG = "invisible-commit";

/** PostgreSQL's DETAIL when a wait for synchronous replication ends before the standby confirmed. */
export const COMMITTED_LOCALLY = /already committed locally, but might not have been replicated/;

/** What one cancelled (or timed) commit did. */
export interface CancelledCommit {
  readonly id: number;
  /** How the wait was ended: `pg_cancel_backend`, `client cancel request (SIGINT to psql)`, or not at all (`statement_timeout`). */
  readonly how: string;
  /** The path the client used (direct to the primary, or through the read-write endpoint). */
  readonly path: string;
  /** psql's exit code. */
  readonly clientExit: number | null;
  /** The INSERT … RETURNING row reached the client (the client saw success). */
  readonly clientGotRow: boolean;
  /** The WARNING/ERROR lines psql printed (stderr), trimmed. */
  readonly clientMessages: string;
  /** Time from sending the INSERT to psql's exit, ms. */
  readonly clientMs: number;
  /** The backend was seen waiting for the synchronous standby (`wait_event = 'SyncRep'`). */
  readonly sawSyncRepWait: boolean;
  /** Another session on the primary sees the row right after the client returned. */
  readonly visibleOnPrimary: boolean;
}

/** A client session inserting one row, running. */
export interface PendingCommit {
  readonly id: number;
  readonly appName: string;
  readonly child: ChildProcess;
  readonly sentAt: number;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>;
}

/**
 * Starts psql inserting row `id` (tag {@link INVISIBLE_TAG}) in autocommit mode, with
 * `application_name` `appName`; `setup` statements run first in the same session (e.g.
 * `SET statement_timeout = '1s'`). Killed after `timeoutMs`.
 */
export function startCommit(
  psql: readonly string[],
  connInfo: string,
  id: number,
  appName: string,
  setup: readonly string[] = [],
  timeoutMs = 60_000,
): PendingCommit {
  const argv = [
    ...psql,
    "-X",
    "-A",
    "-t",
    "-d",
    connInfo,
    ...setup.flatMap((s) => ["-c", s]),
    "-c",
    `INSERT INTO writes (id, writer) VALUES (${id}, '${INVISIBLE_TAG}') RETURNING id`,
  ];
  const sentAt = Date.now();
  const child = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, PGPASSWORD: APP_USER.password, PGAPPNAME: appName },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>((resolve) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const finish = (code: number | null) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - sentAt });
    };
    child.on("close", finish);
    child.on("error", () => finish(127));
  });
  return { id, appName, child, sentAt, done };
}

/** PID of the backend of `appName` on node `index` once it waits for the synchronous standby, or undefined after `timeoutMs`. */
export async function syncRepWaiter(cluster: FaultCluster, index: number, appName: string, timeoutMs = 15_000): Promise<number | undefined> {
  return waitFor(
    `${appName} waiting for the synchronous standby`,
    async () => {
      const r = await cluster.nodeQuery(index, `SELECT pid FROM pg_stat_activity WHERE application_name = '${appName}' AND wait_event = 'SyncRep'`, "postgres", 10_000);
      const pid = Number(r.stdout.trim().split("\n")[0]);
      return r.code === 0 && pid > 0 ? pid : undefined;
    },
    timeoutMs,
    100,
  ).catch(() => undefined);
}

/** Whether node `index` has row `id` (asked over its Unix socket, so it works inside a partition too). */
export async function rowOnNode(cluster: FaultCluster, index: number, id: number): Promise<boolean | undefined> {
  const r = await cluster.nodeQuery(index, `SELECT count(*) FROM writes WHERE id = ${id}`, APP_USER.name, 10_000);
  return r.code === 0 ? r.stdout.trim() === "1" : undefined;
}

/** Collects what the client of `pending` saw, and whether node `primary` shows the row afterwards. */
export async function settle(cluster: FaultCluster, pending: PendingCommit, primary: number, how: string, path: string, sawSyncRepWait: boolean): Promise<CancelledCommit> {
  const r = await pending.done;
  return {
    id: pending.id,
    how,
    path,
    clientExit: r.code,
    clientGotRow: r.stdout.split("\n").some((l) => l.trim() === String(pending.id)),
    clientMessages: r.stderr.trim().replace(/\s*\n\s*/g, " / ").slice(0, 600),
    clientMs: r.ms,
    sawSyncRepWait,
    visibleOnPrimary: (await rowOnNode(cluster, primary, pending.id)) === true,
  };
}

/**
 * Inside a partition of the primary `index` (replication to both standbys is cut): a
 * client in the isolated zone inserts row `id` straight into the old primary, the commit
 * waits for the synchronous standby, another session cancels it with
 * pg_cancel_backend. The caller heals later and checks whether the row survived.
 */
export async function cancelCommitOnIsolatedPrimary(cluster: FaultCluster, index: number, id: number): Promise<CancelledCommit> {
  const appName = `invisible-${id}`;
  const pending = startCommit(
    [...cluster.nodeCommand(index), "psql"],
    `host=127.0.0.1 port=5432 dbname=${APP_USER.name} user=${APP_USER.name} sslmode=require connect_timeout=3`,
    id,
    appName,
  );
  const pid = await syncRepWaiter(cluster, index, appName);
  if (pid) await cluster.nodeQuery(index, `SELECT pg_cancel_backend(${pid})`);
  else pending.child.kill("SIGKILL");
  return settle(cluster, pending, index, "pg_cancel_backend", "direct to the isolated old primary", pid !== undefined);
}

/** Process ids of the primary's WAL senders (one per standby). */
export async function walSenderPids(cluster: FaultCluster, primary: number): Promise<number[]> {
  const out = await cluster.nodeQueryOk(primary, "SELECT pid FROM pg_stat_replication");
  return out.split("\n").filter(Boolean).map(Number);
}

/** Sends `signal` (STOP/CONT) to processes of node `index`, from inside the node. */
export async function signalOnNode(cluster: FaultCluster, index: number, signal: "STOP" | "CONT", pids: readonly number[]): Promise<void> {
  if (pids.length) await runOk([...cluster.nodeCommand(index), "kill", `-${signal}`, ...pids.map(String)]);
}
