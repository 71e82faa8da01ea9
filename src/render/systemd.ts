/**
 * systemd units of a database node and of a pooler instance.
 *
 * Units go to `/etc/systemd/system` (root:root 0644). A unit there named like a Debian
 * package's unit (`etcd.service`, `patroni.service`, `haproxy.service`,
 * `prometheus-postgres-exporter.service`) replaces the package's unit; the bootstrap masks
 * the package units that would collide with ours (`postgresql.service`,
 * `pgbouncer.service`, `prometheus-pgbouncer-exporter.service`).
 *
 * Every unit is described once, as a {@link ManagedService}; the same description renders
 * the unit file and tells the live harness (which has no systemd) which command to run as
 * which user ({@link nodeServices}, {@link poolerServices}).
 *
 * Hardening (systemd 252, Debian 12): every service gets `NoNewPrivileges`, `PrivateTmp`
 * (except those running pgBackRest: its lock files live in /tmp/pgbackrest and must be
 * shared between archive-push, the backups and the TLS server), `ProtectSystem=strict`
 * with explicit `ReadWritePaths`, `ProtectHome`, kernel/cgroup/clock protection,
 * `RestrictSUIDSGID`, `LockPersonality`, `RestrictRealtime`, `RestrictNamespaces`,
 * `SystemCallArchitectures=native` and an empty capability set for non-root services.
 * `MemoryDenyWriteExecute` is not set: PostgreSQL's LLVM JIT needs writable+executable
 * memory. `ProtectSystem=strict` is relaxed for the bootstrap and the filesystem growth
 * (they configure the machine).
 */
import { basename, dirname } from "node:path";
import { PORTS, PGBOUNCER_EXPORTER_PORTS } from "../cluster-spec";
import { DB_ROLES, POSTGRES_SOCKET_DIRECTORY } from "./postgres";
import { PGBACKREST_LOG_PATH } from "./pgbackrest";
import { PATHS, pgbouncerConfigPath } from "./paths";
import { pgbouncerPort, pgbouncerRunDir, poolerPools, type PgBouncerPool } from "./pgbouncer";
import type { NodeContext, PoolerContext, RenderedFile } from "./types";
import { BOOT_SECRET_FILES, JOB_COMMANDS, SYSTEMD_UNIT_DIR } from "./bootstrap/files";
import { assertTerraformSafe } from "./terraform-safe";
import { pgbouncerExporterExecStart } from "./monitoring/pgbouncer-exporter";
import { MONITORING_PATHS } from "./monitoring/paths";
import { UPGRADE_REDIRECT_SCRIPT, UPGRADE_REDIRECT_UNIT, UPGRADE_TARGET_CA } from "./upgrade-redirect";

/** Re-exported from src/cluster-spec/ports.ts, where the exporter ports are defined. */
export { PGBOUNCER_EXPORTER_PORTS };

/** Debian package units the bootstrap stops and masks: they would bind our ports with package defaults. */
export const MASKED_PACKAGE_UNITS: readonly string[] = [
  "postgresql.service",
  "pgbouncer.service",
  "prometheus-pgbouncer-exporter.service",
];

/**
 * One service (or timer-driven job) of a node, resolved: what the unit file says and
 * what the live harness runs in its place.
 */
export interface ManagedService {
  /** Unit name as enabled, e.g. `pgbouncer@rw.service`, `managed-postgres-backup.service`. */
  readonly unit: string;
  /** `daemon`: long-running, started by the bootstrap; `job`: oneshot run by {@link timer}. */
  readonly kind: "daemon" | "job";
  /** OS user the command runs as. */
  readonly user: string;
  /** OS group the command runs as. */
  readonly group: string;
  /** The ExecStart command line, systemd specifiers resolved (first word: absolute path). */
  readonly execStart: string;
  /** Environment variables set by the unit (no secrets). */
  readonly environment: Readonly<Record<string, string>>;
  /** Environment files the unit reads (they may hold secrets; written by the bootstrap). */
  readonly environmentFiles: readonly string[];
  /** Directories systemd creates for the service, owned by {@link user}: `/run/…`, `/var/log/…`. */
  readonly createdDirectories: readonly string[];
  /** For a job: its timer unit and the `OnCalendar`/`OnUnitActiveSec` schedule, in words. */
  readonly timer?: { readonly unit: string; readonly schedule: string };
}

