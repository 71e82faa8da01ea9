/**
 * Synth-time safety rules: what a change to a deployed cluster may not do.
 *
 * Each rule is a pure function of the requested facts (from the spec) and the deployed
 * facts (from the prior state, {@link deployedCluster}), returning findings. The constructs
 * turn error findings into a failed synth (nothing written to cdktf.out) and warnings into
 * cdktf annotations. The same refusals are rendered as Terraform preconditions for teams
 * that plan the synthesized configuration without TypeScript (see docs/safety.md).
 */
import { MAJOR_VERSIONS, supportStatus, type MajorVersion } from "../cluster-spec/versions";
import type { DeploymentModel } from "../cluster-spec/types";
import type { DeployedCluster } from "./prior-state";

/** Rule identifiers, stable: docs/safety.md lists each with its way out. */
export const RULES = {
  deploymentModelImmutable: "MP-SAFE-MODEL",
  storageNeverShrinks: "MP-SAFE-STORAGE",
  majorVersionNoDowngrade: "MP-SAFE-VERSION-DOWNGRADE",
  majorVersionUpgradeOptIn: "MP-SAFE-VERSION-UPGRADE",
  slotPlacementFixed: "MP-SAFE-SLOT-PLACEMENT",
  endOfSupport: "MP-SAFE-END-OF-SUPPORT",
} as const;

/** One rule's verdict on one field. */
export interface RuleFinding {
  /** One of {@link RULES}. */
  readonly ruleId: string;
  /** `error` stops synth; `warning` is reported and synth goes on. */
  readonly level: "error" | "warning";
  /** Spec field concerned, e.g. `storageGiB`, `network.subnetIds[1]`. */
  readonly field: string;
  /** Names the cluster, the field, the deployed and requested values, and the way out. */
  readonly message: string;
}

/**
 * What the spec asks for. A field whose value is an unresolved token is `undefined` here
 * and is left to the plan-time precondition.
 */
export interface RequestedFacts {
  readonly name: string;
  readonly deployment: DeploymentModel;
  readonly storageGiB?: number;
  readonly majorVersion: MajorVersion;
  readonly allowMajorVersionUpgrade: boolean;
  /** Subnet of each slot (slot i = index i); undefined entries are tokens. */
  readonly subnetIds?: readonly (string | undefined)[];
  /**
   * Whether the target offers `upgradeFrom` (the refused major upgrade's message points to it,
   * else to a logical dump into a new cluster). @default true (false on Kubernetes)
   */
  readonly upgradeFromSupported?: boolean;
}

/**
 * An error carrying every error finding of the rules (not only the first), the message
 * listing them one per line: for programs that call the pure rules themselves
 * ({@link checkAgainstDeployed}, {@link checkEndOfSupport}) and want to stop with them.
 * The constructs do not throw it: at the stack's validation they report each finding as
 * one issue (`[<rule id>] <message>`, path `(prior state)`) of a `SpecValidationError`, so
 * that `app.synth()` fails with one error listing the refusals of every cluster of the
 * stack, naming each cluster's spec file, printed once without a stack trace.
 */
export class SafetyRuleError extends Error {
  constructor(
    public readonly findings: readonly RuleFinding[],
    /** Construct path or cluster name, for the message. */
    where: string,
  ) {
    super(
      `Refusing to synthesize ${where}: ${findings.length} safety rule${findings.length === 1 ? "" : "s"} failed\n` +
        findings.map((f) => `  - [${f.ruleId}] ${f.message}`).join("\n"),
    );
    this.name = "SafetyRuleError";
  }
}

/**
 * The deployment model is immutable (Cloud Temple Managed PostgreSQL): standalone ↔ distributed is a new cluster
 * restored from the old one's backups.
 */
