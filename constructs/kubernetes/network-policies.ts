/**
 * `NetworkPolicies`: who may reach the database and pooler pods.
 */
import { Construct } from "constructs";
import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import { PORTS } from "../../src/cluster-spec";
import { PGBACKREST_TLS_SERVER_PORT, pgbouncerPort } from "../../src/render";
import { poolerPools } from "../../src/render/kubernetes";
import { objectMeta, type KubernetesClusterContext } from "./context";

/** Props of {@link NetworkPolicies}. */
export interface NetworkPoliciesProps {
  readonly cluster: KubernetesClusterContext;
  /** Labels of the namespaces whose pods may reach the pooler (at least one label). */
  readonly allowedNamespaceLabels: Readonly<Record<string, string>>;
}

/**
 * Ingress policies (egress is not restricted):
 * - `<cluster>-database`: from the cluster's database pods to PostgreSQL, the Patroni REST
 *   API and (distributed) the pgBackRest TLS server; from the pooler pods to PostgreSQL only.
 * - `<cluster>-pooler`: from pods in namespaces labelled `allowedNamespaceLabels` to the
 *   PgBouncer ports (6432; 6433 distributed).
 *
 * Its resources are created in `scope` (the `ManagedPostgresKubernetes`), not under this
 * construct, so their Terraform addresses stay those the cluster has always had.
 */
export class NetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: NetworkPoliciesProps) {
    super(scope, id);
    const ctx = props.cluster;
    const { spec, labels } = ctx;
    const name = spec.name;
    const distributed = spec.deployment === "distributed";
    const dbPorts = [PORTS.postgres, PORTS.patroniRest, ...(distributed ? [PGBACKREST_TLS_SERVER_PORT] : [])];
    new NetworkPolicyV1(scope, "database-network-policy", {
      metadata: objectMeta(ctx, `${name}-database`, labels.database),
      spec: {
        podSelector: { matchLabels: labels.database },
        policyTypes: ["Ingress"],
        ingress: [
          {
            // Members: replication, pg_rewind, Patroni REST, pgBackRest TLS server.
            from: [{ podSelector: { matchLabels: labels.database } }],
            ports: dbPorts.map((p) => ({ port: String(p), protocol: "TCP" })),
          },
          {
            // The pooler: PostgreSQL only.
            from: [{ podSelector: { matchLabels: labels.pooler } }],
            ports: [{ port: String(PORTS.postgres), protocol: "TCP" }],
          },
        ],
      },
    });
    new NetworkPolicyV1(scope, "pooler-network-policy", {
      metadata: objectMeta(ctx, `${name}-pooler`, labels.pooler),
      spec: {
        podSelector: { matchLabels: labels.pooler },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { ...props.allowedNamespaceLabels } } }],
            ports: poolerPools(spec).map((pool) => ({ port: String(pgbouncerPort(pool)), protocol: "TCP" })),
          },
        ],
      },
    });
  }
}