interface UnitSpec {
  /** File name in /etc/systemd/system (may be a template, `x@.service`). */
  readonly file: string;
  readonly unit: Record<string, string | string[]>;
  readonly service: Record<string, string | string[]>;
  readonly install?: Record<string, string | string[]>;
}

/** Hardening shared by every service; `extra` adds or overrides. */
function hardening(opts: { rw: readonly string[]; root?: boolean; privateTmp?: boolean; strict?: boolean }): Record<string, string | string[]> {
  const h: Record<string, string | string[]> = {
    NoNewPrivileges: "yes",
    PrivateTmp: opts.privateTmp === false ? "no" : "yes",
    ProtectSystem: opts.strict === false ? "full" : "strict",
    ProtectHome: "yes",
    ProtectKernelTunables: "yes",
    ProtectKernelModules: "yes",
    ProtectKernelLogs: "yes",
    ProtectControlGroups: "yes",
    ProtectClock: "yes",
    ProtectHostname: "yes",
    RestrictSUIDSGID: "yes",
    LockPersonality: "yes",
    RestrictRealtime: "yes",
    RestrictNamespaces: "yes",
    SystemCallArchitectures: "native",
    RestrictAddressFamilies: "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
  };
  if (!opts.root) h.CapabilityBoundingSet = "";
  if (opts.rw.length > 0) h.ReadWritePaths = opts.rw.join(" ");
  return h;
}