export function checkDeploymentModel(req: RequestedFacts, dep: DeployedCluster): RuleFinding[] {
  if (dep.deployment === undefined || dep.deployment === req.deployment) return [];
  return [
    {
      ruleId: RULES.deploymentModelImmutable,
      level: "error",
      field: "deployment",
      message:
        `cluster "${req.name}": \`deployment\` cannot change from "${dep.deployment}" (deployed, ${dep.source}) to "${req.deployment}"; ` +
        `the deployment model of an existing cluster is immutable. Instead create a new ${req.deployment} cluster under another name with ` +
        `\`restoreFrom: { backupBucket: <"${req.name}"'s backup bucket>, stanza: "${req.name}", target: "latest" or a timestamp }\` ` +
        `(PITR from "${req.name}"'s backups), move the clients, then remove "${req.name}".`,
    },
  ];
}

/** Storage grows online and never shrinks (Cloud Temple Managed PostgreSQL). */
export function checkStorage(req: RequestedFacts, dep: DeployedCluster): RuleFinding[] {
  if (req.storageGiB === undefined || dep.storageGiB === undefined || req.storageGiB >= dep.storageGiB) return [];
  return [
    {
      ruleId: RULES.storageNeverShrinks,
      level: "error",
      field: "storageGiB",
      message:
        `cluster "${req.name}": \`storageGiB\` cannot shrink from ${dep.storageGiB} GiB (deployed, ${dep.source}) to ${req.storageGiB} GiB; ` +
        `storage grows online but never shrinks. Keep ${dep.storageGiB} or more, or restore into a new, smaller cluster with \`restoreFrom\`.`,
    },
  ];
}

/**
 * Major version: never lower, and never higher on a deployed cluster. A node never starts
 * PostgreSQL N on a data directory of another major version (the node's data-version check
 * refuses it at every Patroni start), and this release has no in-place major upgrade, so a
 * raised `majorVersion` would only produce launch templates no node can run. With or
 * without `allowMajorVersionUpgrade: true`, the finding names the field, both values and the
 * upgrade path: a new cluster on the new version with `upgradeFrom` (logical replication from
 * this one, then a cutover; docs/UPGRADING.md, "Major versions").
 */
export function checkMajorVersion(req: RequestedFacts, dep: DeployedCluster): RuleFinding[] {
  const deployed = dep.majorVersion;
  if (deployed === undefined || deployed === req.majorVersion) return [];
  if (req.majorVersion < deployed) {
    return [
      {
        ruleId: RULES.majorVersionNoDowngrade,
        level: "error",
        field: "majorVersion",
        message:
          `cluster "${req.name}": \`majorVersion\` cannot go down from ${deployed} (deployed, ${dep.source}) to ${req.majorVersion}; ` +
          `PostgreSQL data files cannot be downgraded. Keep ${deployed}; to go back to an older version, dump and load into a new cluster.`,
      },
    ];
  }
  const flag = req.allowMajorVersionUpgrade
    ? `\`allowMajorVersionUpgrade: true\` does not make it possible: there is no in-place major upgrade, and`
    : `There is no in-place major upgrade (\`allowMajorVersionUpgrade: true\` does not change that), and`;
  return [
    {
      ruleId: RULES.majorVersionUpgradeOptIn,
      level: "error",
      field: "majorVersion",
      message:
        `cluster "${req.name}": \`majorVersion\` ${deployed} (deployed, ${dep.source}) → ${req.majorVersion} is refused. ${flag} ` +
        `no node starts PostgreSQL ${req.majorVersion} on the PostgreSQL ${deployed} data directories of its volumes. ` +
        `Keep \`majorVersion: ${deployed}\` here; the upgrade path (docs/UPGRADING.md, "Major versions") is a new cluster under another name ` +
        (req.upgradeFromSupported === false
          ? `with \`majorVersion: ${req.majorVersion}\`, loaded from a logical dump of "${req.name}" (\`upgradeFrom\` is not supported on this target yet), ` +
            `then the clients move and "${req.name}" is removed.`
          : `with \`majorVersion: ${req.majorVersion}\` and \`upgradeFrom: { clusterName: "${req.name}", majorVersion: ${deployed}, secretArn, nodeAddresses, securityGroupId }\` ` +
            `(logical replication from "${req.name}"), then \`upgradeFrom.cutover: true\` once it has caught up, and "${req.name}" is removed later.`),
    },
  ];
}

