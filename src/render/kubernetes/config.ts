/**
 * The files of a cluster on Kubernetes, as ConfigMap data: the base renderers
 * (`renderPatroniConfig`, `renderPgBackRestConfig`, `renderPgBouncerConfig`, the
 * post-bootstrap script and SQL) with the Kubernetes {@link RenderTarget}
 * (`kubernetesRenderTarget`), plus the full-backup scheduler script. Pure; no cdktf import.
 */
import { PORTS, windowMinutes, type ResolvedClusterSpec } from "../../cluster-spec";
import { PATHS } from "../paths";
import { BACKUP_RUNNER_PATRONI_CHECK, renderPgBackRestConfig, stanzaName } from "../pgbackrest";
import { renderPgBouncerConfig, type PgBouncerPool } from "../pgbouncer";
import { PATRONI_POST_BOOTSTRAP_SCRIPT, PATRONI_POST_BOOTSTRAP_SQL, patroniDcsSettings, renderPatroniConfig } from "../patroni";
import { renderPostBootstrapScript } from "../node-files";
import { readScript, scriptBody, shellHeader } from "../scripts";
import { PATRONI_MAXIMUM_LAG_ON_FAILOVER, PATRONI_RESTAPI_USERNAME } from "../patroni";
import { ROLL_LOCK_TTL_SECONDS } from "../bootstrap/files";
import { POST_BOOTSTRAP_SQL } from "../sql";
import { assertTerraformSafe } from "../terraform-safe";
import type { RuntimeContext } from "../types";
import {
  kubernetesMembers,
  kubernetesNodeContext,
  kubernetesRenderTarget,
  maintenanceLockName,
  membersServiceName,
  poolerPools,
  type KubernetesPlacement,
} from "./target";

/** Directory the per-member pgBackRest files are mounted in. */
export const PGBACKREST_MEMBER_CONFIG_DIR = "/etc/pgbackrest/members";
/** Directory the PgBouncer files (ini from the ConfigMap, userlist from the Secret) are mounted in. */
export const PGBOUNCER_CONFIG_DIR = "/etc/pgbouncer";
/** Full-backup scheduler script (runs in the `backup` container of every database pod). */
export const BACKUP_SCHEDULER_SCRIPT = "/etc/patroni/backup-scheduler.sh";

/** The maintenance agent (runs in the `maintenance` container of every database pod: `python3 <this>`). */
export const MAINTENANCE_AGENT_SCRIPT = "/etc/patroni/maintenance.py";

/** Seconds between two runs of the maintenance agent (the AWS nodes' maintenance timer runs every minute too). */
export const MAINTENANCE_INTERVAL_SECONDS = 60;

/**
 * The maintenance agent: src/render/scripts/k8s-maintenance.py as it is (it reads its settings
 * from the environment: {@link maintenanceEnvironment}).
 * @throws Error if the file holds a Terraform template sequence
 */
export function renderMaintenanceAgent(): string {
  const text = readScript("k8s-maintenance.py");
  assertTerraformSafe(text, "the Kubernetes maintenance agent");
  return text;
}

/**
 * The maintenance agent's settings as container environment (name, value), besides POD_NAME
 * and the REST API password (a secret reference): the StatefulSet and its member count, the
 * lock ConfigMap ({@link maintenanceLockName}), the window in minutes (`windowMinutes`, the
 * same arithmetic as the AWS nodes), `applyImmediately`, the lag limit (Patroni's
 * `maximum_lag_on_failover`, 1 MiB), the lock's time to live (900 s, as the AWS nodes' etcd
 * lease), the interval, this pod's Patroni REST API over TLS with the cluster CA, the data
 * volume's mount, and `DCS_CONFIGURATION`: the JSON of patroni.yml's `bootstrap.dcs`
 * (`patroniDcsSettings`), which the agent PATCHes into Patroni's dynamic configuration where it
 * differs (Patroni applies `bootstrap.dcs` only when it creates the cluster).
 */