function renderUnit(u: UnitSpec): string {
  const section = (name: string, body: Record<string, string | string[]>): string[] => [
    `[${name}]`,
    ...Object.entries(body).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`)),
  ];
  const lines = [
    "# Rendered by cdktf-managed-postgres; do not edit on the node.",
    ...section("Unit", u.unit),
    "",
    ...section("Service", u.service),
  ];
  if (u.install) lines.push("", ...section("Install", u.install));
  return assertTerraformSafe(lines.join("\n") + "\n", u.file);
}

function timerUnit(file: string, description: string, timer: Record<string, string>): string {
  return assertTerraformSafe(
    [
      "# Rendered by cdktf-managed-postgres; do not edit on the node.",
      "[Unit]",
      `Description=${description}`,
      "",
      "[Timer]",
      ...Object.entries(timer).map(([k, v]) => `${k}=${v}`),
      "",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n"),
    file,
  );
}

/**
 * A systemd calendar expression pinned to UTC: `" UTC"` is appended unless the last word
 * already names a time zone (`UTC` or an `Area/City` name).
 */
export function utcCalendar(expression: string): string {
  const last = expression.trim().split(/\s+/).pop() ?? "";
  return last === "UTC" || last.includes("/") ? expression.trim() : `${expression.trim()} UTC`;
}

/** OnCalendar of the daily full backup: `*-*-* HH:MM:00 UTC` from `spec.backup.fullBackupTime`. */
export function fullBackupCalendar(fullBackupTime: string): string {
  return `*-*-* ${fullBackupTime}:00 UTC`;
}

const PG = { user: "postgres", group: "postgres" };
const ROOT = { user: "root", group: "root" };

/** Writable paths of processes that run PostgreSQL or pgBackRest. */
const POSTGRES_RW = [
  PATHS.dataMount,
  `-${POSTGRES_SOCKET_DIRECTORY}`,
  "-/run/postgresql",
  "-/var/log/postgresql",
  `-${PGBACKREST_LOG_PATH}`,
  "-/var/lib/postgresql",
  "-/var/spool/pgbackrest",
  "/tmp",
];

interface ServiceDef {
  readonly spec: UnitSpec;
  readonly services: ManagedService[];
  readonly extraFiles?: RenderedFile[];
}

function unitFile(path: string, content: string): RenderedFile {
  return { path: `${SYSTEMD_UNIT_DIR}/${path}`, content, mode: "0644", owner: "root:root" };
}

function etcdDef(clusterName: string): ServiceDef {
  const execStart = `/usr/bin/etcd --config-file ${PATHS.etcdConfig}`;
  return {
    spec: {
      file: "etcd.service",
      unit: {
        Description: `etcd member of PostgreSQL cluster ${clusterName} (Patroni DCS)`,
        Documentation: "https://etcd.io/docs/v3.4/",
        Wants: "network-online.target",
        After: "network-online.target managed-postgres-bootstrap.service",
        RequiresMountsFor: PATHS.dataMount,
        ConditionPathExists: PATHS.etcdConfig,
      },
      service: {
        Type: "notify",
        User: "etcd",
        Group: "etcd",
        ExecStart: execStart,
        Restart: "on-failure",
        RestartSec: "5s",
        // Ready only once the cluster has quorum: the other members may boot minutes later.
        TimeoutStartSec: "infinity",
        LimitNOFILE: "65536",
        ...hardening({ rw: [PATHS.etcdDataDir] }),
      },
      install: { WantedBy: "multi-user.target" },
    },
    services: [
      { unit: "etcd.service", kind: "daemon", user: "etcd", group: "etcd", execStart, environment: {}, environmentFiles: [], createdDirectories: [] },
    ],
  };
}

function patroniDef(clusterName: string): ServiceDef {
  const execStart = `/usr/bin/patroni ${PATHS.patroniConfig}`;
  return {
    spec: {
      file: "patroni.service",
      unit: {
        Description: `Patroni (PostgreSQL high availability) of cluster ${clusterName}`,
        Documentation: "https://patroni.readthedocs.io/en/latest/",
        Wants: "network-online.target etcd.service",
        After: "network-online.target etcd.service managed-postgres-bootstrap.service",
        RequiresMountsFor: PATHS.dataMount,
        ConditionPathExists: PATHS.patroniConfig,
      },
      service: {
        Type: "simple",
        User: PG.user,
        Group: PG.group,
        EnvironmentFile: PATHS.patroniEnv,
        // As root ("+"): refuses to start on another major version's data directory, records the configuration digest.
        ExecStartPre: `+${PATHS.bootstrapScript} ${JOB_COMMANDS.checkDataVersion}`,
        ExecStart: execStart,
        ExecReload: "/bin/kill -s HUP $MAINPID",
        // Patroni stops PostgreSQL itself; systemd must not kill the postmaster first.
        KillMode: "process",
        TimeoutSec: "30",
        Restart: "on-failure",
        RestartSec: "5s",
        LimitNOFILE: "65536",
        ...hardening({ rw: POSTGRES_RW, privateTmp: false }),
      },
      install: { WantedBy: "multi-user.target" },
    },
    services: [
      { unit: "patroni.service", kind: "daemon", ...PG, execStart, environment: {}, environmentFiles: [PATHS.patroniEnv], createdDirectories: [] },
    ],
  };
}

function pgbackrestServerDef(clusterName: string): ServiceDef {
  const execStart = "/usr/bin/pgbackrest server";
  return {
    spec: {
      file: "pgbackrest-server.service",
      unit: {
        Description: `pgBackRest TLS server of cluster ${clusterName} (backup from the standby)`,
        Documentation: "https://pgbackrest.org/command.html#command-server",
        Wants: "network-online.target",
        After: "network-online.target managed-postgres-bootstrap.service",
        ConditionPathExists: PATHS.pgbackrestConfig,
      },
      service: {
        Type: "simple",
        User: PG.user,
        Group: PG.group,
        ExecStart: execStart,
        ExecReload: "/bin/kill -s HUP $MAINPID",
        Restart: "on-failure",
        RestartSec: "5s",
        ...hardening({ rw: POSTGRES_RW, privateTmp: false }),
      },
      install: { WantedBy: "multi-user.target" },
    },
    services: [
      { unit: "pgbackrest-server.service", kind: "daemon", ...PG, execStart, environment: {}, environmentFiles: [], createdDirectories: [] },
    ],
  };
}

function pgbouncerDef(clusterName: string, pools: readonly PgBouncerPool[], after: string): ServiceDef {
  return {
    spec: {
      file: "pgbouncer@.service",
      unit: {
        Description: `PgBouncer %i pool of cluster ${clusterName}`,
        Documentation: "https://www.pgbouncer.org/config.html",
        Wants: "network-online.target",
        After: `network-online.target managed-postgres-bootstrap.service ${after}`,
        ConditionPathExists: pgbouncerConfigPath("rw").replace("-rw.ini", "-%i.ini"),
      },
      service: {
        Type: "notify",
        User: PG.user,
        Group: PG.group,
        ExecStart: `/usr/sbin/pgbouncer ${pgbouncerConfigPath("rw").replace("-rw.ini", "-%i.ini")}`,
        ExecReload: "/bin/kill -HUP $MAINPID",
        KillSignal: "SIGINT",
        RuntimeDirectory: "pgbouncer-%i",
        LogsDirectory: "pgbouncer",
        Restart: "on-failure",
        RestartSec: "2s",
        LimitNOFILE: "65536",
        ...hardening({ rw: [] }),
      },
      install: { WantedBy: "multi-user.target" },
    },
    services: pools.map((pool) => ({
      unit: `pgbouncer@${pool}.service`,
      kind: "daemon" as const,
      ...PG,
      execStart: `/usr/sbin/pgbouncer ${pgbouncerConfigPath(pool)}`,
      environment: {},
      environmentFiles: [],
      createdDirectories: [pgbouncerRunDir(pool), "/var/log/pgbouncer"],
    })),
  };
}

function pgbouncerExporterDefs(clusterName: string, pools: readonly PgBouncerPool[]): ServiceDef[] {
  return pools.map((pool) => {
    const unit = `pgbouncer-exporter-${pool}.service`;
    const environment = {
      PGPASSFILE: BOOT_SECRET_FILES.pgbouncerExporterPgpass,
      LICENCE_LOCATION: "/usr/share/doc/prometheus-pgbouncer-exporter/copyright",
    };
    // Debian 13's Go exporter or Debian 12's Python one, whichever the image has (pgbouncerExporterExecStart).
    const execStart = pgbouncerExporterExecStart({
      listenPort: PGBOUNCER_EXPORTER_PORTS[pool],
      socketDirectory: pgbouncerRunDir(pool),
      pgbouncerPort: pgbouncerPort(pool),
      user: DB_ROLES.pgbouncerAuth,
      pidFile: `${pgbouncerRunDir(pool)}/pgbouncer.pid`,
    });
    return {
      spec: {
        file: unit,
        unit: {
          Description: `Prometheus exporter of the PgBouncer ${pool} pool of cluster ${clusterName}`,
          Wants: `pgbouncer@${pool}.service`,
          After: `pgbouncer@${pool}.service`,
        },
        service: {
          Type: "simple",
          User: PG.user,
          Group: PG.group,
          Environment: Object.entries(environment).map(([k, v]) => `${k}=${v}`),
          ExecStart: execStart,
          Restart: "on-failure",
          // The exporter connects once at start: retry until PgBouncer is up.
          RestartSec: "10s",
          ...hardening({ rw: [] }),
        },
        install: { WantedBy: "multi-user.target" },
      },
      services: [{ unit, kind: "daemon" as const, ...PG, execStart, environment, environmentFiles: [], createdDirectories: [] }],
    };
  });
}

function postgresExporterDef(clusterName: string): ServiceDef {
  const environment = {
    // Peer authentication over the Unix socket (pg_hba: local all postgres peer).
    DATA_SOURCE_NAME: `host=${POSTGRES_SOCKET_DIRECTORY} user=${DB_ROLES.superuser} dbname=postgres sslmode=disable`,
  };
  const execStart = `/usr/bin/prometheus-postgres-exporter --web.listen-address=127.0.0.1:${PORTS.postgresExporter}`;
  return {
    spec: {
      file: "prometheus-postgres-exporter.service",
      unit: {
        Description: `Prometheus exporter of PostgreSQL, cluster ${clusterName}`,
        Documentation: "https://github.com/prometheus-community/postgres_exporter",
        After: "patroni.service",
      },
      service: {
        Type: "simple",
        User: PG.user,
        Group: PG.group,
        Environment: `"DATA_SOURCE_NAME=${environment.DATA_SOURCE_NAME}"`,
        ExecStart: execStart,
        Restart: "on-failure",
        RestartSec: "10s",
        ...hardening({ rw: [] }),
      },
      install: { WantedBy: "multi-user.target" },
    },
    services: [
      { unit: "prometheus-postgres-exporter.service", kind: "daemon", ...PG, execStart, environment, environmentFiles: [], createdDirectories: [] },
    ],
  };
}

function haproxyDef(clusterName: string): ServiceDef {
  const execStart = `/usr/sbin/haproxy -Ws -f ${PATHS.haproxyConfig} -p /run/haproxy/haproxy.pid -S /run/haproxy/master.sock`;
  return {
    spec: {
      file: "haproxy.service",
      unit: {
        Description: `HAProxy routing the PgBouncer tier of cluster ${clusterName} to the primary and the replicas`,
        Documentation: "man:haproxy(1)",
        Wants: "network-online.target",
        After: "network-online.target managed-postgres-bootstrap.service",
        ConditionPathExists: PATHS.haproxyConfig,
      },
      service: {
        Type: "notify",
        ExecStartPre: `/usr/sbin/haproxy -c -q -f ${PATHS.haproxyConfig}`,
        ExecStart: execStart,
        ExecReload: [`/usr/sbin/haproxy -c -q -f ${PATHS.haproxyConfig}`, "/bin/kill -USR2 $MAINPID"],
        KillMode: "mixed",
        Restart: "always",
        SuccessExitStatus: "143",
        RuntimeDirectory: "haproxy",
        LimitNOFILE: "65536",
        // Starts as root and drops to the haproxy user (haproxy.cfg `user`/`group`).
        ...hardening({ rw: [], root: true }),
        CapabilityBoundingSet: "CAP_SETUID CAP_SETGID CAP_NET_BIND_SERVICE",
      },
      install: { WantedBy: "multi-user.target" },
    },
    services: [
      { unit: "haproxy.service", kind: "daemon", ...ROOT, execStart, environment: {}, environmentFiles: [], createdDirectories: ["/run/haproxy"] },
    ],
  };
}

function jobDef(
  name: string,
  description: string,
  command: string,
  owner: { user: string; group: string },
  timer: Record<string, string>,
  schedule: string,
  service: Record<string, string | string[]>,
): ServiceDef {
  const unit = `${name}.service`;
  const execStart = `${PATHS.bootstrapScript} ${command}`;
  return {
    spec: {
      file: unit,
      unit: { Description: description, Wants: "network-online.target", After: "network-online.target patroni.service" },
      service: { Type: "oneshot", User: owner.user, Group: owner.group, ExecStart: execStart, ...service },
    },
    services: [
      {
        unit,
        kind: "job",
        ...owner,
        execStart,
        environment: {},
        environmentFiles: [],
        createdDirectories: [],
        timer: { unit: `${name}.timer`, schedule },
      },
    ],
    extraFiles: [unitFile(`${name}.timer`, timerUnit(`${name}.timer`, `${description} (timer)`, timer))],
  };
}

function bootstrapDef(clusterName: string, what: string): ServiceDef {
  const execStart = `${PATHS.bootstrapScript} prepare`;
  return {
    spec: {
      file: "managed-postgres-bootstrap.service",
      unit: {
        Description: `Prepare ${what} of cluster ${clusterName} at boot: ${what === "this node" ? "slot ENI, data volume, " : ""}secrets, TLS`,
        Wants: "network-online.target",
        After: "network-online.target",
      },
      service: {
        Type: "oneshot",
        RemainAfterExit: "yes",
        ExecStart: execStart,
        TimeoutStartSec: "30min",
        // Configures the network, volumes, users and /etc: no ProtectSystem.
        NoNewPrivileges: "yes",
        PrivateTmp: "yes",
      },
      install: { WantedBy: "multi-user.target" },
    },
    services: [],
  };
}

/**
 * Timer of `managed-postgres-maintenance` (the rolling maintenance, src/render/scripts/node-maintenance.sh):
 * first run 1 minute after boot, then every minute (10 s accuracy).
 *
 * Why 1 minute after boot is safe (it was 5 minutes until issue 12's bench showed the replaced
 * node's first run, which releases the roll lock, to be most of a roll's duration): the boot
 * delay is no safety margin, the job's own checks are. A run does nothing until this node's
 * Patroni REST API answers (`what_differs` waits otherwise), and the holder of the roll lock
 * releases it only when its node needs nothing and `cluster_unhealthy` finds nothing: every
 * member present and `running`/`streaming` (a replacement still starting or restoring is
 * neither), one leader, every replica's lag a number within `maximum_lag_on_failover`, a
 * synchronous standby, a recent backup. A run before that only logs why it waits (the service
 * is also ordered `After=patroni.service`: it never starts while Patroni's start job is
 * pending). The earlier first run also renews the lock's lease (`ROLL_LOCK_TTL_SECONDS`) sooner.
 */
const MAINTENANCE_TIMER: Record<string, string> = { OnBootSec: "1min", OnUnitActiveSec: "1min", AccuracySec: "10s" };

function nodeDefs(ctx: NodeContext): ServiceDef[] {
  const { spec } = ctx;
  const name = spec.name;
  const distributed = spec.deployment === "distributed";
  const defs: ServiceDef[] = [bootstrapDef(name, "this node"), etcdDef(name), patroniDef(name)];
  if (distributed) defs.push(pgbackrestServerDef(name));
  if (!distributed) defs.push(pgbouncerDef(name, ["rw"], "patroni.service"));
  defs.push(postgresExporterDef(name));
  if (!distributed) defs.push(...pgbouncerExporterDefs(name, ["rw"]), ...upgradeRedirectDefs(ctx));
  const pgJob = { ...hardening({ rw: POSTGRES_RW, privateTmp: false }), Nice: "10", IOSchedulingClass: "best-effort", IOSchedulingPriority: "7" };
  const fullCal = fullBackupCalendar(spec.backup.fullBackupTime);
  defs.push(
    jobDef(
      "managed-postgres-backup",
      `Daily full pgBackRest backup of cluster ${name}`,
      JOB_COMMANDS.fullBackup,
      PG,
      { OnCalendar: fullCal, Persistent: "true", AccuracySec: "1min" },
      `OnCalendar=${fullCal}`,
      { ...pgJob, TimeoutStartSec: "12h" },
    ),
  );
  const dumpCal = utcCalendar(spec.backup.logicalDump.schedule);
  defs.push(
    jobDef(
      "managed-postgres-logical-dump",
      `Logical dumps of cluster ${name} to S3`,
      JOB_COMMANDS.logicalDump,
      PG,
      { OnCalendar: dumpCal, Persistent: "true", AccuracySec: "1min" },
      `OnCalendar=${dumpCal}`,
      { ...pgJob, Environment: "HOME=/var/lib/postgresql", TimeoutStartSec: "12h" },
    ),
  );
  defs.push(
    jobDef(
      "managed-postgres-grow-fs",
      `Online growth of the data filesystem of ${ctx.self.name}`,
      JOB_COMMANDS.growFilesystem,
      ROOT,
      { OnBootSec: "2min", OnUnitActiveSec: "5min", AccuracySec: "30s" },
      "OnBootSec=2min, OnUnitActiveSec=5min",
      { NoNewPrivileges: "yes", PrivateTmp: "yes", ProtectHome: "yes", ProtectSystem: "full" },
    ),
  );
  defs.push(
    jobDef(
      "managed-postgres-verify-backup",
      `Weekly backup verification of cluster ${name}: pgbackrest verify and a restore check`,
      JOB_COMMANDS.verifyBackup,
      PG,
      { OnCalendar: "Wed *-*-* 04:00:00 UTC", Persistent: "true", AccuracySec: "1min" },
      "OnCalendar=Wed *-*-* 04:00:00 UTC",
      { ...hardening({ rw: [...POSTGRES_RW, `-${MONITORING_PATHS.eventsLog.replace(/\/[^/]*$/, "")}`], privateTmp: false }), Nice: "10", IOSchedulingClass: "best-effort", IOSchedulingPriority: "7", TimeoutStartSec: "12h" },
    ),
  );
  defs.push(
    jobDef(
      "managed-postgres-maintenance",
      `Rolling maintenance of ${ctx.self.name}: one node at a time, in the maintenance window`,
      JOB_COMMANDS.maintenance,
      ROOT,
      MAINTENANCE_TIMER,
      "OnBootSec=1min, OnUnitActiveSec=1min",
      // /etc/patroni writable: a departing replica's tags go into patroni.yml (node-maintenance.sh, depart)
      { NoNewPrivileges: "yes", PrivateTmp: "yes", ProtectHome: "yes", ProtectSystem: "full", ReadWritePaths: dirname(PATHS.patroniConfig), TimeoutStartSec: "5min" },
    ),
  );
  if (distributed) {
    defs.push(
      jobDef(
        "managed-postgres-etcd-leader",
        `Keeps the etcd leader of cluster ${name} off the Patroni primary's node`,
        JOB_COMMANDS.etcdLeader,
        ROOT,
        { OnBootSec: "1min", OnUnitActiveSec: "10s", AccuracySec: "1s" },
        "OnBootSec=1min, OnUnitActiveSec=10s",
        { NoNewPrivileges: "yes", PrivateTmp: "yes", ProtectHome: "yes", ProtectSystem: "strict", TimeoutStartSec: "1min" },
      ),
    );
  }
  // Every node, not only the primary: it needs no Patroni (works with the primary down or during a
  // failover) and concurrent runs are safe (one request token per value replaced, one version wins).
  defs.push(
    jobDef(
      "managed-postgres-publish",
      `What ${ctx.self.name} writes for others (the PgBouncer tier's secret, the CA parameter), when missing or stale`,
      JOB_COMMANDS.publish,
      ROOT,
      { OnBootSec: "5min", OnUnitActiveSec: "5min", RandomizedDelaySec: "1min", AccuracySec: "30s" },
      "OnBootSec=5min, OnUnitActiveSec=5min",
      { NoNewPrivileges: "yes", PrivateTmp: "yes", ProtectHome: "yes", ProtectSystem: "full", TimeoutStartSec: "5min" },
    ),
  );
  return defs;
}

