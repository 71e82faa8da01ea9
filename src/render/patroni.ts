/**
 * Patroni 3.0 configuration (patroni.yml) of a database node.
 *
 * Keys follow the Patroni 3.0 "YAML Configuration Settings" documentation. Secrets never
 * appear here: Patroni reads them from PATRONI_* environment variables that the node
 * bootstrap writes to `PATHS.patroniEnv` (PATRONI_SUPERUSER_PASSWORD,
 * PATRONI_REPLICATION_PASSWORD, PATRONI_REWIND_PASSWORD, PATRONI_RESTAPI_PASSWORD; Patroni
 * merges them into the sections below).
 */
import { Document, isMap, isSeq, type YAMLMap } from "yaml";
import { DEFAULTS, PORTS, type ResolvedClusterSpec } from "../cluster-spec";
import { PATHS, pgBinDir, pgDataDir } from "./paths";
import {
  DB_ROLES,
  PATRONI_DCS_ONLY_PARAMETERS,
  renderPgHba,
  renderPostgresParameters,
  restoreCommand,
} from "./postgres";
import { PGBOUNCER_AUTH_PASSWORD_ENV } from "./sql";
import { AWS_EC2_TARGET, type RenderTarget } from "./target";
import { commandWord } from "./values";
import type { NodeContext } from "./types";

/** The post-bootstrap script Patroni runs once after creating (or restoring) the cluster. */
export const PATRONI_POST_BOOTSTRAP_SCRIPT = "/etc/patroni/post-bootstrap.sh";
/** The psql script the post-bootstrap script runs (see `POST_BOOTSTRAP_SQL`). */
export const PATRONI_POST_BOOTSTRAP_SQL = "/etc/patroni/post-bootstrap.sql";
/** The password file Patroni writes for its own connections (it creates and owns it). */
export const PATRONI_PGPASS = "/var/lib/postgresql/.pgpass.patroni";
/** Key prefix of the cluster in the DCS (Patroni `namespace`). */
export const PATRONI_DCS_NAMESPACE = "/managed-postgres/";
/** User name of the Patroni REST API's basic authentication (unsafe endpoints only). */
export const PATRONI_RESTAPI_USERNAME = "patroni";

/**
 * Default failover timing in seconds, as Patroni names it (`ttl`, `loop_wait`,
 * `retry_timeout`); a spec overrides it with `patroni: { ttl, loopWait, retryTimeout }`
 * (see `patroniTiming`, validated by `validateClusterSpec`).
 *
 * Patroni's rules (Patroni 4.0.7, the version Debian 13 ships: `Config._validate_and_adjust_timeouts`
 * in patroni/config.py, applied to the dynamic configuration with only a warning):
 * ttl ≥ 20 (raised to 20 since Patroni 3.2, PR #2869; Patroni 3.0 accepted 10),
 * loop_wait ≥ 1, retry_timeout ≥ 3 (raised likewise), and
 * `loop_wait + 2 * retry_timeout ≤ ttl` (otherwise loop_wait, then retry_timeout, is
 * lowered). Docs: "Dynamic Configuration Settings". The spec rejects what Patroni would adjust.
 *
 * Reasoning:
 * - ttl 20, the smallest Patroni 4 keeps: a dead leader's key expires at most ttl after its
 *   last renewal, and that expiry is the main term of the failover time.
 * - loop_wait 8: the leader renews its key once per loop, so the key of a leader that fails
 *   at a random instant expires ttl − (time since the last renewal) later: uniformly 12–20 s
 *   after the failure (16 s in the median), against 18–20 s with loop_wait 2. Replicas wait
 *   in `Etcd3.watch` on a watch of the cluster prefix (patroni/dcs/etcd3.py), so they react to
 *   the expiry at once, not at their next loop. Measured on the EC2 twin (twin-faults, 3 hard
 *   kills each): loop_wait 2 → RTO 26.3–27.2 s; loop_wait 10 → 16.6 / 19.1 / 19.5 s
 *   (docs/live-harness.md). Not 10 (Patroni's own default), because of what the leader does
 *   once per loop: a partitioned primary demotes itself only after loop_wait + retry_timeout
 *   plus its failsafe calls to the other members (2 s each), and its dirty reads
 *   (docs/consistency.md) must end before its key expires and another node is promoted:
 *   the partition run with loop_wait 10 ended them 17.7 s after the cut, too close to ttl 20;
 *   8 keeps about 4 s of margin. A failed synchronous standby is also replaced in
 *   `synchronous_standby_names` at the leader's next loop after Patroni sees it gone.
 * - retry_timeout 5: how long Patroni retries etcd or PostgreSQL before giving up (a leader
 *   that cannot renew its key within it demotes itself). Patroni's etcd client splits it over
 *   the 3 etcd hosts (`_calculate_timeouts` in patroni/dcs/etcd.py): ~1.7 s per host, above
 *   its 1 s minimum (4 s gave 1.3 s). 8 + 2 × 5 = 18 ≤ 20 leaves 2 s of margin, and
 *   failsafe_mode covers a DCS that is gone altogether.
 * Expected failover after a hard kill: the expiry, then ~2.5 s to promote (the leader race asks
 * the dead former primary's REST API first, with Patroni's fixed 2 s timeout: `fetch_node_status`
 * in patroni/ha.py), then ~1–3 s until the first commit (a synchronous standby must stream from
 * the new primary: `synchronous_mode_strict`); the etcd leader is kept off the primary's node
 * (`managed-postgres-etcd-leader`). The 14.9 s median
 * measured on Patroni 3.0 with ttl 10 is not reachable on Patroni ≥ 3.2.
 */
