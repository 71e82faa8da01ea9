/** jest.live.config.js global teardown: releases the lock the global setup took. */
import type { LiveLock } from "./live-lock";
import { LIVE_LOCK_GLOBAL } from "./live-global-setup";

export default async function liveGlobalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  await (g[LIVE_LOCK_GLOBAL] as LiveLock | undefined)?.release();
  delete g[LIVE_LOCK_GLOBAL];
}