export function maintenanceEnvironment(spec: ResolvedClusterSpec, p: KubernetesPlacement): [string, string][] {
  const w = windowMinutes(spec.maintenanceWindow);
  return [
    ["NAMESPACE", p.namespace],
    ["STATEFULSET", spec.name],
    ["MEMBER_COUNT", String(spec.deployment === "distributed" ? 3 : 1)],
    ["LOCK_CONFIGMAP", maintenanceLockName(spec)],
    ["MW_DAY", String(w.isoDay)],
    ["MW_START_MINUTE", String(w.startMinute)],
    ["MW_DURATION", String(w.durationMinutes)],
    ["APPLY_IMMEDIATELY", spec.applyImmediately ? "yes" : "no"],
    ["LAG_LIMIT_BYTES", String(PATRONI_MAXIMUM_LAG_ON_FAILOVER)],
    ["LOCK_TTL", String(ROLL_LOCK_TTL_SECONDS)],
    ["INTERVAL", String(MAINTENANCE_INTERVAL_SECONDS)],
    ["PATRONI_URL", `https://$(POD_NAME).${membersServiceName(spec)}.${p.namespace}.svc.${p.clusterDomain}:${PORTS.patroniRest}`],
    ["PATRONI_CA", PATHS.caCert],
    ["PATRONI_RESTAPI_USERNAME", PATRONI_RESTAPI_USERNAME],
    ["DATA_MOUNT", PATHS.dataMount],
    ["DCS_CONFIGURATION", JSON.stringify(patroniDcsSettings(spec, kubernetesRenderTarget(spec, p)))],
  ];
}

/** ConfigMap key of patroni.yml. */
export const PATRONI_CONFIG_KEY = "patroni.yml";

/**
 * patroni.yml for every pod of the StatefulSet: `renderPatroniConfig` with the Kubernetes
 * target (Kubernetes DCS, no per-pod name or addresses, pod-network pg_hba,
 * `logging_collector = off`). The header names member 0; the file serves every member.
 */
export function renderKubernetesPatroniConfig(spec: ResolvedClusterSpec, p: KubernetesPlacement, runtime: RuntimeContext): string {
  return renderPatroniConfig(kubernetesNodeContext(spec, p, runtime, 0), { target: kubernetesRenderTarget(spec, p) });
}

/**
 * The pgBackRest file of member `index`: `renderPgBackRestConfig` with the Kubernetes target
 * (IRSA credentials `repo1-s3-key-type=web-id`, cipher pass from the environment, one
 * `tls-server-auth` entry for the shared certificate's common name `<cluster>`).
 */
export function renderKubernetesPgBackRestConfig(
  spec: ResolvedClusterSpec,
  p: KubernetesPlacement,
  runtime: RuntimeContext,
  index: number,
): string {
  return renderPgBackRestConfig(kubernetesNodeContext(spec, p, runtime, index), kubernetesRenderTarget(spec, p));
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
 * The code is src/render/scripts/backup-scheduler.sh behind a `readonly` header of the values.
 * @throws Error if the assembled text holds a Terraform template sequence
 */
export function renderBackupScheduler(spec: ResolvedClusterSpec, p: KubernetesPlacement): string {
  const text = [
    "#!/bin/sh",
    `# Daily full backup of ${spec.name} at ${spec.backup.fullBackupTime} UTC. Rendered by cdktf-managed-postgres from src/render/scripts/backup-scheduler.sh.`,
    shellHeader({
      SELF_DOMAIN: `${membersServiceName(spec)}.${p.namespace}.svc.${p.clusterDomain}`,
      REST_PORT: PORTS.patroniRest,
      CA_CERT: PATHS.caCert,
      STANZA: stanzaName(spec),
      FULL_BACKUP_TIME: spec.backup.fullBackupTime,
      RUNNER_CHECK: spec.deployment === "distributed" ? BACKUP_RUNNER_PATRONI_CHECK : "/primary",
    }) + scriptBody("backup-scheduler.sh"),
  ].join("\n");
  assertTerraformSafe(text, "the Kubernetes backup scheduler");
  return text;
}

/** The ConfigMap data of the database pods: patroni.yml, the post-bootstrap files, pgBackRest per member, the backup scheduler, the maintenance agent. */
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
    [basename(MAINTENANCE_AGENT_SCRIPT)]: renderMaintenanceAgent(),
  };
  for (const m of kubernetesMembers(spec, p)) {
    data[pgbackrestConfigKey(m.name)] = renderKubernetesPgBackRestConfig(spec, p, runtime, m.slotIndex);
  }
  return data;
}

/**
 * A pool's pgbouncer ini: `renderPgBouncerConfig` with the Kubernetes target, forwarding to
 * the database Service of the pool (`<cluster>-primary` for rw, `<cluster>-replicas` for ro,
 * port 5432), without a log file (stderr).
 * @throws Error as `renderPgBouncerConfig` does (pool "ro" of a standalone cluster)
 */
export function renderKubernetesPgBouncerConfig(
  spec: ResolvedClusterSpec,
  p: KubernetesPlacement,
  runtime: RuntimeContext,
  pool: PgBouncerPool,
): string {
  return renderPgBouncerConfig({ spec, members: kubernetesMembers(spec, p), runtime }, pool, kubernetesRenderTarget(spec, p));
}

/** ConfigMap data of the pooler pods: one ini per pool (`pgbouncer-<pool>.ini`). */
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
