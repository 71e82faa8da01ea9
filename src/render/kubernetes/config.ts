/**
 * The files of a cluster on Kubernetes, as ConfigMap data: the base renderers
 * (`renderPatroniConfig`, `renderPgBackRestConfig`, `renderPgBouncerConfig`, the
 * post-bootstrap script and SQL) with the Kubernetes {@link RenderTarget}
 * (`kubernetesRenderTarget`), plus the full-backup scheduler script. Pure; no cdktf import.
 */
import { PORTS, type ResolvedClusterSpec } from "../../cluster-spec";
import { PATHS } from "../paths";
import { BACKUP_RUNNER_PATRONI_CHECK, renderPgBackRestConfig, stanzaName } from "../pgbackrest";
import { renderPgBouncerConfig, type PgBouncerPool } from "../pgbouncer";
import { PATRONI_POST_BOOTSTRAP_SCRIPT, PATRONI_POST_BOOTSTRAP_SQL, renderPatroniConfig } from "../patroni";
import { renderPostBootstrapScript } from "../node-files";
import { scriptBody, shellHeader } from "../scripts";
import { POST_BOOTSTRAP_SQL } from "../sql";
import { assertTerraformSafe } from "../terraform-safe";
import type { RuntimeContext } from "../types";
import {
  kubernetesMembers,
  kubernetesNodeContext,
  kubernetesRenderTarget,
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
