import { preventsDestroy } from "./synth";
import { ingressSources } from "./clusters";
import { rollTiming, windowText } from "./rolls";
import { firstTextMatch } from "./values";
import { RISK_LEVELS, type ClusterSummary, type Placement, type ResourceChange, type ResourceSnapshot, type ReviewInput, type Risk, type RiskLevel } from "./types";
import { blocks, isTrue } from "../terraform";
import { mdCode, mdText } from "../markdown";

/**
 * Resource types that hold data or the means to read it: destroying or replacing one loses
 * data (volumes, backups) or makes it unreadable (KMS key, credentials secret).
 */
export const DATA_BEARING_TYPES: Readonly<Record<string, string>> = {
  aws_ebs_volume: "data volume",
  aws_kms_key: "customer-managed KMS key",
  aws_s3_bucket: "backup bucket",
  aws_secretsmanager_secret: "credentials secret",
};

/** Ingress sources that mean "the internet". */
export const OPEN_TO_INTERNET = ["0.0.0.0/0", "::/0"] as const;

/** Sorts risks highest level first, then by cluster, rule and address. */
export function sortRisks(risks: readonly Risk[]): Risk[] {
  return [...risks].sort(
    (a, b) =>
      RISK_LEVELS.indexOf(a.level) - RISK_LEVELS.indexOf(b.level) ||
      (a.cluster ?? "\uffff").localeCompare(b.cluster ?? "\uffff") ||
      a.rule.localeCompare(b.rule) ||
      a.addresses.join().localeCompare(b.addresses.join()),
  );
}

/** True when `risks` holds one at `level` or above (`high` > `medium` > `low`). */
export function hasRiskAtOrAbove(risks: readonly Risk[], level: RiskLevel): boolean {
  const max = RISK_LEVELS.indexOf(level);
  return risks.some((r) => RISK_LEVELS.indexOf(r.level) <= max);
}

function where(p: Placement | undefined): string {
  return p?.slot !== undefined ? ` of slot ${mdText(p.slot)}` : "";
}

function dataBearingMessage(c: ResourceChange, p: Placement | undefined): string {
  const what = DATA_BEARING_TYPES[c.type];
  const verb = c.action === "replace" ? `is replaced${c.replaceBecause.length ? ` (forced by ${c.replaceBecause.map((x) => mdCode(x)).join(", ")})` : ""}` : "is destroyed";
  switch (c.type) {
    case "aws_ebs_volume":
      return `The ${what}${where(p)} ${verb}: its PostgreSQL data directory is lost and an empty volume takes its place. A replica re-clones from the primary (full base backup over the network); a standalone cluster or a primary without a synchronous standby loses every commit since the last WAL archived — recovery is a PITR restore from the backup bucket.`;
    case "aws_kms_key":
      return `The ${what} ${verb}: the key is scheduled for deletion, after which the data volumes, the pgBackRest backups and WAL archive (SSE-KMS) and the credentials secret encrypted with it can no longer be decrypted.`;
    case "aws_s3_bucket":
      return `The ${what} ${verb}: every full backup and the archived WAL — the whole PITR window — go with it, and WAL archiving fails until pgBackRest's stanza is recreated.`;
    default:
      return `The ${what} ${verb}: the nodes lose the stored database credentials (superuser, replication, pooler users) and must generate and distribute new ones; clients holding the secret ARN break.`;
  }
}

function num(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
  return n;
}

function imdsRequired(values: Readonly<Record<string, unknown>> | undefined): boolean {
  return blocks(values?.metadata_options).some((m) => m.http_tokens === "required");
}

function publicIp(r: ResourceSnapshot | undefined): boolean {
  if (!r) return false;
  if (r.type === "aws_launch_template") return blocks(r.values.network_interfaces).some((n) => isTrue(n.associate_public_ip_address));
  if (r.type === "aws_instance") return isTrue(r.values.associate_public_ip_address);
  if (r.type === "aws_lb") return !isTrue(r.values.internal); // the provider default is internet-facing
  if (r.type === "aws_eip" || r.type === "aws_eip_association") return true;
  return false;
}

function unencrypted(r: ResourceSnapshot | undefined): boolean {
  if (!r) return false;
  if (r.type === "aws_ebs_volume") return !isTrue(r.values.encrypted);
  if (r.type === "aws_launch_template") {
    return blocks(r.values.block_device_mappings).some((m) => blocks(m.ebs).some((e) => !isTrue(e.encrypted)));
  }
  return false;
}