export const PATRONI_TIMING = {
  ttl: DEFAULTS.patroni.ttl,
  loop_wait: DEFAULTS.patroni.loopWait,
  retry_timeout: DEFAULTS.patroni.retryTimeout,
} as const;

/** The resolved spec's Patroni timing under Patroni's names (defaults: {@link PATRONI_TIMING}). */
export function patroniTiming(spec: ResolvedClusterSpec): { ttl: number; loop_wait: number; retry_timeout: number } {
  return { ttl: spec.patroni.ttl, loop_wait: spec.patroni.loopWait, retry_timeout: spec.patroni.retryTimeout };
}

/**
 * Largest replication lag, in bytes, with which a replica may still be promoted
 * (`maximum_lag_on_failover`; Patroni's default 1 MiB). In synchronous mode the
 * synchronous standby is always eligible; this bounds the asynchronous replica.
 * @default 1048576
 */
export const PATRONI_MAXIMUM_LAG_ON_FAILOVER = 1048576;

/** Restore a new cluster from another cluster's pgBackRest backups (PITR). */
export interface PatroniRestore {
  /** Stanza (= name of the source cluster) to restore from. */
  readonly stanza: string;
  /**
   * Recovery target: `"latest"` (end of the archived WAL) or a timestamp with a time zone,
   * `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM]` or with `Z`, e.g. `2026-11-20 10:00:00+00`.
   */
  readonly target: string | "latest";
  /**
   * Repository path of the source stanza.
   * @default - `/<stanza>`, the layout `renderPgBackRestConfig` uses
   */
  readonly repoPath?: string;
  /**
   * pgBackRest configuration file describing the source repository (its bucket, region,
   * and its cipher pass in that file's include directory) when it differs from this
   * cluster's.
   * @default - `PATHS.pgbackrestConfig` (same bucket and cipher pass)
   */
  readonly configFile?: string;
}

