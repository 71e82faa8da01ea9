/**
 * Live: the metrics the CloudWatch alarms read are exposed on the 3-AZ harness cluster
 * (Patroni, synchronous replication, pgBackRest archiving to s3rver).
 *
 * On each database node the test writes the rendered monitoring files the exporters need
 * (the postgres_exporter queries, the backup status script) and runs, beside the node's own
 * exporter, a postgres_exporter with `PG_EXPORTER_EXTEND_QUERY_PATH` — what the systemd
 * drop-in sets on AWS — on 127.0.0.1:19187. After a full backup (the node's own backup job)
 * and the backup status job, it checks: connections and max_connections (size XS: 80), lag
 * 0 on a formed cluster, WAL archiving not failing on the primary, and the backup age below
 * an hour on every node (the repository is shared). On the pooler, the PgBouncer exporters
 * of both pools (the units' command) expose `pgbouncer_waiting_clients`.
 *
 * Needs root and the Debian packages of the harness (npm run test:live).
 */
import { LiveCluster } from "./harness/cluster";
import { nodeJobs, runJob } from "./harness/library-driver";
import type { ManagedService } from "../../src/render/systemd";
import { PGBOUNCER_EXPORTER_PORTS } from "../../src/cluster-spec/ports";
import { METRICS } from "../../src/monitoring";
import { MONITORING_PATHS, renderBackupStatusScript, renderPostgresExporterQueries } from "../../src/render/monitoring";

const EXPORTER_PORT = 19187;

function sample(exposition: string, name: string): number[] {
  const re = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "gm");
  return [...exposition.matchAll(re)].map((m) => Number(m[2]));
}

describe("live: metrics the alarms use", () => {
  const cluster = new LiveCluster();
  const scrapes: string[] = [];
  const poolerScrapes: Record<string, string> = {};
  let primary = -1;

  beforeAll(async () => {
    await cluster.start();
    const spec = cluster.spec;
    // A full backup in the repository (the backup job acts on the synchronous standby only).
    for (let i = 0; i < 3; i++) {
      const job = nodeJobs(cluster.nodeContext(i)).get("managed-postgres-backup.service")!;
      const r = await runJob(cluster.nodes[i], job);
      if (r.code !== 0) throw new Error(`backup job on node ${i} failed:\n${r.output}`);
    }
    for (let i = 0; i < 3; i++) {
      const host = cluster.nodes[i];
      await host.writeFile(MONITORING_PATHS.exporterQueries, renderPostgresExporterQueries(), "0644", "root:root");
      await host.writeFile(MONITORING_PATHS.backupStatusScript, renderBackupStatusScript(spec), "0755", "root:root");
      await host.mkdir(MONITORING_PATHS.backupStatusDir, "0755", "postgres:postgres");
      const statusJob: ManagedService = {
        unit: "managed-postgres-backup-status.service",
        kind: "job",
        user: "postgres",
        group: "postgres",
        execStart: MONITORING_PATHS.backupStatusScript,
        environment: {},
        environmentFiles: [],
        createdDirectories: [],
      };
      const r = await runJob(host, statusJob);
      if (r.code !== 0) throw new Error(`backup status job on node ${i} failed:\n${r.output}`);
      await host.startService({
        name: "h6-postgres-exporter",
        user: "postgres",
        group: "postgres",
        environment: {
          DATA_SOURCE_NAME: "host=/var/run/postgresql user=postgres dbname=postgres sslmode=disable",
          PG_EXPORTER_EXTEND_QUERY_PATH: MONITORING_PATHS.exporterQueries,
        },
        execStart: `/usr/bin/prometheus-postgres-exporter --web.listen-address=127.0.0.1:${EXPORTER_PORT}`,
      });
    }
    for (let i = 0; i < 3; i++) {
      let text = "";
      for (let attempt = 0; attempt < 30 && !/^mp_connections_used /m.test(text); attempt++) {
        await new Promise((r) => setTimeout(r, 1000));
        text = (await cluster.nodes[i].exec(["curl", "-sf", "-m", "5", `http://127.0.0.1:${EXPORTER_PORT}/metrics`])).stdout;
      }
      scrapes[i] = text;
      if (sample(text, METRICS.walArchiveFailing).length > 0) primary = i;
    }
    for (const pool of ["rw", "ro"] as const) {
      poolerScrapes[pool] = (await cluster.pooler.exec(["curl", "-sf", "-m", "5", `http://127.0.0.1:${PGBOUNCER_EXPORTER_PORTS[pool]}/metrics`])).stdout;
    }
  }, 900_000);

  afterAll(async () => {
    await cluster.stop();
  }, 120_000);

  test("every node exposes connections and max_connections (size XS: 80)", () => {
    for (const s of scrapes) {
      expect(sample(s, METRICS.connectionsUsed)[0]).toBeGreaterThanOrEqual(1);
      expect(sample(s, METRICS.connectionsMax)).toEqual([80]);
    }
  });

  test("replication lag is exposed on every node and is under the alarm threshold on a formed cluster", () => {
    for (const s of scrapes) {
      const [lag] = sample(s, METRICS.replicationLagSeconds);
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(30);
    }
  });

  test("exactly one node (the primary) reports WAL archiving, and it is not failing", () => {
    expect(scrapes.filter((s) => sample(s, METRICS.walArchiveFailing).length > 0)).toHaveLength(1);
    expect(sample(scrapes[primary], METRICS.walArchiveFailing)).toEqual([0]);
  });

  test("every node reports the same repository's newest full backup, less than an hour old", () => {
    for (const s of scrapes) {
      const [age] = sample(s, METRICS.backupLastFullAgeSeconds);
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(3600);
    }
  });

  test("the pooler's PgBouncer exporters (rw and ro) expose pgbouncer_waiting_clients", () => {
    for (const pool of ["rw", "ro"]) expect(poolerScrapes[pool]).toMatch(/^pgbouncer_waiting_clients\{/m);
  });
});