function sseAlgorithms(r: ResourceSnapshot | undefined): string[] {
  if (!r) return [];
  return blocks(r.values.rule).flatMap((rule) => blocks(rule.apply_server_side_encryption_by_default).map((d) => String(d.sse_algorithm)));
}

const PUBLIC_ACCESS_FLAGS = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] as const;

/** Per-resource rules: each looks at one change. */
function resourceRisks(c: ResourceChange, p: Placement | undefined, source: ReviewInput["source"]): Omit<Risk, "cluster">[] {
  const out: Omit<Risk, "cluster">[] = [];
  const add = (level: RiskLevel, rule: string, message: string) => out.push({ level, rule, addresses: [c.address], message });
  const b = c.before;
  const a = c.after;
  if (c.action === "no-op") return out;

  if (DATA_BEARING_TYPES[c.type] && (c.action === "replace" || c.action === "destroy")) {
    add("high", c.action === "replace" ? "data-bearing-replaced" : "data-bearing-destroyed", dataBearingMessage(c, p));
  }
  if (c.type === "aws_ebs_volume" && b && a) {
    const from = num(b.values.size);
    const to = num(a.values.size);
    if (from !== undefined && to !== undefined && to < from) {
      add("high", "storage-shrink", `Storage${where(p)} shrinks from ${from} to ${to} GiB: EBS volumes cannot shrink — AWS rejects the change, and forcing it means a new, empty volume (data loss). Storage only grows; to get a smaller disk, restore a new cluster by PITR.`);
    } else if (from !== undefined && to !== undefined && to > from) {
      add("low", "storage-grow", `Storage${where(p)} grows from ${from} to ${to} GiB: EBS grows online, without downtime; the next change to this volume is possible after 6 hours.`);
    }
  }
  if (source === "synth" && DATA_BEARING_TYPES[c.type] && preventsDestroy(b) && a && !preventsDestroy(a)) {
    add("medium", "prevent-destroy-removed", `\`lifecycle.prevent_destroy\` is removed from the ${DATA_BEARING_TYPES[c.type]}${where(p)}: a later plan could destroy it without Terraform refusing.`);
  }
  if (a && unencrypted(a) && (c.action === "create" || !unencrypted(b))) {
    add("high", "encryption-disabled", c.type === "aws_ebs_volume" ? `The data volume${where(p)} is not encrypted (\`encrypted\` is not true): PostgreSQL data and WAL would sit on disk in clear.` : `A block device of launch template ${mdCode(c.address)}${where(p)} is not encrypted.`);
  }
  if (c.type === "aws_s3_bucket_server_side_encryption_configuration") {
    if (c.action === "destroy") add("high", "encryption-disabled", "The backup bucket's default encryption (SSE-KMS) is removed: new backups and WAL segments are stored with S3-managed keys only, outside the customer-managed KMS key's access control.");
    else if (sseAlgorithms(b).includes("aws:kms") && a && !sseAlgorithms(a).includes("aws:kms")) {
      add("medium", "encryption-weakened", `The backup bucket's default encryption changes from SSE-KMS to ${mdText(sseAlgorithms(a).join(", ")) || "none"}: backups no longer use the customer-managed key.`);
    }
  }
  if (c.type === "aws_secretsmanager_secret" && b && a && b.values.kms_key_id && !a.values.kms_key_id) {
    add("medium", "encryption-weakened", "The credentials secret no longer names the customer-managed KMS key: Secrets Manager falls back to its AWS-managed key.");
  }
  if (c.type === "aws_kms_key" && b && a && isTrue(b.values.enable_key_rotation) && !isTrue(a.values.enable_key_rotation)) {
    add("medium", "kms-rotation-disabled", "Automatic rotation of the customer-managed KMS key is turned off.");
  }
  if (a && publicIp(a) && !publicIp(b)) {
    const what =
      c.type === "aws_lb"
        ? `Load balancer ${mdCode(c.address)} becomes internet-facing (\`internal = false\`): the read-write and read-only endpoints get public addresses.`
        : c.type.startsWith("aws_eip")
          ? `An Elastic IP (${mdCode(c.address)}) is ${c.action === "create" ? "created" : "changed"}: a node or pooler gets a public address.`
          : `${mdCode(c.address)}${where(p)} gives instances a public IP address (\`associate_public_ip_address\`).`;
    add("high", "public-ip", what);
  }
  if (a && (c.type === "aws_launch_template" || c.type === "aws_instance") && !imdsRequired(a.values) && (c.action === "create" || imdsRequired(b?.values))) {
    add("high", "imdsv2-disabled", `${mdCode(c.address)}${where(p)} does not require IMDSv2 (\`metadata_options.http_tokens\` is not "required"): a server-side request forgery on the node could read the instance role's credentials, which decrypt backups and the secret.`);
  }
  if (c.type === "aws_s3_bucket_policy") {
    if (c.action === "destroy") add("high", "bucket-policy-removed", "The backup bucket's policy is removed: TLS-only access (aws:SecureTransport) and the deny rules no longer apply.");
    else if (c.action !== "create") add("medium", "bucket-policy-changed", "The backup bucket's policy changes: check that it still denies non-TLS access and grants only the cluster's roles.");
  }
  if (c.type === "aws_s3_bucket_public_access_block") {
    const relaxed = a ? PUBLIC_ACCESS_FLAGS.filter((f) => !isTrue(a.values[f]) && (!b || isTrue(b.values[f]))) : [];
    if (c.action === "destroy") add("high", "public-access-block-removed", "The backup bucket's public access block is removed: a bucket policy or ACL could make backups public.");
    else if (relaxed.length > 0) add("high", "public-access-block-relaxed", `The backup bucket's public access block turns off ${relaxed.map((f) => `\`${f}\``).join(", ")}: backups could become public.`);
    else if (c.action === "update" || c.action === "replace") add("medium", "public-access-block-changed", "The backup bucket's public access block changes.");
  }
  return out;
}

/** Cluster-level rules: compare the summaries of both sides and the cluster's ingress sources. */
function clusterRisks(name: string | undefined, base: ClusterSummary | undefined, head: ClusterSummary | undefined, changes: readonly ResourceChange[]): Omit<Risk, "cluster">[] {
  const out: Omit<Risk, "cluster">[] = [];
  if (base && head) {
    if (base.deployment && head.deployment && base.deployment !== head.deployment) {
      const addrs = changes.filter((c) => c.type === "aws_ebs_volume" && c.action !== "no-op").map((c) => c.address);
      out.push({
        level: "high",
        rule: "deployment-model-changed",
        addresses: addrs,
        message: `The deployment model changes from ${mdText(base.deployment)} to ${mdText(head.deployment)}: the model is immutable once deployed — slots, volumes and endpoints are destroyed or created in place of a migration. Create a new ${mdText(head.deployment)} cluster restored by PITR from this one's backups, then switch clients over.`,
      });
    }
    const bv = Number(base.majorVersion);
    const hv = Number(head.majorVersion);
    if (base.majorVersion && head.majorVersion && bv !== hv && !Number.isNaN(bv) && !Number.isNaN(hv)) {
      out.push(
        hv > bv
          ? { level: "medium", rule: "major-version-upgrade", addresses: [], message: `PostgreSQL major version upgrade ${bv} → ${hv}: pg_upgrade of every node, with downtime for the primary; take a fresh full backup first and check extensions.` }
          : { level: "high", rule: "major-version-downgrade", addresses: [], message: `PostgreSQL major version goes down ${bv} → ${hv}: a data directory cannot be downgraded; nodes would not start.` },
      );
    }
    if (base.instanceType && head.instanceType && base.instanceType !== head.instanceType) {
      out.push({
        level: "low",
        rule: "size-changed",
        addresses: changes.filter((c) => c.type === "aws_launch_template" && c.action !== "no-op").map((c) => c.address),
        message: `Instance size changes from ${mdText(base.size ?? "?")} (${mdText(base.instanceType)}) to ${mdText(head.size ?? "?")} (${mdText(head.instanceType)}): nodes take the new type when relaunched one slot at a time; relaunching the primary's node triggers a failover.`,
      });
    }
  }
  const before = new Set(base?.ingressSources ?? []);
  const added = (head?.ingressSources ?? []).filter((s) => !before.has(s));
  const ingressAddrs = (src: string) =>
    changes.filter((c) => c.after && c.action !== "no-op" && ingressSources(c.after).includes(src)).map((c) => c.address);
  for (const src of added) {
    const open = (OPEN_TO_INTERNET as readonly string[]).includes(src);
    out.push({
      level: open ? "high" : "low",
      rule: open ? "ingress-open-to-internet" : "ingress-added",
      addresses: ingressAddrs(src),
      message: open
        ? `Ingress from ${mdText(src)} is allowed${name ? ` to cluster ${mdText(name)}` : ""}: the database would be reachable from anywhere the network routes; allow your private CIDRs or client security groups only.`
        : `Ingress from ${mdText(src)} is added: clients there can reach the endpoints (authentication still requires scram-sha-256 over TLS).`,
    });
  }
  return out;
}

