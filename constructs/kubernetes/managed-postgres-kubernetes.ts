/**
 * `ManagedPostgresKubernetes`: the cluster spec on Kubernetes, as typed
 * `@cdktf/provider-kubernetes` resources (no `kubernetes_manifest`, so `terraform plan`
 * needs no cluster round trip for CRDs), plus the S3 backup bucket and the IAM role for the
 * service account (IRSA) through `@cdktf/provider-aws`, in the same stack.
 */
import { Aspects, Token } from "cdktf";
import { Construct } from "constructs";
import type { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
import type { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import { SpecValidationError, validateClusterSpec, type ResolvedClusterSpec } from "../../src/cluster-spec";
import { PATRONI_SCOPE_LABEL, type KubernetesPlacement } from "../../src/render/kubernetes";
import { POLICY_RULES } from "../../src/rules/policy";
import { KUBERNETES_RULES } from "../../src/rules/policy/kubernetes";
import type { BackupBucket } from "../aws/backup-bucket";
import { AwsEnvironment } from "../aws/environment";
import { HclSafeStrings } from "../private/hcl";
import { PolicyPack } from "../policy-pack";
import { BackupIdentity } from "./backup-identity";
import { clusterLabels, securityContexts, type KubernetesClusterContext } from "./context";
import { DatabaseStatefulSet } from "./database-stateful-set";
import { NetworkPolicies } from "./network-policies";
import { PoolerDeployment } from "./pooler-deployment";
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_RUN_AS_USER, DEFAULT_ZONE_LABEL, checkKubernetesProps, type ManagedPostgresKubernetesProps } from "./props";
import { applyKubernetesSafetyRules } from "./safety";
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
 *   role `<cluster>-<namespace>-backup` (at most 64 characters) trusted by the OIDC provider for exactly
 *   `system:serviceaccount:<namespace>:<cluster>` and audience `sts.amazonaws.com`, and
 *   its policy (bucket prefix `<cluster>/`, the key).
 *
 * The resources are grouped by concern in {@link BackupIdentity}, {@link DatabaseStatefulSet},
 * {@link PoolerDeployment} and {@link NetworkPolicies}; their construct paths (and so their
 * Terraform addresses) are those of this construct's direct children.
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
  /** The database pods, their configuration, volumes and Services. */
  public readonly database: DatabaseStatefulSet;
  /** The PgBouncer pods and the endpoint Services. */
  public readonly poolerDeployment: PoolerDeployment;
  /** The backup bucket, its key and the IAM role of the database pods. */
  public readonly backupIdentity: BackupIdentity;
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
    const zoneLabel = props.zoneLabel ?? DEFAULT_ZONE_LABEL;
    const preventDestroy = props.preventDestroy ?? true;
    const labels = clusterLabels(name, PATRONI_SCOPE_LABEL);
    const placement: KubernetesPlacement = {
      namespace: ns,
      clusterDomain: props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
      podNetworkCidrs: [...props.podNetworkCidrs],
      databaseLabels: labels.database,
    };

    const env = new AwsEnvironment(this, "aws");
    this.backupIdentity = new BackupIdentity(this, "BackupIdentity", {
      spec,
      namespace: ns,
      oidcProviderArn: props.backup.oidcProviderArn,
      oidcIssuer: props.backup.oidcIssuer,
      kmsKeyArn: props.backup.kmsKeyArn,
      noncurrentVersionExpirationDays: props.backup.noncurrentVersionExpirationDays ?? 30,
      preventDestroy,
    });
    this.backupBucket = this.backupIdentity.bucket;
    this.backupRoleArn = this.backupIdentity.role.arn;

    const cluster: KubernetesClusterContext = {
      spec,
      placement,
      runtime: { region: env.region, backupBucket: this.backupBucket.bucketName, kmsKeyArn: this.backupIdentity.kmsKeyArn, secretArn: "" },
      labels,
      preventDestroy,
      ...securityContexts(String(props.runAsUser ?? DEFAULT_RUN_AS_USER)),
    };
    this.database = new DatabaseStatefulSet(this, "DatabaseStatefulSet", {
      cluster,
      image: props.image,
      storageClassName: props.storageClassName,
      credentialsSecretName: props.credentialsSecretName ?? `${name}-credentials`,
      tlsSecretName: props.tlsSecretName ?? `${name}-tls`,
      zoneLabel,
      backupRoleArn: this.backupRoleArn,
    });
    this.statefulSet = this.database.statefulSet;
    this.poolerDeployment = new PoolerDeployment(this, "PoolerDeployment", {
      cluster,
      image: props.poolerImage ?? props.image,
      credentialsSecretName: props.poolerCredentialsSecretName ?? `${name}-pooler-credentials`,
      tlsSecretName: props.poolerTlsSecretName ?? `${name}-pooler-tls`,
      zoneLabel,
    });
    this.pooler = this.poolerDeployment.deployment;
    this.readWriteEndpoint = this.poolerDeployment.readWriteEndpoint;
    this.readOnlyEndpoint = this.poolerDeployment.readOnlyEndpoint;
    new NetworkPolicies(this, "NetworkPolicies", { cluster, allowedNamespaceLabels: props.allowedNamespaceLabels });

    applyKubernetesSafetyRules(this, spec, ns, { priorStateFile: props.priorStateFile, now: props.now });
    if (props.policyPack ?? true) PolicyPack.enforce(this, { rules: [...POLICY_RULES, ...KUBERNETES_RULES] });
  }
}
