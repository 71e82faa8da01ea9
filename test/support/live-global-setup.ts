/** jest.live.config.js global setup: takes the live tier's host-wide lock (test/support/live-lock.ts), or fails the run at once naming its holder. */
import { acquireLiveLock, type LiveLock } from "./live-lock";

/** Where the global teardown finds the lock (jest runs both in its main process). */
export const LIVE_LOCK_GLOBAL = "__managedPostgresLiveLock";

export default async function liveGlobalSetup(): Promise<void> {
  (globalThis as Record<string, unknown>)[LIVE_LOCK_GLOBAL] = (await acquireLiveLock()) satisfies LiveLock;
}
