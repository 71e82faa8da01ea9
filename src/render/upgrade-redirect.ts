/**
 * The blue side of a blue/green major upgrade's cutover (issue 15, docs/UPGRADING.md): with
 * `upgradeTo.readWriteEndpoint` (green's read-write endpoint host), every host of blue that runs
 * PgBouncer (the pooler instances of a distributed blue, the node of a standalone one) gets
 * - for each of its pools, a second pool file ({@link upgradePoolConfigPath}) that sends every
 *   database to green's endpoint instead of blue's HAProxy or PostgreSQL ({@link upgradeRedirectTarget}:
 *   `rw` to `readWriteEndpoint`:`readWritePort`, `ro` to `readOnlyEndpoint`:`readOnlyPort` or,
 *   without them, where `rw` goes), with `auth_user=`{@link UPGRADE_POOLER_AUTH_ROLE}
 *   (a role green's cutover creates with the secret of blue's `pgbouncer_auth`: the userlist here
 *   holds blue's password) and `server_tls_ca_file` = {@link UPGRADE_TARGET_CA} (green's CA,
 *   which the cutover hands over); everything else as the live file;
 * - the agent {@link UPGRADE_REDIRECT_SCRIPT} (`scripts/upgrade-redirect.sh`) and its service
 *   {@link UPGRADE_REDIRECT_UNIT}, which follows the cutover through blue's Patroni dynamic
 *   configuration (key {@link UPGRADE_DCS_KEY}, PATCHed by green's cutover): PAUSE the pools,
 *   then swap the pool files, RELOAD, RECONNECT and RESUME — clients of blue's endpoints stay
 *   connected and carry on with green.
 * Without `readWriteEndpoint` nothing of this is rendered (clients move to green's endpoints
 * themselves). Pure.
 *
 * Verified on PgBouncer 1.18 (Debian 12, the image of PostgreSQL 15 and 16 clusters, the blue
 * side of every upgrade): PAUSE closes every server connection once its transaction ends
 * ("closing because: pause mode"); a client query sent while paused waits and, after RELOAD of a
 * changed `[databases]` entry (host, port, `auth_user=`) and `server_tls_ca_file`, then RESUME,
 * runs on the new upstream on the same client connection; a new client login then runs
 * `auth_query` as the entry's `auth_user`. Checked end to end by test/render/upgrade-redirect.system.test.ts.
 */
import { dirname } from "node:path";
import { PORTS } from "../cluster-spec";
import { PATHS, pgbouncerConfigPath } from "./paths";
import { pgbouncerPort, pgbouncerRunDir, poolerPools, renderPgBouncerConfig } from "./pgbouncer";
import { DB_ROLES } from "./postgres";
import { scriptBody, shellHeader } from "./scripts";
import { AWS_EC2_TARGET } from "./target";
import { assertTerraformSafe } from "./terraform-safe";
import type { NodeContext, PgBouncerPool, PoolerContext, RenderedFile } from "./types";

/** Where the agent is installed. */
export const UPGRADE_REDIRECT_SCRIPT = "/usr/local/sbin/managed-postgres-upgrade-redirect";
/** Name of the agent's systemd service (a daemon: `<name>.service`). */
export const UPGRADE_REDIRECT_UNIT = "managed-postgres-upgrade-redirect";
/** The key of blue's Patroni dynamic configuration through which green's cutover signals blue's PgBouncer hosts. */
export const UPGRADE_DCS_KEY = "managed_postgres_upgrade";
/**
 * The role green's cutover creates with the SCRAM secret of blue's `pgbouncer_auth` (a member
 * of green's `pgbouncer_auth`, so it may run green's auth_query function): blue's PgBouncers
 * look their clients up at green with it.
 */
export const UPGRADE_POOLER_AUTH_ROLE = "mp_upgrade_pooler_auth";
/** Green's CA certificate on blue's PgBouncer hosts, written by the agent at the redirect (public material). */
export const UPGRADE_TARGET_CA = "/var/lib/managed-postgres-upgrade-redirect/green-ca.pem";
/** Seconds between the agent's reads of blue's dynamic configuration while its pools are not paused. */
export const UPGRADE_REDIRECT_POLL_SECONDS = 1;
/**
 * Seconds between the agent's reads while its pools are paused (at most
 * {@link UPGRADE_PAUSE_MAX_SECONDS}): from the PAUSE on, clients wait, and the time to see the
 * redirect is part of their wait (the cutover's write gap, issue 15's target ≤ 5 s). Patroni's
 * `GET /config` answers from its cached cluster view, which its etcd3 watch refreshes on a
 * configuration change (Patroni 3.0/4.0 source, patroni/dcs/etcd3.py): no etcd read per request.
 */
