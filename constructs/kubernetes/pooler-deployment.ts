/**
 * `PoolerDeployment`: the PgBouncer pods in front of the database Services, and the
 * endpoints applications connect to.
 */
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import type { StatefulSetV1SpecTemplateSpecContainer, StatefulSetV1SpecTemplateSpecVolume } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import { PORTS } from "../../src/cluster-spec";
import { PATHS, pgbouncerPort, pgbouncerRunDir } from "../../src/render";
import { PGBOUNCER_CONFIG_DIR, poolerPools, renderPoolerConfigMapData, serviceFqdn } from "../../src/render/kubernetes";
import { TLS_ITEMS, emptyDir, objectMeta, type KubernetesClusterContext } from "./context";
import { HOSTNAME_LABEL, POOLER_USERLIST_KEY } from "./props";
import { terraformLiterals } from "../private/terraform-literal";

/** Props of {@link PoolerDeployment}. */
export interface PoolerDeploymentProps {
  readonly cluster: KubernetesClusterContext;
  /** PgBouncer image. */
  readonly image: string;
  /** Secret holding the PgBouncer userlist under `POOLER_USERLIST_KEY`. */
  readonly credentialsSecretName: string;
  /** `kubernetes.io/tls` Secret (with `ca.crt`) of the pooler pods. */
  readonly tlsSecretName: string;
  /** Node label of the availability zone (topology spread). */
  readonly zoneLabel: string;
}

/**
 * The pooler side of a cluster on Kubernetes:
 * - ServiceAccount `<cluster>-pooler` (no token, no Role) and ConfigMap `<cluster>-pooler`
 *   (one PgBouncer ini per pool, `renderPoolerConfigMapData`).
 * - Deployment `<cluster>-pooler`: `max(2, pooler.instanceCount)` replicas, one PgBouncer
 *   container per pool (rw 6432; ro 6433, distributed), spread over zones (DoNotSchedule)
 *   and nodes (ScheduleAnyway); rolling updates never take a replica away first
 *   (maxUnavailable 0); a config hash annotation rolls the pods when the ConfigMap changes.
 * - PodDisruptionBudget (maxUnavailable 1) and the endpoint Services `<cluster>-rw`
 *   (5432 → 6432) and, distributed, `<cluster>-ro` (5433 → 6433).
 *
 * Its resources are created in `scope` (the `ManagedPostgresKubernetes`), not under this
 * construct, so their construct paths and Terraform addresses stay those the cluster has
 * always had (`<cluster>/pooler`, `<cluster>/rw-service`, …).
 */
export class PoolerDeployment extends Construct {
  /** The PgBouncer Deployment. */
  public readonly deployment: DeploymentV1;
  /** DNS name of the read-write endpoint (`<cluster>-rw` Service), port 5432. */
  public readonly readWriteEndpoint: string;
  /** DNS name of the `<cluster>-ro` Service (port 5433); undefined for standalone, whose cluster `readOnlyEndpoint` is the read-write one. */
  public readonly readOnlyEndpoint?: string;