/** What a cluster's nodes' bootstrap header says of `upgradeFrom` (docs/UPGRADING.md), on one side of the change. */
interface UpgradeHeader {
  /** `UPGRADE_FROM_CLUSTER`: the blue cluster. */
  readonly blue: string;
  /** `UPGRADE_CUTOVER` is 1 (false while it is a Terraform expression: a synth output of the HCL module, whose variable only the plan resolves). */
  readonly cutover: boolean;
}

const UPGRADE_HEADER = /readonly UPGRADE_FROM_CLUSTER='([^'\n]*)'\n(?:readonly [A-Z_]+=[^\n]*\n)*?readonly UPGRADE_CUTOVER=([01]|\$\{[^\n]*\})\n/;

/** The `upgradeFrom` header of the first string value of `resources` holding one (the nodes' bootstrap script, in a resource or a local it reads). */
function upgradeHeader(resources: Iterable<ResourceSnapshot>): UpgradeHeader | undefined {
  const m = firstTextMatch(resources, "readonly UPGRADE_CUTOVER=", UPGRADE_HEADER);
  return m ? { blue: m[1], cutover: m[2] === "1" } : undefined;
}

/**
 * The risks of a blue/green major upgrade (`upgradeFrom`, docs/UPGRADING.md "Major versions"),
 * read from the nodes' bootstrap header on both sides: a green cluster that starts following
 * blue, and the cutover (`upgradeFrom.cutover` false → true).
 */
