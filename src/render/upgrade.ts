/**
 * The node side of `upgradeFrom` (issue 15: a major version upgrade blue/green through logical
 * replication): the script green's nodes run, {@link UPGRADE_SCRIPT} from
 * `scripts/node-upgrade.sh`, and its systemd service and timer. Pure. Nothing here is wired
 * into a node's files: the caller adds these files only to a cluster declared with
 * `upgradeFrom`, so every other cluster's output stays as it is.
 *
 * What the script does on green's primary, every {@link UPGRADE_TIMER_SECONDS} s (every step
 * idempotent; a run after a crash continues):
 * 1. reads blue's cluster secret (superuser and REST API passwords, CA) with the AWS CLI into
 *    password files (0600), finds blue's primary (Patroni `GET /primary` on each address,
 *    TLS checked with blue's CA);
 * 2. preflight, per database of blue: tables without a primary key and REPLICA IDENTITY
 *    DEFAULT or NOTHING, unlogged tables, large objects, database names that are not plain
 *    words; of blue as a whole: `wal_level` other than logical, too few free replication slots
 *    or WAL senders for a slot per database plus 2; of green: `max_logical_replication_workers`
 *    below the databases plus 1 (`UPGRADE_LOGICAL_REPLICATION_WORKERS`): each logged by name,
 *    metric `mp_upgrade_preflight_problems`; any refuses step 3;
 * 3. follow: blue's roles with their SCRAM secrets (`pg_dumpall --roles-only` minus
 *    {@link UPGRADE_MANAGED_ROLES}), per database the schema (`pg_dump --schema-only
 *    --no-publications --no-subscriptions`, without PgBouncer's auth schema, one transaction),
 *    `CREATE PUBLICATION mp_upgrade FOR ALL TABLES` on blue, a Patroni permanent logical slot
 *    `mp_upgrade_<12 hex of md5(database)>` (blue's `PATCH /config`: it survives a failover on
 *    blue once Patroni has copied it to blue's replicas), every database's slot first; then per
 *    database, once every member of blue a failover could promote (blue's `GET /cluster`: replica
 *    or synchronous standby, running or streaming, not `nofailover`) holds its slot (bounded,
 *    {@link UPGRADE_SLOT_TIMEOUT_SECONDS}; else the run fails and the next retries),
 *    `CREATE SUBSCRIPTION … WITH (create_slot = false, copy_data = true, synchronous_commit =
 *    'local')` on green (the apply workers flush what they apply, so the position they confirm
 *    is current: the cutover's catch-up does not wait for green's WAL writer);
 *    metric `mp_upgrade_lag_bytes` (the largest slot's distance to blue's WAL position); every
 *    run compares blue's and green's table columns per database and logs each one only one side
 *    has (DDL on blue is not replicated; the apply stops at a missing column), metric
 *    `mp_upgrade_schema_drift` (databases that differ); a cutover is refused while any differs;
 * 4. cutover, when `cutover` is set and every table's initial copy is done: a bounded wait
 *    ({@link UPGRADE_CATCHUP_TIMEOUT_SECONDS}; else the run fails, blue untouched) until every
 *    slot is within 256 KiB of blue's WAL position, blue's PgBouncers paused (below), blue's `default_transaction_read_only` on (`PATCH /config`), blue's client
 *    sessions ended, a bounded wait ({@link UPGRADE_CATCHUP_TIMEOUT_SECONDS}) until every slot
 *    confirms blue's WAL position (else, if blue's configuration still holds this run's pause,
 *    blue is made writable again and the run fails), sequences copied (`setval`), roles copied
 *    again, blue's PgBouncers redirected to green (below); then subscriptions disabled and
 *    dropped, the permanent slots removed from blue's configuration, the comment of green's
 *    database `postgres` set to `managed-postgres upgrade: cutover done from <blue>: …` (every
 *    later run stops there). Once redirected the cutover only goes forward: a later run that
 *    finds blue's key in state redirect for this green does only the steps after it, blue stays
 *    read-only. Each step's duration logged; metric `mp_upgrade_cutover_seconds`.
 *
 * Progress lives in green's databases (replicated, so it survives a failover or a node
 * replacement): a database's schema is copied in one transaction with the comment
 * `managed-postgres upgrade: schema copied from <blue>`; publications, slots and subscriptions
 * are looked up by name. Every green node, primary or not, writes blue's CA and password file
 * (the subscriptions' `passfile`) each run, so a new primary's apply workers find them.
 *
 * Blue's PgBouncer hosts follow the cutover when blue has `upgradeTo.readWriteEndpoint`
 * (src/render/upgrade-redirect.ts): before blue becomes read-only the script PATCHes
 * `UPGRADE_DCS_KEY` {state: pause} into blue's configuration and waits (bounded,
 * {@link UPGRADE_POOLER_PAUSE_TIMEOUT_SECONDS}) until blue has no client session left from
 * another address; once green has blue's sequences and roles {state: redirect, ca_pem: green's
 * CA, read_only_ms: when blue became read-only}; an abandoned
 * cutover removes the key (the pools resume on blue). The roles step also gives green the role
 * `UPGRADE_POOLER_AUTH_ROLE` with the secret of blue's `pgbouncer_auth`. Blue's `pg_hba` must
 * admit green's addresses for the superuser over TLS (`upgradeTo.nodeAddresses`).
 */