/** Options of {@link renderPatroniConfig}. */
export interface PatroniOptions {
  /**
   * Where the cluster runs: its `dcs`, `memberAddressing` and `logging` shape the file.
   * @default AWS_EC2_TARGET (etcd3 on the members' addresses, per-member identity, log files)
   */
  readonly target?: RenderTarget;
  /** Create the cluster by a pgBackRest restore instead of initdb. @default - initdb */
  readonly restore?: PatroniRestore;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;

/**
 * Checks a restore target; throws an Error naming the field, the value and the allowed
 * forms.
 */
export function validateRestoreTarget(target: string): void {
  if (target !== "latest" && !TIMESTAMP.test(target)) {
    throw new Error(
      `restore.target must be "latest" or a timestamp with a time zone such as ` +
        `"2026-11-20 10:00:00+00". Got ${JSON.stringify(target)}`,
    );
  }
}

/**
 * The pgBackRest restore command of Patroni's custom bootstrap method
 * `pgbackrest_restore`: `--type=time --target=… --target-action=promote` for a timestamp,
 * no type (recover to the end of the archive) for `"latest"`.
 * @throws Error if `restore.target` is neither "latest" nor a timestamp with a time zone
 */
export function pgbackrestRestoreCommand(ctx: NodeContext, restore: PatroniRestore): string {
  validateRestoreTarget(restore.target);
  commandWord(restore.stanza, "restore.stanza");
  const parts = ["pgbackrest"];
  if (restore.configFile) parts.push(`--config=${restore.configFile}`);
  parts.push(
    `--stanza=${restore.stanza}`,
    `--pg1-path=${pgDataDir(ctx.spec.majorVersion)}`,
    `--repo1-path=${restore.repoPath ?? `/${restore.stanza}`}`,
  );
  if (restore.target !== "latest") {
    parts.push("--type=time", `"--target=${restore.target}"`, "--target-action=promote");
  }
  parts.push("--delta", "restore");
  return parts.join(" ");
}

function sourceArchiveGet(ctx: NodeContext, restore: PatroniRestore): string {
  commandWord(restore.stanza, "restore.stanza");
  const parts = ["pgbackrest"];
  if (restore.configFile) parts.push(`--config=${restore.configFile}`);
  parts.push(
    `--stanza=${restore.stanza}`,
    `--pg1-path=${pgDataDir(ctx.spec.majorVersion)}`,
    `--repo1-path=${restore.repoPath ?? `/${restore.stanza}`}`,
    "archive-get",
    "%f",
    '"%p"',
  );
  return parts.join(" ");
}

/**
 * The `bootstrap.dcs` section of patroni.yml: what Patroni writes into the DCS (its dynamic
 * configuration) when it creates the cluster, and only then. Shape: the spec's timing
 * ({@link patroniTiming}: `ttl`, `loop_wait`, `retry_timeout`, seconds),
 * `maximum_lag_on_failover` (bytes), synchronous mode (distributed: `synchronous_mode`,
 * `synchronous_mode_strict`, `synchronous_node_count` 1), `failsafe_mode`, and `postgresql`
 * with `use_pg_rewind`, `use_slots` and the parameters Patroni takes from the DCS only
 * ({@link PATRONI_DCS_ONLY_PARAMETERS}, as strings). The maintenance on a running cluster PATCHes
 * Patroni's dynamic configuration to it (docs/operations.md, "What rolls"): on AWS from the
 * node's patroni.yml, on Kubernetes from the maintenance container's `DCS_CONFIGURATION`. Pure.
 * @param target - only `logging` and `walLimits` are read (through `renderPostgresParameters`).
 */
export function patroniDcsSettings(spec: ResolvedClusterSpec, target: Pick<RenderTarget, "logging" | "walLimits"> = AWS_EC2_TARGET): Record<string, unknown> {
  const distributed = spec.deployment === "distributed";
  const dcsParameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(renderPostgresParameters(spec, target))) {
    if (PATRONI_DCS_ONLY_PARAMETERS.includes(k)) dcsParameters[k] = v;
  }
  return {
    ...patroniTiming(spec),
    maximum_lag_on_failover: PATRONI_MAXIMUM_LAG_ON_FAILOVER,
    synchronous_mode: distributed,
    synchronous_mode_strict: distributed,
    ...(distributed ? { synchronous_node_count: 1 } : {}),
    failsafe_mode: true,
    postgresql: {
      use_pg_rewind: true,
      use_slots: true,
      parameters: dcsParameters,
    },
  };
}

/**
 * Renders patroni.yml (YAML text) for `ctx.self`.
 *
 * - `scope` = cluster name, `name` = member name, `namespace` {@link PATRONI_DCS_NAMESPACE}.
 *   With `target.memberAddressing` `pod-network`, one file serves every member: `name` and
 *   the four listen/connect addresses are left out (they come from PATRONI_NAME and
 *   PATRONI_RESTAPI|POSTGRESQL_LISTEN|CONNECT_ADDRESS, see `MemberAddressing`).
 * - REST API on `<address>:8008` over TLS (PATHS cert/key/CA), basic auth user
 *   {@link PATRONI_RESTAPI_USERNAME} for unsafe endpoints (password: env
 *   PATRONI_RESTAPI_PASSWORD); `ctl` talks to it with the same CA.
 * - DCS (`target.dcs`): etcd3 over https on every member's `:2379` with client certificates
 *   (default), or the Kubernetes API.
 * - Distributed: synchronous_mode + synchronous_mode_strict, synchronous_node_count 1,
 *   failsafe_mode. Standalone: no synchronous mode (there is no standby to wait for).
 *   Both: the spec's Patroni timing ({@link patroniTiming}).
 * - postgresql: listens on the address and 127.0.0.1, connects over TLS (verify-ca),
 *   parameters from `renderPostgresParameters` (the ones Patroni takes only from the DCS
 *   go to `bootstrap.dcs`; `target.logging`), pg_hba from `renderPgHba` (`target.memberAddressing`), replicas created by pgBackRest
 *   restore, then pg_basebackup.
 * - bootstrap: initdb with data checksums and UTF8, or (`options.restore`) the custom
 *   method `pgbackrest_restore`; then {@link PATRONI_POST_BOOTSTRAP_SCRIPT}.
 *
 * Addresses are used verbatim (they may be Terraform tokens). Pure.
 * @throws Error if `options.restore.target` is invalid, or if a Kubernetes DCS has an
 *   empty namespace
 */
