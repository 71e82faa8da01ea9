/**
 * `ManagedPostgresKubernetes`: the cluster spec on Kubernetes, as typed
 * `@cdktf/provider-kubernetes` resources (no `kubernetes_manifest`, so `terraform plan`
 * needs no cluster round trip for CRDs), plus the S3 backup bucket and the IAM role for the
 * service account (IRSA) through `@cdktf/provider-aws`, in the same stack.
 */
import { createHash } from "node:crypto";
import { Aspects, Fn, Token } from "cdktf";
import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
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
  type StatefulSetV1SpecTemplateSpecContainerSecurityContext,
  type StatefulSetV1SpecTemplateSpecSecurityContext,
  type StatefulSetV1SpecTemplateSpecVolume,
} from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import { AwsEnvironment } from "../aws/environment";
import { HclSafeStrings } from "../private/hcl";
import { PolicyPack } from "../policy-pack";
import { POLICY_RULES } from "../../src/rules/policy";
import { KUBERNETES_RULES } from "../../src/rules/policy/kubernetes";
import { LABEL_DEPLOYMENT_MODEL, LABEL_MAJOR_VERSION, LABEL_MEMBER, applyKubernetesSafetyRules } from "./safety";
import { BackupBucket } from "../aws/backup-bucket";
import { PORTS, SIZES, SpecValidationError, TAG_CLUSTER, validateClusterSpec, type ResolvedClusterSpec } from "../../src/cluster-spec";
import { PATHS, PGBACKREST_LOG_PATH, PGBACKREST_TLS_SERVER_PORT, POSTGRES_SOCKET_DIRECTORY, pgbouncerRunDir } from "../../src/render";
import {
  BACKUP_SCHEDULER_SCRIPT,
  PATRONI_CONFIG_KEY,
  PATRONI_PRIMARY_ROLE,
  PATRONI_REPLICA_ROLE,
  PATRONI_ROLE_LABEL,
  PATRONI_SCOPE_LABEL,
  PGBACKREST_MEMBER_CONFIG_DIR,
  PGBOUNCER_CONFIG_DIR,
  membersServiceName,
  pgbackrestConfigKey,
  poolerPools,
  primaryServiceName,
  renderDatabaseConfigMapData,
  renderPoolerConfigMapData,
  replicasServiceName,
  type KubernetesPlacement,
  patroniPodEnvironment,
  patroniRoleRules,
} from "../../src/render/kubernetes";
import {
  CREDENTIAL_KEYS,
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_RUN_AS_USER,
  DEFAULT_ZONE_LABEL,
  HOSTNAME_LABEL,
  POOLER_USERLIST_KEY,
  checkKubernetesProps,
  type ManagedPostgresKubernetesProps,
} from "./props";

/**
 * A PostgreSQL cluster (Patroni, PgBouncer, pgBackRest) on Kubernetes from a cluster spec.
 *
 * Resources (names `<cluster>-…` in `props.namespace`):
 * - ServiceAccount `<cluster>` (token mounted: Patroni's DCS is the Kubernetes API; IRSA
 *   annotation `eks.amazonaws.com/role-arn`), Role and RoleBinding with
 *   {@link patroniRoleRules}; ServiceAccount `<cluster>-pooler` (no token, no Role).
 * - ConfigMaps `<cluster>-database` (patroni.yml, post-bootstrap script and SQL,
 *   pgbackrest per member, backup scheduler) and `<cluster>-pooler` (pgbouncer ini files).
 * - PVCs `data-<cluster>-<i>` (`storageGiB` Gi, `storageClassName`, grow in place,
 *   `prevent_destroy`) and the StatefulSet `<cluster>` (1 or 3 pods; distributed: spread
 *   over 3 zones with maxSkew 1 / DoNotSchedule, required anti-affinity per node).
 * - Services `<cluster>-members` (headless), `<cluster>-primary` (`role=master`),
 *   `<cluster>-replicas` (`role=replica`, distributed), `<cluster>-rw` / `<cluster>-ro`
 *   (the pooler; `ro` distributed only).
 * - Deployment `<cluster>-pooler` (`pooler.instanceCount` replicas, at least 2, spread over
 *   zones), PodDisruptionBudgets (database: distributed only, maxUnavailable 1; pooler:
 *   maxUnavailable 1), NetworkPolicies `<cluster>-database` and `<cluster>-pooler`.
 * - AWS: the backup bucket (`BackupBucket`), a KMS key unless `backup.kmsKeyArn`, the IAM
 *   role `<cluster>-<namespace>-backup` ({@link iamRoleName}) trusted by the OIDC provider for exactly
 *   `system:serviceaccount:<namespace>:<cluster>` and audience `sts.amazonaws.com`, and
 *   its policy (bucket prefix `<cluster>/`, the key).
 *
 * Not created (see docs/kubernetes.md): the namespace, the credentials and TLS Secrets.
 *
 * Safety rules (as on AWS, `docs/safety.md`): end of support warns 180 days ahead and fails
 * synth after; with a prior state (context `managed-postgres:priorState`,
 * `MANAGED_POSTGRES_PRIOR_STATE` or the local backend's state file) a model change, a storage
 * shrink, a version downgrade or an unflagged major upgrade fails synth.
 *
 * Unless `policyPack` is false, the stack is checked at synth by the policy pack (AWS rules and
 * the Kubernetes rules MP-K8S-1..9); an error finding fails synth.
 *
 * @throws SpecValidationError at construction, listing every invalid spec field or prop
 */