import { PORTS } from "../cluster-spec";
import { BOOTSTRAP_STATE_DIR, SYSTEMD_UNIT_DIR } from "./bootstrap/files";
import { METRIC_NAMESPACE } from "../monitoring/metrics";
import { MONITORING_PATHS } from "./monitoring/paths";
import { PATHS } from "./paths";
import { PATRONI_RESTAPI_USERNAME } from "./patroni";
import { DB_ROLES, POSTGRES_SOCKET_DIRECTORY } from "./postgres";
import { scriptBody, shellHeader } from "./scripts";
import { PGBOUNCER_AUTH_SCHEMA } from "./sql";
import { assertTerraformSafe } from "./terraform-safe";
import { UPGRADE_DCS_KEY, UPGRADE_POOLER_AUTH_ROLE } from "./upgrade-redirect";
import type { NodeContext } from "./types";

/** Where the upgrade script is installed on green's nodes. */
export const UPGRADE_SCRIPT = "/usr/local/sbin/managed-postgres-upgrade";
/** The node's files of the upgrade: blue's CA and password file (while following), the lock (postgres 0700). */
export const UPGRADE_STATE_DIR = `${BOOTSTRAP_STATE_DIR}/upgrade`;
/** Name of the systemd service (oneshot) and timer running {@link UPGRADE_SCRIPT}. */
export const UPGRADE_UNIT = "managed-postgres-upgrade";
/** Seconds between runs of the timer. */
export const UPGRADE_TIMER_SECONDS = 60;
/** Bound of the cutover's wait for green to apply blue's last WAL position, seconds. */
export const UPGRADE_CATCHUP_TIMEOUT_SECONDS = 60;
/**
 * Bound of the wait for blue's Patroni to create a new permanent slot on blue's primary, and
 * again for its copies on blue's standbys, seconds (Patroni's HA loop is `loop_wait`, 8 s here,
 * 10 s by default; a copy takes the primary's next loop, the replica's next loop and a restart of
 * the replica's PostgreSQL).
 */
export const UPGRADE_SLOT_TIMEOUT_SECONDS = 60;

/**
 * Roles the cluster manages itself (created by Patroni's bootstrap and the post-bootstrap
 * script with this cluster's own passwords): never copied from blue.
 */
export const UPGRADE_MANAGED_ROLES: readonly string[] = [DB_ROLES.superuser, DB_ROLES.replication, DB_ROLES.rewind, DB_ROLES.pgbouncerAuth, UPGRADE_POOLER_AUTH_ROLE];

/**
 * Bound of the cutover's wait for blue's PgBouncers to pause (their agents read blue's
 * configuration every UPGRADE_REDIRECT_POLL_SECONDS, then PAUSE waits for in-flight
 * transactions), seconds; what is still connected after it is ended by the drain.
 */
export const UPGRADE_POOLER_PAUSE_TIMEOUT_SECONDS = 5;

/** The blue cluster as green's nodes see it (rendered into the script's header). */
export interface UpgradeSource {
  /** Blue's cluster name (UPGRADE_FROM_CLUSTER). */
  readonly cluster: string;
  /** Blue's major version, 15 or 16 (UPGRADE_FROM_MAJOR). */
  readonly majorVersion: number;
  /** ARN of blue's cluster secret (UPGRADE_FROM_SECRET; its 4th field is the region); may be a token. */
  readonly secretArn: string;
  /** Blue's database node addresses (UPGRADE_FROM_ADDRESSES; PostgreSQL 5432 and Patroni REST 8008 each). */
  readonly addresses: readonly string[];
  /**
   * Run the cutover (UPGRADE_CUTOVER 1): `true`, or a number token the construct made of a
   * Terraform boolean (`cutover ? 1 : 0`), written as it is. Anything else (a boolean token not
   * turned into 1 or 0) is 0: never a cutover nobody asked for.
   */
  readonly cutover: boolean | number;
}

/**
 * `UPGRADE_CUTOVER` of a cutover switch: 1 for `true`, a number as it is (the construct's
 * number token of `cutover ? 1 : 0`), 0 for anything else (`false`, or a boolean token left
 * as it is, which would otherwise be truthy here and write 1). Pure.
 */
export function cutoverFlag(cutover: unknown): number {
  return typeof cutover === "number" ? cutover : cutover === true ? 1 : 0;
}

/** Overrides of {@link renderUpgradeScript} for tests. @default - the node's values */
export interface UpgradeScriptOverrides {
  readonly stateDir?: string;
  readonly eventsLog?: string;
  readonly catchupTimeoutSeconds?: number;
  readonly slotTimeoutSeconds?: number;
  readonly poolerPauseTimeoutSeconds?: number;
}