function poolerDefs(ctx: PoolerContext): ServiceDef[] {
  const name = ctx.spec.name;
  return [
    bootstrapDef(name, "this pooler instance"),
    haproxyDef(name),
    pgbouncerDef(name, ["rw", "ro"], "haproxy.service"),
    ...pgbouncerExporterDefs(name, ["rw", "ro"]),
    ...upgradeRedirectDefs(ctx),
  ];
}

/**
 * The blue side of an upgrade's cutover (`upgradeTo.readWriteEndpoint`, src/render/upgrade-redirect.ts):
 * `managed-postgres-upgrade-redirect.service`, a daemon as the user PgBouncer runs as (its admin
 * console admits that user over the Unix socket), writing only the pool files and userlist
 * (/etc/pgbouncer) and its state directory (green's CA). None without `readWriteEndpoint`.
 */
function upgradeRedirectDefs(ctx: NodeContext | PoolerContext): ServiceDef[] {
  if (!ctx.spec.upgradeTo?.readWriteEndpoint) return [];
  const pools = poolerPools(ctx.spec);
  const unit = `${UPGRADE_REDIRECT_UNIT}.service`;
  const stateDir = dirname(UPGRADE_TARGET_CA);
  return [
    {
      spec: {
        file: unit,
        unit: {
          Description: `The PgBouncer pools of cluster ${ctx.spec.name} follow its upgrade's cutover to green (upgradeTo)`,
          Wants: pools.map((p) => `pgbouncer@${p}.service`).join(" "),
          After: `network-online.target managed-postgres-bootstrap.service ${pools.map((p) => `pgbouncer@${p}.service`).join(" ")}`,
        },
        service: {
          Type: "simple",
          User: PG.user,
          Group: PG.group,
          ExecStart: UPGRADE_REDIRECT_SCRIPT,
          StateDirectory: basename(stateDir),
          StateDirectoryMode: "0750",
          Restart: "always",
          RestartSec: "5s",
          ...hardening({ rw: [dirname(PATHS.pgbouncerUserlist)] }),
        },
        install: { WantedBy: "multi-user.target" },
      },
      services: [{ unit, kind: "daemon" as const, ...PG, execStart: UPGRADE_REDIRECT_SCRIPT, environment: {}, environmentFiles: [], createdDirectories: [stateDir] }],
    },
  ];
}

