/**
 * Kubernetes pod-spec rules of the managed-postgres policy pack (`MP-K8S-<n>`), over the
 * workload resources of `@cdktf/provider-kubernetes` as synthesized: StatefulSets,
 * Deployments, DaemonSets, Jobs, CronJobs and Pods (v1 and unversioned), plus the
 * namespace rule over every namespaced `kubernetes_*` resource. Pure; no cdktf import.
 *
 * Sources: Kubernetes Pod Security Standards, "restricted" profile (runAsNonRoot,
 * allowPrivilegeEscalation false, capabilities drop ALL, seccomp RuntimeDefault or
 * Localhost); cdk8s-plus defaults (read-only root file system, resources); the pinned-image
 * rule follows the supply-chain practice of referring to images by digest.
 */
import { block, blocks, isFalse, isTrue, nonEmpty } from "../../terraform";
import type { PolicyRule, RuleResult, TfResource } from "./types";

type Json = Record<string, unknown>;

const OK: RuleResult = { status: "compliant" };
const NA: RuleResult = { status: "not-applicable" };
const bad = (detail: string): RuleResult => ({ status: "non-compliant", detail });

/** Workload resource types whose pod template the pod-spec rules read. */
export const KUBERNETES_WORKLOAD_TYPES: readonly string[] = [
  "kubernetes_stateful_set_v1",
  "kubernetes_stateful_set",
  "kubernetes_deployment_v1",
  "kubernetes_deployment",
  "kubernetes_daemon_set_v1",
  "kubernetes_daemonset",
  "kubernetes_job_v1",
  "kubernetes_job",
  "kubernetes_cron_job_v1",
  "kubernetes_cron_job",
  "kubernetes_pod_v1",
  "kubernetes_pod",
];

/** Namespaced resource types the namespace rule reads. */
export const KUBERNETES_NAMESPACED_TYPES: readonly string[] = [
  ...KUBERNETES_WORKLOAD_TYPES,
  "kubernetes_service_v1",
  "kubernetes_service",
  "kubernetes_service_account_v1",
  "kubernetes_service_account",
  "kubernetes_config_map_v1",
  "kubernetes_config_map",
  "kubernetes_secret_v1",
  "kubernetes_secret",
  "kubernetes_role_v1",
  "kubernetes_role",
  "kubernetes_role_binding_v1",
  "kubernetes_role_binding",
  "kubernetes_persistent_volume_claim_v1",
  "kubernetes_persistent_volume_claim",
  "kubernetes_pod_disruption_budget_v1",
  "kubernetes_pod_disruption_budget",
  "kubernetes_network_policy_v1",
  "kubernetes_network_policy",
];

/** An image reference pinned by digest. */
export const PINNED_IMAGE_REFERENCE = /@sha256:[0-9a-f]{64}$/;

/**
 * The pod spec of a workload resource: `spec.template.spec` (StatefulSet, Deployment,
 * DaemonSet, Job), `spec.job_template.spec.template.spec` (CronJob) or `spec` (Pod).
 */
export function podSpecOf(resource: TfResource): Json | undefined {
  const spec = block(resource.config.spec);
  if (!spec) return undefined;
  if (resource.type.startsWith("kubernetes_pod")) return spec;
  if (resource.type.startsWith("kubernetes_cron_job")) {
    const job = block(block(spec.job_template)?.spec);
    return block(block(job?.template)?.spec);
  }
  return block(block(spec.template)?.spec);
}

/** Every container of a pod spec, init containers included, with its kind for messages. */
export function containersOf(pod: Json): { kind: string; c: Json }[] {
  return [
    ...blocks(pod.init_container).map((c) => ({ kind: "init container", c })),
    ...blocks(pod.container).map((c) => ({ kind: "container", c })),
  ];
}

const nameOf = (x: { kind: string; c: Json }) => `${x.kind} ${typeof x.c.name === "string" ? x.c.name : "(unnamed)"}`;

/** Runs `check` on every container of a workload's pod; the first failure is the detail. */
function everyContainer(r: TfResource, check: (c: Json, pod: Json) => string | undefined): RuleResult {
  const pod = podSpecOf(r);
  if (!pod) return NA;
  const all = containersOf(pod);
  if (all.length === 0) return bad("the pod spec has no container");
  for (const x of all) {
    const problem = check(x.c, pod);
    if (problem) return bad(`${nameOf(x)}: ${problem}`);
  }
  return OK;
}