/**
 * Text of {@link UPGRADE_SCRIPT} for node `ctx.self` of the green cluster:
 * `scripts/node-upgrade.sh` behind a header of its values and `main "$@"`.
 * @throws Error when blue's major version is not below green's, when blue has no address, or
 *   if the text would contain a Terraform template sequence (a bug)
 */
export function renderUpgradeScript(ctx: NodeContext, from: UpgradeSource, overrides: UpgradeScriptOverrides = {}): string {
  const { spec, self, runtime } = ctx;
  if (!(from.majorVersion < spec.majorVersion)) {
    throw new Error(`renderUpgradeScript(${spec.name}): blue ${from.cluster} runs PostgreSQL ${from.majorVersion}, not below green's ${spec.majorVersion}`);
  }
  if (from.addresses.length === 0) throw new Error(`renderUpgradeScript(${spec.name}): blue ${from.cluster} has no address`);
  const text = [
    "#!/bin/bash",
    `# managed-postgres-upgrade: node ${self.name} of cluster ${spec.name} follows ${from.cluster} (upgradeFrom).`,
    "# Rendered by cdktf-managed-postgres from src/render/scripts/node-upgrade.sh; never prints a secret.",
    "set -euo pipefail",
    "umask 077",
    "export LC_ALL=C",
    shellHeader({
      UPGRADE_FROM_CLUSTER: from.cluster,
      UPGRADE_FROM_MAJOR: from.majorVersion,
      UPGRADE_FROM_SECRET: from.secretArn,
      UPGRADE_FROM_ADDRESSES: from.addresses.join(" "),
      UPGRADE_CUTOVER: cutoverFlag(from.cutover),
      BLUE_PG_PORT: PORTS.postgres,
      BLUE_REST_PORT: PORTS.patroniRest,
      CLUSTER: spec.name,
      SELF_NAME: self.name,
      SLOT: String(self.slotIndex),
      PATRONI_URL: `https://${self.address}:${PORTS.patroniRest}`,
      CA_CERT: PATHS.caCert,
      PATRONI_RESTAPI_USERNAME,
      POSTGRES_SOCKET_DIR: POSTGRES_SOCKET_DIRECTORY,
      GREEN_PG_PORT: PORTS.postgres,
      PG_BIN: `/usr/lib/postgresql/${spec.majorVersion}/bin`,
      SUPERUSER: DB_ROLES.superuser,
      MANAGED_ROLES: UPGRADE_MANAGED_ROLES.join(" "),
      EXCLUDED_SCHEMA: PGBOUNCER_AUTH_SCHEMA,
      STATE_DIR: overrides.stateDir ?? UPGRADE_STATE_DIR,
      EVENTS_LOG: overrides.eventsLog ?? MONITORING_PATHS.eventsLog,
      METRIC_NAMESPACE,
      AWS_ENDPOINT_URL: runtime.awsEndpointUrl ?? "",
      CATCHUP_TIMEOUT: overrides.catchupTimeoutSeconds ?? UPGRADE_CATCHUP_TIMEOUT_SECONDS,
      SLOT_TIMEOUT: overrides.slotTimeoutSeconds ?? UPGRADE_SLOT_TIMEOUT_SECONDS,
      DCS_KEY: UPGRADE_DCS_KEY,
      PGBOUNCER_AUTH_ROLE: DB_ROLES.pgbouncerAuth,
      POOLER_AUTH_ROLE: UPGRADE_POOLER_AUTH_ROLE,
      POOLER_PAUSE_TIMEOUT: overrides.poolerPauseTimeoutSeconds ?? UPGRADE_POOLER_PAUSE_TIMEOUT_SECONDS,
    }) + scriptBody("node-upgrade.sh"),
    'main "$@"',
    "",
  ].join("\n");
  return assertTerraformSafe(text, UPGRADE_SCRIPT);
}

/**
 * The systemd units running {@link UPGRADE_SCRIPT} as root: `<UPGRADE_UNIT>.service`
 * (oneshot) and `<UPGRADE_UNIT>.timer` (2 minutes after boot, then {@link UPGRADE_TIMER_SECONDS}
 * s after each run ends), paths under `SYSTEMD_UNIT_DIR`. The script acts on green's primary only.
 */
export function renderUpgradeUnits(clusterName: string): { readonly path: string; readonly content: string }[] {
  return [
    {
      path: `${SYSTEMD_UNIT_DIR}/${UPGRADE_UNIT}.service`,
      content: [
        "[Unit]",
        `Description=Major version upgrade of cluster ${clusterName}: follow the blue cluster, then cut over (upgradeFrom)`,
        "After=patroni.service network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${UPGRADE_SCRIPT} run`,
        "",
      ].join("\n"),
    },
    {
      path: `${SYSTEMD_UNIT_DIR}/${UPGRADE_UNIT}.timer`,
      content: [
        "[Unit]",
        `Description=Major version upgrade of cluster ${clusterName} (upgradeFrom): every ${UPGRADE_TIMER_SECONDS} s`,
        "",
        "[Timer]",
        "OnBootSec=2min",
        `OnUnitInactiveSec=${UPGRADE_TIMER_SECONDS}s`,
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
      ].join("\n"),
    },
  ];
}
