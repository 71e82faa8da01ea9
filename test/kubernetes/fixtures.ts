/** Shared fixtures of the Kubernetes target tests: a stack with both providers and the construct. */
import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import type { ClusterSpec } from "../../src/cluster-spec";
import { ManagedPostgresKubernetes, type ManagedPostgresKubernetesProps } from "../../constructs/kubernetes";

/** A digest-pinned test image. */
export const IMAGE = `registry.example.com/managed-postgres/postgres-15@sha256:${"a".repeat(64)}`;

export function props(spec: Partial<Omit<ClusterSpec, "network">> = {}, overrides: Partial<ManagedPostgresKubernetesProps> = {}): ManagedPostgresKubernetesProps {
  return {
    name: "orders",
    deployment: "distributed",
    size: "M",
    storageGiB: 20,
    majorVersion: 15,
    ...spec,
    namespace: "orders-db",
    storageClassName: "gp3-expandable",
    image: IMAGE,
    podNetworkCidrs: ["10.0.0.0/16"],
    allowedNamespaceLabels: { "kubernetes.io/metadata.name": "orders-app" },
    backupStorage: {
      oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123",
      oidcIssuer: "oidc.eks.eu-west-1.amazonaws.com/id/ABC123",
    },
    // A fixed clock: the end-of-support rule must not make these tests expire.
    now: "2026-11-21",
    ...overrides,
  };
}

/** A synthesized stack: `resource[type][name]` of the Terraform JSON. */
export interface Synthesized {
  readonly resource: Record<string, Record<string, any>>;
  readonly raw: string;
}

export function synth(p: ManagedPostgresKubernetesProps): Synthesized {
  const app = Testing.app();
  const stack = new TerraformStack(app, "test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  new KubernetesProvider(stack, "kubernetes", { configPath: "~/.kube/config" });
  new ManagedPostgresKubernetes(stack, "orders", p);
  const raw = Testing.synth(stack);
  return { resource: JSON.parse(raw).resource, raw };
}

/** The only resource of a type whose Kubernetes name is `name`. */
export function byName(s: Synthesized, type: string, name: string): any {
  const found = Object.values(s.resource[type] ?? {}).filter((r: any) => r.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
  return found[0];
}

/** Cached synth results of the two models with default fixtures. */
let cache: { distributed?: Synthesized; standalone?: Synthesized } = {};
export function distributed(): Synthesized {
  return (cache.distributed ??= synth(props()));
}
export function standalone(): Synthesized {
  return (cache.standalone ??= synth(props({ deployment: "standalone" })));
}

/** The patroni.yml of the database ConfigMap. */
export function kubernetesPatroniYaml(s: Synthesized): string {
  return byName(s, "kubernetes_config_map_v1", "orders-database").data["patroni.yml"];
}

/** The `postgres` container's environment as the kubelet would set it for pod orders-1 at `podIp`. */
export function kubernetesPodEnvironment(s: Synthesized, podIp: string): Record<string, string> {
  const sts = byName(s, "kubernetes_stateful_set_v1", "orders");
  const c = sts.spec.template.spec.container.find((x: any) => x.name === "postgres");
  const env: Record<string, string> = {};
  for (const e of c.env) {
    const field = e.value_from?.field_ref?.field_path;
    if (field === "metadata.name") env[e.name] = "orders-1";
    else if (field === "status.podIP") env[e.name] = podIp;
    else if (e.value_from?.secret_key_ref) env[e.name] = `test-${e.value_from.secret_key_ref.key}`;
    else env[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (_, v) => env[v] ?? `$(${v})`);
  }
  return env;
}