/** MP-K8S-1: containers run as a non-root user. */
export const K8S_NON_ROOT: PolicyRule = {
  id: "MP-K8S-1",
  level: "error",
  info: "Every container runs as non-root: run_as_non_root true (pod or container security context) and no run_as_user 0.",
  explanation:
    "Pod Security Standards (restricted): a root process in a container is root on the node's kernel; a container escape is then a node compromise. Set security_context.run_as_non_root = true and a non-zero run_as_user on the pod.",
  resourceTypes: KUBERNETES_WORKLOAD_TYPES,
  checkov: ["CKV_K8S_23"],
  fsbp: [],
  evaluate(r) {
    return everyContainer(r, (c, pod) => {
      const podSc = block(pod.security_context) ?? {};
      const sc = block(c.security_context) ?? {};
      const nonRoot = sc.run_as_non_root !== undefined ? isTrue(sc.run_as_non_root) : isTrue(podSc.run_as_non_root);
      if (!nonRoot) return "run_as_non_root is not true";
      const uid = sc.run_as_user ?? podSc.run_as_user;
      if (uid !== undefined && String(uid) === "0") return "run_as_user is 0 (root)";
      return undefined;
    });
  },
};

/** MP-K8S-2: no privilege escalation, not privileged. */
export const K8S_NO_PRIVILEGE_ESCALATION: PolicyRule = {
  id: "MP-K8S-2",
  level: "error",
  info: "Every container sets allow_privilege_escalation = false and is not privileged.",
  explanation:
    "Pod Security Standards (restricted): without no_new_privs a setuid binary in the image can regain root; a privileged container has every device and capability of the node. Set security_context.allow_privilege_escalation = false on each container (the Kubernetes default is true).",
  resourceTypes: KUBERNETES_WORKLOAD_TYPES,
  checkov: ["CKV_K8S_20", "CKV_K8S_16"],
  fsbp: [],
  evaluate(r) {
    return everyContainer(r, (c) => {
      const sc = block(c.security_context) ?? {};
      if (isTrue(sc.privileged)) return "privileged is true";
      if (!isFalse(sc.allow_privilege_escalation)) return "allow_privilege_escalation is not false";
      return undefined;
    });
  },
};

/** MP-K8S-3: capabilities dropped. */
export const K8S_DROP_CAPABILITIES: PolicyRule = {
  id: "MP-K8S-3",
  level: "error",
  info: "Every container drops ALL Linux capabilities and adds none.",
  explanation:
    "Pod Security Standards (restricted): PostgreSQL, Patroni, pgBackRest and PgBouncer need no capability (ports above 1024, files owned by their user). Set security_context.capabilities.drop = [\"ALL\"] and no add.",
  resourceTypes: KUBERNETES_WORKLOAD_TYPES,
  checkov: ["CKV_K8S_28", "CKV_K8S_37"],
  fsbp: [],
  evaluate(r) {
    return everyContainer(r, (c) => {
      const caps = block(block(c.security_context)?.capabilities);
      const drop = Array.isArray(caps?.drop) ? (caps!.drop as unknown[]) : [];
      if (!drop.includes("ALL")) return "capabilities.drop does not contain ALL";
      const add = Array.isArray(caps?.add) ? (caps!.add as unknown[]) : [];
      if (add.length > 0) return `capabilities.add is ${JSON.stringify(add)}`;
      return undefined;
    });
  },
};

/** MP-K8S-4: seccomp profile. */
export const K8S_SECCOMP: PolicyRule = {
  id: "MP-K8S-4",
  level: "error",
  info: "Every container runs under a seccomp profile: RuntimeDefault or Localhost (pod or container security context).",
  explanation:
    "Pod Security Standards (restricted): without a seccomp profile (Unconfined, the kubelet default) every system call reaches the kernel. Set security_context.seccomp_profile.type = \"RuntimeDefault\" on the pod.",
  resourceTypes: KUBERNETES_WORKLOAD_TYPES,
  checkov: ["CKV_K8S_31"],
  fsbp: [],
  evaluate(r) {
    return everyContainer(r, (c, pod) => {
      const own = block(block(c.security_context)?.seccomp_profile)?.type;
      const inherited = block(block(pod.security_context)?.seccomp_profile)?.type;
      const type = own ?? inherited;
      if (type !== "RuntimeDefault" && type !== "Localhost") return `seccomp_profile.type is ${type === undefined ? "not set" : JSON.stringify(type)}`;
      return undefined;
    });
  },
};

/** MP-K8S-5: read-only root file system. */
export const K8S_READ_ONLY_ROOT: PolicyRule = {
  id: "MP-K8S-5",
  level: "error",
  info: "Every container has a read-only root file system (writes go to declared volumes).",
  explanation:
    "A writable image layer lets an intruder drop binaries and hides state the pod spec does not declare. Set security_context.read_only_root_filesystem = true and mount emptyDir volumes where the process writes (/tmp, the socket directory).",
  resourceTypes: KUBERNETES_WORKLOAD_TYPES,
  checkov: ["CKV_K8S_22"],
  fsbp: [],
  evaluate(r) {
    return everyContainer(r, (c) => (isTrue(block(c.security_context)?.read_only_root_filesystem) ? undefined : "read_only_root_filesystem is not true"));
  },
};

