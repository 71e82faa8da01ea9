/**
 * Where a stack's prior Terraform state is read from, and the safety rules' clock, as both
 * targets read them from the construct tree (context keys, env var, the stack's backend).
 * Private: not exported from the package entry points. The pure parts (the order of the
 * sources, parsing) are in `src/rules/prior-state.ts` and `src/rules/safety.ts`.
 */
import * as path from "path";
import type { Construct } from "constructs";
import { App, TerraformBackend, TerraformStack } from "cdktf";
import { locatePriorState, NOW_CONTEXT_KEY, parseNow, PRIOR_STATE_CONTEXT_KEY, PRIOR_STATE_ENV, type PriorStateLocation } from "../../src/rules";

/**
 * The state file of the stack's local backend, as Terraform resolves it: Terraform runs in
 * the stack's working directory `<outdir>/stacks/<stack id>` (cdktf 0.21's manifest), so a
 * relative `path` is relative to that directory; cdktf's default LocalBackend path is
 * absolute (`<cwd at synth>/terraform.<stack id>.tfstate`), and it is also used when the
 * stack declares no backend. `undefined` for a remote backend (s3, remote, cloud, …).
 */
export function localBackendStatePath(stack: TerraformStack): string | undefined {
  const backend = stack.node.findAll().find((c): c is TerraformBackend => TerraformBackend.isBackend(c));
  const defaultPath = path.join(process.cwd(), `terraform.${stack.node.id}.tfstate`);
  if (!backend) return defaultPath;
  const block = (backend.toTerraform() as { terraform?: { backend?: Record<string, { path?: string }> } }).terraform?.backend ?? {};
  if (!("local" in block)) return undefined;
  const configured = block.local.path ?? defaultPath;
  if (path.isAbsolute(configured)) return configured;
  return path.resolve(App.of(stack).outdir, "stacks", stack.node.id, configured);
}

/**
 * The prior-state file of the cluster at `scope`: the `priorStateFile` prop, else the
 * context key `managed-postgres:priorState`, else `MANAGED_POSTGRES_PRIOR_STATE`, else the
 * stack's local-backend state file when it exists ({@link locatePriorState}).
 * @returns undefined when nothing names a file (first deployment, or a remote backend)
 * @throws PriorStateError when the context value is not a string
 */
export function priorStateLocationOf(scope: Construct, priorStateFile?: string): { readonly file: string; readonly origin: PriorStateLocation["origin"] | "prop" } | undefined {
  if (priorStateFile) return { file: priorStateFile, origin: "prop" };
  return locatePriorState({
    context: scope.node.tryGetContext(PRIOR_STATE_CONTEXT_KEY),
    env: process.env[PRIOR_STATE_ENV],
    localBackendPath: localBackendStatePath(TerraformStack.of(scope)),
  });
}

/**
 * The clock of the end-of-support rule and of the `restoreFrom.target` check: `now` (a
 * prop), else the context key `managed-postgres:now`, else the current time.
 * @throws Error naming the prop or context key when the value is not an ISO date
 */
export function safetyClock(scope: Construct, now?: Date | string): Date {
  return parseNow(now ?? scope.node.tryGetContext(NOW_CONTEXT_KEY), now !== undefined ? "`now`" : `context key "${NOW_CONTEXT_KEY}"`);
}