export function upgradeRisks(name: string | undefined, base: Iterable<ResourceSnapshot>, head: Iterable<ResourceSnapshot>): Omit<Risk, "cluster">[] {
  const before = upgradeHeader(base);
  const after = upgradeHeader(head);
  if (!after) return [];
  const green = name ? mdText(name) : "this cluster";
  const blue = mdText(after.blue);
  const out: Omit<Risk, "cluster">[] = [];
  if (!before && !after.cutover) {
    out.push({
      level: "medium",
      rule: "upgrade-started",
      addresses: [],
      message:
        `Cluster ${green} is created as the major-version upgrade of ${blue} (\`upgradeFrom\`): it copies ${blue}'s roles and schema and subscribes to all its tables. ` +
        `${blue} gets a publication and a logical replication slot, which keeps ${blue}'s WAL until ${green} has applied it: if ${green} stops following, ${blue}'s disk fills. ` +
        `DDL run on ${blue} from now on is not replicated; large objects and unlogged tables are not copied (docs/UPGRADING.md). ` +
        `Rollback before the cutover: delete ${green}, then drop the slot and publication it left on ${blue}.`,
    });
  }
  if (after.cutover && !(before && before.cutover)) {
    out.push({
      level: "high",
      rule: "upgrade-cutover",
      addresses: [],
      message:
        `Cutover of the major-version upgrade ${blue} → ${green} (\`upgradeFrom.cutover\` ${before ? "false → true" : "true at creation"}): when the change reaches ${green}'s nodes ` +
        `(a new bootstrap script and launch template version, rolled in ${green}'s maintenance window, or at once with \`applyImmediately\`), ${green}'s primary pauses ${blue}'s PgBouncers, sets ${blue} read-only, waits until it has applied everything, ` +
        `copies the sequence values and roles, then drops the subscription (after re-pointing ${blue}'s PgBouncers, below). Writes to ${blue} itself fail from then on (read-only transaction). ` +
        `If ${blue}'s \`upgradeTo.readWriteEndpoint\` names ${green}'s endpoint, ${blue}'s PgBouncers send their clients to ${green} as soon as the sequences and roles are copied (the clients wait through the pause, seconds, and change nothing); ` +
        `otherwise the write gap lasts until the clients write to ${green}'s read-write endpoint. ` +
        `Rollback is no spec change afterwards: ${blue} misses every write made to ${green}, and \`upgradeFrom\` only goes up a major version, so the way back is a logical dump of ${green} into a new cluster of the old version. ` +
        `Before applying: check that ${green} has caught up and that the clients are ready to switch.`,
    });
  }
  return out;
}

const WAL_LEVEL = /^\s+wal_level: "?([a-z]+)"?$/m;

/** `wal_level` of the nodes' patroni.yml (its `bootstrap.dcs` parameters) in the first string value of `resources` holding it. */
function walLevelOf(resources: Iterable<ResourceSnapshot>): string | undefined {
  return firstTextMatch(resources, "wal_level:", WAL_LEVEL)?.[1];
}

