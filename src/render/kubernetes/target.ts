/**
 * The Kubernetes render target: where the database cluster lives in Kubernetes, the names of
 * its objects, its members, and the {@link RenderTarget} the base renderers take for it.
 * Pure; no cdktf import.
 *
 * What differs from the EC2 target, and why (each a field of `RenderTarget`):
 * - `dcs`: the Kubernetes API (ConfigMaps `<cluster>-config|leader|failover|sync`,
 *   `use_endpoints: false`); the read-write Service selects the pod Patroni labels
 *   `role: master` (Patroni 3.0.2, `patroni/dcs/kubernetes.py` `touch_member`).
 * - `memberAddressing` `pod-network`: one ConfigMap serves every pod of the StatefulSet, so
 *   the member name and addresses come from the environment ({@link patroniPodEnvironment});
 *   pod IPs change when a pod is rescheduled, so pg_hba admits replication and pg_rewind
 *   from the pod network CIDRs (the NetworkPolicy limits who reaches port 5432 at all).
 * - `logging` `stderr`: `kubectl logs` and the cluster's log pipeline see PostgreSQL and
 *   PgBouncer; the read-only root file system has no log directory.
 * - `credentials` `web-identity`: the IAM role of the service account (IRSA).
 * - `secrets` `environment`: the cipher pass comes from the credentials Secret.
 * - `certificates` `shared`: every pod presents one certificate (CN = cluster name).
 * - `poolerUpstreams`: PgBouncer forwards to the database Services (`<cluster>-primary`,
 *   `<cluster>-replicas`) instead of a local HAProxy.
 * Members are addressed by their stable DNS names in the headless Service
 * (`<pod>.<cluster>-members.<namespace>.svc.<domain>`).
 */
import { PORTS, type ResolvedClusterSpec } from "../../cluster-spec";
import { poolerPools, type PgBouncerPool } from "../pgbouncer";
import type { PoolerUpstream, RenderTarget } from "../target";
import type { ClusterMember, NodeContext, RuntimeContext } from "../types";

/** Patroni's label for the member holding the leader lock (Patroni 3.0.2 writes `master`). */
export const PATRONI_PRIMARY_ROLE = "master";
/** Patroni's label for a running replica (synchronous standby included). */
export const PATRONI_REPLICA_ROLE = "replica";
/** Pod label Patroni writes the role to (Patroni's default `role_label`). */
export const PATRONI_ROLE_LABEL = "role";
/** Pod label holding the cluster name (Patroni's default `scope_label`). */
export const PATRONI_SCOPE_LABEL = "cluster-name";

/** Where the database cluster lives in Kubernetes, as the renderers need it. */
export interface KubernetesPlacement {
  /** Namespace of every object. */
  readonly namespace: string;
  /** Cluster DNS domain, e.g. `cluster.local`. */
  readonly clusterDomain: string;
  /** Pod network CIDRs: sources allowed for replication and pg_rewind in pg_hba. */
  readonly podNetworkCidrs: readonly string[];
  /** Labels of the database pods (Patroni adds `cluster-name` and `role`). */
  readonly databaseLabels: Readonly<Record<string, string>>;
}

/** Name of the headless Service giving each member a stable DNS name. */
export function membersServiceName(spec: ResolvedClusterSpec): string {
  return `${spec.name}-members`;
}

/** Name of the database Service that follows the primary. */
export function primaryServiceName(spec: ResolvedClusterSpec): string {
  return `${spec.name}-primary`;
}

/** Name of the database Service over the replicas (distributed). */
export function replicasServiceName(spec: ResolvedClusterSpec): string {
  return `${spec.name}-replicas`;
}

/** Fully qualified DNS name of a Service. */
export function serviceFqdn(service: string, p: KubernetesPlacement): string {
  return `${service}.${p.namespace}.svc.${p.clusterDomain}`;
}

/**
 * The members of a cluster on Kubernetes: pods `<cluster>-0..2` of the StatefulSet,
 * addressed by their DNS names in the headless Service. `zone` is unknown at synth (the
 * scheduler picks it under the topology spread constraint).
 */
export function kubernetesMembers(spec: ResolvedClusterSpec, p: KubernetesPlacement): ClusterMember[] {
  const count = spec.deployment === "distributed" ? 3 : 1;
  const svc = membersServiceName(spec);
  return Array.from({ length: count }, (_, i) => ({
    name: `${spec.name}-${i}`,
    slotIndex: i,
    address: `${spec.name}-${i}.${svc}.${p.namespace}.svc.${p.clusterDomain}`,
    zone: "",
  }));
}

/** The render context of member `index` (0 for the files every pod shares). */
export function kubernetesNodeContext(spec: ResolvedClusterSpec, p: KubernetesPlacement, runtime: RuntimeContext, index: number): NodeContext {
  const members = kubernetesMembers(spec, p);
  return { spec, self: members[index]!, members, runtime };
}

export { poolerPools };

function poolerUpstream(spec: ResolvedClusterSpec, p: KubernetesPlacement, pool: PgBouncerPool): PoolerUpstream {
  const service = pool === "rw" ? primaryServiceName(spec) : replicasServiceName(spec);
  return {
    host: serviceFqdn(service, p),
    port: PORTS.postgres,
    comment: `Kubernetes: the database Service ${service} follows Patroni's role label.`,
  };
}

