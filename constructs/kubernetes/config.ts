/**
 * Kubernetes variant of the node configuration: the library's renderers
 * (`renderPatroniConfig`, `renderPgBackRestConfig`, `renderPgBouncerConfig`, the
 * post-bootstrap script and SQL) adapted to pods. Pure; no cdktf import.
 *
 * What changes against the AWS target, and why:
 * - Patroni's DCS is the Kubernetes API (ConfigMaps `<cluster>-config|leader|failover|sync`,
 *   `use_endpoints: false`): the read-write Service selects the pod Patroni labels
 *   `role: master` (Patroni 3.0.2, `patroni/dcs/kubernetes.py` `touch_member`).
 * - One ConfigMap serves every pod of the StatefulSet, so per-pod values come from the
 *   environment: `PATRONI_NAME` (pod name), `PATRONI_RESTAPI_LISTEN|CONNECT_ADDRESS` and
 *   `PATRONI_POSTGRESQL_LISTEN|CONNECT_ADDRESS` (pod IP, downward API). Those four keys are
 *   removed from patroni.yml, so a pod without the environment fails to start instead of
 *   advertising a wrong address.
 * - Pod IPs change when a pod is rescheduled: the per-member pg_hba rules for replication
 *   and pg_rewind (`<address>/32`) become one rule per pod network CIDR. The NetworkPolicy
 *   limits who reaches port 5432 at all.
 * - PostgreSQL logs to stderr (`logging_collector = off`) so `kubectl logs` and the
 *   cluster's log pipeline see them; the read-only root file system has no log directory.
 * - pgBackRest: members are addressed by their stable DNS names in the headless Service
 *   (`<pod>.<cluster>-members.<namespace>.svc.<domain>`); credentials come from the IAM
 *   role of the service account (`repo1-s3-key-type=web-id`, IRSA); every pod shares one
 *   TLS certificate, so `tls-server-auth` admits the certificate's common name (the
 *   cluster name) instead of one name per member. One file per member, chosen at run time
 *   by `PGBACKREST_CONFIG`.
 * - PgBouncer forwards to the database Services (`<cluster>-primary`, `<cluster>-replicas`)
 *   instead of a local HAProxy, and logs to stderr.
 */
import { isMap, isSeq, parseDocument } from "yaml";
import { PORTS, type ResolvedClusterSpec } from "../../src/cluster-spec";
import {
  BACKUP_RUNNER_PATRONI_CHECK,
  PATHS,
  PATRONI_POST_BOOTSTRAP_SCRIPT,
  PATRONI_POST_BOOTSTRAP_SQL,
  POST_BOOTSTRAP_SQL,
  renderPatroniConfig,
  renderPgBackRestConfig,
  renderPgBouncerConfig,
  renderPostBootstrapScript,
  stanzaName,
  type ClusterMember,
  type NodeContext,
  type PgBouncerPool,
  type RuntimeContext,
} from "../../src/render";

/** Patroni's label for the member holding the leader lock (Patroni 3.0.2 writes `master`). */
export const PATRONI_PRIMARY_ROLE = "master";
/** Patroni's label for a running replica (synchronous standby included). */
export const PATRONI_REPLICA_ROLE = "replica";
/** Pod label Patroni writes the role to (Patroni's default `role_label`). */
export const PATRONI_ROLE_LABEL = "role";
/** Pod label holding the cluster name (Patroni's default `scope_label`). */
export const PATRONI_SCOPE_LABEL = "cluster-name";

/** Directory the per-member pgBackRest files are mounted in. */
export const PGBACKREST_MEMBER_CONFIG_DIR = "/etc/pgbackrest/members";
/** Directory the PgBouncer files (ini from the ConfigMap, userlist from the Secret) are mounted in. */
export const PGBOUNCER_CONFIG_DIR = "/etc/pgbouncer";
/** Full-backup scheduler script (runs in the `backup` container of every database pod). */
export const BACKUP_SCHEDULER_SCRIPT = "/etc/patroni/backup-scheduler.sh";

/** ConfigMap key of patroni.yml. */
export const PATRONI_CONFIG_KEY = "patroni.yml";