/**
 * The restart of a deployed cluster whose `wal_level` changes (issue 15): `logical` with
 * `upgradeTo` (the blue cluster of a blue/green major upgrade), `replica` without, read from the
 * nodes' patroni.yml on both sides. `wal_level` is a PostgreSQL setting applied at a restart
 * only and a Patroni setting of the DCS, so every member of the cluster restarts: as the roll
 * replaces the nodes (replicas first, the primary after one switchover; a standalone cluster
 * is down while its node is replaced and for one restart after it), in the maintenance window or at once with
 * `applyImmediately` (the nodes' bootstrap header). Nothing for a new cluster (its nodes
 * start with it) or when neither side shows `wal_level`.
 * @param deployment the cluster's deployment model after the change (`standalone`, `distributed`), if known
 */
export function walLevelRisks(name: string | undefined, deployment: string | undefined, base: Iterable<ResourceSnapshot>, head: Iterable<ResourceSnapshot>): Omit<Risk, "cluster">[] {
  const before = walLevelOf(base);
  const after = walLevelOf(head);
  if (before === undefined || after === undefined || before === after) return [];
  const cluster = name ? mdText(name) : "this cluster";
  const t = rollTiming(head);
  const when = t.kind === "immediately" ? "at once (`applyImmediately`)" : t.kind === "window" ? `in its maintenance window (${windowText(t)})` : "in its maintenance window, or at once with `applyImmediately`";
  const how =
    deployment === "standalone"
      ? `${cluster} is down while its only node is replaced, and for one more restart of PostgreSQL after it`
      : "one member at a time as the nodes are replaced, replicas first, then one switchover of the primary (a write gap of a few seconds)";
  const admits = after === "logical";
  return [
    {
      level: "medium",
      rule: "upgrade-blue-restart",
      addresses: [],
      message:
        `${admits ? `${cluster} admits a green cluster (\`upgradeTo\`)` : `\`upgradeTo\` is removed from ${cluster}`}: its \`wal_level\` goes ${mdText(before)} → ${mdText(after)}, ` +
        `which PostgreSQL applies only at a restart, so every member of ${cluster} restarts (${how}), ${when}. ` +
        (admits
          ? `Green's nodes start following once the roll is done (docs/UPGRADING.md, "Blue/green").`
          : `Before applying: no logical replication slot may be left on ${cluster} (the upgrade's \`mp_upgrade_*\`: the cutover drops them; after a rollback drop them first), ` +
            `or PostgreSQL does not start ("logical replication slot … exists, but wal_level < logical").`),
    },
  ];
}

/**
 * Every risk of a review input.
 * @param input the normalized input
 * @param placement cluster and slot of every address
 * @param summaries each cluster's base and head summaries, by cluster name (key `""` for no cluster)
 * @returns risks, highest first
 */
export function findRisks(
  input: ReviewInput,
  placement: ReadonlyMap<string, Placement>,
  summaries: ReadonlyMap<string, { base?: ClusterSummary; head?: ClusterSummary }>,
): Risk[] {
  const risks: Risk[] = [];
  const byCluster = new Map<string, ResourceChange[]>();
  for (const c of input.changes) {
    const p = placement.get(c.address);
    for (const r of resourceRisks(c, p, input.source)) risks.push({ ...r, cluster: p?.cluster });
    const k = p?.cluster ?? "";
    const list = byCluster.get(k);
    if (list === undefined) byCluster.set(k, [c]);
    else list.push(c);
  }
  const sides = new Map<string, { base: ResourceSnapshot[]; head: ResourceSnapshot[] }>();
  for (const [side, map] of [["base", input.base], ["head", input.head]] as const) {
    for (const r of map.values()) {
      const k = placement.get(r.address)?.cluster ?? "";
      const entry = sides.get(k) ?? { base: [], head: [] };
      entry[side].push(r);
      sides.set(k, entry);
    }
  }
  for (const [key, s] of summaries) {
    const name = key === "" ? undefined : key;
    const changes = byCluster.get(key) ?? [];
    for (const r of clusterRisks(name, s.base, s.head, changes)) risks.push({ ...r, cluster: name });
    const side = sides.get(key);
    if (side) for (const r of upgradeRisks(name, side.base, side.head)) risks.push({ ...r, cluster: name });
    if (side && s.base) for (const r of walLevelRisks(name, s.head?.deployment, side.base, side.head)) risks.push({ ...r, cluster: name });
  }
  return sortRisks(risks);
}
