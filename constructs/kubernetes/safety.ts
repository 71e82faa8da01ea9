/**
 * The synth-time safety rules of the Kubernetes target, on the same rule functions as the AWS
 * target (`src/rules/safety.ts`): the deployment model is immutable, storage never shrinks,
 * the major version never goes down and goes up only with `allowMajorVersionUpgrade`, and
 * end of support warns 180 days ahead and refuses after. The deployed facts come from the
 * cluster's PVCs in the prior Terraform state (`kubernetes_persistent_volume_claim_v1`,
 * labelled by this construct).
 */
import { Annotations, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { DEPLOYMENT_MODELS, type DeploymentModel, type ResolvedClusterSpec } from "../../src/cluster-spec";
import {
  PRIOR_STATE_CONTEXT_KEY,
  PRIOR_STATE_ENV,
  PriorStateError,
  checkAgainstDeployed,
  checkEndOfSupport,
  loadPriorStateFile,
  locatePriorState,
  type DeployedCluster,
  type DeployedSlot,
  type PriorState,
  type RuleFinding,
} from "../../src/rules";
import { addSafetyCheck, localBackendStatePath, safetyClock } from "../private/prior-state";

/** PVC label recording the cluster's deployment model (read back from the prior state). */
export const LABEL_DEPLOYMENT_MODEL = "managed-postgres/deployment-model";
/** PVC label recording the PostgreSQL major version of the data directory. */
export const LABEL_MAJOR_VERSION = "managed-postgres/major-version";
/** PVC label recording the member ordinal. */
export const LABEL_MEMBER = "managed-postgres/member";

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };
const DECIMAL: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

/**
 * A Kubernetes storage quantity in GiB: `"50Gi"` → 50, `"51200Mi"` → 50, `"1Ti"` → 1024,
 * `"50G"` → 46.56… (decimal units are converted exactly).
 * @returns undefined when the text is not a quantity
 */
export function quantityToGiB(q: unknown): number | undefined {
  if (typeof q !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(q.trim());
  if (!m) return undefined;
  const unit = m[2] ?? "";
  const bytes = Number(m[1]) * (BINARY[unit] ?? DECIMAL[unit]!);
  return bytes / 2 ** 30;
}

const first = (v: unknown): Record<string, any> | undefined => {
  const x = Array.isArray(v) ? v[0] : v;
  return x !== null && typeof x === "object" ? (x as Record<string, any>) : undefined;
};

/**
 * The deployed facts of cluster `name` in `namespace`: its data PVCs (labels
 * `app.kubernetes.io/instance = name`, `app.kubernetes.io/component = database`) in the
 * prior state — size from `spec.resources.requests.storage`, model and major version from
 * {@link LABEL_DEPLOYMENT_MODEL} / {@link LABEL_MAJOR_VERSION}.
 * @returns undefined when the state holds no PVC of that cluster (first deployment)
 */
export function deployedKubernetesCluster(state: PriorState, name: string, namespace: string): DeployedCluster | undefined {
  const pvcs = state.resources.filter((r) => {
    if (r.mode !== "managed" || !r.type.startsWith("kubernetes_persistent_volume_claim")) return false;
    const meta = first(r.attributes.metadata);
    const labels = (meta?.labels ?? {}) as Record<string, string>;
    return meta?.namespace === namespace && labels["app.kubernetes.io/instance"] === name && labels["app.kubernetes.io/component"] === "database";
  });
  if (pvcs.length === 0) return undefined;
  let deployment: DeploymentModel | undefined;
  let storageGiB: number | undefined;
  let majorVersion: number | undefined;
  const slots: DeployedSlot[] = [];
  for (const p of pvcs) {
    const meta = first(p.attributes.metadata)!;
    const labels = (meta.labels ?? {}) as Record<string, string>;
    const model = labels[LABEL_DEPLOYMENT_MODEL];
    if (deployment === undefined && (DEPLOYMENT_MODELS as readonly string[]).includes(model ?? "")) deployment = model as DeploymentModel;
    const version = Number(labels[LABEL_MAJOR_VERSION]);
    if (Number.isInteger(version) && version > 0) majorVersion = Math.max(majorVersion ?? 0, version);
    const size = quantityToGiB(first(first(p.attributes.spec)?.resources)?.requests?.storage);
    if (size !== undefined) storageGiB = Math.max(storageGiB ?? 0, size);
    const slot = Number(labels[LABEL_MEMBER]);
    if (Number.isInteger(slot) && slot >= 0) slots.push({ slot, volumeAddress: p.address, storageGiB: size });
  }
  slots.sort((a, b) => a.slot - b.slot);
  return { name, source: state.source, deployment, storageGiB, majorVersion, slots };
}

const line = (f: RuleFinding) => `[${f.ruleId}] ${f.message}`;

/** Options of {@link applyKubernetesSafetyRules}. */
export interface KubernetesSafetyOptions {
  /** Prior-state file. @default - context `managed-postgres:priorState`, else `MANAGED_POSTGRES_PRIOR_STATE`, else the local backend's state */
  readonly priorStateFile?: string;
  /** Clock of the end-of-support rule. @default - context `managed-postgres:now`, else now */
  readonly now?: Date | string;
  /** Where the spec came from, for the refusal's message: `<spec file>, construct <path>`. @default - the construct path */
  readonly source?: string;
}

/**
 * Wires the rules into `scope`: end of support at construction (warning annotation within
 * 180 days, synth error after), the prior-state comparison at the stack's validation
 * (`addSafetyCheck`: refusals fail `app.synth()` with one `SpecValidationError` naming the
 * spec file, printed once without a stack trace; an unreadable prior state is an error,
 * never a silent first deployment).
 */
export function applyKubernetesSafetyRules(scope: Construct, spec: ResolvedClusterSpec, namespace: string, options: KubernetesSafetyOptions = {}): void {
  const support = checkEndOfSupport(spec, safetyClock(scope, options.now));
  for (const f of support.filter((x) => x.level === "warning")) Annotations.of(scope).addWarning(line(f));
  const supportErrors = support.filter((x) => x.level === "error").map(line);
  addSafetyCheck(scope, options.source ?? scope.node.path, () => {
    const errors = [...supportErrors];
    try {
      const stack = TerraformStack.of(scope);
      const location = options.priorStateFile
        ? { file: options.priorStateFile }
        : locatePriorState({
            context: scope.node.tryGetContext(PRIOR_STATE_CONTEXT_KEY),
            env: process.env[PRIOR_STATE_ENV],
            localBackendPath: localBackendStatePath(stack),
          });
      if (location) {
        const deployed = deployedKubernetesCluster(loadPriorStateFile(location.file), spec.name, namespace);
        errors.push(
          ...checkAgainstDeployed(
            { name: spec.name, deployment: spec.deployment, storageGiB: spec.storageGiB, majorVersion: spec.majorVersion, allowMajorVersionUpgrade: spec.allowMajorVersionUpgrade, upgradeFromSupported: false },
            deployed,
          ).map(line),
        );
      }
    } catch (e) {
      if (e instanceof PriorStateError) errors.push(`cluster "${spec.name}": ${e.message}`);
      else throw e;
    }
    return errors;
  });
}
