/**
 * Token creation stacks, not recorded while the library builds a cluster (private: not
 * exported from the package entry points).
 *
 * Why: cdktf 0.21 records a full stack trace (`Error.captureStackTrace` with the limit
 * raised to `Number.MAX_SAFE_INTEGER`, the frames formatted and split into strings) in
 * every token it creates: each `Intrinsic` (every attribute reference, every `Fn.*` call),
 * `Lazy`, and each nested-block accessor a provider resource builds in its constructor
 * (`ComplexComputedList`, `ComplexObject`). A distributed cluster creates about 520 of
 * them, some 23 frames deep: measured with `node --cpu-prof` on bench/clusters-app.ts, 40 %
 * of the construction time of `ManagedPostgres`, and some 0.9 MB of frame strings per
 * cluster. cdktf uses a token's `creationStack` in one place only: the message of an error
 * thrown while that token is resolved ("Object creation stack: …"), and cdktf 0.21 honours
 * no setting to turn the recording off (its `stackTraces: false` app option covers
 * annotations only; `Error.stackTraceLimit` is overridden by the capture itself). CDK
 * Terrain (cdktn 0.24) records fewer and offers `CDKTN_DISABLE_CREATION_STACK`.
 *
 * What is replaced, and for how long: cdktf's exported capture function
 * (`cdktf/lib/tokens/private/stack-trace`: `captureStackTrace` in cdktf 0.21, and
 * `captureCreationStack` in cdktn 0.24), which its token classes call through the module's
 * exports object, by one returning a one-line note naming the construct. Only between
 * {@link suspendCreationStacks} and the restore it returns, which the constructs call
 * around their own body (try/finally); nested calls keep the outermost replacement. Nothing
 * else changes: `Error`, `Error.stackTraceLimit` and `Error.prepareStackTrace` are
 * untouched, so every error thrown meanwhile (validation errors included) keeps its
 * message and its own stack trace; tokens the user creates outside the constructor keep
 * their creation stacks; annotations keep theirs (the constructs library's own capture).
 *
 * What a user loses: when a token created inside the constructor fails to resolve at
 * synth, cdktf's message shows the note (which construct created it) instead of the
 * JavaScript frames; the message still names the attribute path being resolved. Set
 * `CDKTF_MANAGED_POSTGRES_CREATION_STACKS=1` to record them as cdktf does.
 *
 * When the module is absent or its exports are not plain writable functions (another
 * cdktf layout), nothing is replaced and cdktf records the stacks as usual.
 */
import type { IConstruct } from "constructs";

/** Environment variable that keeps cdktf's creation stacks (`1` or `true`). */
export const KEEP_CREATION_STACKS_ENV = "CDKTF_MANAGED_POSTGRES_CREATION_STACKS";

/** cdktf's capture functions, by the name its token classes call them through. */
const CAPTURE_EXPORTS = ["captureStackTrace", "captureCreationStack"] as const;

type Capture = (below?: unknown) => string[];
type StackTraceModule = Partial<Record<(typeof CAPTURE_EXPORTS)[number], Capture>>;

let stackTraceModule: StackTraceModule | null | undefined;

function cdktfStackTraceModule(): StackTraceModule | null {
  if (stackTraceModule === undefined) {
    try {
      // The same module instance cdktf's token classes use: resolved from the cdktf this library resolves.
      stackTraceModule = require("cdktf/lib/tokens/private/stack-trace") as StackTraceModule;
    } catch {
      stackTraceModule = null;
    }
  }
  return stackTraceModule;
}

function writableFunction(target: object, key: string): boolean {
  const d = Object.getOwnPropertyDescriptor(target, key);
  return d !== undefined && "value" in d && d.writable === true && typeof d.value === "function";
}

let depth = 0;
let saved: Array<[keyof StackTraceModule, Capture]> = [];

/**
 * Stops cdktf from recording token creation stacks until the returned function is called
 * (see the module documentation); a no-op when `CDKTF_MANAGED_POSTGRES_CREATION_STACKS` is
 * `1` or `true`, or when cdktf's capture cannot be replaced.
 * @param scope the construct being built, named in the note that stands for the stacks
 * @returns restore: puts cdktf's capture back (at the outermost call); call it exactly once, in a `finally`
 */
export function suspendCreationStacks(scope: IConstruct): () => void {
  const flag = process.env[KEEP_CREATION_STACKS_ENV];
  const mod = flag === "1" || flag === "true" ? null : cdktfStackTraceModule();
  if (!mod) return () => undefined;
  if (depth++ === 0) {
    const note = [`(creation stack not recorded: created while cdktf-managed-postgres built ${scope.node.path}; ${KEEP_CREATION_STACKS_ENV}=1 records it)`];
    const skip: Capture = () => [...note];
    saved = [];
    for (const key of CAPTURE_EXPORTS) {
      if (!writableFunction(mod, key)) continue;
      saved.push([key, mod[key]!]);
      mod[key] = skip;
    }
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    if (--depth > 0) return;
    for (const [key, original] of saved) mod[key] = original;
    saved = [];
  };
}