/** Where the database cluster lives in Kubernetes, as the renderers need it. */
export interface KubernetesPlacement {
  /** Namespace of every object. */
  readonly namespace: string;
  /** Cluster DNS domain. */
  readonly clusterDomain: string;
  /** Pod network CIDRs: sources allowed for replication and pg_rewind in pg_hba. */
  readonly podNetworkCidrs: readonly string[];
  /** Labels of the database pods (Patroni adds `cluster-name` and `role`). */
  readonly databaseLabels: Readonly<Record<string, string>>;
}

/** Name of the headless Service giving each member a stable DNS name. */
export function membersServiceName(spec: ResolvedClusterSpec): string {
  return `${spec.name}-members`;
}

/** Name of the database Service that follows the primary. */
export function primaryServiceName(spec: ResolvedClusterSpec): string {
  return `${spec.name}-primary`;
}

/** Name of the database Service over the replicas (distributed). */
export function replicasServiceName(spec: ResolvedClusterSpec): string {
  return `${spec.name}-replicas`;
}

/** Fully qualified DNS name of a Service. */
export function serviceFqdn(service: string, p: KubernetesPlacement): string {
  return `${service}.${p.namespace}.svc.${p.clusterDomain}`;
}

/**
 * The members of a cluster on Kubernetes: pods `<cluster>-0..2` of the StatefulSet,
 * addressed by their DNS names in the headless Service. `zone` is unknown at synth (the
 * scheduler picks it under the topology spread constraint).
 */
export function kubernetesMembers(spec: ResolvedClusterSpec, p: KubernetesPlacement): ClusterMember[] {
  const count = spec.deployment === "distributed" ? 3 : 1;
  const svc = membersServiceName(spec);
  return Array.from({ length: count }, (_, i) => ({
    name: `${spec.name}-${i}`,
    slotIndex: i,
    address: `${spec.name}-${i}.${svc}.${p.namespace}.svc.${p.clusterDomain}`,
    zone: "",
  }));
}

function nodeContext(spec: ResolvedClusterSpec, p: KubernetesPlacement, runtime: RuntimeContext, index: number): NodeContext {
  const members = kubernetesMembers(spec, p);
  return { spec, self: members[index]!, members, runtime };
}

/**
 * patroni.yml for every pod of the StatefulSet: `renderPatroniConfig` with the Kubernetes
 * DCS, then (see the module comment) without the four per-pod address keys, with
 * pg_hba's per-member rules replaced by pod-network rules and with
 * `logging_collector = off`.
 * @throws Error if the renderer's output lacks the per-member pg_hba rules it is
 *   expected to contain (a renderer change this adaptation must follow)
 */
export function renderKubernetesPatroniConfig(spec: ResolvedClusterSpec, p: KubernetesPlacement, runtime: RuntimeContext): string {
  const ctx = nodeContext(spec, p, runtime, 0);
  const text = renderPatroniConfig(ctx, {
    dcs: {
      kind: "kubernetes",
      namespace: p.namespace,
      labels: { ...p.databaseLabels },
      scopeLabel: PATRONI_SCOPE_LABEL,
      roleLabel: PATRONI_ROLE_LABEL,
      useEndpoints: false,
    },
  });
  const doc = parseDocument(text, { schema: "yaml-1.1" });
  doc.delete("name");
  doc.deleteIn(["restapi", "listen"]);
  doc.deleteIn(["restapi", "connect_address"]);
  doc.deleteIn(["postgresql", "listen"]);
  doc.deleteIn(["postgresql", "connect_address"]);
  const restapi = doc.get("restapi", true);
  if (isMap(restapi)) {
    restapi.commentBefore =
      " listen and connect_address come from PATRONI_RESTAPI_LISTEN / PATRONI_RESTAPI_CONNECT_ADDRESS (pod IP).";
  }
  const postgresql = doc.get("postgresql", true);
  if (isMap(postgresql)) {
    postgresql.commentBefore =
      " listen and connect_address come from PATRONI_POSTGRESQL_LISTEN / PATRONI_POSTGRESQL_CONNECT_ADDRESS (pod IP).";
  }

  const hba = doc.getIn(["postgresql", "pg_hba"], true);
  if (!isSeq(hba)) throw new Error("renderKubernetesPatroniConfig: postgresql.pg_hba is missing from the rendered configuration");
  const memberSuffixes = ctx.members.map((m) => `${m.address}/32`);
  const rules = hba.items.map((n) => String((n as { value?: unknown }).value ?? n));
  const isMemberRule = (r: string) => memberSuffixes.some((s) => r.split(/\s+/).includes(s));
  const firstMember = rules.findIndex(isMemberRule);
  if (firstMember < 0) {
    throw new Error("renderKubernetesPatroniConfig: no per-member pg_hba rule found to replace with pod-network rules");
  }
  const memberRules = rules.filter(isMemberRule);
  const templates = [...new Set(memberRules.map((r) => r.split(/\s+/).map((w) => (memberSuffixes.includes(w) ? "@CIDR@" : w)).join(" ")))];
  const podRules = templates.flatMap((t) => p.podNetworkCidrs.map((c) => t.replace("@CIDR@", c)));
  const kept = rules.filter((r) => !isMemberRule(r));
  const newRules = [...kept.slice(0, firstMember), ...podRules, ...kept.slice(firstMember)];
  doc.setIn(["postgresql", "pg_hba"], doc.createNode(newRules));
  const hbaNode = doc.getIn(["postgresql", "pg_hba"], true) as { commentBefore?: string };
  hbaNode.commentBefore =
    " Replication and pg_rewind from the pod network (pod IPs change on rescheduling);" +
    " the NetworkPolicy admits only the cluster's pods and the pooler.";

  // Patroni 3.0.2's validator requires bootstrap.pg_hba (patroni/validator.py): the same rules.
  doc.setIn(["bootstrap", "pg_hba"], doc.createNode(newRules));

  doc.setIn(["postgresql", "parameters", "logging_collector"], "off");
  const header = doc.commentBefore ?? "";
  doc.commentBefore =
    `${header}\n Kubernetes: one file for every pod; the member name (PATRONI_NAME), the listen and connect addresses and the\n` +
    ` passwords come from the pod's environment (downward API and the credentials Secret).`;
  return doc.toString({ lineWidth: 0, minContentWidth: 0 });
}

