/**
 * systemd units: `systemd-analyze verify` (systemd 252) accepts every unit without a
 * warning, calendars parse with `systemd-analyze calendar`, and each deployment model gets
 * the right services. A missing systemd-analyze fails the test.
 */
import { basename } from "node:path";
import {
  nodeServices,
  renderBootstrapScript,
  PATHS,
  poolerServices,
  renderPoolerSystemdUnits,
  renderSystemdUnits,
  unitsToStart,
  type RenderedFile,
} from "../../src/render";
import { distributedNode, pooler, standaloneNode} from "./fixtures";

function unit(files: RenderedFile[], name: string): string {
  const f = files.find((x) => x.path === `/etc/systemd/system/${name}`);
  if (!f) throw new Error(`no unit ${name} in ${files.map((x) => basename(x.path)).join(", ")}`);
  return f.content;
}

function names(files: RenderedFile[]): string[] {
  return files.map((f) => basename(f.path)).sort();
}

describe("units of a database node", () => {
  test("a distributed node runs etcd, Patroni, the pgBackRest TLS server and the PostgreSQL exporter, no PgBouncer", () => {
    const files = renderSystemdUnits(distributedNode(0));
    expect(names(files)).toEqual([
      "etcd.service",
      "managed-postgres-backup.service",
      "managed-postgres-backup.timer",
      "managed-postgres-bootstrap.service",
      "managed-postgres-etcd-leader.service",
      "managed-postgres-etcd-leader.timer",
      "managed-postgres-grow-fs.service",
      "managed-postgres-grow-fs.timer",
      "managed-postgres-logical-dump.service",
      "managed-postgres-logical-dump.timer",
      "managed-postgres-maintenance.service",
      "managed-postgres-maintenance.timer",
      "managed-postgres-publish.service",
      "managed-postgres-publish.timer",
      "managed-postgres-verify-backup.service",
      "managed-postgres-verify-backup.timer",
      "patroni.service",
      "pgbackrest-server.service",
      "prometheus-postgres-exporter.service",
    ]);
  });

  test("a distributed node moves the etcd leadership off the primary every 10 s, as root; a standalone node has no other etcd member", () => {
    const unit = (n: string) => renderSystemdUnits(distributedNode(0)).find((f) => basename(f.path) === n)!.content;
    expect(unit("managed-postgres-etcd-leader.service")).toContain("\nExecStart=/usr/local/sbin/managed-postgres-bootstrap etcd-leader\n");
    expect(unit("managed-postgres-etcd-leader.timer")).toContain("\nOnUnitActiveSec=10s\n");
    expect(names(renderSystemdUnits(standaloneNode()))).not.toContain("managed-postgres-etcd-leader.timer");
  });

  test("a standalone node runs PgBouncer rw and its exporter, and no pgBackRest TLS server", () => {
    const files = renderSystemdUnits(standaloneNode());
    expect(names(files)).toContain("pgbouncer@.service");
    expect(names(files)).toContain("pgbouncer-exporter-rw.service");
    expect(names(files)).not.toContain("pgbouncer-exporter-ro.service");
    expect(names(files)).not.toContain("pgbackrest-server.service");
    expect(unitsToStart(nodeServices(standaloneNode()))).toContain("pgbouncer@rw.service");
    expect(unitsToStart(nodeServices(standaloneNode()))).not.toContain("pgbouncer@ro.service");
  });

  test("Patroni runs as postgres with its secrets from the environment file and is not killed with PostgreSQL", () => {
    const u = unit(renderSystemdUnits(distributedNode(0)), "patroni.service");
    expect(u).toContain("User=postgres\n");
    expect(u).toContain(`EnvironmentFile=${PATHS.patroniEnv}\n`);
    expect(u).toContain(`ExecStart=/usr/bin/patroni ${PATHS.patroniConfig}\n`);
    expect(u).toContain("KillMode=process\n");
    expect(u).toContain("After=network-online.target etcd.service managed-postgres-bootstrap.service\n");
  });

  test("etcd replaces the package unit with the rendered configuration file and waits for quorum without a timeout", () => {
    const u = unit(renderSystemdUnits(distributedNode(0)), "etcd.service");
    expect(u).toContain(`ExecStart=/usr/bin/etcd --config-file ${PATHS.etcdConfig}\n`);
    expect(u).toContain("User=etcd\n");
    expect(u).toContain("TimeoutStartSec=infinity\n");
    expect(u).toContain(`ReadWritePaths=${PATHS.etcdDataDir}\n`);
  });

  test("the daily full backup timer fires at the spec's fullBackupTime in UTC and catches up after downtime", () => {
    const files = renderSystemdUnits(distributedNode(0, { backup: { fullBackupTime: "04:30" } }));
    const timer = unit(files, "managed-postgres-backup.timer");
    expect(timer).toContain("OnCalendar=*-*-* 04:30:00 UTC\n");
    expect(timer).toContain("Persistent=true\n");
    const service = unit(files, "managed-postgres-backup.service");
    expect(service).toContain(`ExecStart=${PATHS.bootstrapScript} backup\n`);
    expect(service).toContain("User=postgres\n");
  });

  test("the logical dump timer follows the spec's schedule in UTC", () => {
    const files = renderSystemdUnits(distributedNode(0, { backup: { logicalDump: { schedule: "Mon,Thu *-*-* 02:15:00" } } }));
    expect(unit(files, "managed-postgres-logical-dump.timer")).toContain("OnCalendar=Mon,Thu *-*-* 02:15:00 UTC\n");
    expect(unit(files, "managed-postgres-logical-dump.service")).toContain(`ExecStart=${PATHS.bootstrapScript} logical-dump\n`);
  });

  test("the filesystem grows every 5 minutes, as root", () => {
    const files = renderSystemdUnits(distributedNode(0));
    expect(unit(files, "managed-postgres-grow-fs.timer")).toContain("OnUnitActiveSec=5min\n");
    const s = unit(files, "managed-postgres-grow-fs.service");
    expect(s).toContain(`ExecStart=${PATHS.bootstrapScript} grow-fs\n`);
    expect(s).toContain("User=root\n");
  });

  test.each([
    ["distributed", () => distributedNode(1)],
    ["standalone", () => standaloneNode()],
  ])("a %s node republishes what it writes for others every 5 minutes (randomized by up to 1 minute), as root, without a boot", (_kind, ctx) => {
    const files = renderSystemdUnits(ctx());
    const timer = unit(files, "managed-postgres-publish.timer");
    for (const line of ["OnBootSec=5min", "OnUnitActiveSec=5min", "RandomizedDelaySec=1min", "AccuracySec=30s", "WantedBy=timers.target"]) {
      expect(timer).toContain(`${line}\n`);
    }
    const s = unit(files, "managed-postgres-publish.service");
    expect(s).toContain(`ExecStart=${PATHS.bootstrapScript} publish\n`);
    expect(s).toContain("Type=oneshot\n");
    expect(s).toContain("User=root\n");
    expect(s).toContain("NoNewPrivileges=yes\n");
    expect(s).toContain("TimeoutStartSec=5min\n");
    // started by the bootstrap with the other timers
    expect(unitsToStart(nodeServices(ctx()))).toContain("managed-postgres-publish.timer");
    expect(renderBootstrapScript(ctx())).toMatch(/^readonly JOBS='[^']*\bpublish\b[^']*'$/m);
  });

  test("every timer job's subcommand is one the bootstrap script dispatches (JOBS)", () => {
    for (const ctx of [distributedNode(0), standaloneNode()]) {
      const jobs = /^readonly JOBS='([^']*)'$/m.exec(renderBootstrapScript(ctx))![1]!.split(" ");
      const commands = nodeServices(ctx).filter((s) => s.kind === "job").map((s) => s.execStart.split(" ").pop());
      expect(jobs).toEqual(expect.arrayContaining(commands));
    }
  });

  test("every long-running service is hardened", () => {
    const files = [...renderSystemdUnits(standaloneNode()), ...renderPoolerSystemdUnits(pooler())].filter(
      (f) => f.path.endsWith(".service") && !/managed-postgres-/.test(f.path),
    );
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) {
      expect([f.path, f.content]).toEqual([f.path, expect.stringContaining("NoNewPrivileges=yes\n")]);
      expect([f.path, f.content]).toEqual([f.path, expect.stringContaining("ProtectSystem=strict\n")]);
      expect([f.path, f.content]).toEqual([f.path, expect.stringContaining("ProtectHome=yes\n")]);
    }
  });

  test("metrics exporters listen on 127.0.0.1 only", () => {
    for (const s of [...nodeServices(standaloneNode()), ...poolerServices(pooler())].filter((x) => x.unit.includes("exporter"))) {
      expect([s.unit, s.execStart]).toEqual([s.unit, expect.stringMatching(/127\.0\.0\.1/)]);
      expect(s.execStart).not.toMatch(/0\.0\.0\.0/);
    }
  });
});

