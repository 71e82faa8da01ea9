/**
 * Twin fixture app (issue 11: "15 keeps a run on the Debian 12 image"): the distributed example's
 * cluster (examples/distributed/postgres.yaml, the same network and construct ids, stack
 * `distributed`) with `majorVersion: 15`. Without `imageId` the library looks up the newest
 * official Debian 12 AMI for it (constructs/aws/launch.ts `DEBIAN_RELEASE_OF_MAJOR`), which the
 * twin's account maps to the bookworm node root (image/bookworm/).
 * Run as the examples are: `CDKTF_OUTDIR=<dir> node --conditions=cdktf-managed-postgres-source -r sucrase/register main.ts`.
 */
import { App } from "cdktf";
import { reportSynth } from "../../../../examples/shared/synth-report";
import { DistributedFixtureStack } from "../distributed-fixture";

const app = new App();
new DistributedFixtureStack(app, "distributed", { majorVersion: 15 });
app.synth();
reportSynth(app);
