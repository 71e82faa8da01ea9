/** Shared fixtures of the Kubernetes target tests: a stack with both providers and the construct. */
import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import type { ClusterSpec } from "../../src/cluster-spec";
import { ManagedPostgresKubernetes, type ManagedPostgresKubernetesProps } from "../../constructs/kubernetes";

/** A digest-pinned test image. */
export const IMAGE = `registry.example.com/managed-postgres/postgres-15@sha256:${"a".repeat(64)}`;

export function props(spec: Partial<ClusterSpec> = {}, overrides: Partial<ManagedPostgresKubernetesProps> = {}): ManagedPostgresKubernetesProps {
  return {
    spec: { name: "orders", deployment: "distributed", size: "M", storageGiB: 20, majorVersion: 15, ...spec },
    namespace: "orders-db",
    storageClassName: "gp3-expandable",
    image: IMAGE,
    podNetworkCidrs: ["10.0.0.0/16"],
    allowedNamespaceLabels: { "kubernetes.io/metadata.name": "orders-app" },
    backup: {
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
