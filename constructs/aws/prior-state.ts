/**
 * cdktf glue of the synth-time safety rules (src/rules): reads the prior state, turns rule
 * errors into a failed synth (before anything is written to cdktf.out) and warnings into
 * annotations, and renders the same refusals as Terraform preconditions for plans run
 * without TypeScript. The rules themselves are pure (src/rules/safety.ts).
 */
import { Construct } from "constructs";
import { Annotations, Lazy, TerraformIterator, TerraformLocal, TerraformStack, Token, type Precondition } from "cdktf";
import { DataAwsEbsVolume } from "@cdktf/provider-aws/lib/data-aws-ebs-volume";
import { DataAwsEbsVolumes } from "@cdktf/provider-aws/lib/data-aws-ebs-volumes";
import type { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import {
  DEFAULTS,
  END_OF_SUPPORT,
  MAJOR_VERSIONS,
  TAG_CLUSTER,
  TAG_DEPLOYMENT_MODEL,
  TAG_MAJOR_VERSION,
  TAG_SLOT,
  TAG_SLOT_RESOURCE,
  SLOT_RESOURCE,
  type ResolvedClusterSpec,
  type SpecIssue,
} from "../../src/cluster-spec";
import type { NodeContext, RenderedFile } from "../../src/render/types";
import { renderUpgradeScript, renderUpgradeUnits, UPGRADE_SCRIPT, UPGRADE_UNIT } from "../../src/render/upgrade";
import { renderBootstrapLoader } from "../../src/render/bootstrap/loader";
import { SYSTEMD_UNIT_DIR } from "../../src/render/bootstrap/files";
import { bootstrapObject, type BootstrapObjectProps } from "./bootstrap-object";
import {
  patroniRestoreOptions,
  renderRestoreSourceConfig,
  renderRestoreSourceDropIn,
  renderRestoreSourcePassScript,
  RESTORE_SOURCE_DROP_IN,
  RESTORE_SOURCE_PASS_SCRIPT,
  RESTORE_SOURCE_TEMPLATE,
} from "../../src/render/restore";
import type { InstanceRole } from "./iam";
import { repairHclConditions } from "../private/hcl";
import { addSafetyCheck, localBackendStatePath, priorStateLocationOf, safetyClock } from "../private/prior-state";
import { resolveTokens } from "../private/tokens";
import {
  checkAgainstDeployed,
  checkEndOfSupport,
  deployedCluster,
  loadPriorStateFile,
  PRIOR_STATE_ENV,
  PriorStateError,
  resolveReference,
  type PriorState,
  restoreFromIssues,
  restoreSourceStatements,
  type RequestedFacts,
  type RestoreFrom,
  type RuleFinding,
  checkUpgradeFrom,
  upgradeFromIssues,
  upgradeSourceStatements,
} from "../../src/rules";
import type { ClusterSecurityGroups } from "./security";

/** One slot's data volume, as the guard needs it. */
export interface GuardedVolume {
  readonly slot: number;
  readonly volume: EbsVolume;
  /** The slot's requested availability zone (token or literal). */
  readonly availabilityZone: string;
}

/** Props of {@link applySafetyRules}. */
export interface SafetyRulesProps {
  /** The validated spec. */
  readonly spec: ResolvedClusterSpec;
  /** Data volumes of the slots, slot order. */
  readonly volumes: readonly GuardedVolume[];
  /**
   * The clock of the end-of-support rule. @default - the context key
   * `managed-postgres:now`, else the current time
   */
  readonly now?: Date | string;
  /**
   * Prior-state file (state v4 or `terraform show -json` plan). @default - the context key
   * `managed-postgres:priorState`, else `MANAGED_POSTGRES_PRIOR_STATE`, else the stack's
   * local-backend state file when it exists
   */
  readonly priorStateFile?: string;
  /**
   * Where the spec came from, for the refusal's message: `<spec file>, construct <path>`.
   * @default - the construct path of `scope`
   */
  readonly source?: string;
}

/**
 * Problems of a `restoreFrom` prop as spec issues (path `restoreFrom.<field>`), for the
 * construct's single validation step. Token fields are left to the plan-time checks
 * (`restoreFromPlanTimeChecks`), except `target`, which must be a literal.
 */
export function restoreFromSpecIssues(scope: Construct, clusterName: string, restoreFrom: RestoreFrom | undefined, now?: Date | string): SpecIssue[] {
  if (restoreFrom === undefined) return [];
  if (restoreFrom === null || typeof restoreFrom !== "object") {
    return [{ path: "restoreFrom", value: restoreFrom, message: "`restoreFrom` must be an object { backupBucket, stanza, target, secretArn, backupKmsKeyArn? }" }];
  }
  const issues: SpecIssue[] = restoreFromIssues(restoreFrom, clusterName, safetyClock(scope, now), (v) => Token.isUnresolved(v)).map((i) => ({
    path: i.field,
    value: (restoreFrom as unknown as Record<string, unknown>)[i.field.slice("restoreFrom.".length)],
    message: i.message,
  }));
  if (Token.isUnresolved(restoreFrom.target)) {
    issues.push({
      path: "restoreFrom.target",
      value: undefined,
      message: `cluster "${clusterName}": \`restoreFrom.target\` must be a literal ("latest" or a timestamp), not a token: it decides the form of the restore command; the other restoreFrom fields may be tokens (checked at plan time)`,
    });
  }
  return issues;
}

/**
 * Problems of an `upgradeFrom` prop beyond its schema, as spec issues (path `upgradeFrom` or
 * `upgradeFrom.<field>`): {@link upgradeFromIssues} (blue's major version lower than green's,
 * blue another cluster, not with `restoreFrom`), `upgradeFrom` itself a token (it decides
 * which resources exist), and blue's `upgradeTo.nodeAddresses` a list token (one pg_hba rule
 * per address). Empty without either.
 * @param majorVersion green's validated major version (undefined when it was invalid: then
 *   the given one, or the default)
 */
export function upgradeFromSpecIssues(
  props: { readonly name?: unknown; readonly majorVersion?: unknown; readonly upgradeFrom?: unknown; readonly upgradeTo?: unknown; readonly restoreFrom?: unknown },
  majorVersion: number | undefined,
): SpecIssue[] {
  const to = props.upgradeTo as { nodeAddresses?: unknown } | undefined;
  const toIssues: SpecIssue[] =
    to !== undefined && (Token.isUnresolved(to) || (to !== null && typeof to === "object" && Token.isUnresolved(to.nodeAddresses)))
      ? [{ path: "upgradeTo.nodeAddresses", value: undefined, message: "`upgradeTo.nodeAddresses` must be a list literal (its items may be tokens): each address becomes its own pg_hba rule" }]
      : [];
  const u = props.upgradeFrom;
  if (u === undefined) return toIssues;
  if (Token.isUnresolved(u)) {
    return [...toIssues, { path: "upgradeFrom", value: undefined, message: "`upgradeFrom` must be an object literal (its fields may be tokens): it decides which permissions, security group rules and node settings exist" }];
  }
  if (u === null || typeof u !== "object" || Array.isArray(u)) return toIssues; // the schema reports it
  const green = typeof props.name === "string" ? props.name : "?";
  const version = majorVersion ?? (typeof props.majorVersion === "number" ? props.majorVersion : DEFAULTS.majorVersion);
  return [
    ...toIssues,
    ...upgradeFromIssues(u as UpgradeFromInput, { name: green, majorVersion: version, restoreFrom: props.restoreFrom !== undefined }, (v) => Token.isUnresolved(v)).map((i) => ({
      path: i.field,
      value: i.field === "upgradeFrom" ? undefined : (u as Record<string, unknown>)[i.field.slice("upgradeFrom.".length)],
      message: i.message,
    })),
  ];
}

type UpgradeFromInput = Parameters<typeof upgradeFromIssues>[0];

/**
 * Green's access to blue (`upgradeFrom`): the node role may read blue's secret (and decrypt it
 * through Secrets Manager with `kmsKeyArn`), {@link upgradeSourceStatements}; blue's node
 * security group admits green's nodes on 5432 and 8008 (rules owned by green,
 * `ClusterSecurityGroups.allowUpgradeSource`); with `poolerSecurityGroupId`, green's endpoint
 * security group admits blue's PgBouncer hosts on green's endpoint ports
 * (`ClusterSecurityGroups.allowUpgradeSourcePoolers`). The node settings travel in the bootstrap
 * header (`UPGRADE_FROM_*`, `UPGRADE_CUTOVER`: src/render/bootstrap).
 */
export function addUpgradeSource(
  nodeRole: InstanceRole,
  securityGroups: ClusterSecurityGroups,
  upgradeFrom: NonNullable<ResolvedClusterSpec["upgradeFrom"]>,
  env: { region: string },
): void {
  nodeRole.addPolicy("upgrade-source-read", upgradeSourceStatements(upgradeFrom, env.region));
  securityGroups.allowUpgradeSource(upgradeFrom.securityGroupId);
  if (upgradeFrom.poolerSecurityGroupId !== undefined) securityGroups.allowUpgradeSourcePoolers(upgradeFrom.poolerSecurityGroupId);
}

/** Where a green node's user data puts the loader of its upgrade script (root 0755). */
export const UPGRADE_LOADER_PATH = "/usr/local/sbin/managed-postgres-fetch-upgrade";

/**
 * A green node's upgrade script (`upgradeFrom`): `managed-postgres-upgrade` for this node
 * (`renderUpgradeScript`: blue's cluster, major version, secret, addresses and the cutover flag
 * in its header) is too big for a node's user data next to everything else (EC2's 16 KB), so
 * it travels as a second S3 object of the node (`config/<cluster>/<node>/managed-postgres-upgrade`,
 * version and SHA-256 pinned in the user data, like the bootstrap object). The returned user
 * data files: the loader ({@link UPGRADE_LOADER_PATH}, `renderBootstrapLoader` with the script
 * as target), the service and timer (`renderUpgradeUnits`), and a drop-in that installs the
 * script before the service's first run (`ExecStartPre`, as root, when the script is missing).
 * The bootstrap enables the timer (`UPGRADE_UNIT`, src/render/bootstrap).
 */
export function upgradeNodeFiles(
  slot: Construct,
  ctx: NodeContext,
  object: Omit<BootstrapObjectProps, "text" | "objectName" | "nodeName" | "clusterName">,
): RenderedFile[] {
  const u = ctx.spec.upgradeFrom;
  if (!u) return [];
  const from = { cluster: u.clusterName, majorVersion: u.majorVersion, secretArn: u.secretArn, addresses: [...u.nodeAddresses], cutover: u.cutover };
  const shipped = bootstrapObject(slot, "upgrade-script", {
    ...object,
    clusterName: ctx.spec.name,
    nodeName: ctx.self.name,
    objectName: UPGRADE_UNIT,
    text: renderUpgradeScript(ctx, from),
  });
  const dropIn = [
    "# upgradeFrom: install this node's managed-postgres-upgrade from S3 (SHA-256 checked) before its first run.",
    "[Service]",
    `ExecStartPre=+/bin/sh -c 'test -x ${UPGRADE_SCRIPT} || exec ${UPGRADE_LOADER_PATH}'`,
    "",
  ].join("\n");
  return [
    { path: UPGRADE_LOADER_PATH, content: renderBootstrapLoader(shipped, ctx.runtime, UPGRADE_SCRIPT), mode: "0755", owner: "root:root" },
    ...renderUpgradeUnits(ctx.spec.name).map((f) => ({ path: f.path, content: f.content, mode: "0644", owner: "root:root" })),
    { path: `${SYSTEMD_UNIT_DIR}/${UPGRADE_UNIT}.service.d/fetch.conf`, content: dropIn, mode: "0644", owner: "root:root" },
  ];
}

/**
 * The prior-state refusals of a spec that failed validation, as spec issues (path
 * `(prior state)`, message `[<rule id>] …`), so that one error lists the spec's problems and
 * the safety refusals together (a model change with a wrong subnet count reports both).
 * Uses the facts that are literal and valid (name, deployment model, an integer storageGiB,
 * a supported majorVersion); the rest is left out. A prior state that cannot be read is an
 * issue too. Empty without a name and deployment model, or without a prior state.
 */
export function priorStateIssuesOfInvalidSpec(scope: Construct, input: Readonly<Record<string, unknown>>, priorStateFile?: string): SpecIssue[] {
  const { name, deployment, storageGiB, majorVersion, allowMajorVersionUpgrade } = input;
  if (typeof name !== "string" || (deployment !== "standalone" && deployment !== "distributed")) return [];
  try {
    const location = priorStateLocationOf(scope, priorStateFile);
    if (!location) return [];
    const deployed = deployedCluster(loadPriorStateFile(location.file), name);
    if (!deployed) return [];
    const version = majorVersion === undefined ? DEFAULTS.majorVersion : majorVersion;
    const facts: RequestedFacts = {
      name,
      deployment,
      storageGiB: Number.isInteger(storageGiB) ? (storageGiB as number) : undefined,
      // An invalid version is already a spec issue: compare the deployed one with itself.
      majorVersion: (MAJOR_VERSIONS as readonly unknown[]).includes(version) ? (version as RequestedFacts["majorVersion"]) : ((deployed.majorVersion ?? DEFAULTS.majorVersion) as RequestedFacts["majorVersion"]),
      allowMajorVersionUpgrade: allowMajorVersionUpgrade === true,
    };
    return checkAgainstDeployed(facts, deployed)
      .filter((f) => f.level === "error")
      .map((f) => ({ path: "(prior state)", value: undefined, message: line(f) }));
  } catch (e) {
    if (e instanceof PriorStateError) return [{ path: "(prior state)", value: undefined, message: `cluster "${name}": ${e.message}` }];
    throw e;
  }
}

/**
 * Restore into a new cluster: gives the node role read access to the source backups
 * ({@link restoreSourceStatements}: the source bucket's `<stanza>/` prefix, the source
 * secret, the source KMS key through S3 and Secrets Manager) and returns the files and
 * Patroni options the node user data carries (Patroni's custom bootstrap method
 * `pgbackrest_restore` on the first primary; the replicas clone from it).
 */
export function addRestoreSource(
  nodeRole: InstanceRole,
  restoreFrom: RestoreFrom,
  env: { partition: string; region: string },
): { patroni: { restore: ReturnType<typeof patroniRestoreOptions> }; files: RenderedFile[] } {
  nodeRole.addPolicy("restore-source-read", restoreSourceStatements(restoreFrom, env.partition, env.region));
  return {
    patroni: { restore: patroniRestoreOptions(restoreFrom) },
    files: [
      { path: RESTORE_SOURCE_TEMPLATE, content: renderRestoreSourceConfig(restoreFrom, env.region), mode: "0640", owner: "postgres:postgres" },
      { path: RESTORE_SOURCE_PASS_SCRIPT, content: renderRestoreSourcePassScript(restoreFrom), mode: "0750", owner: "root:root" },
      { path: RESTORE_SOURCE_DROP_IN, content: renderRestoreSourceDropIn(), mode: "0644", owner: "root:root" },
    ],
  };
}

/**
 * The spec's facts for the rules. A subnet id that is a token referring to a resource of
 * the same stack (`${aws_subnet.x.id}`) is looked up in the prior state; other tokens are
 * left to the plan-time guard (undefined).
 */
function requestedFacts(spec: ResolvedClusterSpec, stack: TerraformStack, state: PriorState): RequestedFacts {
  const lit = <T>(v: T): T | undefined => (Token.isUnresolved(v) ? undefined : v);
  const subnet = (s: string): string | undefined => {
    if (!Token.isUnresolved(s)) return s;
    const expression = resolveTokens(stack, s);
    return typeof expression === "string" ? resolveReference(state, expression) : undefined;
  };
  const subnets = spec.network?.subnetIds;
  return {
    name: spec.name,
    deployment: spec.deployment,
    storageGiB: lit(spec.storageGiB),
    majorVersion: spec.majorVersion,
    allowMajorVersionUpgrade: spec.allowMajorVersionUpgrade,
    subnetIds: subnets && !Token.isUnresolved(subnets) ? subnets.map(subnet) : undefined,
  };
}

const line = (f: RuleFinding) => `[${f.ruleId}] ${f.message}`;

/**
 * Wires the safety rules of one cluster into `scope` (its ManagedPostgres):
 * - End of support (Cloud Temple Managed PostgreSQL): a warning annotation within 180 days, a synth error after.
 * - Prior state: read at synth (validation phase, before any file is written); each rule
 *   error (model change, storage shrink, version downgrade or unflagged upgrade, slot
 *   moved) and any unreadable prior state fails `app.synth()` with one `SpecValidationError`
 *   listing the refusals of every cluster of the stack, naming the spec file (`source`),
 *   printed once without a stack trace (`addSafetyCheck`). A stack
 *   on a remote backend without an explicit prior state gets a warning: nothing to compare.
 * - The plan-time guard ({@link addPlanTimeGuard}).
 *
 * `new App({ skipValidation: true })` skips the synth-time checks (cdktf skips every
 * validation); the plan-time guard still refuses at `terraform plan`.
 * @throws Error when `now` is not an ISO date
 */
export function applySafetyRules(scope: Construct, props: SafetyRulesProps): void {
  const { spec } = props;
  const now = safetyClock(scope, props.now);
  const support = checkEndOfSupport(spec, now);
  for (const f of support.filter((x) => x.level === "warning")) Annotations.of(scope).addWarning(line(f));
  const supportErrors = support.filter((x) => x.level === "error").map(line);

  let reported = false;
  addSafetyCheck(scope, props.source ?? scope.node.path, () => {
    const errors = [...supportErrors];
    try {
      const location = priorStateLocationOf(scope, props.priorStateFile);
      if (!location) {
        if (!reported && localBackendStatePath(TerraformStack.of(scope)) === undefined) {
          Annotations.of(scope).addWarning(
            `cluster "${spec.name}": the stack uses a remote backend and no prior state was given, so the safety rules ` +
              `(immutable model, storage never shrinks, versions, slot placement) were not checked at synth. ` +
              `Run \`terraform state pull > prior.tfstate\` and synthesize with ${PRIOR_STATE_ENV}=prior.tfstate (docs/safety.md); ` +
              `the plan-time preconditions still apply.`,
          );
        }
      } else {
        const state = loadPriorStateFile(location.file);
        const deployed = deployedCluster(state, spec.name);
        if (!reported) {
          Annotations.of(scope).addInfo(
            deployed
              ? `cluster "${spec.name}": prior state ${location.file} (${location.origin}): deployed ${deployed.deployment ?? "?"}, ` +
                  `${deployed.storageGiB ?? "?"} GiB, PostgreSQL ${deployed.majorVersion ?? "?"}, ${deployed.slots.length} slot(s)`
              : `cluster "${spec.name}": prior state ${location.file} (${location.origin}) holds no data volume of this cluster: first deployment`,
          );
        }
        errors.push(...checkAgainstDeployed(requestedFacts(spec, TerraformStack.of(scope), state), deployed).map(line));
        if (spec.upgradeFrom) {
          const lit = <T>(v: T): T | undefined => (Token.isUnresolved(v) ? undefined : v);
          const upgrade = { clusterName: lit(spec.upgradeFrom.clusterName), majorVersion: lit(spec.upgradeFrom.majorVersion) };
          errors.push(...checkUpgradeFrom(spec.name, upgrade, state, deployed).map(line));
        }
      }
    } catch (e) {
      if (e instanceof PriorStateError) errors.push(`cluster "${spec.name}": ${e.message}`);
      else throw e;
    }
    reported = true;
    return errors;
  });
  addPlanTimeGuard(scope, spec, props.volumes);
  repairHclConditions(TerraformStack.of(scope));
}

/**
 * The plan-time twin of the rules, for teams that run the synthesized Terraform without
 * TypeScript: Terraform reads the cluster's data volumes as deployed in AWS and each
 * volume's `lifecycle.precondition` refuses the plan when
 * - a deployed volume of the cluster has another deployment model tag (checked on slot 0),
 * - a deployed volume has another major-version tag (lower or higher, `allowMajorVersionUpgrade`
 *   or not: no in-place major upgrade exists) (slot 0),
 * - a deployment passed the end of support date (`plantimestamp()`, slot 0),
 * - the slot's deployed volume is larger than requested (shrink), or sits in another
 *   availability zone (move) (each slot).
 *
 * Resources: `data.aws_ebs_volumes` filtered on `tag:managed-postgres:cluster` and
 * `tag:managed-postgres:slot-resource = data-volume` (the instances' root volumes carry the
 * cluster tag but never this one; a volume of a version before that tag is not read until the
 * next apply tags it) (the plural
 * data source returns an empty list, never an error, on a first deployment), one
 * `data.aws_ebs_volume` per id found (`for_each`), and a `locals` entry holding the
 * requested size and zones (they may be variables or data references).
 */
export function addPlanTimeGuard(scope: Construct, spec: ResolvedClusterSpec, volumes: readonly GuardedVolume[]): void {
  if (volumes.length === 0) return;
  const ids = new DataAwsEbsVolumes(scope, "deployed-volume-ids", {
    filter: [
      { name: `tag:${TAG_CLUSTER}`, values: [spec.name] },
      { name: `tag:${TAG_SLOT_RESOURCE}`, values: [SLOT_RESOURCE.dataVolume] },
    ],
  });
  const each = TerraformIterator.fromList(ids.ids);
  const deployed = new DataAwsEbsVolume(scope, "deployed-volumes", {
    forEach: each,
    filter: [{ name: "volume-id", values: [each.value] }],
  });
  const requested = new TerraformLocal(scope, "requested-placement", {
    storage_gib: spec.storageGiB,
    availability_zones: Object.fromEntries(volumes.map((v) => [String(v.slot), v.availabilityZone])),
  });
  const d = () => `data.aws_ebs_volume.${deployed.friendlyUniqueId}`;
  const r = () => `local.${requested.friendlyUniqueId}`;
  const expr = (produce: () => string) => Lazy.stringValue({ produce: () => `\${${produce()}}` });
  const slotIs = (slot: number) => `lookup(v.tags, "${TAG_SLOT}", "") == "${slot}"`;
  const where = `(aws ec2 describe-volumes --filters Name=tag:${TAG_CLUSTER},Values=${spec.name} Name=tag:${TAG_SLOT_RESOURCE},Values=${SLOT_RESOURCE.dataVolume})`;
  const version = spec.majorVersion;

  for (const { slot, volume } of volumes) {
    const mine: Precondition[] = [
      {
        condition: expr(() => `alltrue([for v in ${d()} : v.size <= ${r()}.storage_gib if ${slotIs(slot)}])`),
        errorMessage:
          `Cluster "${spec.name}", slot ${slot}: the deployed data volume is larger than the requested storageGiB; ` +
          `storage grows online but never shrinks. Request at least the deployed size ${where}, or restore into a new cluster (restoreFrom). Rule MP-SAFE-STORAGE.`,
      },
      {
        condition: expr(() => `alltrue([for v in ${d()} : v.availability_zone == ${r()}.availability_zones["${slot}"] if ${slotIs(slot)}])`),
        errorMessage:
          `Cluster "${spec.name}", slot ${slot}: the requested subnet is in another availability zone than the deployed data volume, ` +
          `which cannot move and would be replaced. Keep the slot's subnet (slot i uses subnet i). Rule MP-SAFE-SLOT-PLACEMENT.`,
      },
    ];
    if (slot === volumes[0].slot) {
      mine.push(
        {
          condition: expr(() => `alltrue([for v in ${d()} : lookup(v.tags, "${TAG_DEPLOYMENT_MODEL}", "${spec.deployment}") == "${spec.deployment}"])`),
          errorMessage:
            `Cluster "${spec.name}": the deployed deployment model differs from the requested "${spec.deployment}"; the model is immutable. ` +
            `Create a new cluster restored from this one's backups (restoreFrom), move the clients, then remove this one. Rule MP-SAFE-MODEL.`,
        },
        {
          // Equal, with or without allowMajorVersionUpgrade: no node starts PostgreSQL on another
          // major's data directory and this release has no in-place major upgrade.
          condition: expr(() => `alltrue([for v in ${d()} : tonumber(lookup(v.tags, "${TAG_MAJOR_VERSION}", "${version}")) == ${version}])`),
          errorMessage:
            `Cluster "${spec.name}": the deployed major version differs from the requested ${version}; a lower version is refused, ` +
            `and so is a higher one (allowMajorVersionUpgrade included): no node starts PostgreSQL on another major version's data directory. ` +
            `Use a new cluster on the new version (docs/UPGRADING.md, "Major versions"). Rule MP-SAFE-VERSION-UPGRADE.`,
        },
        {
          condition: expr(() => `timecmp(plantimestamp(), "${END_OF_SUPPORT[version]}T00:00:00Z") < 0`),
          errorMessage:
            `Cluster "${spec.name}": PostgreSQL ${version} reached end of support on ${END_OF_SUPPORT[version]}; ` +
            `upgrade the major version (docs/UPGRADING.md). Rule MP-SAFE-END-OF-SUPPORT.`,
        },
      );
    }
    volume.lifecycle = { ...(volume.lifecycle ?? {}), precondition: [...(volume.lifecycle?.precondition ?? []), ...mine] };
  }
}
