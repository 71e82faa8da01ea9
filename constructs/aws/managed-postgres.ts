/**
 * `ManagedPostgres`: a PostgreSQL cluster (standalone or distributed) on the stack's AWS
 * account, from a cluster spec.
 */
import { Construct } from "constructs";
import { Aspects, Fn, Token } from "cdktf";
import {
  ipv4CidrProblem,
  PORTS,
  showValue,
  specFileOf,
  SpecValidationError,
  validateClusterSpec,
  type ClusterSpec,
  type NetworkSpec,
  type ResolvedClusterSpec,
  type SpecIssue,
  type ValidatedSpec,
} from "../../src/cluster-spec";
import { renderNodeUserData, renderPoolerUserData } from "../../src/render/cloud-init";
import { renderBootstrapScript } from "../../src/render/bootstrap";
import type { ClusterMember, NodeContext, RuntimeContext } from "../../src/render/types";
import { bootstrapObject } from "./bootstrap-object";
import { BackupBucket } from "./backup-bucket";
import { ClusterKey } from "./encryption";
import { AwsEnvironment } from "./environment";
import { InstanceRole, nodePolicyStatements, poolerPolicyStatements } from "./iam";
import { DEBIAN_RELEASE_OF_MAJOR, debianImage, shareTextRuns } from "./launch";
import { addClusterOutputs, BACKUP_BUCKET_DESCRIPTION, STANDALONE_READ_ONLY_DESCRIPTION } from "../private/outputs";
import { claimClusterName } from "../private/naming";
import { removeStaleStackOutput } from "../private/stale-output";
import { PoolerTier } from "./pooler";
import { ClusterSecret } from "./secret";
import { CaCertificateParameter } from "./ca-certificate";
import { ClusterSecurityGroups } from "./security";
import { Slot } from "./slot";
import { ClusterMonitoring, type MonitoringOptions } from "./monitoring";
import { PolicyPack } from "../policy-pack";
import { addPlanTimeChecks, type PlanTimeCheck } from "./deferred-checks";
import { HclSafeStrings } from "../private/hcl";
import { suspendCreationStacks } from "../private/creation-stacks";
import { terraformLiteralValues } from "../private/terraform-literal";
import { addRestoreSource, addUpgradeSource, upgradeNodeFiles, applySafetyRules, priorStateIssuesOfInvalidSpec, restoreFromSpecIssues, upgradeFromSpecIssues } from "./prior-state";
import type { RestoreFrom } from "../../src/cluster-spec";

/**
 * Props of {@link ManagedPostgres}: a {@link ClusterSpec} (the same fields as a
 * `postgres.yaml` spec file) with `network` required, plus AWS options.
 *
 * Any field may be an unresolved token (a `TerraformVariable`, another resource's
 * attribute) except `name`, `deployment`, `size`, `architecture` and `majorVersion`,
 * which shape the resources; checks of token values move to plan time (`storageGiB`
 * becomes a precondition on the data volumes).
 */
