/**
 * Where a stack's prior Terraform state is read from, and the safety rules' clock, as both
 * targets read them from the construct tree (context keys, env var, the stack's backend).
 * Private: not exported from the package entry points. The pure parts (the order of the
 * sources, parsing) are in `src/rules/prior-state.ts` and `src/rules/safety.ts`.
 */
import * as path from "path";
import type { Construct, IConstruct } from "constructs";
import { App, TerraformBackend, TerraformStack } from "cdktf";
import { locatePriorState, NOW_CONTEXT_KEY, parseNow, PRIOR_STATE_CONTEXT_KEY, PRIOR_STATE_ENV, type PriorStateLocation } from "../../src/rules";
import { SpecValidationError, type SpecIssue } from "../../src/cluster-spec";
import { readOnlyValidation } from "./resolve-once";
import { removeStaleStackOutput } from "./stale-output";

/**
 * The state file of the stack's local backend, as Terraform resolves it: Terraform runs in
 * the stack's working directory `<outdir>/stacks/<stack id>` (cdktf 0.21's manifest), so a
 * relative `path` is relative to that directory; cdktf's default LocalBackend path is
 * absolute (`<cwd at synth>/terraform.<stack id>.tfstate`), and it is also used when the
 * stack declares no backend. `undefined` for a remote backend (s3, remote, cloud, …).
 */
export function localBackendStatePath(stack: TerraformStack): string | undefined {
  const backend = firstBackend(stack);
  const defaultPath = path.join(process.cwd(), `terraform.${stack.node.id}.tfstate`);
  if (!backend) return defaultPath;
  const block = (backend.toTerraform() as { terraform?: { backend?: Record<string, { path?: string }> } }).terraform?.backend ?? {};
  if (!("local" in block)) return undefined;
  const configured = block.local.path ?? defaultPath;
  if (path.isAbsolute(configured)) return configured;
  return path.resolve(App.of(stack).outdir, "stacks", stack.node.id, configured);
}

/**
 * The stack's backend as cdktf finds it (the first backend of `findAll()`, pre-order), without
 * walking the rest of the tree: every cluster asks, at construction and at synth, and a whole
 * walk per cluster made a stack of N clusters cost N² construct visits (at 20 clusters, 40 of
 * the 60 whole-tree walks of a synth; issue 13).
 */
function firstBackend(scope: IConstruct): TerraformBackend | undefined {
  if (TerraformBackend.isBackend(scope)) return scope;
  for (const child of scope.node.children) {
    const found = firstBackend(child);
    if (found) return found;
  }
  return undefined;
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

/** One cluster's synth-time safety check, as {@link addSafetyCheck} registers it. */
interface SafetyCheck {
  /** The cluster's spec file and construct path (`<file>, construct <path>`), or its construct path. */
  readonly source: string;
  /** The cluster's refusals, one line each (`[<rule id>] cluster "<name>": …`); empty when none. */
  readonly check: () => string[];
}

const safetyChecks = new WeakMap<TerraformStack, SafetyCheck[]>();

/**
 * Registers a cluster's synth-time safety check (prior state, end of support) with its
 * stack. The stack gets one validation (added with the first check) that runs every
 * cluster's check; when any refuses, `app.synth()` stops with one {@link SpecValidationError}
 * listing every refusal of every cluster of the stack (path `(prior state)`), whose source
 * names each refused cluster's spec file and construct path: printed once, without a stack
 * trace, like a spec error (cdktf's own validation error would print its stack). The stack's
 * stale output in cdktf.out is removed first. Validations of other constructs of the stack
 * that come later are not run (cdktf stops at the first thrown error); `skipValidation`
 * skips the check, as it skips every validation.
 * @param source the cluster's `<spec file>, construct <path>`, or its construct path
 * @param check returns the cluster's refusals, one line each
 */
export function addSafetyCheck(scope: Construct, source: string, check: () => string[]): void {
  const stack = TerraformStack.of(scope);
  const known = safetyChecks.get(stack);
  if (known) {
    known.push({ source, check });
    return;
  }
  const checks: SafetyCheck[] = [{ source, check }];
  safetyChecks.set(stack, checks);
  stack.node.addValidation(
    readOnlyValidation({
      validate: () => {
        const issues: SpecIssue[] = [];
        const sources: string[] = [];
        for (const c of checks) {
          const refusals = c.check();
          if (refusals.length === 0) continue;
          sources.push(c.source);
          issues.push(...refusals.map((message) => ({ path: "(prior state)", value: undefined, message })));
        }
        if (issues.length === 0) return [];
        removeStaleStackOutput(stack);
        throw new SpecValidationError(issues, sources.join("; "));
      },
    }),
  );
}
