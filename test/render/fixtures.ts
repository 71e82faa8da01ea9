/** Shared fixtures of the renderer tests: specs, members and contexts for both deployment models. */
import { resolveClusterSpec, type ClusterSpec, type ResolvedClusterSpec } from "../../src/cluster-spec";
import type { ClusterMember, NodeContext, PoolerContext, RuntimeContext } from "../../src/render";

/** Non-loopback test addresses (patroni --validate-config rejects loopback connect addresses). */
export const TEST_ADDRESSES = ["10.10.0.11", "10.10.0.12", "10.10.0.13"] as const;

export function spec(overrides: Partial<ClusterSpec> = {}): ResolvedClusterSpec {
  return resolveClusterSpec({
    name: "orders",
    deployment: "distributed",
    size: "M",
    storageGiB: 20,
    majorVersion: 15,
    ...overrides,
  });
}

export function members(name: string, count: number, addresses: readonly string[] = TEST_ADDRESSES): ClusterMember[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${name}-${i}`,
    slotIndex: i,
    address: addresses[i]!,
    zone: `eu-west-1${"abc"[i]}`,
  }));
}

export const runtime: RuntimeContext = {
  region: "eu-west-1",
  backupBucket: "orders-backups-123",
  kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-abc",
  poolerSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-pooler-def",
  poolerEndpointNames: ["mp-orders-0123456789abcdef.elb.eu-west-1.amazonaws.com"],
  caCertificateParameter: "/managed-postgres/orders/ca-certificate",
};

export function distributedNode(index = 0, overrides: Partial<ClusterSpec> = {}, addresses?: readonly string[]): NodeContext {
  const s = spec({ deployment: "distributed", ...overrides });
  const ms = members(s.name, 3, addresses);
  return { spec: s, self: ms[index]!, members: ms, runtime };
}

export function standaloneNode(overrides: Partial<ClusterSpec> = {}, addresses?: readonly string[]): NodeContext {
  const s = spec({ deployment: "standalone", ...overrides });
  const ms = members(s.name, 1, addresses);
  return { spec: s, self: ms[0]!, members: ms, runtime };
}

export function pooler(overrides: Partial<ClusterSpec> = {}, addresses?: readonly string[]): PoolerContext {
  const s = spec({ deployment: "distributed", ...overrides });
  return { spec: s, members: members(s.name, 3, addresses), runtime };
}

/** Terraform token strings as cdktf renders unresolved values at synth. */
export const TOKEN_ADDRESSES = ["${TfToken[TOKEN.12]}", "${TfToken[TOKEN.13]}", "${TfToken[TOKEN.14]}"] as const;