  constructor(scope: Construct, id: string, props: PoolerDeploymentProps) {
    super(scope, id);
    const ctx = props.cluster;
    const { spec, placement } = ctx;
    const name = spec.name;
    const poolerLabels = ctx.labels.pooler;
    const meta = (n: string) => objectMeta(ctx, n, poolerLabels);
    const pools = poolerPools(spec);

    const serviceAccount = new ServiceAccountV1(scope, "pooler-service-account", {
      metadata: meta(`${name}-pooler`),
      automountServiceAccountToken: false,
    });
    const config = new ConfigMapV1(scope, "pooler-config", {
      metadata: meta(`${name}-pooler`),
      data: terraformLiterals(renderPoolerConfigMapData(spec, placement, ctx.runtime)),
    });

    const containers: StatefulSetV1SpecTemplateSpecContainer[] = pools.map((pool) => ({
      name: `pgbouncer-${pool}`,
      image: props.image,
      imagePullPolicy: "IfNotPresent",
      command: ["pgbouncer", `${PGBOUNCER_CONFIG_DIR}/pgbouncer-${pool}.ini`],
      port: [{ name: `pgbouncer-${pool}`, containerPort: pgbouncerPort(pool) }],
      resources: { requests: { cpu: "250m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } },
      securityContext: ctx.containerSecurity,
      volumeMount: [
        { name: "pgbouncer-config", mountPath: PGBOUNCER_CONFIG_DIR, readOnly: true },
        { name: "tls", mountPath: PATHS.tlsDir, readOnly: true },
        { name: `run-${pool}`, mountPath: pgbouncerRunDir(pool) },
        { name: "tmp", mountPath: "/tmp" },
      ],
      livenessProbe: { tcpSocket: [{ port: String(pgbouncerPort(pool)) }], periodSeconds: 10, initialDelaySeconds: 5 },
      readinessProbe: { tcpSocket: [{ port: String(pgbouncerPort(pool)) }], periodSeconds: 5 },
    }));
    const volumes: StatefulSetV1SpecTemplateSpecVolume[] = [
      {
        name: "pgbouncer-config",
        projected: [
          {
            defaultMode: "0440",
            sources: [
              { configMap: [{ name: config.metadata.name }] },
              { secret: [{ name: props.credentialsSecretName, items: [{ key: POOLER_USERLIST_KEY, path: "userlist.txt" }] }] },
            ],
          },
        ],
      },
      { name: "tls", secret: { secretName: props.tlsSecretName, defaultMode: "0440", items: TLS_ITEMS } },
      ...pools.map((pool) => emptyDir(`run-${pool}`)),
      emptyDir("tmp"),
    ];
    this.deployment = new DeploymentV1(scope, "pooler", {
      metadata: meta(`${name}-pooler`),
      spec: {
        replicas: String(Math.max(2, spec.pooler.instanceCount)),
        selector: { matchLabels: poolerLabels },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "0", maxSurge: "1" } },
        template: {
          metadata: {
            labels: poolerLabels,
            annotations: { "managed-postgres/config-sha256": Fn.sha256(Fn.jsonencode(config.data)) },
          },
          spec: {
            serviceAccountName: serviceAccount.metadata.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: ctx.podSecurity,
            topologySpreadConstraint: [
              { maxSkew: 1, topologyKey: props.zoneLabel, whenUnsatisfiable: "DoNotSchedule", labelSelector: [{ matchLabels: poolerLabels }] },
              { maxSkew: 1, topologyKey: HOSTNAME_LABEL, whenUnsatisfiable: "ScheduleAnyway", labelSelector: [{ matchLabels: poolerLabels }] },
            ],
            container: containers,
            volume: volumes,
          },
        },
      },
    });
    new PodDisruptionBudgetV1(scope, "pooler-pdb", {
      metadata: meta(`${name}-pooler`),
      spec: { maxUnavailable: "1", selector: { matchLabels: poolerLabels } },
    });
    const rw = new ServiceV1(scope, "rw-service", {
      metadata: meta(`${name}-rw`),
      spec: {
        type: "ClusterIP",
        selector: poolerLabels,
        port: [{ name: "postgresql", port: PORTS.endpointReadWrite, targetPort: String(PORTS.pgbouncerReadWrite) }],
      },
    });
    this.readWriteEndpoint = serviceFqdn(rw.metadata.name, placement);
    if (spec.deployment === "distributed") {
      const ro = new ServiceV1(scope, "ro-service", {
        metadata: meta(`${name}-ro`),
        spec: {
          type: "ClusterIP",
          selector: poolerLabels,
          port: [{ name: "postgresql", port: PORTS.endpointReadOnly, targetPort: String(PORTS.pgbouncerReadOnly) }],
        },
      });
      this.readOnlyEndpoint = serviceFqdn(ro.metadata.name, placement);
    }
  }
}