function renderDefs(defs: readonly ServiceDef[]): RenderedFile[] {
  return defs.flatMap((d) => [unitFile(d.spec.file, renderUnit(d.spec)), ...(d.extraFiles ?? [])]);
}

/**
 * The systemd units of a database node:
 * - `managed-postgres-bootstrap.service` (runs `managed-postgres-bootstrap prepare` at every
 *   boot after the first), `etcd.service`, `patroni.service` (User=postgres,
 *   EnvironmentFile=`PATHS.patroniEnv`), `prometheus-postgres-exporter.service` (127.0.0.1:9187);
 * - distributed: `pgbackrest-server.service` (pgBackRest TLS server, port 8432);
 * - standalone: `pgbouncer@.service` (enabled as `pgbouncer@rw`) and
 *   `pgbouncer-exporter-rw.service` (127.0.0.1:9127); with `upgradeTo.readWriteEndpoint`
 *   also `managed-postgres-upgrade-redirect.service` (src/render/upgrade-redirect.ts);
 * - timers + oneshot services: `managed-postgres-backup` (daily at
 *   `spec.backup.fullBackupTime` UTC), `managed-postgres-logical-dump`
 *   (`spec.backup.logicalDump.schedule`, UTC), `managed-postgres-grow-fs` (every 5 minutes),
 *   `managed-postgres-verify-backup` (Wednesdays 04:00 UTC: `pgbackrest verify` and a restore
 *   check on the replica-side node), `managed-postgres-maintenance` (1 minute after boot, then every minute, root: the rolling maintenance),
 *   distributed: `managed-postgres-etcd-leader` (every 10 s, root: moves the etcd leadership off the
 *   Patroni primary's node),
 *   `managed-postgres-publish` (every 5 minutes plus up to 1 minute of random delay, root, every
 *   node: the PgBouncer tier's secret and the CA parameter when missing or stale);
 * - `patroni.service` runs `check-data-version` as root before Patroni (`ExecStartPre=+`);
 *   they run subcommands of the bootstrap script (`JOB_COMMANDS`).
 * Units: `/etc/systemd/system`, root:root 0644. Deterministic; addresses verbatim. Pure.
 */