export interface ManagedPostgresProps extends ClusterSpec {
  /** Network placement: VPC, private subnets (3 for distributed, 1 for standalone), clients. */
  readonly network: NetworkSpec;
  /**
   * AMI of every instance (database nodes and PgBouncer tier), of `architecture`: build it with
   * the recipe in image/ (Debian 13, PostgreSQL 17, Patroni 4.0.7; image/README.md).
   * @default - the most recent official Debian AMI of the architecture whose own archive ships
   * `majorVersion` (owner 136693071363, looked up at plan time): Debian 13 for 17, Debian 12
   * for 15. Required for 16 (no Debian release ships it: an image with PGDG's postgresql-16).
   * @throws SpecValidationError (field `imageId`) when `majorVersion` is 16 and no image is given
   */
  readonly imageId?: string;
  /**
   * Lets `terraform destroy` delete the data-bearing resources (data volumes, KMS key,
   * backup bucket, cluster secret), which otherwise carry `lifecycle.prevent_destroy`.
   * For throw-away clusters only. The load balancer's deletion protection, the KMS
   * deletion window, the data volumes' final snapshots and the bucket's
   * `force_destroy = false` stay.
   * @default false
   */
  readonly allowDestroy?: boolean;
  /**
   * Extra IPv4 CIDRs the instances may reach on TCP 443, e.g. a package mirror or proxy,
   * or `0.0.0.0/0` behind a NAT gateway when the instances install their packages from
   * the internet at boot. AWS APIs are reached through VPC endpoints and need nothing here.
   * @default []
   */
  readonly httpsEgressCidrs?: string[];
  /**
   * Lists the Debian packages in the user data (cloud-init `packages:`), so cloud-init runs
   * `apt-get update` and installs them at first boot. The apt repositories (Debian, and
   * PGDG for PostgreSQL 16 and 17) must then be reachable: a mirror or proxy, or a NAT
   * gateway, listed in `httpsEgressCidrs`. Without it, the image should have the packages
   * (the bootstrap installs only missing ones); see docs/bootstrap.md.
   * @default false
   */
  readonly installPackagesAtBoot?: boolean;
  /**
   * ARN of the EC2 Auto Scaling service-linked role, allowed by the key policy to launch
   * instances with CMK-encrypted volumes. It must exist before the key policy is applied;
   * create it once per account with
   * `aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com`.
   * @default - `arn:<partition>:iam::<account>:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`
   */
  readonly autoscalingServiceLinkedRoleArn?: string;
  /**
   * Days Secrets Manager keeps the deleted cluster secret recoverable: integer, 7 to 30.
   * @default 30
   */
  readonly secretRecoveryWindowDays?: number;
  /**
   * Days the backup bucket keeps noncurrent object versions (backups and WAL that
   * pgBackRest expired or that were deleted): integer, 1 to 3650.
   * @default 30
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * Create this cluster from another cluster's pgBackRest backups (PITR): the first
   * primary bootstraps with a restore to `target`, the replicas clone from it, and the node
   * role may read the source's backups, cipher pass and key (read only). The way to change
   * a deployment model or shrink storage: a new cluster restored from the old one.
   * See docs/safety.md.
   * @default - a new, empty cluster (initdb)
   */
  readonly restoreFrom?: RestoreFrom;
  /**
   * Prior Terraform state (state v4 or `terraform show -json` plan) the safety rules
   * compare with. See docs/safety.md.
   * @default - the context key `managed-postgres:priorState`, else the env var
   * `MANAGED_POSTGRES_PRIOR_STATE`, else the stack's local-backend state file if it exists
   */
  readonly priorStateFile?: string;
  /**
   * The date the end-of-support rule and the `restoreFrom.target` check use (ISO 8601), for
   * tests and rehearsals.
   * @default - the context key `managed-postgres:now`, else the current time
   */
  readonly now?: string;
  /**
   * Metrics, alarms (the PostgreSQL reference architecture's thresholds), log groups, alarm topic and dashboard.
   * See docs/monitoring.md.
   * @default - every alarm with its default threshold, a new KMS-encrypted topic without
   *   subscribers, logs kept 30 days
   */
  readonly monitoring?: MonitoringOptions;
  /**
   * Runs the security policy pack (docs/policy.md) over the whole stack at synth: error
   * findings stop synth, warnings become annotations. Suppress a finding with
   * `PolicyPack.suppress(construct, ruleId, reason)`. `false` leaves the check to
   * `managed-postgres policy cdktf.out`.
   * @default true
   */
  readonly policyPack?: boolean;
}

/** The AWS options of {@link ManagedPostgresProps} (everything that is not a cluster spec field). */
const AWS_OPTION_KEYS = [
  "imageId",
  "allowDestroy",
  "httpsEgressCidrs",
  "installPackagesAtBoot",
  "autoscalingServiceLinkedRoleArn",
  "secretRecoveryWindowDays",
  "noncurrentVersionExpirationDays",
  "restoreFrom",
  "priorStateFile",
  "now",
  "monitoring",
  "policyPack",
] as const;

/** Options read on this machine at synth (file paths, the clock), never written to Terraform: not escaped. */
const LOCAL_OPTION_KEYS = ["priorStateFile", "now"];