export const UPGRADE_REDIRECT_PAUSED_POLL_SECONDS = 0.1;
/**
 * Seconds the agent keeps its pools paused without a redirect before it gives that cutover
 * attempt up and resumes them: longer than green's bounded catch-up (UPGRADE_CATCHUP_TIMEOUT_SECONDS,
 * 60 s) plus the cutover's other steps (measured 1–5 s on the EC2 twin), so only a green that died
 * mid-cutover reaches it.
 */
export const UPGRADE_PAUSE_MAX_SECONDS = 120;
/**
 * Seconds the agent waits for one admin command (PAUSE waits for the transactions in flight).
 * A PAUSE not finished by then stays in effect (PgBouncer's pause mode is process state that
 * outlives the admin connection: src/admin.c, only SUSPEND is undone when the admin leaves) and
 * completes when those transactions end (on blue's primary green's drain ends them); the agent
 * goes back to reading blue's configuration meanwhile, so a long read on the read-only pool does
 * not delay the redirect.
 */
export const UPGRADE_PAUSE_TIMEOUT_SECONDS = 2;

/** The pool file of `pool` that points at green's endpoint: `/etc/pgbouncer/pgbouncer-<pool>.upgrade.ini`. */
export function upgradePoolConfigPath(pool: PgBouncerPool): string {
  return pgbouncerConfigPath(pool).replace(/\.ini$/, ".upgrade.ini");
}

/**
 * Where `pool` goes after the redirect: `rw` to `upgradeTo.readWriteEndpoint`:`readWritePort`,
 * `ro` to `readOnlyEndpoint`:`readOnlyPort` (or, without them, where `rw` goes: green's
 * primary); undefined without `readWriteEndpoint`. Hosts and ports as given (they may be tokens).
 * @throws Error when `readWriteEndpoint` comes without `readWritePort` (validation refuses it first)
 */
export function upgradeRedirectTarget(ctx: NodeContext | PoolerContext, pool: PgBouncerPool): { host: string; port: number } | undefined {
  const to = ctx.spec.upgradeTo;
  if (!to?.readWriteEndpoint) return undefined;
  if (pool === "ro" && to.readOnlyEndpoint && to.readOnlyPort !== undefined) return { host: to.readOnlyEndpoint, port: to.readOnlyPort };
  if (to.readWritePort === undefined) throw new Error(`upgradeRedirectTarget(${ctx.spec.name}): upgradeTo.readWriteEndpoint without readWritePort`);
  return { host: to.readWriteEndpoint, port: to.readWritePort };
}

/**
 * The pool file of `pool` pointing at green's endpoint ({@link upgradeRedirectTarget}).
 * @throws Error without `upgradeTo.readWriteEndpoint`, or as renderPgBouncerConfig does
 */
export function renderUpgradePoolConfig(ctx: NodeContext | PoolerContext, pool: PgBouncerPool): string {
  const target = upgradeRedirectTarget(ctx, pool);
  if (!target) throw new Error(`renderUpgradePoolConfig(${ctx.spec.name}): upgradeTo.readWriteEndpoint is not set`);
  return renderPgBouncerConfig(ctx, pool, {
    ...AWS_EC2_TARGET,
    poolerUpstreams: {
      [pool]: {
        ...target,
        comment: `After the cutover of the upgrade (upgradeTo): every database goes to green's ${pool === "rw" ? "read-write" : "read-only"} endpoint.`,
        authUser: UPGRADE_POOLER_AUTH_ROLE,
        serverTlsCaFile: UPGRADE_TARGET_CA,
      },
    },
  });
}

/** Overrides of {@link renderUpgradeRedirectScript} for tests. @default - the host's values */
export interface UpgradeRedirectOverrides {
  readonly pauseMaxSeconds?: number;
}