export function renderSystemdUnits(ctx: NodeContext): RenderedFile[] {
  return renderDefs(nodeDefs(ctx));
}

/**
 * The systemd units of a pooler instance (distributed): `managed-postgres-bootstrap.service`,
 * `haproxy.service`, `pgbouncer@.service` (enabled as `pgbouncer@rw` and `pgbouncer@ro`),
 * `pgbouncer-exporter-rw.service` (127.0.0.1:9127) and `pgbouncer-exporter-ro.service`
 * (127.0.0.1:9128); with `upgradeTo.readWriteEndpoint` also
 * `managed-postgres-upgrade-redirect.service` (src/render/upgrade-redirect.ts). Pure.
 * @throws Error if the cluster is standalone (it has no pooler tier)
 */
export function renderPoolerSystemdUnits(ctx: PoolerContext): RenderedFile[] {
  assertDistributed(ctx);
  return renderDefs(poolerDefs(ctx));
}

function assertDistributed(ctx: PoolerContext): void {
  if (ctx.spec.deployment !== "distributed") {
    throw new Error(`cluster ${ctx.spec.name} is ${ctx.spec.deployment}; only distributed clusters have a PgBouncer tier`);
  }
}

/**
 * The services of a database node in start order (daemons first, then the timer jobs),
 * resolved for the live harness: it runs each daemon's `execStart` as `user` after
 * `managed-postgres-bootstrap prepare`. Pure.
 */
export function nodeServices(ctx: NodeContext): ManagedService[] {
  return nodeDefs(ctx).flatMap((d) => d.services);
}

/** The services of a pooler instance in start order (see {@link nodeServices}). @throws Error if standalone */
export function poolerServices(ctx: PoolerContext): ManagedService[] {
  assertDistributed(ctx);
  return poolerDefs(ctx).flatMap((d) => d.services);
}

/** Units `managed-postgres-bootstrap start` enables and starts: daemons, then timers. */
export function unitsToStart(services: readonly ManagedService[]): string[] {
  return services.map((s) => (s.kind === "daemon" ? s.unit : s.timer!.unit));
}