/** A deployed slot keeps its subnet (and so its availability zone): moving it would replace its volume. */
export function checkSlotPlacement(req: RequestedFacts, dep: DeployedCluster): RuleFinding[] {
  const out: RuleFinding[] = [];
  if (!req.subnetIds || (dep.deployment !== undefined && dep.deployment !== req.deployment)) return out;
  for (const slot of dep.slots) {
    const want = req.subnetIds[slot.slot];
    if (want === undefined || slot.subnetId === undefined || want === slot.subnetId) continue;
    out.push({
      ruleId: RULES.slotPlacementFixed,
      level: "error",
      field: `network.subnetIds[${slot.slot}]`,
      message:
        `cluster "${req.name}": slot ${slot.slot} cannot move from subnet ${slot.subnetId}` +
        `${slot.availabilityZone ? ` (availability zone ${slot.availabilityZone})` : ""} to ${want}: ` +
        `its data volume ${slot.volumeAddress} cannot leave its availability zone and would be replaced. ` +
        `Keep \`network.subnetIds[${slot.slot}]\` = "${slot.subnetId}" (order matters: slot i uses subnet i).`,
    });
  }
  return out;
}

/**
 * End of support (Cloud Temple Managed PostgreSQL: notice at least 180 days before): warning within the notice,
 * error on and after the end of support date.
 * @param now the clock (injectable: context key `managed-postgres:now` or the `now` prop)
 */
export function checkEndOfSupport(req: Pick<RequestedFacts, "name" | "majorVersion">, now: Date): RuleFinding[] {
  const s = supportStatus(req.majorVersion, now);
  const newer = MAJOR_VERSIONS.filter((v) => v > req.majorVersion && supportStatus(v, now).status === "supported");
  const next = newer.length ? `majorVersion ${newer[newer.length - 1]}` : "a supported major version";
  if (s.status === "supported") return [];
  if (s.status === "ending") {
    return [
      {
        ruleId: RULES.endOfSupport,
        level: "warning",
        field: "majorVersion",
        message:
          `cluster "${req.name}": PostgreSQL ${req.majorVersion} reaches end of support on ${s.endOfSupport} (${s.daysLeft} days left); ` +
          `plan the upgrade to ${next} (docs/UPGRADING.md). Synth will refuse this version from ${s.endOfSupport}.`,
      },
    ];
  }
  return [
    {
      ruleId: RULES.endOfSupport,
      level: "error",
      field: "majorVersion",
      message:
        `cluster "${req.name}": PostgreSQL ${req.majorVersion} reached end of support on ${s.endOfSupport}; ` +
        `it no longer gets security fixes. Move to ${next} through a new cluster (docs/UPGRADING.md, "Major versions").`,
    },
  ];
}

/**
 * Every rule that compares the request with the deployed cluster. No deployed cluster
 * (first deployment): no finding.
 */
export function checkAgainstDeployed(req: RequestedFacts, dep: DeployedCluster | undefined): RuleFinding[] {
  if (!dep) return [];
  return [...checkDeploymentModel(req, dep), ...checkStorage(req, dep), ...checkMajorVersion(req, dep), ...checkSlotPlacement(req, dep)];
}

/** cdktf context key of the clock the end-of-support rule uses (ISO date), for tests and rehearsals. */
export const NOW_CONTEXT_KEY = "managed-postgres:now";

/**
 * Parses the injectable clock (context key `managed-postgres:now` or a prop).
 * @throws Error naming the source when the value is not an ISO 8601 date
 * @default - the current time when `value` is undefined
 */
export function parseNow(value: unknown, source: string): Date {
  if (value === undefined || value === null || value === "") return new Date();
  if (value instanceof Date && !isNaN(value.getTime())) return value;
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}/.test(value) && !isNaN(Date.parse(value))) return new Date(value);
  throw new Error(`${source}: got ${JSON.stringify(value)}; expected an ISO 8601 date such as "2027-06-01" or "2027-06-01T00:00:00Z"`);
}
