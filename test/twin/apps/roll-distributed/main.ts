/**
 * Twin fixture app (issue 12): the distributed example's cluster (examples/distributed/postgres.yaml,
 * the same network and construct ids, stack `distributed`) with `applyImmediately: true`, so a
 * changed launch template rolls at once instead of in the Sunday window. The size comes from
 * `TWIN_ROLL_SIZE` (default the example's `M`) and the data volume from `TWIN_ROLL_STORAGE_GIB`
 * (default the example's 50): synthesizing it again with `L`, then with 80 GiB, are the changes
 * bench/roll.test.ts (`npm run bench:roll`) re-applies.
 * Run as the examples are: `CDKTF_OUTDIR=<dir> node --conditions=cdktf-managed-postgres-source -r sucrase/register main.ts`.
 */
import { App } from "cdktf";
import type { ClusterSpec } from "cdktf-managed-postgres";
import { reportSynth } from "../../../../examples/shared/synth-report";
import { DistributedFixtureStack } from "../distributed-fixture";

const app = new App();
const storage = process.env.TWIN_ROLL_STORAGE_GIB;
new DistributedFixtureStack(app, "distributed", {
  size: (process.env.TWIN_ROLL_SIZE ?? "M") as ClusterSpec["size"],
  ...(storage ? { storageGiB: Number(storage) } : {}),
  applyImmediately: true,
});
app.synth();
reportSynth(app);