/**
 * The {@link RenderTarget} of a cluster on Kubernetes (see the module comment): Kubernetes
 * DCS in ConfigMap mode with `p.databaseLabels` and Patroni's default scope/role labels,
 * pod-network addressing over `p.podNetworkCidrs`, stderr logging, web-identity credentials,
 * secrets from the environment, one shared certificate, PgBouncer to the database Services.
 */
export function kubernetesRenderTarget(spec: ResolvedClusterSpec, p: KubernetesPlacement): RenderTarget {
  const pools = poolerPools(spec);
  return {
    credentials: "web-identity",
    logging: "stderr",
    dcs: {
      kind: "kubernetes",
      namespace: p.namespace,
      labels: { ...p.databaseLabels },
      scopeLabel: PATRONI_SCOPE_LABEL,
      roleLabel: PATRONI_ROLE_LABEL,
      useEndpoints: false,
    },
    memberAddressing: { kind: "pod-network", podNetworkCidrs: [...p.podNetworkCidrs] },
    secrets: "environment",
    certificates: "shared",
    poolerUpstreams: Object.fromEntries(pools.map((pool) => [pool, poolerUpstream(spec, p, pool)])),
    // The maintenance agent of the primary pod sets them from its data volume (k8s-maintenance.py).
    walLimits: "node",
  };
}

/**
 * The plain (non-secret) environment of the `postgres` container, as `[name, value]`:
 * member name and addresses from the downward API variables `POD_NAME`/`POD_IP` (Kubernetes
 * expands `$(VAR)`); they stand in for the keys the `pod-network` addressing leaves out of
 * patroni.yml. Listening on 0.0.0.0 inside the pod's own network namespace is the pod IP
 * plus loopback, as in Patroni's Kubernetes example.
 */
export function patroniPodEnvironment(): [string, string][] {
  return [
    ["PATRONI_NAME", "$(POD_NAME)"],
    ["PATRONI_RESTAPI_LISTEN", `0.0.0.0:${PORTS.patroniRest}`],
    ["PATRONI_RESTAPI_CONNECT_ADDRESS", `$(POD_IP):${PORTS.patroniRest}`],
    ["PATRONI_POSTGRESQL_LISTEN", `0.0.0.0:${PORTS.postgres}`],
    ["PATRONI_POSTGRESQL_CONNECT_ADDRESS", `$(POD_IP):${PORTS.postgres}`],
  ];
}

/** Name of the ConfigMap holding the roll lock of the maintenance agent (`<cluster>-maintenance`). */
export function maintenanceLockName(spec: ResolvedClusterSpec): string {
  return `${spec.name}-maintenance`;
}

/**
 * The Role rules the maintenance agent (src/render/scripts/k8s-maintenance.py) needs beyond
 * Patroni's, each limited to the cluster's own objects by `resourceNames` (which RBAC applies
 * to every request naming its object, subresources such as `pods/eviction` included:
 * https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources):
 * read its StatefulSet's `status.updateRevision`; read the members' pods' revision labels;
 * read and update (with its resourceVersion) the lock ConfigMap, created by Terraform, so no
 * `create` is granted; evict a member pod (the Eviction API honours the PodDisruptionBudget;
 * no `delete` is granted).
 */
export function maintenanceRoleRules(spec: ResolvedClusterSpec, memberCount: number): { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames: string[] }[] {
  const members = Array.from({ length: memberCount }, (_, i) => `${spec.name}-${i}`);
  return [
    { apiGroups: ["apps"], resources: ["statefulsets"], resourceNames: [spec.name], verbs: ["get"] },
    { apiGroups: [""], resources: ["pods"], resourceNames: members, verbs: ["get"] },
    { apiGroups: [""], resources: ["configmaps"], resourceNames: [maintenanceLockName(spec)], verbs: ["get", "update"] },
    { apiGroups: [""], resources: ["pods/eviction"], resourceNames: members, verbs: ["create"] },
  ];
}

/** Patroni's Kubernetes API use in ConfigMap mode (`use_endpoints: false`), Patroni 3.0.2. */
export const PATRONI_CONFIGMAP_SUFFIXES = ["config", "leader", "failover", "sync"] as const;

/** The Role rules Patroni needs in ConfigMap mode; see docs/kubernetes.md for each verb's use. */
export function patroniRoleRules(spec: ResolvedClusterSpec, memberCount: number): { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] {
  return [
    // ObjectCache lists and watches the cluster's ConfigMaps by label; the first member creates them.
    { apiGroups: [""], resources: ["configmaps"], verbs: ["create", "list", "watch"] },
    // Leader race (read), leader lock renewal, config, failover and sync keys (patch).
    {
      apiGroups: [""],
      resources: ["configmaps"],
      resourceNames: PATRONI_CONFIGMAP_SUFFIXES.map((s) => `${spec.name}-${s}`),
      verbs: ["get", "patch"],
    },
    // ObjectCache lists and watches the members' pods by label.
    { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] },
    // touch_member: each member patches its own pod's role label and status annotation.
    {
      apiGroups: [""],
      resources: ["pods"],
      resourceNames: Array.from({ length: memberCount }, (_, i) => `${spec.name}-${i}`),
      verbs: ["patch"],
    },
  ];
}