/**
 * The pgBackRest file of member `index`: `renderPgBackRestConfig` with IRSA credentials
 * (`repo1-s3-key-type=web-id`) and one `tls-server-auth` entry for the shared certificate's
 * common name `<cluster>`.
 * @throws Error if the renderer's output lacks `repo1-s3-key-type=auto`
 */
export function renderKubernetesPgBackRestConfig(
  spec: ResolvedClusterSpec,
  p: KubernetesPlacement,
  runtime: RuntimeContext,
  index: number,
): string {
  const text = renderPgBackRestConfig(nodeContext(spec, p, runtime, index));
  if (!text.includes("\nrepo1-s3-key-type=auto\n")) {
    throw new Error("renderKubernetesPgBackRestConfig: expected repo1-s3-key-type=auto in the rendered configuration");
  }
  const stanza = stanzaName(spec);
  let authWritten = false;
  return text
    .split("\n")
    .flatMap((line) => {
      if (line.startsWith("# repo1-cipher-pass:")) {
        return ["# repo1-cipher-pass: environment variable PGBACKREST_REPO1_CIPHER_PASS, from the credentials Secret."];
      }
      if (line.startsWith("# Repository:")) return [line.replace("instance-role", "service-account (IRSA)")];
      if (line === "repo1-s3-key-type=auto") {
        return ["# Credentials: the service account's IAM role (IRSA: AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE).", "repo1-s3-key-type=web-id"];
      }
      if (line.startsWith("tls-server-auth=")) {
        if (authWritten) return [];
        authWritten = true;
        return [`# Every pod presents the cluster certificate (common name ${spec.name}).`, `tls-server-auth=${spec.name}=${stanza}`];
      }
      return [line];
    })
    .join("\n");
}

/** ConfigMap key of member `name`'s pgBackRest file. */
export function pgbackrestConfigKey(memberName: string): string {
  return `pgbackrest-${memberName}.conf`;
}

/**
 * The full-backup scheduler: sleeps until `spec.backup.fullBackupTime` (UTC) every day,
 * then runs `pgbackrest backup --type=full` if this pod is the elected runner — the
 * synchronous standby (`GET /sync` = 200, distributed; `BACKUP_RUNNER_PATRONI_CHECK`) or the
 * primary (`GET /primary`, standalone). On start it creates the stanza when this pod is the
 * primary (`stanza-create` is idempotent). Needs `sh`, GNU `date` and `curl` in the image.
 */