export class ManagedPostgresKubernetes extends Construct {
  /** The spec with defaults applied. */
  public readonly spec: ResolvedClusterSpec;
  /** Namespace of every object. */
  public readonly namespace: string;
  /** The database StatefulSet. */
  public readonly statefulSet: StatefulSetV1;
  /** The PgBouncer Deployment. */
  public readonly pooler: DeploymentV1;
  /** DNS name of the read-write endpoint (the pooler's rw Service), port 5432. */
  public readonly readWriteEndpoint: string;
  /** DNS name of the read-only endpoint (distributed; port 5433), undefined for standalone. */
  public readonly readOnlyEndpoint?: string;
  /** ARN of the IAM role the database pods use for backups (token). */
  public readonly backupRoleArn: string;
  /** The backup bucket. */
  public readonly backupBucket: BackupBucket;

  constructor(scope: Construct, id: string, props: ManagedPostgresKubernetesProps) {
    super(scope, id);
    // `cdktf synth --hcl`: strings holding references and quotes stay parseable HCL.
    Aspects.of(this).add(new HclSafeStrings());
    const isUnresolved = (v: unknown) => Token.isUnresolved(v);
    let spec: ResolvedClusterSpec;
    const propIssues = checkKubernetesProps(props, isUnresolved);
    try {
      spec = validateClusterSpec(props.spec, { requireNetwork: false, isUnresolved, source: this.node.path }).spec;
    } catch (err) {
      if (err instanceof SpecValidationError) {
        throw new SpecValidationError(
          [...err.issues, ...propIssues.map((i) => ({ path: i.path, value: undefined, message: i.message }))],
          this.node.path,
        );
      }
      throw err;
    }
    if (propIssues.length > 0) {
      throw new SpecValidationError(
        propIssues.map((i) => ({ path: i.path, value: undefined, message: i.message })),
        this.node.path,
      );
    }
    this.spec = spec;
    const ns = props.namespace;
    this.namespace = ns;
    const name = spec.name;
    const distributed = spec.deployment === "distributed";
    const memberCount = distributed ? 3 : 1;
    const uid = String(props.runAsUser ?? DEFAULT_RUN_AS_USER);
    const zoneLabel = props.zoneLabel ?? DEFAULT_ZONE_LABEL;
    const clusterDomain = props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    const preventDestroy = props.preventDestroy ?? true;
    const credentials = props.credentialsSecretName ?? `${name}-credentials`;
    const poolerCredentials = props.poolerCredentialsSecretName ?? `${name}-pooler-credentials`;
    const tlsSecret = props.tlsSecretName ?? `${name}-tls`;
    const poolerTlsSecret = props.poolerTlsSecretName ?? `${name}-pooler-tls`;
    const size = SIZES[spec.size];

    const common = {
      "app.kubernetes.io/name": "managed-postgres",
      "app.kubernetes.io/instance": name,
      "app.kubernetes.io/managed-by": "cdktf-managed-postgres",
    };
    const dbLabels = { ...common, "app.kubernetes.io/component": "database" };
    const dbPodLabels = { ...dbLabels, [PATRONI_SCOPE_LABEL]: name };
    const poolerLabels = { ...common, "app.kubernetes.io/component": "pooler" };
    const placement: KubernetesPlacement = {
      namespace: ns,
      clusterDomain,
      podNetworkCidrs: [...props.podNetworkCidrs],
      databaseLabels: dbLabels,
    };
    const meta = (n: string, labels: Record<string, string> = common, annotations?: Record<string, string>) => ({
      name: n,
      namespace: ns,
      labels,
      ...(annotations ? { annotations } : {}),
    });

    // ---- AWS: bucket, key, IRSA role -------------------------------------------------
    const env = new AwsEnvironment(this, "aws");
    const kmsKeyArn =
      props.backup.kmsKeyArn ??
      new KmsKey(this, "backup-key", {
        description: `managed-postgres ${name} (Kubernetes): backup bucket`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags: { ...spec.tags, [TAG_CLUSTER]: name },
        lifecycle: { preventDestroy },
      }).arn;
    this.backupBucket = new BackupBucket(this, "backup-bucket", {
      spec,
      kmsKeyArn,
      noncurrentVersionExpirationDays: props.backup.noncurrentVersionExpirationDays ?? 30,
      preventDestroy,
    });
    const issuer = props.backup.oidcIssuer;
    const trust = new DataAwsIamPolicyDocument(this, "backup-role-trust", {
      statement: [
        {
          sid: "ServiceAccountOfTheDatabasePods",
          effect: "Allow",
          principals: [{ type: "Federated", identifiers: [props.backup.oidcProviderArn] }],
          actions: ["sts:AssumeRoleWithWebIdentity"],
          condition: [
            { test: "StringEquals", variable: `${issuer}:sub`, values: [`system:serviceaccount:${ns}:${name}`] },
            { test: "StringEquals", variable: `${issuer}:aud`, values: ["sts.amazonaws.com"] },
          ],
        },
      ],
    });
    const role = new IamRole(this, "backup-role", {
      // IAM role names are account-wide: the namespace keeps two Kubernetes clusters' `orders` apart.
      name: iamRoleName(`${name}-${ns}-backup`),
      description: `pgBackRest of managed-postgres ${name} in Kubernetes namespace ${ns} (IRSA)`,
      assumeRolePolicy: trust.json,
      tags: { ...spec.tags, [TAG_CLUSTER]: name },
    });
    this.backupRoleArn = role.arn;
    const bucketArn = this.backupBucket.bucketArn;
    const permissions = new DataAwsIamPolicyDocument(this, "backup-role-permissions", {
      statement: [
        {
          sid: "ListRepository",
          effect: "Allow",
          actions: ["s3:ListBucket"],
          resources: [bucketArn],
          condition: [{ test: "StringLike", variable: "s3:prefix", values: [`${name}/*`, name] }],
        },
        {
          sid: "ReadWriteRepository",
          effect: "Allow",
          actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
          resources: [`${bucketArn}/${name}/*`],
        },
        {
          sid: "UseBucketKey",
          effect: "Allow",
          actions: ["kms:Decrypt", "kms:GenerateDataKey"],
          resources: [kmsKeyArn],
        },
      ],
    });
    new IamRolePolicy(this, "backup-role-policy", {
      role: role.id,
      name: "pgbackrest-repository",
      policy: permissions.json,
    });

    // ---- Identity and RBAC -------------------------------------------------------------
    const sa = new ServiceAccountV1(this, "service-account", {
      metadata: meta(name, dbLabels, { "eks.amazonaws.com/role-arn": role.arn }),
      automountServiceAccountToken: true,
    });
    const rbacRole = new RoleV1(this, "patroni-role", {
      metadata: meta(`${name}-patroni`, dbLabels),
      rule: patroniRoleRules(spec, memberCount),
    });
    new RoleBindingV1(this, "patroni-role-binding", {
      metadata: meta(`${name}-patroni`, dbLabels),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: rbacRole.metadata.name },
      subject: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: ns }],
    });
    const poolerSa = new ServiceAccountV1(this, "pooler-service-account", {
      metadata: meta(`${name}-pooler`, poolerLabels),
      automountServiceAccountToken: false,
    });

    // ---- Configuration -----------------------------------------------------------------
    const runtime = { region: env.region, backupBucket: this.backupBucket.bucketName, kmsKeyArn, secretArn: "" };
    const dbData = terraformLiterals(renderDatabaseConfigMapData(spec, placement, runtime));
    const poolerData = terraformLiterals(renderPoolerConfigMapData(spec, placement, runtime));
    const dbConfig = new ConfigMapV1(this, "database-config", { metadata: meta(`${name}-database`, dbLabels), data: dbData });
    const poolerConfig = new ConfigMapV1(this, "pooler-config", { metadata: meta(`${name}-pooler`, poolerLabels), data: poolerData });

    // ---- Pod security ------------------------------------------------------------------
    const podSecurity: StatefulSetV1SpecTemplateSpecSecurityContext = {
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: uid,
      fsGroup: uid,
      fsGroupChangePolicy: "OnRootMismatch",
      seccompProfile: { type: "RuntimeDefault" },
    };
    const containerSecurity: StatefulSetV1SpecTemplateSpecContainerSecurityContext = {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    };
    const secretEnv = (envName: string, secret: string, key: string): StatefulSetV1SpecTemplateSpecContainerEnv => ({
      name: envName,
      valueFrom: { secretKeyRef: { name: secret, key } },
    });
    const resources = {
      requests: { cpu: String(size.vcpu), memory: `${size.memoryMiB}Mi` },
      limits: { cpu: String(size.vcpu), memory: `${size.memoryMiB}Mi` },
    };
    const emptyDir = (n: string, sizeLimit = "64Mi"): StatefulSetV1SpecTemplateSpecVolume => ({ name: n, emptyDir: { sizeLimit } });

    // ---- Database pods -----------------------------------------------------------------
    const membersSvc = membersServiceName(spec);
    const dbEnv: StatefulSetV1SpecTemplateSpecContainerEnv[] = [
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      ...patroniPodEnvironment().map(([n, v]) => ({ name: n, value: v })),
      secretEnv("PATRONI_SUPERUSER_PASSWORD", credentials, CREDENTIAL_KEYS.superuserPassword),
      secretEnv("PATRONI_REPLICATION_PASSWORD", credentials, CREDENTIAL_KEYS.replicationPassword),
      secretEnv("PATRONI_REWIND_PASSWORD", credentials, CREDENTIAL_KEYS.rewindPassword),
      secretEnv("PATRONI_RESTAPI_PASSWORD", credentials, CREDENTIAL_KEYS.restapiPassword),
      secretEnv("PGBOUNCER_AUTH_PASSWORD", credentials, CREDENTIAL_KEYS.pgbouncerAuthPassword),
      secretEnv("PGBACKREST_REPO1_CIPHER_PASS", credentials, CREDENTIAL_KEYS.backupCipherPass),
      { name: "PGBACKREST_CONFIG", value: `${PGBACKREST_MEMBER_CONFIG_DIR}/pgbackrest-$(POD_NAME).conf` },
    ];
    const dbMounts = [
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
    const dbContainers: StatefulSetV1SpecTemplateSpecContainer[] = [
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
        volumeMount: dbMounts,
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
        env: [
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          secretEnv("PGBACKREST_REPO1_CIPHER_PASS", credentials, CREDENTIAL_KEYS.backupCipherPass),
          { name: "PGBACKREST_CONFIG", value: `${PGBACKREST_MEMBER_CONFIG_DIR}/pgbackrest-$(POD_NAME).conf` },
        ],
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
        securityContext: containerSecurity,
        volumeMount: dbMounts,
        // Deliberately shallow: the scheduler's readiness counts in the pod's readiness, and an S3
        // or STS outage must never take the primary out of its Service. Backup failures are
        // logged (kubectl logs -c backup) and show in `pgbackrest info`.
        livenessProbe: { exec: { command: ["sh", "-c", "kill -0 1"] }, periodSeconds: 60 },
        readinessProbe: { exec: { command: ["sh", "-c", "kill -0 1"] }, periodSeconds: 60 },
      },
    ];
    if (distributed) {
      dbContainers.push({
        name: "pgbackrest-server",
        image: props.image,
        imagePullPolicy: "IfNotPresent",
        command: ["pgbackrest", "server"],
        env: [
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "PGBACKREST_CONFIG", value: `${PGBACKREST_MEMBER_CONFIG_DIR}/pgbackrest-$(POD_NAME).conf` },
        ],
        port: [{ name: "pgbackrest", containerPort: PGBACKREST_TLS_SERVER_PORT }],
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
        securityContext: containerSecurity,
        volumeMount: dbMounts,
        livenessProbe: { tcpSocket: [{ port: String(PGBACKREST_TLS_SERVER_PORT) }], periodSeconds: 20, initialDelaySeconds: 10 },
        readinessProbe: { tcpSocket: [{ port: String(PGBACKREST_TLS_SERVER_PORT) }], periodSeconds: 10 },
      });
    }
    const tlsItems = [
      { key: "tls.crt", path: "server.crt" },
      { key: "tls.key", path: "server.key" },
      { key: "ca.crt", path: "ca.crt" },
    ];
    const patroniItems = Object.keys(dbData)
      .filter((k) => !k.startsWith("pgbackrest-"))
      .map((k) => ({ key: k, path: k, ...(k.endsWith(".sh") ? { mode: "0550" } : {}) }));
    const dbVolumes: StatefulSetV1SpecTemplateSpecVolume[] = [
      { name: "patroni-config", configMap: { name: dbConfig.metadata.name, defaultMode: "0440", items: patroniItems } },
      {
        name: "pgbackrest-config",
        configMap: {
          name: dbConfig.metadata.name,
          defaultMode: "0440",
          items: Array.from({ length: memberCount }, (_, i) => ({ key: pgbackrestConfigKey(`${name}-${i}`), path: pgbackrestConfigKey(`${name}-${i}`) })),
        },
      },
      // 0440, owned by root:fsGroup: PostgreSQL accepts a root-owned key readable by its group.
      { name: "tls", secret: { secretName: tlsSecret, defaultMode: "0440", items: tlsItems } },
      emptyDir("run-postgresql"),
      emptyDir("tmp", "1Gi"),
      emptyDir("home"),
      emptyDir("pgbackrest-log", "1Gi"),
    ];
    // Computed by Terraform from the ConfigMap's final data (tokens resolved): a configuration
    // change rolls the pods; adding unrelated resources to the app does not.
    const configHash = Fn.sha256(Fn.jsonencode(dbConfig.data));
    const affinity = distributed
      ? {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { topologyKey: HOSTNAME_LABEL, labelSelector: [{ matchLabels: dbLabels }] },
            ],
          },
        }
      : undefined;
    const spread = distributed
      ? [{ maxSkew: 1, topologyKey: zoneLabel, whenUnsatisfiable: "DoNotSchedule", labelSelector: [{ matchLabels: dbLabels }] }]
      : undefined;

    const pvcs = Array.from({ length: memberCount }, (_, i) =>
      new PersistentVolumeClaimV1(this, `data-${i}`, {
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
        lifecycle: { preventDestroy },
      }),
    );

    this.statefulSet = new StatefulSetV1(this, "database", {
      metadata: meta(name, dbLabels),
      spec: {
        serviceName: membersSvc,
        replicas: String(memberCount),
        podManagementPolicy: "Parallel",
        updateStrategy: [{ type: "RollingUpdate" }],
        persistentVolumeClaimRetentionPolicy: [{ whenDeleted: "Retain", whenScaled: "Retain" }],
        selector: { matchLabels: dbLabels },
        template: {
          metadata: { labels: dbPodLabels, annotations: { "managed-postgres/config-sha256": configHash } },
          spec: {
            serviceAccountName: sa.metadata.name,
            automountServiceAccountToken: true,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 60,
            securityContext: podSecurity,
            affinity,
            topologySpreadConstraint: spread,
            container: dbContainers,
            volume: dbVolumes,
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

    // ---- Database services -------------------------------------------------------------
    new ServiceV1(this, "members-service", {
      metadata: meta(membersSvc, dbLabels),
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
    new ServiceV1(this, "primary-service", {
      metadata: meta(primaryServiceName(spec), dbLabels),
      spec: {
        type: "ClusterIP",
        selector: { ...dbPodLabels, [PATRONI_ROLE_LABEL]: PATRONI_PRIMARY_ROLE },
        port: [{ name: "postgresql", port: PORTS.postgres, targetPort: String(PORTS.postgres) }],
      },
    });
    if (distributed) {
      new ServiceV1(this, "replicas-service", {
        metadata: meta(replicasServiceName(spec), dbLabels),
        spec: {
          type: "ClusterIP",
          selector: { ...dbPodLabels, [PATRONI_ROLE_LABEL]: PATRONI_REPLICA_ROLE },
          port: [{ name: "postgresql", port: PORTS.postgres, targetPort: String(PORTS.postgres) }],
        },
      });
      new PodDisruptionBudgetV1(this, "database-pdb", {
        metadata: meta(name, dbLabels),
        spec: { maxUnavailable: "1", selector: { matchLabels: dbLabels } },
      });
    }

    // ---- Pooler ------------------------------------------------------------------------
    const pools = poolerPools(spec);
    const poolerReplicas = Math.max(2, spec.pooler.instanceCount);
    const poolerPort = (pool: "rw" | "ro") => (pool === "rw" ? PORTS.pgbouncerReadWrite : PORTS.pgbouncerReadOnly);
    const poolerContainers: StatefulSetV1SpecTemplateSpecContainer[] = pools.map((pool) => ({
      name: `pgbouncer-${pool}`,
      image: props.poolerImage ?? props.image,
      imagePullPolicy: "IfNotPresent",
      command: ["pgbouncer", `${PGBOUNCER_CONFIG_DIR}/pgbouncer-${pool}.ini`],
      port: [{ name: `pgbouncer-${pool}`, containerPort: poolerPort(pool) }],
      resources: { requests: { cpu: "250m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } },
      securityContext: containerSecurity,
      volumeMount: [
        { name: "pgbouncer-config", mountPath: PGBOUNCER_CONFIG_DIR, readOnly: true },
        { name: "tls", mountPath: PATHS.tlsDir, readOnly: true },
        { name: `run-${pool}`, mountPath: pgbouncerRunDir(pool) },
        { name: "tmp", mountPath: "/tmp" },
      ],
      livenessProbe: { tcpSocket: [{ port: String(poolerPort(pool)) }], periodSeconds: 10, initialDelaySeconds: 5 },
      readinessProbe: { tcpSocket: [{ port: String(poolerPort(pool)) }], periodSeconds: 5 },
    }));
    const poolerVolumes: StatefulSetV1SpecTemplateSpecVolume[] = [
      {
        name: "pgbouncer-config",
        projected: [
          {
            defaultMode: "0440",
            sources: [
              { configMap: [{ name: poolerConfig.metadata.name }] },
              { secret: [{ name: poolerCredentials, items: [{ key: POOLER_USERLIST_KEY, path: "userlist.txt" }] }] },
            ],
          },
        ],
      },
      { name: "tls", secret: { secretName: poolerTlsSecret, defaultMode: "0440", items: tlsItems } },
      ...pools.map((pool) => emptyDir(`run-${pool}`)),
      emptyDir("tmp"),
    ];
    this.pooler = new DeploymentV1(this, "pooler", {
      metadata: meta(`${name}-pooler`, poolerLabels),
      spec: {
        replicas: String(poolerReplicas),
        selector: { matchLabels: poolerLabels },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "0", maxSurge: "1" } },
        template: {
          metadata: {
            labels: poolerLabels,
            annotations: { "managed-postgres/config-sha256": Fn.sha256(Fn.jsonencode(poolerConfig.data)) },
          },
          spec: {
            serviceAccountName: poolerSa.metadata.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurity,
            topologySpreadConstraint: [
              { maxSkew: 1, topologyKey: zoneLabel, whenUnsatisfiable: "DoNotSchedule", labelSelector: [{ matchLabels: poolerLabels }] },
              { maxSkew: 1, topologyKey: HOSTNAME_LABEL, whenUnsatisfiable: "ScheduleAnyway", labelSelector: [{ matchLabels: poolerLabels }] },
            ],
            container: poolerContainers,
            volume: poolerVolumes,
          },
        },
      },
    });
    new PodDisruptionBudgetV1(this, "pooler-pdb", {
      metadata: meta(`${name}-pooler`, poolerLabels),
      spec: { maxUnavailable: "1", selector: { matchLabels: poolerLabels } },
    });
    const rw = new ServiceV1(this, "rw-service", {
      metadata: meta(`${name}-rw`, poolerLabels),
      spec: {
        type: "ClusterIP",
        selector: poolerLabels,
        port: [{ name: "postgresql", port: PORTS.endpointReadWrite, targetPort: String(PORTS.pgbouncerReadWrite) }],
      },
    });
    this.readWriteEndpoint = `${rw.metadata.name}.${ns}.svc.${clusterDomain}`;
    if (distributed) {
      const ro = new ServiceV1(this, "ro-service", {
        metadata: meta(`${name}-ro`, poolerLabels),
        spec: {
          type: "ClusterIP",
          selector: poolerLabels,
          port: [{ name: "postgresql", port: PORTS.endpointReadOnly, targetPort: String(PORTS.pgbouncerReadOnly) }],
        },
      });
      this.readOnlyEndpoint = `${ro.metadata.name}.${ns}.svc.${clusterDomain}`;
    }

    // ---- Network policies --------------------------------------------------------------
    const dbPorts = [PORTS.postgres, PORTS.patroniRest, ...(distributed ? [PGBACKREST_TLS_SERVER_PORT] : [])];
    new NetworkPolicyV1(this, "database-network-policy", {
      metadata: meta(`${name}-database`, dbLabels),
      spec: {
        podSelector: { matchLabels: dbLabels },
        policyTypes: ["Ingress"],
        ingress: [
          {
            // Members: replication, pg_rewind, Patroni REST, pgBackRest TLS server.
            from: [{ podSelector: { matchLabels: dbLabels } }],
            ports: dbPorts.map((p) => ({ port: String(p), protocol: "TCP" })),
          },
          {
            // The pooler: PostgreSQL only.
            from: [{ podSelector: { matchLabels: poolerLabels } }],
            ports: [{ port: String(PORTS.postgres), protocol: "TCP" }],
          },
        ],
      },
    });
    new NetworkPolicyV1(this, "pooler-network-policy", {
      metadata: meta(`${name}-pooler`, poolerLabels),
      spec: {
        podSelector: { matchLabels: poolerLabels },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { ...props.allowedNamespaceLabels } } }],
            ports: pools.map((pool) => ({ port: String(poolerPort(pool)), protocol: "TCP" })),
          },
        ],
      },
    });

    applyKubernetesSafetyRules(this, spec, ns, { priorStateFile: props.priorStateFile, now: props.now });
    if (props.policyPack ?? true) PolicyPack.enforce(this, { rules: [...POLICY_RULES, ...KUBERNETES_RULES] });
  }
}


/**
 * Text for a Terraform string, kept literal: Terraform reads `${…}` and `%{…}` in every string
 * (JSON syntax included) as template sequences, so a shell script's `${VAR:-}` must be written
 * `$${VAR:-}` (and `%{` as `%%{`). cdktf token markers (`${TfToken[…]}`, e.g. the bucket name)
 * are left alone: they become the references.
 */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** {@link terraformLiteral} on every value of a ConfigMap's data. */
export function terraformLiterals(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, terraformLiteral(v)]));
}

/**
 * An IAM role name (at most 64 characters) from `base`: `base` itself when it fits, else its
 * first 55 characters, a hyphen and 8 hex digits of its SHA-256 (stable, unique per base).
 */
export function iamRoleName(base: string): string {
  if (base.length <= 64) return base;
  return `${base.slice(0, 55).replace(/-+$/, "")}-${createHash("sha256").update(base).digest("hex").slice(0, 8)}`;
}