/**
 * Managed PostgreSQL on AWS.
 *
 * `distributed` (Cloud Temple Managed PostgreSQL): three database slots in three availability zones (Patroni +
 * etcd + PostgreSQL; one primary, one synchronous standby, one replica), a PgBouncer tier
 * behind an internal NLB with a read-write endpoint (:5432) and a read-only endpoint
 * (:5433). `standalone`: one slot with PgBouncer on the node; one endpoint, the slot's
 * address on :6432.
 *
 * Both create: a KMS key, the backup bucket, the cluster secret, security groups, instance
 * roles and outputs (`<id>_read_write_endpoint`, `<id>_read_write_port`,
 * `<id>_read_only_endpoint`, `<id>_read_only_port`, `<id>_secret_arn`,
 * `<id>_ca_certificate_parameter`, `<id>_backup_bucket_name`, `<id>_kms_key_arn`, `<id>_node_addresses`,
 * `<id>_node_security_group_id`, `<id>_pooler_security_group_id`; standalone's read-only endpoint is its
 * read-write one, and its PgBouncer hosts' group its node group). See docs/aws.md.
 *
 * @throws SpecValidationError at construction, before any resource is created, when a
 *   prop is invalid: the message names each field (in backticks), the value and the rule
 */
export class ManagedPostgres extends Construct {
  /**
   * The validated spec with defaults applied, its strings as Terraform literals (`${` written
   * `$${`, `%{` written `%%{`, tokens untouched): the form every resource of the cluster gets.
   */
  public readonly spec: ResolvedClusterSpec;
  /**
   * The plan-time checks this cluster emitted for spec fields holding unresolved tokens
   * (Terraform variables, other resources' attributes): each is a `lifecycle.precondition`
   * of slot 0's network interface, with its Terraform condition (tokens resolved) and error
   * message. Empty when every field is a literal (validation checked them at synth).
   * `storageGiB` is not listed: the slots' own preconditions check it.
   */
  public readonly deferredChecks: readonly PlanTimeCheck[];
  /** Account, partition and region data sources. */
  public readonly environment: AwsEnvironment;
  /** The cluster's customer-managed KMS key. */
  public readonly encryptionKey: ClusterKey;
  /** The backup bucket. */
  public readonly backupBucket: BackupBucket;
  /** The cluster secret (database nodes only). */
  public readonly secret: ClusterSecret;
  /** The PgBouncer tier's own secret (distributed only): the one secret the tier reads. */
  public readonly poolerSecret?: ClusterSecret;
  /** The SSM parameter where the nodes publish the cluster CA certificate. */
  public readonly caCertificate: CaCertificateParameter;
  /** Security groups. */
  public readonly securityGroups: ClusterSecurityGroups;
  /** Instance role of the database nodes. */
  public readonly nodeRole: InstanceRole;
  /** Instance role of the PgBouncer tier (distributed only). */
  public readonly poolerRole?: InstanceRole;
  /** The database slots, by index (1 or 3). */
  public readonly slots: readonly Slot[];
  /** The PgBouncer tier and its load balancer (distributed only). */
  public readonly pooler?: PoolerTier;
  /** Names of the Auto Scaling groups of the database slots (tokens), by slot index. */
  public readonly nodeAutoScalingGroupNames: readonly string[];
  /** Name of the PgBouncer tier's Auto Scaling group (distributed only; token). */
  public readonly poolerAutoScalingGroupName?: string;

  /** Host of the read-write endpoint: the NLB's DNS name (distributed) or the slot address (standalone). */
  public readonly readWriteEndpoint: string;
  /** Port of the read-write endpoint: 5432 (distributed NLB) or 6432 (standalone PgBouncer). */
  public readonly readWritePort: number;
  /** Host of the read-only endpoint (standalone: the read-write endpoint). */
  public readonly readOnlyEndpoint: string;
  /** Port of the read-only endpoint: 5433 (distributed) or 6432 (standalone). */
  public readonly readOnlyPort: number;
  /** ARN of the cluster secret. */
  public readonly secretArn: string;
  /**
   * Name of the SSM parameter (type String) holding the cluster CA certificate (PEM), for
   * clients' `sslrootcert` with `sslmode=verify-full`:
   * `aws ssm get-parameter --name <it> --query Parameter.Value --output text > ca.pem`.
   * `/managed-postgres/<cluster>/ca-certificate`; the first database node writes it at first boot.
   */
  public readonly caCertificateParameterName: string;
  /** Name of the backup bucket. */
  public readonly backupBucketName: string;
  /** ARN of the KMS key. */
  public readonly kmsKeyArn: string;
  /**
   * Security group of this cluster's PgBouncer hosts (token): the pooler instances' group when
   * distributed, the node group when standalone (PgBouncer runs on the node). A green cluster's
   * `upgradeFrom.poolerSecurityGroupId` (output `<id>_pooler_security_group_id`): green admits
   * it on its endpoint ports so that this cluster's endpoints can follow green at the cutover
   * (docs/UPGRADING.md).
   */
  public readonly poolerSecurityGroupId: string;
  /** Log groups, alarm topic, alarms and dashboard (docs/monitoring.md). */
  public readonly monitoring: ClusterMonitoring;

