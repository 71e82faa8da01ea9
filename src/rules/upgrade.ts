/**
 * `upgradeFrom` rules (pure): a new ("green") cluster that upgrades another ("blue") cluster
 * to a higher major version through logical replication (docs/UPGRADING.md, "Major
 * versions"). The spec-level checks ({@link upgradeFromIssues}) run at validation; the
 * prior-state checks ({@link checkUpgradeFrom}) run with the other safety rules
 * (src/rules/safety.ts); green's IAM statements are {@link upgradeSourceStatements}.
 */
import { showValue, type UpgradeFrom } from "../cluster-spec";
import { deployedCluster, deployedClusterNames, type DeployedCluster, type PriorState } from "./prior-state";
import type { RestorePolicyStatement } from "./restore";
import type { RuleFinding } from "./safety";

export type { UpgradeFrom } from "../cluster-spec";

/** Rule identifiers of the prior-state checks of `upgradeFrom` (docs/safety.md lists them). */
export const UPGRADE_RULES = {
  /** `upgradeFrom` on a cluster the prior state records as deployed without it (or from another blue). */
  intoDeployedCluster: "MP-SAFE-UPGRADE-INTO-DEPLOYED",
  /** `upgradeFrom.clusterName` is not a cluster of the prior state, or its major version differs there. */
  sourceNotDeployed: "MP-SAFE-UPGRADE-SOURCE",
} as const;

/** One problem with `upgradeFrom` (field `upgradeFrom` or `upgradeFrom.<field>`). */
export interface UpgradeIssue {
  /** `upgradeFrom`, `upgradeFrom.majorVersion`, `upgradeFrom.clusterName`, … */
  readonly field: string;
  /** Names the cluster, the field, the value received and what is allowed. */
  readonly message: string;
}

/** What {@link upgradeFromIssues} needs of the green cluster. */
export interface GreenFacts {
  /** Green's cluster name. */
  readonly name: string;
  /** Green's major version (the spec's resolved `majorVersion`). */
  readonly majorVersion: number;
  /** Whether green's props also carry `restoreFrom`. */
  readonly restoreFrom: boolean;
}

/**
 * The rules of `upgradeFrom` that need no prior state (the JSON Schema checks each field's
 * shape first): blue's major version strictly lower than green's (a downgrade or the same
 * major version is refused), blue another cluster than green, and not together with
 * `restoreFrom`. Fields holding unresolved tokens are skipped (`isUnresolved`).
 * @returns every problem found (empty when valid)
 */
export function upgradeFromIssues(upgrade: UpgradeFrom, green: GreenFacts, isUnresolved: (v: unknown) => boolean = () => false): UpgradeIssue[] {
  const issues: UpgradeIssue[] = [];
  const where = `cluster "${green.name}"`;
  if (green.restoreFrom) {
    issues.push({
      field: "upgradeFrom",
      message:
        `${where}: \`upgradeFrom\` and \`restoreFrom\` exclude each other: a green cluster starts empty on its new major version and copies blue ` +
        `through logical replication, a restore starts from a physical backup of the same major version. Keep one of them`,
    });
  }
  const from = upgrade.majorVersion;
  if (typeof from === "number" && !isUnresolved(from) && from >= green.majorVersion) {
    const why =
      from === green.majorVersion
        ? `the same major version is no upgrade (to copy a cluster on the same version, use \`restoreFrom\`)`
        : `the upgrade path goes up only; going down a major version is a logical dump loaded into a new cluster (docs/UPGRADING.md, "Major versions", fallback)`;
    issues.push({
      field: "upgradeFrom.majorVersion",
      message:
        `${where}: \`upgradeFrom.majorVersion\`: got ${showValue(from)} with this cluster's \`majorVersion\` ${green.majorVersion}; ` +
        `expected a version lower than ${green.majorVersion} (${[15, 16].filter((v) => v < green.majorVersion).join(" or ") || "none: 15 is the lowest supported"}): ${why}`,
    });
  }
  const blue = upgrade.clusterName;
  if (typeof blue === "string" && !isUnresolved(blue) && blue === green.name) {
    issues.push({
      field: "upgradeFrom.clusterName",
      message: `${where}: \`upgradeFrom.clusterName\`: got ${showValue(blue)}, this very cluster; expected the blue cluster's name: the green cluster is a new cluster under another name`,
    });
  }
  return issues;
}

