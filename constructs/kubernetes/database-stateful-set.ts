/**
 * `DatabaseStatefulSet`: the database pods (Patroni + PostgreSQL, the backup scheduler and,
 * distributed, the pgBackRest TLS server), their identity, configuration, volumes and the
 * database Services.
 */
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { PersistentVolumeClaimV1 } from "@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
import { RoleBindingV1 } from "@cdktf/provider-kubernetes/lib/role-binding-v1";
import { RoleV1 } from "@cdktf/provider-kubernetes/lib/role-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import {
  StatefulSetV1,
  type StatefulSetV1SpecTemplateSpecContainer,
  type StatefulSetV1SpecTemplateSpecContainerEnv,
  type StatefulSetV1SpecTemplateSpecVolume,
} from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import { PORTS, SIZES } from "../../src/cluster-spec";
import { PATHS, PGBACKREST_LOG_PATH, PGBACKREST_TLS_SERVER_PORT, POSTGRES_SOCKET_DIRECTORY } from "../../src/render";
import {
  BACKUP_SCHEDULER_SCRIPT,
  MAINTENANCE_AGENT_SCRIPT,
  PATRONI_CONFIG_KEY,
  PATRONI_PRIMARY_ROLE,
  PATRONI_REPLICA_ROLE,
  PATRONI_ROLE_LABEL,
  PGBACKREST_MEMBER_CONFIG_DIR,
  maintenanceEnvironment,
  maintenanceLockName,
  maintenanceRoleRules,
  membersServiceName,
  patroniPodEnvironment,
  patroniRoleRules,
  pgbackrestConfigKey,
  primaryServiceName,
  renderDatabaseConfigMapData,
  replicasServiceName,
} from "../../src/render/kubernetes";
import { TLS_ITEMS, emptyDir, objectMeta, type KubernetesClusterContext } from "./context";
import { CREDENTIAL_KEYS, HOSTNAME_LABEL } from "./props";
import { LABEL_DEPLOYMENT_MODEL, LABEL_MAJOR_VERSION, LABEL_MEMBER } from "./safety";
import { terraformLiterals } from "../private/terraform-literal";

/** Props of {@link DatabaseStatefulSet}. */
export interface DatabaseStatefulSetProps {
  readonly cluster: KubernetesClusterContext;
  /** Database image (Patroni, PostgreSQL, pgBackRest, curl). */
  readonly image: string;
  /** StorageClass of the data volumes. */
  readonly storageClassName: string;
  /** Secret with the keys of `CREDENTIAL_KEYS`. */
  readonly credentialsSecretName: string;
  /** `kubernetes.io/tls` Secret (with `ca.crt`) of the database pods. */
  readonly tlsSecretName: string;
  /** Node label of the availability zone (topology spread). */
  readonly zoneLabel: string;
  /** IAM role the service account is annotated with (IRSA), token. */
  readonly backupRoleArn: string;
}

/**
 * The database side of a cluster on Kubernetes:
 * - ServiceAccount `<cluster>` (token mounted: Patroni's DCS is the Kubernetes API;
 *   `eks.amazonaws.com/role-arn` = `backupRoleArn`), Role and RoleBinding `<cluster>-patroni`
 *   with `patroniRoleRules` and `maintenanceRoleRules`.
 * - ConfigMap `<cluster>-maintenance`: the roll lock of the maintenance agent (its data and
 *   annotations belong to the agent and the operator: Terraform ignores their changes).
 * - ConfigMap `<cluster>-database` (`renderDatabaseConfigMapData`, kept literal for
 *   Terraform).
 * - PVCs `data-<cluster>-<i>` (`storageGiB` Gi, grow in place, `prevent_destroy`) and the
 *   StatefulSet `<cluster>` (1 or 3 pods; distributed: spread over zones with maxSkew 1 /
 *   DoNotSchedule, required anti-affinity per node; update strategy `OnDelete`: a new pod
 *   template — a changed image, size or ConfigMap (its hash is an annotation) — is rolled by
 *   the `maintenance` container of each pod, replicas first and the primary after a
 *   switchover, in the maintenance window: docs/operations.md).
 * - Services `<cluster>-members` (headless), `<cluster>-primary` (`role=master`) and,
 *   distributed, `<cluster>-replicas` (`role=replica`) and the PodDisruptionBudget
 *   (maxUnavailable 1).
 *
 * Its resources are created in `scope` (the `ManagedPostgresKubernetes`), not under this
 * construct, so their construct paths and Terraform addresses stay those the cluster has
 * always had (`<cluster>/database`, `<cluster>/data-0`, …): an existing state keeps matching
 * and nothing is replaced.
 */