export function renderPatroniConfig(ctx: NodeContext, options: PatroniOptions = {}): string {
  const { spec, self, members } = ctx;
  const target = options.target ?? AWS_EC2_TARGET;
  const dcs = target.dcs;
  // pod-network: one file for every member; identity and addresses come from the environment.
  const sharedFile = target.memberAddressing.kind === "pod-network";
  const distributed = spec.deployment === "distributed";
  const version = spec.majorVersion;

  const allParameters = renderPostgresParameters(spec, target);
  const localParameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(allParameters)) {
    if (!PATRONI_DCS_ONLY_PARAMETERS.includes(k)) localParameters[k] = v;
  }

  const sslClient = { sslmode: "verify-ca", sslrootcert: PATHS.caCert };
  const dcsSettings = patroniDcsSettings(spec, target);
  const timing = patroniTiming(spec);

  const bootstrap: Record<string, unknown> = { dcs: dcsSettings };
  if (options.restore) {
    bootstrap.method = "pgbackrest_restore";
    bootstrap.pgbackrest_restore = {
      command: pgbackrestRestoreCommand(ctx, options.restore),
      // pgBackRest writes restore_command and the recovery target itself; Patroni keeps them.
      keep_existing_recovery_conf: true,
      no_params: true,
      recovery_conf: {
        restore_command: sourceArchiveGet(ctx, options.restore),
        recovery_target_timeline: "latest",
        ...(options.restore.target === "latest"
          ? {}
          : { recovery_target_time: options.restore.target, recovery_target_action: "promote" }),
      },
    };
  }
  bootstrap.initdb = [{ encoding: "UTF8" }, { locale: "C.UTF-8" }, "data-checksums"];
  // Superseded by postgresql.pg_hba (which Patroni writes on every start), but Patroni 3.0.2's
  // --validate-config still requires bootstrap.pg_hba: the same rules.
  bootstrap.pg_hba = renderPgHba(spec, members, target);
  bootstrap.post_bootstrap = PATRONI_POST_BOOTSTRAP_SCRIPT;

  const config: Record<string, unknown> = {
    scope: spec.name,
    namespace: PATRONI_DCS_NAMESPACE,
    ...(sharedFile ? {} : { name: self.name }),
    log: { level: "INFO" },
    restapi: {
      ...(sharedFile
        ? {}
        : { listen: `${self.address}:${PORTS.patroniRest}`, connect_address: `${self.address}:${PORTS.patroniRest}` }),
      certfile: PATHS.serverCert,
      keyfile: PATHS.serverKey,
      cafile: PATHS.caCert,
      authentication: { username: PATRONI_RESTAPI_USERNAME },
    },
    ctl: {
      insecure: false,
      cacert: PATHS.caCert,
      certfile: PATHS.serverCert,
      keyfile: PATHS.serverKey,
    },
  };

  if (dcs.kind === "etcd3") {
    config.etcd3 = {
      protocol: "https",
      hosts: members.map((m) => `${m.address}:${PORTS.etcdClient}`),
      cacert: PATHS.caCert,
      cert: PATHS.serverCert,
      key: PATHS.serverKey,
    };
  } else {
    if (!dcs.namespace) {
      throw new Error(`dcs.namespace must be a non-empty Kubernetes namespace. Got ${JSON.stringify(dcs.namespace)}`);
    }
    const k8s: Record<string, unknown> = { namespace: dcs.namespace, labels: { ...dcs.labels } };
    if (dcs.scopeLabel !== undefined) k8s.scope_label = dcs.scopeLabel;
    if (dcs.roleLabel !== undefined) k8s.role_label = dcs.roleLabel;
    if (dcs.useEndpoints !== undefined) k8s.use_endpoints = dcs.useEndpoints;
    if (dcs.podIp !== undefined) k8s.pod_ip = dcs.podIp;
    if (dcs.useEndpoints) k8s.ports = [{ name: "postgresql", port: PORTS.postgres }];
    config.kubernetes = k8s;
  }

  config.bootstrap = bootstrap;

  config.postgresql = {
    ...(sharedFile
      ? {}
      : { listen: `${self.address},127.0.0.1:${PORTS.postgres}`, connect_address: `${self.address}:${PORTS.postgres}` }),
    data_dir: pgDataDir(version),
    bin_dir: pgBinDir(version),
    pgpass: PATRONI_PGPASS,
    use_unix_socket: true,
    authentication: {
      superuser: { username: DB_ROLES.superuser },
      replication: { username: DB_ROLES.replication, ...sslClient },
      rewind: { username: DB_ROLES.rewind, ...sslClient },
    },
    parameters: localParameters,
    pg_hba: renderPgHba(spec, members, target),
    create_replica_methods: ["pgbackrest", "basebackup"],
    pgbackrest: {
      command: `pgbackrest --stanza=${spec.name} --delta restore`,
      keep_data: true,
      no_params: true,
    },
    basebackup: [{ checkpoint: "fast" }],
    recovery_conf: { restore_command: restoreCommand(spec.name) },
  };

  // Use a watchdog device when the node has one (softdog): a hung Patroni then reboots the
  // node instead of leaving an unsupervised primary. "automatic" never blocks startup.
  config.watchdog = { mode: "automatic", safety_margin: 5 };

  const doc = new Document(config, { schema: "yaml-1.1" });
  doc.commentBefore =
    ` Patroni configuration of ${self.name} (cluster ${spec.name}, ${spec.deployment}).\n` +
    ` Rendered by cdktf-managed-postgres; do not edit on the node.\n` +
    ` Secrets come from PATRONI_* environment variables in ${PATHS.patroniEnv}; the post-bootstrap\n` +
    ` script also needs ${PGBOUNCER_AUTH_PASSWORD_ENV} there.`;
  if (sharedFile) {
    doc.commentBefore +=
      `\n Kubernetes: one file for every pod; the member name (PATRONI_NAME), the listen and connect addresses and the\n` +
      ` passwords come from the pod's environment (downward API and the credentials Secret).`;
    const comment = (section: "restapi" | "postgresql", env: string) => {
      const node = doc.get(section, true);
      if (isMap(node)) node.commentBefore = ` listen and connect_address come from ${env}_LISTEN / ${env}_CONNECT_ADDRESS (pod IP).`;
    };
    comment("restapi", "PATRONI_RESTAPI");
    comment("postgresql", "PATRONI_POSTGRESQL");
    const hba = doc.getIn(["postgresql", "pg_hba"], true);
    if (isSeq(hba)) {
      hba.commentBefore =
        " Replication and pg_rewind from the pod network (pod IPs change on rescheduling);" +
        " the NetworkPolicy admits only the cluster's pods and the pooler.";
    }
  }
  const dcsNode = doc.getIn(["bootstrap", "dcs"], true);
  if (isMap(dcsNode)) {
    const ttlPair = (dcsNode as YAMLMap).items[0];
    if (ttlPair && ttlPair.key && typeof ttlPair.key === "object") {
      (ttlPair.key as { commentBefore?: string }).commentBefore =
        ` Failover timing: ttl ${timing.ttl} s >= loop_wait ${timing.loop_wait} + 2 * retry_timeout ${timing.retry_timeout}\n` +
        ` (Patroni's rule; Patroni >= 3.2 raises a ttl below 20). A dead leader's key expires within ttl and\n` +
        ` a replica watching it takes over: ~ttl + 2 s, against 30-40 s with Patroni's defaults 30/10/10.\n` +
        (distributed
          ? ` synchronous_mode_strict: a commit is acknowledged only once the synchronous standby has it\n` +
            ` (RPO 0); writes block rather than degrade to asynchronous when no standby is left.\n`
          : ` Standalone: no synchronous standby exists, so synchronous mode stays off.\n`) +
        ` failsafe_mode: the primary keeps running while all members still see each other if the DCS is lost.`;
    }
  }
  return doc.toString({ lineWidth: 0, minContentWidth: 0 });
}