/**
 * Text of {@link UPGRADE_REDIRECT_SCRIPT}: `scripts/upgrade-redirect.sh` behind a header of its
 * values (blue's member addresses for `GET /config`, the pools' ports, run directories, live
 * and upgrade pool files) and `main`.
 * @throws Error without `upgradeTo.readWriteEndpoint`, or if the text would contain a Terraform
 *   template sequence (a bug)
 */
export function renderUpgradeRedirectScript(ctx: NodeContext | PoolerContext, overrides: UpgradeRedirectOverrides = {}): string {
  const { spec } = ctx;
  if (!spec.upgradeTo?.readWriteEndpoint) throw new Error(`renderUpgradeRedirectScript(${spec.name}): upgradeTo.readWriteEndpoint is not set`);
  const ps = poolerPools(ctx.spec);
  const perPool = (name: string, value: (pool: PgBouncerPool) => string | number) =>
    Object.fromEntries((["rw", "ro"] as const).map((p) => [`${name}_${p.toUpperCase()}`, ps.includes(p) ? value(p) : ""]));
  const text = [
    "#!/bin/bash",
    `# managed-postgres-upgrade-redirect: the PgBouncer pools of cluster ${spec.name} follow its upgrade's cutover to green (upgradeTo).`,
    "# Rendered by cdktf-managed-postgres from src/render/scripts/upgrade-redirect.sh.",
    "set -euo pipefail",
    "umask 027",
    "export LC_ALL=C",
    shellHeader({
      CLUSTER: spec.name,
      REST_ADDRESSES: ctx.members.map((m) => m.address).join(" "),
      REST_PORT: PORTS.patroniRest,
      CA_CERT: PATHS.caCert,
      POOLS: ps.join(" "),
      POOL_MODE: spec.pooler.poolMode,
      DCS_KEY: UPGRADE_DCS_KEY,
      USERLIST: PATHS.pgbouncerUserlist,
      PGBOUNCER_AUTH_ROLE: DB_ROLES.pgbouncerAuth,
      POOLER_AUTH_ROLE: UPGRADE_POOLER_AUTH_ROLE,
      TARGET_CA: UPGRADE_TARGET_CA,
      STATE_DIR: dirname(UPGRADE_TARGET_CA),
      POLL_SECONDS: UPGRADE_REDIRECT_POLL_SECONDS,
      // a fraction (sleep takes one): shellHeader writes only integers unquoted
      PAUSED_POLL_SECONDS: String(UPGRADE_REDIRECT_PAUSED_POLL_SECONDS),
      PAUSE_MAX_SECONDS: overrides.pauseMaxSeconds ?? UPGRADE_PAUSE_MAX_SECONDS,
      PAUSE_TIMEOUT: UPGRADE_PAUSE_TIMEOUT_SECONDS,
      ...perPool("PORT", pgbouncerPort),
      ...perPool("RUN_DIR", pgbouncerRunDir),
      ...perPool("CONFIG", pgbouncerConfigPath),
      ...perPool("UPGRADE_CONFIG", upgradePoolConfigPath),
    }) + scriptBody("upgrade-redirect.sh"),
    "main",
    "",
  ].join("\n");
  return assertTerraformSafe(text, UPGRADE_REDIRECT_SCRIPT);
}

/**
 * The files of {@link UPGRADE_REDIRECT_SCRIPT} on a PgBouncer host of blue (a pooler instance of
 * a distributed blue, the node of a standalone one): the script (root 0755) and each pool's
 * upgrade pool file (`postgres:postgres` 0640, as the live one); empty without
 * `upgradeTo.readWriteEndpoint` and for a distributed cluster's database node. The service is in the host's systemd units
 * (src/render/systemd.ts). Pure.
 */
export function renderUpgradeRedirectFiles(ctx: NodeContext | PoolerContext): RenderedFile[] {
  if (!ctx.spec.upgradeTo?.readWriteEndpoint) return [];
  // a distributed cluster's database nodes run no PgBouncer (its pooler instances do)
  if ("self" in ctx && ctx.spec.deployment === "distributed") return [];
  return [
    { path: UPGRADE_REDIRECT_SCRIPT, content: renderUpgradeRedirectScript(ctx), mode: "0755", owner: "root:root" },
    ...poolerPools(ctx.spec).map((pool) => ({ path: upgradePoolConfigPath(pool), content: renderUpgradePoolConfig(ctx, pool), mode: "0640", owner: "postgres:postgres" })),
  ];
}
