/**
 * One-node stacks booted on the EC2 twin for the live tests (twin-standalone, twin-storage,
 * twin-backups): apply, launch, wait for cloud-init; on failure the instance's cloud-init
 * output and journal are printed and the twin is destroyed before the error is rethrown.
 */
import { synthesizeApp, TWIN_APPS } from "./apps/synth";
import { TwinCluster, type LaunchedInstance, type TwinClusterOptions } from "./cluster";

/** A booted one-node twin; `twin.destroy()` in afterAll. */
export interface BootedNode {
  readonly twin: TwinCluster;
  /** The first instance the twin launched (the only one of a one-node stack). */
  readonly instance: LaunchedInstance;
}

/**
 * Applies the stack in `stackDir` to a twin with `prefix` and waits until cloud-init finished
 * on its instance (900 s at most), logging the twin's steps as `twin: …`.
 * @param account @default - the twin's default account
 * @throws the wait's error after printing the last 80 lines of cloud-init's output and 120 of the journal (the twin destroyed)
 */
export async function bootOne(stackDir: string, prefix: string, account?: TwinClusterOptions["account"]): Promise<BootedNode> {
  const twin = await TwinCluster.start({ stackDir, prefix, ...(account ? { account } : {}), log: (m) => console.log(`twin: ${m}`) });
  const instance = [...twin.instances.values()][0];
  try {
    await twin.waitForCloudInit(900_000);
  } catch (e) {
    console.log((await instance.machine.exec(["bash", "-c", "tail -n 80 /var/log/cloud-init-output.log; journalctl -n 120 --no-pager"])).stdout);
    await twin.destroy();
    throw e;
  }
  return { twin, instance };
}

/** The standalone example (TWIN_APPS.standalone) synthesized and booted with {@link bootOne}. */
export function bootStandalone(prefix: string): Promise<BootedNode> {
  const { standalone } = synthesizeApp(TWIN_APPS.standalone);
  return bootOne(standalone, prefix);
}