export class DatabaseStatefulSet extends Construct {
  /** The StatefulSet. */
  public readonly statefulSet: StatefulSetV1;
  /** The ConfigMap `<cluster>-database`. */
  public readonly configMap: ConfigMapV1;
  /** The database pods' ServiceAccount. */
  public readonly serviceAccount: ServiceAccountV1;

  constructor(scope: Construct, id: string, props: DatabaseStatefulSetProps) {
    super(scope, id);
    const ctx = props.cluster;
    const { spec, labels, placement } = ctx;
    const name = spec.name;
    const ns = placement.namespace;
    const distributed = spec.deployment === "distributed";
    const memberCount = distributed ? 3 : 1;
    const size = SIZES[spec.size];
    const dbLabels = labels.database;
    const meta = (n: string, l: Record<string, string> = dbLabels, annotations?: Record<string, string>) => objectMeta(ctx, n, l, annotations);

    // ---- Identity and RBAC -------------------------------------------------------------
    this.serviceAccount = new ServiceAccountV1(scope, "service-account", {
      metadata: meta(name, dbLabels, { "eks.amazonaws.com/role-arn": props.backupRoleArn }),
      automountServiceAccountToken: true,
    });
    const rbacRole = new RoleV1(scope, "patroni-role", {
      metadata: meta(`${name}-patroni`),
      rule: [...patroniRoleRules(spec, memberCount), ...maintenanceRoleRules(spec, memberCount)],
    });
    new RoleBindingV1(scope, "patroni-role-binding", {
      metadata: meta(`${name}-patroni`),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: rbacRole.metadata.name },
      subject: [{ kind: "ServiceAccount", name: this.serviceAccount.metadata.name, namespace: ns }],
    });

    // ---- Configuration -----------------------------------------------------------------
    const data = terraformLiterals(renderDatabaseConfigMapData(spec, placement, ctx.runtime));
    this.configMap = new ConfigMapV1(scope, "database-config", { metadata: meta(`${name}-database`), data });
    // The roll lock: created empty here (the agent may only get and update it); the agent writes
    // its data, an operator annotates it to pause the roll.
    new ConfigMapV1(scope, "maintenance-lock", {
      metadata: meta(maintenanceLockName(spec)),
      data: { holder: "", renewed: "0", action: "" },
      lifecycle: { ignoreChanges: ["data", "metadata[0].annotations"] },
    });

