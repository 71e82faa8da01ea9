import type { ClusterSpec } from "../../src/cluster-spec";

/** A valid distributed spec with literal network ids. */
export function distributedSpec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    name: "orders",
    deployment: "distributed",
    size: "M",
    storageGiB: 50,
    network: {
      vpcId: "vpc-0a1b2c3d",
      subnetIds: ["subnet-0a000001", "subnet-0b000002", "subnet-0c000003"],
      allowedCidrs: ["10.20.0.0/16"],
    },
    ...overrides,
  };
}
