/**
 * `ManagedPostgresKubernetes`: the cluster spec on Kubernetes, as typed
 * `@cdktf/provider-kubernetes` resources (no `kubernetes_manifest`, so `terraform plan`
 * needs no cluster round trip for CRDs), plus the S3 backup bucket and the IAM role for the
 * service account (IRSA) through `@cdktf/provider-aws`, in the same stack.
 */
import { Annotations, Aspects, Token } from "cdktf";
import { Construct } from "constructs";
import type { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
import type { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import { PORTS, SpecValidationError, specFileOf, validateClusterSpec, type ResolvedClusterSpec } from "../../src/cluster-spec";
import { PATRONI_SCOPE_LABEL, type KubernetesPlacement } from "../../src/render/kubernetes";
import { POLICY_RULES } from "../../src/rules/policy";
import { KUBERNETES_RULES } from "../../src/rules/policy/kubernetes";
import type { BackupBucket } from "../aws/backup-bucket";
import { AwsEnvironment } from "../aws/environment";
import { suspendCreationStacks } from "../private/creation-stacks";
import { claimClusterName } from "../private/naming";
import { removeStaleStackOutput } from "../private/stale-output";
import { terraformLiteralValues } from "../private/terraform-literal";
import { HclSafeStrings } from "../private/hcl";
import { addClusterOutputs, BACKUP_BUCKET_DESCRIPTION, STANDALONE_READ_ONLY_DESCRIPTION } from "../private/outputs";
import { PolicyPack } from "../policy-pack";
import { BackupIdentity } from "./backup-identity";
import { clusterLabels, securityContexts, type KubernetesClusterContext } from "./context";
import { DatabaseStatefulSet } from "./database-stateful-set";
import { NetworkPolicies } from "./network-policies";
import { PoolerDeployment } from "./pooler-deployment";
import {
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_RUN_AS_USER,
  DEFAULT_ZONE_LABEL,
  checkKubernetesProps,
  normalizeKubernetesProps,
  type ManagedPostgresKubernetesNestedProps,
  type ManagedPostgresKubernetesProps,
} from "./props";
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
  /** DNS name of the read-write endpoint (the pooler's `<cluster>-rw` Service). */
  public readonly readWriteEndpoint: string;
  /** Port of the read-write endpoint: 5432 (the `<cluster>-rw` Service). */
  public readonly readWritePort: number;
  /**
   * DNS name of the read-only endpoint: the `<cluster>-ro` Service (distributed); standalone
   * clusters have one endpoint, so this is the read-write one (as on AWS).
   */
  public readonly readOnlyEndpoint: string;
  /** Port of the read-only endpoint: 5433 (distributed) or the read-write port 5432 (standalone). */
  public readonly readOnlyPort: number;
  /** ARN of the IAM role the database pods use for backups (token). */
  public readonly backupRoleArn: string;
  /** The backup bucket. */
  public readonly backupBucket: BackupBucket;
  /** Name of the backup bucket (token). */
  public readonly backupBucketName: string;
  /** ARN of the bucket's KMS key: the new key, or `backupStorage.kmsKeyArn`. */
  public readonly kmsKeyArn: string;

  constructor(scope: Construct, id: string, input: ManagedPostgresKubernetesProps | ManagedPostgresKubernetesNestedProps) {
    super(scope, id);
    // cdktf would record a stack trace in each token built below (constructs/private/creation-stacks.ts).
    const restoreCreationStacks = suspendCreationStacks(this);
    try {
      // `cdktf synth --hcl`: strings holding references and quotes stay parseable HCL.
      Aspects.of(this).add(new HclSafeStrings());
      const isUnresolved = (v: unknown) => Token.isUnresolved(v);
      const normalized = normalizeKubernetesProps(input);
      const given = normalized.props;
      for (const w of normalized.warnings) Annotations.of(this).addWarning(w);
      let spec: ResolvedClusterSpec;
      const file = specFileOf(given.spec);
      const source = file ? `${file}, construct ${this.node.path}` : this.node.path;
      const propIssues = checkKubernetesProps(input, isUnresolved);
      const clash = typeof given.spec?.name === "string" ? claimClusterName(this, given.spec.name) : undefined;
      if (clash) propIssues.push({ path: clash.path, message: clash.message });
      for (const field of ["upgradeFrom", "upgradeTo"] as const) {
        if (given.spec === undefined || given.spec === null || (given.spec as unknown as Record<string, unknown>)[field] === undefined) continue;
        propIssues.push({
          path: field,
          message:
            `\`${field}\`: not supported on Kubernetes yet (the blue/green major upgrade through logical replication is built for the AWS target only); ` +
            `on Kubernetes, upgrade a major version with a logical dump into a new cluster (docs/UPGRADING.md, "Major versions", fallback)`,
        });
      }
      try {
        spec = validateClusterSpec(given.spec, { requireNetwork: false, isUnresolved, source }).spec;
      } catch (err) {
        if (err instanceof SpecValidationError) {
          removeStaleStackOutput(this);
          throw new SpecValidationError([...err.issues, ...propIssues.map((i) => ({ path: i.path, value: undefined, message: i.message }))], source);
        }
        throw err;
      }
      if (propIssues.length > 0) {
        removeStaleStackOutput(this);
        throw new SpecValidationError(
          propIssues.map((i) => ({ path: i.path, value: undefined, message: i.message })),
          source,
        );
      }
      // User strings enter the construct tree here, once, as Terraform literals (`${` → `$${`,
      // `%{` → `%%{`; tokens untouched). The ConfigMaps' rendered files are escaped as a whole
      // instead (terraformLiterals): the spec fields they hold are restricted by validation to
      // characters without `$`, `%` or `{`, so nothing is escaped twice.
      spec = terraformLiteralValues(spec);
      const props = terraformLiteralValues(given, ["priorStateFile", "now"]);
      const backupStorage = props.backupStorage!;
      this.spec = spec;
      const ns = props.namespace;
      this.namespace = ns;
      const name = spec.name;
      const zoneLabel = props.zoneLabel ?? DEFAULT_ZONE_LABEL;
      const preventDestroy = !(props.allowDestroy ?? false);
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
        oidcProviderArn: backupStorage.oidcProviderArn,
        oidcIssuer: backupStorage.oidcIssuer,
        kmsKeyArn: backupStorage.kmsKeyArn,
        noncurrentVersionExpirationDays: props.noncurrentVersionExpirationDays ?? 30,
        preventDestroy,
      });
      this.backupBucket = this.backupIdentity.bucket;
      this.backupRoleArn = this.backupIdentity.role.arn;
      this.backupBucketName = this.backupBucket.bucketName;
      this.kmsKeyArn = this.backupIdentity.kmsKeyArn;

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
      this.readWritePort = PORTS.endpointReadWrite;
      // Standalone: one endpoint, the read-write one (as on AWS).
      this.readOnlyEndpoint = this.poolerDeployment.readOnlyEndpoint ?? this.readWriteEndpoint;
      this.readOnlyPort = this.poolerDeployment.readOnlyEndpoint === undefined ? this.readWritePort : PORTS.endpointReadOnly;
      new NetworkPolicies(this, "NetworkPolicies", { cluster, allowedNamespaceLabels: props.allowedNamespaceLabels });

      applyKubernetesSafetyRules(this, spec, ns, { priorStateFile: props.priorStateFile, now: props.now, source });
      if (props.policyPack ?? true) PolicyPack.enforce(this, { rules: [...POLICY_RULES, ...KUBERNETES_RULES] });
      this.addOutputs(id);
    } finally {
      restoreCreationStacks();
    }
  }

  /** The outputs of `ManagedPostgres` that apply here (no cluster secret), plus the backup role. */
  private addOutputs(id: string): void {
    const distributed = this.spec.deployment === "distributed";
    addClusterOutputs(this, id, [
      { key: "read_write_endpoint", value: this.readWriteEndpoint, description: "Host of the read-write endpoint (the pooler's rw Service, cluster DNS name)." },
      { key: "read_write_port", value: this.readWritePort, description: "Port of the read-write endpoint (PgBouncer, TLS)." },
      { key: "read_only_endpoint", value: this.readOnlyEndpoint, description: distributed ? "Host of the read-only endpoint (the pooler's ro Service, cluster DNS name)." : STANDALONE_READ_ONLY_DESCRIPTION },
      { key: "read_only_port", value: this.readOnlyPort, description: "Port of the read-only endpoint." },
      { key: "backup_bucket_name", value: this.backupBucketName, description: BACKUP_BUCKET_DESCRIPTION },
      { key: "kms_key_arn", value: this.kmsKeyArn, description: "ARN of the backup bucket's KMS key." },
      { key: "backup_role_arn", value: this.backupRoleArn, description: "ARN of the IAM role the database pods use (IRSA) to write the backups." },
    ]);
  }
}
