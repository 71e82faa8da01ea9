/**
 * Kubernetes pod-spec rules (MP-K8S-*): each passes on the construct's output and on a
 * compliant fixture, and fails on a fixture that breaks exactly that rule.
 */
import {
  KUBERNETES_RULES,
  K8S_DROP_CAPABILITIES,
  K8S_NON_ROOT,
  K8S_NOT_DEFAULT_NAMESPACE,
  K8S_NO_PRIVILEGE_ESCALATION,
  K8S_PINNED_IMAGE,
  K8S_PROBES,
  K8S_READ_ONLY_ROOT,
  K8S_RESOURCES,
  K8S_SECCOMP,
} from "../../src/rules/policy/kubernetes";
import { runPolicyPack, stackFromTerraformJson, type PolicyRule, type TfResource } from "../../src/rules/policy";
import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { ManagedPostgresKubernetes } from "../../constructs/kubernetes";
import { distributed, props, standalone } from "./fixtures";

const DIGEST = `registry.example.com/pg@sha256:${"b".repeat(64)}`;

/** A compliant StatefulSet as cdktf synthesizes it (single blocks as objects). */
function compliantStatefulSet(): any {
  return {
    metadata: { name: "db", namespace: "db" },
    spec: {
      template: {
        spec: {
          security_context: { run_as_non_root: true, run_as_user: "999", seccomp_profile: { type: "RuntimeDefault" } },
          container: [
            {
              name: "postgres",
              image: DIGEST,
              security_context: { allow_privilege_escalation: false, read_only_root_filesystem: true, capabilities: { drop: ["ALL"] } },
              resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
              liveness_probe: { tcp_socket: [{ port: "5432" }] },
              readiness_probe: { tcp_socket: [{ port: "5432" }] },
            },
          ],
        },
      },
    },
  };
}

function resource(config: any, type = "kubernetes_stateful_set_v1"): TfResource {
  return { type, name: "x", address: `${type}.x`, config, isData: false };
}

function verdict(rule: PolicyRule, config: any, type?: string) {
  const r = resource(config, type);
  return rule.evaluate(r, { name: "t", resources: [r] }).status;
}

function mutate(f: (c: any, pod: any) => void): any {
  const s = compliantStatefulSet();
  f(s.spec.template.spec.container[0], s.spec.template.spec);
  return s;
}

describe("the construct's output is compliant", () => {
  test.each([
    ["distributed", distributed],
    ["standalone", standalone],
  ])("%s: no finding from any Kubernetes rule", (_n, s) => {
    const report = runPolicyPack([stackFromTerraformJson(JSON.parse(s().raw), "k8s")], { rules: KUBERNETES_RULES });
    expect(report.findings).toEqual([]);
  });

  test("the rules did look at the workloads (not vacuously compliant)", () => {
    const report = runPolicyPack([stackFromTerraformJson(JSON.parse(distributed().raw), "k8s")], { rules: KUBERNETES_RULES });
    // 8 pod-spec rules × 2 workloads + the namespace rule × 21 namespaced Kubernetes resources.
    expect(report.compliantCount).toBe(8 * 2 + 21);
  });
});

test("the compliant fixture passes every rule", () => {
  expect(KUBERNETES_RULES.map((r) => [r.id, verdict(r, compliantStatefulSet())])).toEqual(KUBERNETES_RULES.map((r) => [r.id, "compliant"]));
});