    // ---- Pods --------------------------------------------------------------------------
    const containerSecurity = ctx.containerSecurity;
    const credentials = props.credentialsSecretName;
    const secretEnv = (envName: string, key: string): StatefulSetV1SpecTemplateSpecContainerEnv => ({
      name: envName,
      valueFrom: { secretKeyRef: { name: credentials, key } },
    });
    const resources = {
      requests: { cpu: String(size.vcpu), memory: `${size.memoryMiB}Mi` },
      limits: { cpu: String(size.vcpu), memory: `${size.memoryMiB}Mi` },
    };
    const membersSvc = membersServiceName(spec);
    const pgbackrestConfigEnv = { name: "PGBACKREST_CONFIG", value: `${PGBACKREST_MEMBER_CONFIG_DIR}/pgbackrest-$(POD_NAME).conf` };
    const podNameEnv = { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } };
    const dbEnv: StatefulSetV1SpecTemplateSpecContainerEnv[] = [
      podNameEnv,
      { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      ...patroniPodEnvironment().map(([n, v]) => ({ name: n, value: v })),
      secretEnv("PATRONI_SUPERUSER_PASSWORD", CREDENTIAL_KEYS.superuserPassword),
      secretEnv("PATRONI_REPLICATION_PASSWORD", CREDENTIAL_KEYS.replicationPassword),
      secretEnv("PATRONI_REWIND_PASSWORD", CREDENTIAL_KEYS.rewindPassword),
      secretEnv("PATRONI_RESTAPI_PASSWORD", CREDENTIAL_KEYS.restapiPassword),
      secretEnv("PGBOUNCER_AUTH_PASSWORD", CREDENTIAL_KEYS.pgbouncerAuthPassword),
      secretEnv("PGBACKREST_REPO1_CIPHER_PASS", CREDENTIAL_KEYS.backupCipherPass),
      pgbackrestConfigEnv,
    ];
    const mounts = [
      { name: "data", mountPath: PATHS.dataMount },
      { name: "patroni-config", mountPath: "/etc/patroni", readOnly: true },
      { name: "pgbackrest-config", mountPath: PGBACKREST_MEMBER_CONFIG_DIR, readOnly: true },
      { name: "tls", mountPath: PATHS.tlsDir, readOnly: true },
      { name: "run-postgresql", mountPath: POSTGRES_SOCKET_DIRECTORY },
      { name: "tmp", mountPath: "/tmp" },
      { name: "home", mountPath: "/var/lib/postgresql" },
      { name: "pgbackrest-log", mountPath: PGBACKREST_LOG_PATH },
    ];
    const patroniProbe = (path: string, period: number, failures: number) => ({
      httpGet: { path, port: String(PORTS.patroniRest), scheme: "HTTPS" },
      periodSeconds: period,
      timeoutSeconds: 5,
      failureThreshold: failures,
    });
    const containers: StatefulSetV1SpecTemplateSpecContainer[] = [
      {
        name: "postgres",
        image: props.image,
        imagePullPolicy: "IfNotPresent",
        command: ["patroni", `/etc/patroni/${PATRONI_CONFIG_KEY}`],
        env: dbEnv,
        port: [
          { name: "postgresql", containerPort: PORTS.postgres },
          { name: "patroni", containerPort: PORTS.patroniRest },
        ],
        resources,
        securityContext: containerSecurity,
        volumeMount: mounts,
        // Patroni answers /liveness while its HA loop runs; /readiness once PostgreSQL is
        // running as the leader or a streaming replica (Patroni REST API, port 8008).
        livenessProbe: { ...patroniProbe("/liveness", 10, 6), initialDelaySeconds: 10 },
        readinessProbe: patroniProbe("/readiness", 5, 3),
        // A restore or a replica built from a large backup may take long: up to 1 h before liveness applies.
        startupProbe: patroniProbe("/liveness", 10, 360),
      },
      {
        name: "backup",
        image: props.image,
        imagePullPolicy: "IfNotPresent",
        command: ["sh", BACKUP_SCHEDULER_SCRIPT],
        env: [podNameEnv, secretEnv("PGBACKREST_REPO1_CIPHER_PASS", CREDENTIAL_KEYS.backupCipherPass), pgbackrestConfigEnv],
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
        securityContext: containerSecurity,
        volumeMount: mounts,
        // Deliberately shallow: the scheduler's readiness counts in the pod's readiness, and an S3
        // or STS outage must never take the primary out of its Service. Backup failures are
        // logged (kubectl logs -c backup) and show in `pgbackrest info`.
        livenessProbe: { exec: { command: ["sh", "-c", "kill -0 1"] }, periodSeconds: 60 },
        readinessProbe: { exec: { command: ["sh", "-c", "kill -0 1"] }, periodSeconds: 60 },
      },
    ];
    containers.push({
      name: "maintenance",
      image: props.image,
      imagePullPolicy: "IfNotPresent",
      command: ["python3", MAINTENANCE_AGENT_SCRIPT],
      env: [
        podNameEnv,
        ...maintenanceEnvironment(spec, placement).map(([n, v]) => ({ name: n, value: v })),
        secretEnv("PATRONI_RESTAPI_PASSWORD", CREDENTIAL_KEYS.restapiPassword),
      ],
      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
      securityContext: containerSecurity,
      // the data volume read-only: its size gives the WAL limits the agent sets on the primary
      volumeMount: [
        { ...mounts.find((m) => m.name === "data")!, readOnly: true },
        ...mounts.filter((m) => ["patroni-config", "tls", "tmp"].includes(m.name)),
      ],
      // Shallow, like the backup container's: the agent's own trouble must never take the pod out of its Service.
      livenessProbe: { exec: { command: ["sh", "-c", "kill -0 1"] }, periodSeconds: 60 },
      readinessProbe: { exec: { command: ["sh", "-c", "kill -0 1"] }, periodSeconds: 60 },
    });
    if (distributed) {
      containers.push({
        name: "pgbackrest-server",
        image: props.image,
        imagePullPolicy: "IfNotPresent",
        command: ["pgbackrest", "server"],
        env: [podNameEnv, pgbackrestConfigEnv],
        port: [{ name: "pgbackrest", containerPort: PGBACKREST_TLS_SERVER_PORT }],
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
        securityContext: containerSecurity,
        volumeMount: mounts,
        livenessProbe: { tcpSocket: [{ port: String(PGBACKREST_TLS_SERVER_PORT) }], periodSeconds: 20, initialDelaySeconds: 10 },
        readinessProbe: { tcpSocket: [{ port: String(PGBACKREST_TLS_SERVER_PORT) }], periodSeconds: 10 },
      });
    }
    const patroniItems = Object.keys(data)
      .filter((k) => !k.startsWith("pgbackrest-"))
      .map((k) => ({ key: k, path: k, ...(k.endsWith(".sh") ? { mode: "0550" } : {}) }));
    const volumes: StatefulSetV1SpecTemplateSpecVolume[] = [
      { name: "patroni-config", configMap: { name: this.configMap.metadata.name, defaultMode: "0440", items: patroniItems } },
      {
        name: "pgbackrest-config",
        configMap: {
          name: this.configMap.metadata.name,
          defaultMode: "0440",
          items: Array.from({ length: memberCount }, (_, i) => ({ key: pgbackrestConfigKey(`${name}-${i}`), path: pgbackrestConfigKey(`${name}-${i}`) })),
        },
      },
      // 0440, owned by root:fsGroup: PostgreSQL accepts a root-owned key readable by its group.
      { name: "tls", secret: { secretName: props.tlsSecretName, defaultMode: "0440", items: TLS_ITEMS } },
      emptyDir("run-postgresql"),
      emptyDir("tmp", "1Gi"),
      emptyDir("home"),
      emptyDir("pgbackrest-log", "1Gi"),
    ];
    // Computed by Terraform from the ConfigMap's final data (tokens resolved): a configuration
    // change rolls the pods; adding unrelated resources to the app does not.
    const configHash = Fn.sha256(Fn.jsonencode(this.configMap.data));
    const affinity = distributed
      ? {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: HOSTNAME_LABEL, labelSelector: [{ matchLabels: dbLabels }] }],
          },
        }
      : undefined;
    const spread = distributed
      ? [{ maxSkew: 1, topologyKey: props.zoneLabel, whenUnsatisfiable: "DoNotSchedule", labelSelector: [{ matchLabels: dbLabels }] }]
      : undefined;

    const pvcs = Array.from({ length: memberCount }, (_, i) =>
      new PersistentVolumeClaimV1(scope, `data-${i}`, {
        // The labels let the safety rules read the deployed model, version and size back from the state.
        metadata: meta(`data-${name}-${i}`, {
          ...dbLabels,
          [LABEL_DEPLOYMENT_MODEL]: spec.deployment,
          [LABEL_MAJOR_VERSION]: String(spec.majorVersion),
          [LABEL_MEMBER]: String(i),
        }),
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: props.storageClassName,
          resources: { requests: { storage: `${spec.storageGiB}Gi` } },
        },
        // WaitForFirstConsumer classes bind only when the pod is scheduled.
        waitUntilBound: false,
        lifecycle: { preventDestroy: ctx.preventDestroy },
      }),
    );

    this.statefulSet = new StatefulSetV1(scope, "database", {
      metadata: meta(name),
      spec: {
        serviceName: membersSvc,
        replicas: String(memberCount),
        podManagementPolicy: "Parallel",
        // The maintenance agent rolls the pods (replicas first, the primary after a switchover, in
        // the window); RollingUpdate would replace them by ordinal, the primary possibly first.
        updateStrategy: [{ type: "OnDelete" }],
        persistentVolumeClaimRetentionPolicy: [{ whenDeleted: "Retain", whenScaled: "Retain" }],
        selector: { matchLabels: dbLabels },
        template: {
          metadata: { labels: labels.databasePod, annotations: { "managed-postgres/config-sha256": configHash } },
          spec: {
            serviceAccountName: this.serviceAccount.metadata.name,
            automountServiceAccountToken: true,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 60,
            securityContext: ctx.podSecurity,
            affinity,
            topologySpreadConstraint: spread,
            container: containers,
            volume: volumes,
          },
        },
        volumeClaimTemplate: [
          {
            metadata: { name: "data", labels: dbLabels },
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName: props.storageClassName,
              resources: { requests: { storage: `${spec.storageGiB}Gi` } },
            },
          },
        ],
      },
      // The PVCs above are the ones the StatefulSet adopts (data-<cluster>-<i>); their size
      // grows in place through them. The template is immutable in the Kubernetes API.
      lifecycle: { ignoreChanges: ["spec[0].volume_claim_template"] },
      dependsOn: pvcs,
    });

    // ---- Services ----------------------------------------------------------------------
    new ServiceV1(scope, "members-service", {
      metadata: meta(membersSvc),
      spec: {
        clusterIp: "None",
        // Members must resolve each other while not ready (bootstrap, replica creation).
        publishNotReadyAddresses: true,
        selector: dbLabels,
        port: [
          { name: "postgresql", port: PORTS.postgres, targetPort: String(PORTS.postgres) },
          { name: "patroni", port: PORTS.patroniRest, targetPort: String(PORTS.patroniRest) },
          ...(distributed ? [{ name: "pgbackrest", port: PGBACKREST_TLS_SERVER_PORT, targetPort: String(PGBACKREST_TLS_SERVER_PORT) }] : []),
        ],
      },
    });
    new ServiceV1(scope, "primary-service", {
      metadata: meta(primaryServiceName(spec)),
      spec: {
        type: "ClusterIP",
        selector: { ...labels.databasePod, [PATRONI_ROLE_LABEL]: PATRONI_PRIMARY_ROLE },
        port: [{ name: "postgresql", port: PORTS.postgres, targetPort: String(PORTS.postgres) }],
      },
    });
    if (distributed) {
      new ServiceV1(scope, "replicas-service", {
        metadata: meta(replicasServiceName(spec)),
        spec: {
          type: "ClusterIP",
          selector: { ...labels.databasePod, [PATRONI_ROLE_LABEL]: PATRONI_REPLICA_ROLE },
          port: [{ name: "postgresql", port: PORTS.postgres, targetPort: String(PORTS.postgres) }],
        },
      });
      new PodDisruptionBudgetV1(scope, "database-pdb", {
        metadata: meta(name),
        spec: { maxUnavailable: "1", selector: { matchLabels: dbLabels } },
      });
    }
  }
}