/**
 * The prior-state rules of `upgradeFrom` (errors), for a green cluster named `green`:
 * - {@link UPGRADE_RULES.intoDeployedCluster}: the prior state records green as deployed,
 *   and its data volumes do not carry `managed-postgres:upgrade-from = <blue>` (green was
 *   deployed without `upgradeFrom`, or from another blue): an existing cluster cannot start
 *   following another one; the upgrade is a new cluster.
 * - {@link UPGRADE_RULES.sourceNotDeployed}: `upgradeFrom.clusterName` is not a cluster whose
 *   data volumes the prior state holds, or it is and its major-version tag differs from
 *   `upgradeFrom.majorVersion`.
 * A `clusterName` or `majorVersion` holding a token is `undefined` here and not checked.
 * @param deployed green as the prior state records it (undefined at its first deployment)
 */
export function checkUpgradeFrom(
  green: string,
  upgrade: { readonly clusterName?: string; readonly majorVersion?: number },
  state: PriorState,
  deployed: DeployedCluster | undefined,
): RuleFinding[] {
  const out: RuleFinding[] = [];
  const blue = upgrade.clusterName;
  if (deployed && deployed.upgradeFrom !== blue) {
    out.push({
      ruleId: UPGRADE_RULES.intoDeployedCluster,
      level: "error",
      field: "upgradeFrom",
      message:
        `cluster "${green}": \`upgradeFrom\` ${blue === undefined ? "" : `(from ${JSON.stringify(blue)}) `}is refused: "${green}" is deployed (${deployed.source})` +
        `${deployed.upgradeFrom ? ` as the upgrade of "${deployed.upgradeFrom}"` : " without `upgradeFrom`"}, and a deployed cluster cannot start following another one. ` +
        `Expected \`upgradeFrom\` only on a new cluster: declare the green cluster under another name with \`upgradeFrom\` (docs/UPGRADING.md, "Major versions")` +
        `${deployed.upgradeFrom ? `, or keep \`upgradeFrom.clusterName: "${deployed.upgradeFrom}"\`` : ""}.`,
    });
  }
  if (blue === undefined) return out;
  const names = deployedClusterNames(state);
  if (!names.includes(blue)) {
    out.push({
      ruleId: UPGRADE_RULES.sourceNotDeployed,
      level: "error",
      field: "upgradeFrom.clusterName",
      message:
        `cluster "${green}": \`upgradeFrom.clusterName\`: got ${JSON.stringify(blue)}, which the prior state ${state.source} does not hold; ` +
        `expected one of its clusters (${names.length ? names.map((n) => JSON.stringify(n)).join(", ") : "none"}). Blue must be deployed and ` +
        `recorded in the prior state given; after the cutover, remove \`upgradeFrom\` before (or with) removing blue.`,
    });
    return out;
  }
  const blueVersion = deployedCluster(state, blue)?.majorVersion;
  if (upgrade.majorVersion !== undefined && blueVersion !== undefined && blueVersion !== upgrade.majorVersion) {
    out.push({
      ruleId: UPGRADE_RULES.sourceNotDeployed,
      level: "error",
      field: "upgradeFrom.majorVersion",
      message:
        `cluster "${green}": \`upgradeFrom.majorVersion\`: got ${upgrade.majorVersion}, but "${blue}" runs PostgreSQL ${blueVersion} (deployed, ${state.source}); ` +
        `expected ${blueVersion}, blue's major version.`,
    });
  }
  return out;
}

/**
 * Least-privilege access of green's node role to blue: `secretsmanager:GetSecretValue` on
 * blue's secret only, and, with `kmsKeyArn`, `kms:Decrypt` on that key only through Secrets
 * Manager (`kms:ViaService` = `secretsmanager.<region>.amazonaws.com`). Nothing else of blue
 * (no S3, no EC2, no write).
 * @param region green's region (token allowed): blue's secret lives in the same region
 */
export function upgradeSourceStatements(upgrade: UpgradeFrom, region: string): RestorePolicyStatement[] {
  const statements: RestorePolicyStatement[] = [
    { sid: "UpgradeSourceSecretRead", effect: "Allow", actions: ["secretsmanager:GetSecretValue"], resources: [upgrade.secretArn] },
  ];
  if (upgrade.kmsKeyArn) {
    statements.push({
      sid: "UpgradeSourceKeyDecrypt",
      effect: "Allow",
      actions: ["kms:Decrypt"],
      resources: [upgrade.kmsKeyArn],
      condition: [{ test: "StringEquals", variable: "kms:ViaService", values: [`secretsmanager.${region}.amazonaws.com`] }],
    });
  }
  return statements;
}