describe.each<[PolicyRule, string, any]>([
  [K8S_NON_ROOT, "run_as_non_root missing", mutate((_c, pod) => delete pod.security_context.run_as_non_root)],
  [K8S_NON_ROOT, "run_as_user 0", mutate((_c, pod) => (pod.security_context.run_as_user = "0"))],
  [K8S_NON_ROOT, "container overrides run_as_non_root false", mutate((c) => (c.security_context.run_as_non_root = false))],
  [K8S_NO_PRIVILEGE_ESCALATION, "allow_privilege_escalation unset (Kubernetes default true)", mutate((c) => delete c.security_context.allow_privilege_escalation)],
  [K8S_NO_PRIVILEGE_ESCALATION, "privileged", mutate((c) => (c.security_context.privileged = true))],
  [K8S_DROP_CAPABILITIES, "nothing dropped", mutate((c) => delete c.security_context.capabilities)],
  [K8S_DROP_CAPABILITIES, "NET_ADMIN added", mutate((c) => (c.security_context.capabilities.add = ["NET_ADMIN"]))],
  [K8S_SECCOMP, "no seccomp profile", mutate((_c, pod) => delete pod.security_context.seccomp_profile)],
  [K8S_SECCOMP, "Unconfined on the container", mutate((c) => (c.security_context.seccomp_profile = { type: "Unconfined" }))],
  [K8S_READ_ONLY_ROOT, "writable root", mutate((c) => (c.security_context.read_only_root_filesystem = false))],
  [K8S_RESOURCES, "no memory limit", mutate((c) => delete c.resources.limits.memory)],
  [K8S_RESOURCES, "no requests", mutate((c) => delete c.resources.requests)],
  [K8S_PROBES, "no readiness probe", mutate((c) => delete c.readiness_probe)],
  [K8S_PROBES, "no liveness probe", mutate((c) => delete c.liveness_probe)],
  [K8S_PINNED_IMAGE, "tag only", mutate((c) => (c.image = "postgres:15"))],
  [K8S_PINNED_IMAGE, "latest", mutate((c) => (c.image = "postgres"))],
  [K8S_NOT_DEFAULT_NAMESPACE, "namespace default", (() => { const s = compliantStatefulSet(); s.metadata.namespace = "default"; return s; })()],
  [K8S_NOT_DEFAULT_NAMESPACE, "no namespace", (() => { const s = compliantStatefulSet(); delete s.metadata.namespace; return s; })()],
])("%s", (rule, what, fixture) => {
  test(`non-compliant: ${what}`, () => {
    expect(verdict(rule, fixture)).toBe("non-compliant");
  });
});

test("an init container is checked too", () => {
  const s = mutate((_c, pod) => (pod.init_container = [{ name: "init", image: "busybox:latest" }]));
  expect(verdict(K8S_PINNED_IMAGE, s)).toBe("non-compliant");
});

test("init containers need no probes", () => {
  const s = mutate((c, pod) => (pod.init_container = [{ ...c, name: "init", liveness_probe: undefined, readiness_probe: undefined }]));
  expect(verdict(K8S_PROBES, s)).toBe("compliant");
});

test("a Pod's spec is read directly", () => {
  const sts = compliantStatefulSet();
  const pod = { metadata: sts.metadata, spec: { ...sts.spec.template.spec, container: [{ ...sts.spec.template.spec.container[0], image: "postgres:15" }] } };
  expect(verdict(K8S_PINNED_IMAGE, pod, "kubernetes_pod_v1")).toBe("non-compliant");
});

test("the finding's detail names the container and the problem", () => {
  const r = resource(mutate((c) => (c.image = "postgres:15")));
  expect(K8S_PINNED_IMAGE.evaluate(r, { name: "t", resources: [r] })).toEqual({
    status: "non-compliant",
    detail: 'container postgres: image "postgres:15" is not pinned by digest',
  });
});

test("rule ids are unique and follow MP-K8S-<n>", () => {
  const ids = KUBERNETES_RULES.map((r) => r.id);
  expect([new Set(ids).size, ids.every((id) => /^MP-K8S-\d+$/.test(id))]).toEqual([ids.length, true]);
});

describe("enforced at synth", () => {
  function stackWithStray(policyPack: boolean): () => string {
    return () => {
      const app = Testing.app();
      const stack = new TerraformStack(app, "t");
      new AwsProvider(stack, "aws", { region: "eu-west-1" });
      new KubernetesProvider(stack, "kubernetes", { configPath: "~/.kube/config" });
      new ManagedPostgresKubernetes(stack, "orders", props({}, { policyPack }));
      new ConfigMapV1(stack, "stray", { metadata: { name: "stray", namespace: "default" }, data: { a: "b" } });
      return Testing.synth(stack, true);
    };
  }

  test("a non-compliant Kubernetes resource in the same stack fails synth with its rule id", () => {
    expect(stackWithStray(true)).toThrow(/MP-K8S-9/);
  });

  test("policyPack: false leaves the stack unchecked", () => {
    expect(stackWithStray(false)).not.toThrow();
  });
});