  constructor(scope: Construct, id: string, given: ManagedPostgresProps) {
    super(scope, id);
    // cdktf would record a stack trace in each of the ~520 tokens built below: 40 % of the
    // construction time (constructs/private/creation-stacks.ts).
    const restoreCreationStacks = suspendCreationStacks(this);
    try {
      const validated = this.validateProps(given);
      // User strings enter the construct tree here, once, as Terraform literals (`${` → `$${`,
      // `%{` → `%%{`; tokens untouched): nothing a user writes is evaluated by Terraform.
      const spec = terraformLiteralValues(validated.spec);
      const props = terraformLiteralValues(given, LOCAL_OPTION_KEYS);
      this.spec = spec;
      const network = spec.network!;
      const preventDestroy = !(props.allowDestroy ?? false);
      const subnetIds = subnetList(network.subnetIds, spec.deployment === "distributed" ? 3 : 1);

      const env = new AwsEnvironment(this, "environment");
      this.environment = env;
      // Instance roles first: the key policy names them.
      this.nodeRole = new InstanceRole(this, "node-role", { spec, purpose: "node" });
      if (spec.deployment === "distributed") this.poolerRole = new InstanceRole(this, "pooler-role", { spec, purpose: "pooler" });
      this.encryptionKey = new ClusterKey(this, "encryption", {
        spec,
        env,
        nodeRoleArn: this.nodeRole.role.arn,
        poolerRoleArn: this.poolerRole?.role.arn,
        autoscalingServiceLinkedRoleArn:
          props.autoscalingServiceLinkedRoleArn ??
          `arn:${env.partition}:iam::${env.accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
        preventDestroy,
      });
      this.kmsKeyArn = this.encryptionKey.keyArn;
      this.backupBucket = new BackupBucket(this, "backup", {
        spec,
        kmsKeyArn: this.kmsKeyArn,
        noncurrentVersionExpirationDays: props.noncurrentVersionExpirationDays ?? 30,
        preventDestroy,
      });
      this.backupBucketName = this.backupBucket.bucketName;
      this.secret = new ClusterSecret(this, "secret", {
        spec,
        kmsKeyArn: this.kmsKeyArn,
        recoveryWindowDays: props.secretRecoveryWindowDays ?? 30,
        preventDestroy,
      });
      this.secretArn = this.secret.secretArn;
      if (spec.deployment === "distributed") {
        this.poolerSecret = new ClusterSecret(this, "pooler-secret", {
          spec,
          kmsKeyArn: this.kmsKeyArn,
          recoveryWindowDays: props.secretRecoveryWindowDays ?? 30,
          preventDestroy,
          purpose: "pooler",
        });
      }
      this.caCertificate = new CaCertificateParameter(this, "ca-certificate", { spec, env });
      this.caCertificateParameterName = this.caCertificate.parameterName;
      this.securityGroups = new ClusterSecurityGroups(this, "security-groups", {
        spec,
        env,
        vpcId: network.vpcId,
        allowedCidrs: network.allowedCidrs,
        allowedSecurityGroupIds: network.allowedSecurityGroupIds,
        httpsEgressCidrs: props.httpsEgressCidrs ?? [],
      });
      this.poolerSecurityGroupId = (this.securityGroups.pooler ?? this.securityGroups.nodes).id;
      const imageId = props.imageId ?? debianImage(this, "image", spec.architecture, DEBIAN_RELEASE_OF_MAJOR[spec.majorVersion]!).id;
      const userDataOptions = { installPackages: props.installPackagesAtBoot ?? false };
      // Distributed: the load balancer first, so that the nodes, which issue the PgBouncer
      // tier's certificate, know its DNS name (node launch templates → LB; the LB depends on
      // neither the nodes nor the pooler instances: no cycle).
      if (spec.deployment === "distributed") {
        this.pooler = new PoolerTier(this, "pooler", {
          spec,
          vpcId: network.vpcId,
          subnetIds,
          poolerSecurityGroupId: this.securityGroups.pooler!.id,
          endpointSecurityGroupId: this.securityGroups.endpoint!.id,
          kmsKeyArn: this.kmsKeyArn,
        });
      }
      const runtime: RuntimeContext = {
        region: env.region,
        backupBucket: this.backupBucketName,
        kmsKeyArn: this.kmsKeyArn,
        secretArn: this.secretArn,
        ...(this.pooler ? { poolerSecretArn: this.poolerSecret!.secretArn, poolerEndpointNames: [this.pooler.endpointAddress] } : {}),
        caCertificateParameter: this.caCertificateParameterName,
      };

      // Database slots: identity first (ENIs, volumes), then instances, whose user data
      // names every member's address.
      this.slots = subnetIds.map(
        (subnetId, index) =>
          new Slot(this, `slot-${index}`, {
            spec,
            index,
            subnetId,
            securityGroupId: this.securityGroups.nodes.id,
            kmsKeyArn: this.kmsKeyArn,
            preventDestroy,
          }),
      );
      const members: ClusterMember[] = this.slots.map((s) => s.member);
      const restore = props.restoreFrom ? addRestoreSource(this.nodeRole, props.restoreFrom, env) : undefined;
      if (spec.upgradeFrom) addUpgradeSource(this.nodeRole, this.securityGroups, spec.upgradeFrom, env);
      // upgradeFrom.nodeAddresses as a list token: the nodes get it joined by Terraform (one
      // string); a token cutover as the number 1 or 0.
      const nodeSpec = upgradeTokensForNodes(spec);
      const ctxOf = (slot: Slot): NodeContext => ({ spec: nodeSpec, self: slot.member, members, runtime });
      // The slots' bootstrap scripts and user data differ only in a few lines (the node's
      // name, address and peers): the lines they share are written once, in cluster locals.
      const scripts = shareTextRuns(this, "bootstrap-script-shared", this.slots.map((slot) => renderBootstrapScript(ctxOf(slot))));
      const userData = this.slots.map((slot, i) =>
        renderNodeUserData(ctxOf(slot), {
          ...userDataOptions,
          nodeConfig: restore ? { patroni: restore.patroni } : undefined,
          extraFiles: spec.upgradeFrom
            ? [
                ...(restore?.files ?? []),
                ...upgradeNodeFiles(slot, ctxOf(slot), { bucket: this.backupBucketName, kmsKeyArn: this.kmsKeyArn, dependsOn: this.backupBucket.configured }),
              ]
            : restore?.files,
          bootstrapObject: bootstrapObject(slot, "bootstrap-script", {
            clusterName: spec.name,
            nodeName: slot.nodeName,
            bucket: this.backupBucketName,
            kmsKeyArn: this.kmsKeyArn,
            text: scripts[i],
            dependsOn: this.backupBucket.configured,
          }),
        }),
      );
      const userDataTemplates = shareTextRuns(this, "user-data-shared", userData);
      this.slots.forEach((slot, i) => {
        slot.addInstance({ imageId, instanceProfileArn: this.nodeRole.instanceProfile.arn, userData: userData[i], userDataTemplate: userDataTemplates[i] });
      });
      this.nodeAutoScalingGroupNames = this.slots.map((s) => s.autoScalingGroup!.name);
      // Fields holding tokens were not checked at synth: their rules become plan-time
      // preconditions (storageGiB is checked on the data volumes themselves). Those of
      // upgradeFrom / upgradeTo reference the other cluster of a blue/green upgrade (its slot
      // ENIs' addresses): on slot 0's launch template, which depends on them anyway, not on the
      // ENI, whose addresses the other cluster references back (blue's ENI ← green's ENI ← blue's
      // ENI: Terraform's "Cycle" error, found applying both in one stack on the EC2 twin).
      const { upgradeFrom: checkedFrom, upgradeTo: checkedTo, ...ownFields } = given;
      this.deferredChecks = [
        ...addPlanTimeChecks(this, this.slots[0].networkInterface, ownFields as typeof given, ["storageGiB"]),
        // name and majorVersion for upgradePlanTimeChecks (blue's major below green's, blue not green); checked on the ENI
        ...addPlanTimeChecks(
          this,
          this.slots[0].launchTemplate!,
          { name: given.name, deployment: given.deployment, majorVersion: given.majorVersion, upgradeFrom: checkedFrom, upgradeTo: checkedTo } as typeof given,
          ["name", "majorVersion"],
        ),
      ];
      this.nodeRole.addPolicy(
        "node-permissions",
        nodePolicyStatements({
          spec,
          env,
          slots: this.slots.map((s) => ({ networkInterfaceId: s.networkInterface.id, volumeId: s.dataVolume.id, subnetCidr: s.subnetCidr })),
          instanceProfileArn: this.nodeRole.instanceProfile.arn,
          autoScalingGroupNames: this.slots.map((s) => s.autoScalingGroupName),
          bucketArn: this.backupBucket.bucketArn,
          kmsKeyArn: this.kmsKeyArn,
          secretArn: this.secretArn,
          poolerSecretArn: this.poolerSecret?.secretArn,
          caParameterArn: this.caCertificate.parameterArn,
        }),
      );

      if (this.pooler) {
        this.poolerRole!.addPolicy("pooler-permissions", poolerPolicyStatements(env, this.poolerSecret!.secretArn, this.kmsKeyArn));
        this.poolerAutoScalingGroupName = this.pooler.addInstances({
          imageId,
          instanceProfileArn: this.poolerRole!.instanceProfile.arn,
          userData: renderPoolerUserData({ spec: upgradeToTokensForPgBouncerHosts(spec), members, runtime }, userDataOptions),
        }).name;
        this.readWriteEndpoint = this.pooler.endpointAddress;
        this.readOnlyEndpoint = this.pooler.endpointAddress;
        this.readWritePort = PORTS.endpointReadWrite;
        this.readOnlyPort = PORTS.endpointReadOnly;
      } else {
        this.readWriteEndpoint = this.slots[0].privateIp;
        this.readOnlyEndpoint = this.slots[0].privateIp;
        this.readWritePort = PORTS.pgbouncerReadWrite;
        this.readOnlyPort = PORTS.pgbouncerReadWrite;
      }

      this.monitoring = new ClusterMonitoring(this, "monitoring", {
        ...props.monitoring,
        spec,
        kmsKeyArn: this.kmsKeyArn,
        region: env.region,
        nodeRole: this.nodeRole,
        poolerRole: this.poolerRole,
      });
      if (props.policyPack ?? true) PolicyPack.enforce(this);

      applySafetyRules(this, {
        spec,
        volumes: this.slots.map((s) => ({ slot: s.index, volume: s.dataVolume, availabilityZone: s.availabilityZone })),
        now: props.now,
        priorStateFile: props.priorStateFile,
        source: this.specSource(given),
      });
      // `cdktf synth --hcl`: strings holding references and quotes stay parseable HCL.
      Aspects.of(this).add(new HclSafeStrings());
      this.addOutputs(id);
    } finally {
      restoreCreationStacks();
    }
  }

  /** Where the props came from, for error messages: `<spec file>, construct <path>`, or the construct path. */
  private specSource(props: ManagedPostgresProps): string {
    const file = specFileOf(props);
    return file ? `${file}, construct ${this.node.path}` : this.node.path;
  }

  /**
   * Validates the props before anything is created: the cluster spec fields with
   * `validateClusterSpec` (unresolved tokens deferred to plan time), then the AWS options.
   * The single place where props are checked; synth-time rules hook in here.
   * @throws SpecValidationError naming every invalid field, its value and the rule
   */
  private validateProps(props: ManagedPostgresProps): ValidatedSpec {
    const source = this.specSource(props);
    const specInput: Record<string, unknown> = { ...props };
    for (const key of AWS_OPTION_KEYS) delete specInput[key];
    const issues: SpecIssue[] = [];
    let validated: ValidatedSpec | undefined;
    try {
      validated = validateClusterSpec(specInput, { isUnresolved: (v) => Token.isUnresolved(v), source });
    } catch (err) {
      if (!(err instanceof SpecValidationError)) throw err;
      issues.push(...err.issues);
    }
    for (const key of ["name", "deployment", "size", "architecture", "majorVersion"] as const) {
      if (props[key] !== undefined && Token.isUnresolved(props[key])) {
        issues.push({ path: key, value: props[key], message: `\`${key}\` must be a literal value, not a token: it decides which resources exist and how they are named` });
      }
    }
    const intIn = (key: "secretRecoveryWindowDays" | "noncurrentVersionExpirationDays", min: number, max: number) => {
      const v = props[key];
      if (v === undefined || Token.isUnresolved(v)) return;
      if (!Number.isInteger(v) || v < min || v > max) {
        issues.push({ path: key, value: v, message: `\`${key}\`: got ${showValue(v)}; expected an integer from ${min} to ${max}` });
      }
    };
    intIn("secretRecoveryWindowDays", 7, 30);
    issues.push(...restoreFromSpecIssues(this, typeof props.name === "string" ? props.name : "?", props.restoreFrom, props.now));
    issues.push(...upgradeFromSpecIssues(props, validated?.spec.majorVersion));
    intIn("noncurrentVersionExpirationDays", 1, 3650);
    issues.push(...ClusterMonitoring.optionIssues(props.monitoring));
    const egressCidrs = props.httpsEgressCidrs ?? [];
    (Token.isUnresolved(egressCidrs) ? [] : egressCidrs).forEach((c, i) => {
      if (Token.isUnresolved(c)) return;
      const problem = typeof c === "string" ? ipv4CidrProblem(c) : 'expected an IPv4 CIDR such as "10.0.0.0/16"';
      if (problem) issues.push({ path: `httpsEgressCidrs[${i}]`, value: c, message: `\`httpsEgressCidrs[${i}]\`: got ${showValue(c)}; ${problem}` });
    });
    if (props.imageId !== undefined && !Token.isUnresolved(props.imageId) && !/^ami-[0-9a-f]{8,17}$/.test(String(props.imageId))) {
      issues.push({ path: "imageId", value: props.imageId, message: `\`imageId\`: got ${showValue(props.imageId)}; expected an AMI id such as "ami-0abc12345678"` });
    }
    const major = validated?.spec.majorVersion;
    if (props.imageId === undefined && major !== undefined && DEBIAN_RELEASE_OF_MAJOR[major] === undefined) {
      issues.push({
        path: "imageId",
        value: undefined,
        message:
          `\`imageId\`: required with \`majorVersion\` ${major}: no official Debian image ships PostgreSQL ${major} ` +
          `(Debian 12 has 15, Debian 13 has 17); build an image with postgresql-${major} from the PGDG repository (docs/bootstrap.md) and set its AMI id`,
      });
    }
    if (props.restoreFrom !== undefined && Token.isUnresolved(props.restoreFrom)) {
      issues.push({ path: "restoreFrom", value: undefined, message: "`restoreFrom` must be an object literal (its fields may be tokens): it decides which permissions and files the nodes get" });
    }
    const clash = typeof props.name === "string" ? claimClusterName(this, props.name) : undefined;
    if (clash) issues.push(clash);
    // A refused spec reports the safety refusals too, in the same list.
    if (issues.length > 0) issues.push(...priorStateIssuesOfInvalidSpec(this, specInput, props.priorStateFile));
    if (issues.length > 0 || validated === undefined) {
      removeStaleStackOutput(this);
      throw new SpecValidationError(issues, source);
    }
    return validated;
  }

  private addOutputs(id: string): void {
    const model = this.spec.deployment;
    addClusterOutputs(this, id, [
      { key: "read_write_endpoint", value: this.readWriteEndpoint, description: `Host of the read-write endpoint (${model === "distributed" ? "internal NLB DNS name" : "the node's private IP"}).` },
      { key: "read_write_port", value: this.readWritePort, description: "Port of the read-write endpoint (PgBouncer, TLS)." },
      { key: "read_only_endpoint", value: this.readOnlyEndpoint, description: model === "distributed" ? "Host of the read-only endpoint (internal NLB DNS name)." : STANDALONE_READ_ONLY_DESCRIPTION },
      { key: "read_only_port", value: this.readOnlyPort, description: "Port of the read-only endpoint." },
      { key: "secret_arn", value: this.secretArn, description: "ARN of the Secrets Manager secret holding the generated credentials and the cluster CA." },
      {
        key: "ca_certificate_parameter",
        value: this.caCertificateParameterName,
        description: "SSM parameter (String) holding the cluster CA certificate (PEM) for sslmode=verify-full: aws ssm get-parameter --name <it> --query Parameter.Value --output text > ca.pem",
      },
      { key: "backup_bucket_name", value: this.backupBucketName, description: BACKUP_BUCKET_DESCRIPTION },
      { key: "kms_key_arn", value: this.kmsKeyArn, description: "ARN of the cluster's customer-managed KMS key." },
      {
        key: "node_addresses",
        value: this.slots.map((s) => s.privateIp),
        description: "Private addresses of the database nodes (slot order): a green cluster's upgradeFrom.nodeAddresses (docs/UPGRADING.md).",
      },
      {
        key: "node_security_group_id",
        value: this.securityGroups.nodes.id,
        description: "Security group of the database nodes: a green cluster's upgradeFrom.securityGroupId (docs/UPGRADING.md).",
      },
      {
        key: "pooler_security_group_id",
        value: this.poolerSecurityGroupId,
        description:
          `Security group of the PgBouncer hosts (${model === "distributed" ? "the pooler instances" : "the database node: PgBouncer runs on it"}): ` +
          "a green cluster's upgradeFrom.poolerSecurityGroupId, which lets this cluster's PgBouncers reach green's endpoints when they follow green at the cutover (docs/UPGRADING.md).",
      },
    ]);
  }
}