/** MP-K8S-6: CPU and memory requests and limits. */
export const K8S_RESOURCES: PolicyRule = {
  id: "MP-K8S-6",
  level: "error",
  info: "Every container sets CPU and memory requests and limits.",
  explanation:
    "Without requests the scheduler may place a database where it cannot get the size's vCPU and memory (Cloud Temple Managed PostgreSQL); without a memory limit one container can exhaust the node and have its neighbours OOM-killed. Set resources.requests and resources.limits for cpu and memory.",
  resourceTypes: KUBERNETES_WORKLOAD_TYPES,
  checkov: ["CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"],
  fsbp: [],
  evaluate(r) {
    return everyContainer(r, (c) => {
      const res = block(c.resources) ?? {};
      for (const kind of ["requests", "limits"] as const) {
        const m = res[kind];
        const map = m && typeof m === "object" && !Array.isArray(m) ? (m as Json) : {};
        for (const key of ["cpu", "memory"]) if (!nonEmpty(map[key])) return `resources.${kind}.${key} is not set`;
      }
      return undefined;
    });
  },
};

/** MP-K8S-7: liveness and readiness probes (long-running containers). */
export const K8S_PROBES: PolicyRule = {
  id: "MP-K8S-7",
  level: "error",
  info: "Every long-running container has a liveness and a readiness probe (init containers and Jobs are exempt).",
  explanation:
    "Without a readiness probe a Service sends clients to a pod that is not serving (a replica still restoring, a pooler without its backend); without a liveness probe a hung process is never restarted. Define liveness_probe and readiness_probe.",
  resourceTypes: KUBERNETES_WORKLOAD_TYPES.filter((t) => !t.startsWith("kubernetes_job") && !t.startsWith("kubernetes_cron_job")),
  checkov: ["CKV_K8S_8", "CKV_K8S_9"],
  fsbp: [],
  evaluate(r) {
    const pod = podSpecOf(r);
    if (!pod) return NA;
    const cs = blocks(pod.container);
    if (cs.length === 0) return bad("the pod spec has no container");
    for (const c of cs) {
      const n = typeof c.name === "string" ? c.name : "(unnamed)";
      if (!block(c.liveness_probe)) return bad(`container ${n}: no liveness_probe`);
      if (!block(c.readiness_probe)) return bad(`container ${n}: no readiness_probe`);
    }
    return OK;
  },
};

/** MP-K8S-8: images pinned by digest. */
export const K8S_PINNED_IMAGE: PolicyRule = {
  id: "MP-K8S-8",
  level: "error",
  info: "Every container image is pinned by digest (`<repository>@sha256:<64 hex>`).",
  explanation:
    "A tag can be moved to other content; a digest cannot. With a tag, two members of one cluster can run different PostgreSQL builds, and a registry compromise changes the database without a plan diff. Use `repo@sha256:…`.",
  resourceTypes: KUBERNETES_WORKLOAD_TYPES,
  checkov: ["CKV_K8S_43"],
  fsbp: [],
  evaluate(r) {
    return everyContainer(r, (c) => {
      const image = c.image;
      if (!nonEmpty(image)) return "image is not set";
      if (!PINNED_IMAGE_REFERENCE.test(image)) return `image ${JSON.stringify(image)} is not pinned by digest`;
      return undefined;
    });
  },
};

/** MP-K8S-9: not in the default namespace. */
export const K8S_NOT_DEFAULT_NAMESPACE: PolicyRule = {
  id: "MP-K8S-9",
  level: "error",
  info: "Namespaced Kubernetes resources name a namespace, and not `default`.",
  explanation:
    "Objects without a namespace land in `default`, shared by everything else in the cluster: its Roles, NetworkPolicies and Secrets then cover more than the database. Set metadata.namespace to the database's own namespace.",
  resourceTypes: KUBERNETES_NAMESPACED_TYPES,
  checkov: ["CKV_K8S_21"],
  fsbp: [],
  evaluate(r) {
    const meta = block(r.config.metadata);
    if (!meta) return NA;
    const ns = meta.namespace;
    if (ns === undefined || ns === "") return bad("metadata.namespace is not set (the default namespace is used)");
    if (ns === "default") return bad("metadata.namespace is \"default\"");
    return OK;
  },
};

/** Every Kubernetes rule, in documentation order (docs/kubernetes.md). */
export const KUBERNETES_RULES: readonly PolicyRule[] = [
  K8S_NON_ROOT,
  K8S_NO_PRIVILEGE_ESCALATION,
  K8S_DROP_CAPABILITIES,
  K8S_SECCOMP,
  K8S_READ_ONLY_ROOT,
  K8S_RESOURCES,
  K8S_PROBES,
  K8S_PINNED_IMAGE,
  K8S_NOT_DEFAULT_NAMESPACE,
];