describe("units of a pooler instance", () => {
  test("a pooler runs HAProxy, PgBouncer rw and ro, and one exporter per pool", () => {
    expect(unitsToStart(poolerServices(pooler()))).toEqual([
      "haproxy.service",
      "pgbouncer@rw.service",
      "pgbouncer@ro.service",
      "pgbouncer-exporter-rw.service",
      "pgbouncer-exporter-ro.service",
    ]);
  });

  test("a standalone cluster has no pooler units", () => {
    expect(() => renderPoolerSystemdUnits(pooler({ deployment: "standalone" }))).toThrow(/standalone; only distributed clusters have a PgBouncer tier/);
  });
});

describe("the harness plan (nodeServices)", () => {
  test("every command is resolved: absolute path, no systemd specifier", () => {
    for (const s of [...nodeServices(distributedNode(0)), ...nodeServices(standaloneNode()), ...poolerServices(pooler())]) {
      expect(s.execStart).toMatch(/^\//);
      expect(s.execStart).not.toMatch(/%[a-zA-Z]/);
    }
  });

  test("PgBouncer pools get their own configuration file and runtime directory", () => {
    const rw = poolerServices(pooler()).find((s) => s.unit === "pgbouncer@rw.service")!;
    const ro = poolerServices(pooler()).find((s) => s.unit === "pgbouncer@ro.service")!;
    expect(rw.execStart).toBe("/usr/sbin/pgbouncer /etc/pgbouncer/pgbouncer-rw.ini");
    expect(ro.execStart).toBe("/usr/sbin/pgbouncer /etc/pgbouncer/pgbouncer-ro.ini");
    expect(rw.createdDirectories).toContain("/run/pgbouncer-rw");
    expect(ro.user).toBe("postgres");
  });

  test("daemons come before jobs, and the timer jobs name their timers", () => {
    const services = nodeServices(distributedNode(0));
    const kinds = services.map((s) => s.kind);
    expect(kinds.indexOf("job")).toBeGreaterThan(kinds.lastIndexOf("daemon"));
    expect(services.filter((s) => s.kind === "job").map((s) => s.timer!.unit)).toEqual([
      "managed-postgres-backup.timer",
      "managed-postgres-logical-dump.timer",
      "managed-postgres-grow-fs.timer",
      "managed-postgres-verify-backup.timer",
      "managed-postgres-maintenance.timer",
      "managed-postgres-etcd-leader.timer",
      "managed-postgres-publish.timer",
    ]);
  });

  test("Patroni starts only after the data-version check (as root), and the maintenance runs 1 minute after boot, then every minute, as root", () => {
    const files = renderSystemdUnits(distributedNode(0));
    const text = (n: string) => files.find((f) => f.path.endsWith(`/${n}`))!.content;
    expect(text("patroni.service")).toContain("\nExecStartPre=+/usr/local/sbin/managed-postgres-bootstrap check-data-version\n");
    expect(text("managed-postgres-maintenance.service")).toContain("\nExecStart=/usr/local/sbin/managed-postgres-bootstrap maintenance\n");
    expect(text("managed-postgres-maintenance.service")).toContain("\nUser=root\n");
    expect(text("managed-postgres-maintenance.timer")).toContain("\nOnBootSec=1min\n");
    expect(text("managed-postgres-maintenance.timer")).toContain("\nOnUnitActiveSec=1min\n");
    expect(text("managed-postgres-verify-backup.service")).toContain("\nExecStart=/usr/local/sbin/managed-postgres-bootstrap verify-backup\n");
    expect(text("managed-postgres-verify-backup.service")).toContain("\nUser=postgres\n");
    expect(text("managed-postgres-verify-backup.timer")).toContain("\nOnCalendar=Wed *-*-* 04:00:00 UTC\n");
  });

});
