/**
 * What the sub-constructs of `ManagedPostgresKubernetes` share: the resolved spec, where the
 * cluster lives, its labels, the object metadata and the pod and container security
 * contexts. Built once by `ManagedPostgresKubernetes`; wiring only.
 */
import type {
  StatefulSetV1SpecTemplateSpecContainerSecurityContext,
  StatefulSetV1SpecTemplateSpecSecurityContext,
  StatefulSetV1SpecTemplateSpecVolume,
} from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import type { ResolvedClusterSpec } from "../../src/cluster-spec";
import type { KubernetesPlacement } from "../../src/render/kubernetes";
import type { RuntimeContext } from "../../src/render";

/** Labels of the cluster's objects. */
export interface ClusterLabels {
  /** On every object: `app.kubernetes.io/name|instance|managed-by`. */
  readonly common: Record<string, string>;
  /** Database objects and pods' selector: common + `app.kubernetes.io/component: database`. */
  readonly database: Record<string, string>;
  /** Labels of the database pod template: database + Patroni's `cluster-name` scope label. */
  readonly databasePod: Record<string, string>;
  /** Pooler objects and pods: common + `app.kubernetes.io/component: pooler`. */
  readonly pooler: Record<string, string>;
}

/** Shared inputs of the Kubernetes sub-constructs. */
export interface KubernetesClusterContext {
  readonly spec: ResolvedClusterSpec;
  /** Namespace, cluster domain, pod network CIDRs and database labels (for the renderers). */
  readonly placement: KubernetesPlacement;
  /** Region, bucket and key (tokens) for the renderers. */
  readonly runtime: RuntimeContext;
  readonly labels: ClusterLabels;
  /** `false` lets Terraform destroy the PVCs and the KMS key. */
  readonly preventDestroy: boolean;
  /** Pod security context of every pod (non-root `uid`, fsGroup `uid`, RuntimeDefault seccomp). */
  readonly podSecurity: StatefulSetV1SpecTemplateSpecSecurityContext;
  /** Security context of every container (no privilege escalation, read-only root, no capabilities). */
  readonly containerSecurity: StatefulSetV1SpecTemplateSpecContainerSecurityContext;
}

/** Object metadata: `name` in the cluster's namespace with `labels` (and `annotations` when given). */
export function objectMeta(
  ctx: Pick<KubernetesClusterContext, "placement" | "labels">,
  name: string,
  labels: Record<string, string> = ctx.labels.common,
  annotations?: Record<string, string>,
) {
  return { name, namespace: ctx.placement.namespace, labels, ...(annotations ? { annotations } : {}) };
}

/** The cluster's labels for cluster `name` (see {@link ClusterLabels}). */
export function clusterLabels(name: string, scopeLabel: string): ClusterLabels {
  const common = {
    "app.kubernetes.io/name": "managed-postgres",
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/managed-by": "cdktf-managed-postgres",
  };
  const database = { ...common, "app.kubernetes.io/component": "database" };
  return { common, database, databasePod: { ...database, [scopeLabel]: name }, pooler: { ...common, "app.kubernetes.io/component": "pooler" } };
}

/** Pod and container security contexts for UID/GID `uid`. */
export function securityContexts(uid: string): Pick<KubernetesClusterContext, "podSecurity" | "containerSecurity"> {
  return {
    podSecurity: {
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: uid,
      fsGroup: uid,
      fsGroupChangePolicy: "OnRootMismatch",
      seccompProfile: { type: "RuntimeDefault" },
    },
    containerSecurity: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
}

/** An emptyDir volume of at most `sizeLimit` (a Kubernetes quantity). */
export function emptyDir(name: string, sizeLimit = "64Mi"): StatefulSetV1SpecTemplateSpecVolume {
  return { name, emptyDir: { sizeLimit } };
}

/** The items of a `kubernetes.io/tls` Secret (with `ca.crt`) as the TLS directory's files. */
export const TLS_ITEMS = [
  { key: "tls.crt", path: "server.crt" },
  { key: "tls.key", path: "server.key" },
  { key: "ca.crt", path: "ca.crt" },
];