/**
 * `spec` as the nodes' scripts take `upgradeFrom`: a list token in `nodeAddresses` replaced by
 * one `join(" ", list)` string token, and a boolean token in `cutover` by the number token of
 * `cutover ? 1 : 0` (the header's `UPGRADE_CUTOVER`, `cutoverFlag`); `spec` itself when
 * neither is a token.
 */
function upgradeTokensForNodes(spec: ResolvedClusterSpec): ResolvedClusterSpec {
  return upgradeFromTokensForNodes(upgradeToTokensForPgBouncerHosts(spec));
}

/**
 * `spec` as blue's PgBouncer hosts take `upgradeTo` (src/render/upgrade-redirect.ts): a number
 * token in `readWritePort`/`readOnlyPort` (green's `<id>_read_write_port` output) becomes a
 * string token, so that Terraform writes its value into the upgrade pool file (a number token
 * written into text as it is would be its placeholder double).
 */
function upgradeToTokensForPgBouncerHosts(spec: ResolvedClusterSpec): ResolvedClusterSpec {
  const u = spec.upgradeTo;
  if (!u) return spec;
  const port = (p: number | undefined) => (p !== undefined && Token.isUnresolved(p) ? (Token.asString(p) as unknown as number) : p);
  if (!Token.isUnresolved(u.readWritePort) && !Token.isUnresolved(u.readOnlyPort)) return spec;
  return { ...spec, upgradeTo: { ...u, readWritePort: port(u.readWritePort), readOnlyPort: port(u.readOnlyPort) } };
}

function upgradeFromTokensForNodes(spec: ResolvedClusterSpec): ResolvedClusterSpec {
  const u = spec.upgradeFrom;
  if (!u) return spec;
  const addresses = Token.isUnresolved(u.nodeAddresses);
  const cutover = Token.isUnresolved(u.cutover);
  if (!addresses && !cutover) return spec;
  return {
    ...spec,
    upgradeFrom: {
      ...u,
      ...(addresses ? { nodeAddresses: [Token.asString(Fn.join(" ", u.nodeAddresses as string[]))] } : {}),
      // a number token where the type says boolean: cutoverFlag writes a number as it is
      ...(cutover ? { cutover: Token.asNumber(Fn.conditional(u.cutover, 1, 0)) as unknown as boolean } : {}),
    },
  };
}

/** The slot subnets: the literal list, or `element(list, i)` of a list token. */
function subnetList(subnetIds: readonly string[], count: number): string[] {
  if (Token.isUnresolved(subnetIds)) {
    return Array.from({ length: count }, (_, i) => Token.asString(Fn.element(subnetIds as string[], i)));
  }
  return [...subnetIds];
}