export function renderBackupScheduler(spec: ResolvedClusterSpec, p: KubernetesPlacement): string {
  const check = spec.deployment === "distributed" ? BACKUP_RUNNER_PATRONI_CHECK : "/primary";
  const stanza = stanzaName(spec);
  const self = `"$POD_NAME.${membersServiceName(spec)}.${p.namespace}.svc.${p.clusterDomain}"`;
  return [
    "#!/bin/sh",
    `# Daily full backup of ${spec.name} at ${spec.backup.fullBackupTime} UTC. Rendered by cdktf-managed-postgres.`,
    "set -u",
    `self=${self}`,
    `api() { curl --silent --fail --output /dev/null --max-time 5 --cacert ${PATHS.caCert} "https://$self:${PORTS.patroniRest}$1"; }`,
    "until api /health; do sleep 10; done",
    `if api /primary; then pgbackrest --stanza=${stanza} stanza-create || echo "backup-scheduler: stanza-create failed; retrying at the next run" >&2; fi`,
    "while true; do",
    "  now=$(date -u +%s)",
    `  next=$(date -u -d "today ${spec.backup.fullBackupTime}" +%s)`,
    '  [ "$next" -le "$now" ] && next=$((next + 86400))',
    '  sleep $((next - now))',
    `  if api ${check}; then`,
    `    pgbackrest --stanza=${stanza} stanza-create && pgbackrest --stanza=${stanza} --type=full backup || echo "backup-scheduler: backup failed" >&2`,
    "  fi",
    "done",
    "",
  ].join("\n");
}

/** The ConfigMap data of the database pods: patroni.yml, the post-bootstrap files, pgBackRest per member, the backup scheduler. */
export function renderDatabaseConfigMapData(
  spec: ResolvedClusterSpec,
  p: KubernetesPlacement,
  runtime: RuntimeContext,
): Record<string, string> {
  const data: Record<string, string> = {
    [PATRONI_CONFIG_KEY]: renderKubernetesPatroniConfig(spec, p, runtime),
    [basename(PATRONI_POST_BOOTSTRAP_SCRIPT)]: renderPostBootstrapScript(),
    [basename(PATRONI_POST_BOOTSTRAP_SQL)]: POST_BOOTSTRAP_SQL,
    [basename(BACKUP_SCHEDULER_SCRIPT)]: renderBackupScheduler(spec, p),
  };
  for (const m of kubernetesMembers(spec, p)) {
    data[pgbackrestConfigKey(m.name)] = renderKubernetesPgBackRestConfig(spec, p, runtime, m.slotIndex);
  }
  return data;
}

/** The PgBouncer pools of a cluster: rw, plus ro when distributed. */
export function poolerPools(spec: ResolvedClusterSpec): PgBouncerPool[] {
  return spec.deployment === "distributed" ? ["rw", "ro"] : ["rw"];
}

/**
 * A pool's pgbouncer ini: `renderPgBouncerConfig`, forwarding to the database Service of
 * the pool (`<cluster>-primary` for rw, `<cluster>-replicas` for ro, port 5432), without a
 * log file (stderr).
 * @throws Error if the renderer's output lacks its `[databases]` wildcard line
 */
export function renderKubernetesPgBouncerConfig(
  spec: ResolvedClusterSpec,
  p: KubernetesPlacement,
  runtime: RuntimeContext,
  pool: PgBouncerPool,
): string {
  const ctx = { spec, members: kubernetesMembers(spec, p), runtime };
  const text = renderPgBouncerConfig(ctx, pool);
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.startsWith("* = host="));
  if (at < 0) throw new Error("renderKubernetesPgBouncerConfig: no `* = host=` line in [databases]");
  const service = pool === "rw" ? primaryServiceName(spec) : replicasServiceName(spec);
  lines[at] = `* = host=${serviceFqdn(service, p)} port=${PORTS.postgres}`;
  lines.splice(at, 0, `; Kubernetes: the database Service ${service} follows Patroni's role label.`);
  return lines.filter((l) => !l.startsWith("logfile =") && !l.startsWith("; Every database goes to the local HAProxy")).join("\n");
}

/** ConfigMap data of the pooler pods: one ini per pool. */
export function renderPoolerConfigMapData(
  spec: ResolvedClusterSpec,
  p: KubernetesPlacement,
  runtime: RuntimeContext,
): Record<string, string> {
  const data: Record<string, string> = {};
  for (const pool of poolerPools(spec)) data[`pgbouncer-${pool}.ini`] = renderKubernetesPgBouncerConfig(spec, p, runtime, pool);
  return data;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
