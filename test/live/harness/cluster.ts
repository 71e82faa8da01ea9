/**
 * The live 3-AZ cluster: brings the harness network, the services host, three database
 * nodes and a pooler instance up from the library's rendered configuration, and offers
 * the probes the tests and the benchmark need. {@link LiveCluster.stop} (and
 * `cleanupLeftovers` at the start of every run) remove everything it created.
 */
import { spawnSync } from "child_process";
import { mkdirSync, writeFileSync } from "fs";
import { request as httpRequest } from "http";
import { join, resolve } from "path";
import { resolveClusterSpec, type ClusterSpec, type ResolvedClusterSpec } from "../../../src/cluster-spec";
import { PORTS } from "../../../src/cluster-spec";
import type { ClusterMember, NodeContext, PoolerContext, RuntimeContext } from "../../../src/render";
import { PATHS, patroniTiming } from "../../../src/render";
import {
  APP_USER,
  AWS_PORT,
  BUCKET,
  CLUSTER_NAME,
  POOLER,
  PREFIX,
  REGION,
  RUN_ROOT,
  S3_PORT,
  SERVICES,
  ZONES,
  ZONE_NAMES,
} from "./constants";
import { run, runOk, sleep, waitFor, type RunResult } from "./exec";
import { majorityClusterView, patroniHttps, waitFormedOfThree, type FaultCluster, type PatroniMember, type PatroniTiming } from "./fault-cluster";
import { cleanupLeftovers, createNetwork, heal, killNamespace, partition } from "./network";
import { HarnessHost } from "./node";
import {
  HARNESS_ENV,
  missingBootstrapPackages,
  nodeDaemons,
  nodeUserDataFiles,
  poolerDaemons,
  poolerUserDataFiles,
  runBootstrap,
  startUnit,
  writeUserData,
} from "./library-driver";
import { createCa, issueCertificate, type KeyPair } from "./tls";
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "fs";

/** Repository root (for ts-node and s3rver in the services host). */
export const REPO_ROOT = resolve(__dirname, "../../..");

export type { PatroniMember } from "./fault-cluster";

export { REPLICA_UP } from "./fault-cluster";

/** Debian packages (and their binaries) the harness needs; missing ones fail the run. */
export const REQUIRED_BINARIES: Record<string, string> = {
  "/usr/bin/patroni": "patroni",
  "/usr/bin/etcd": "etcd-server",
  "/usr/bin/etcdctl": "etcd-client",
  "/usr/sbin/pgbouncer": "pgbouncer",
  "/usr/sbin/haproxy": "haproxy",
  "/usr/bin/pgbackrest": "pgbackrest",
  "/usr/lib/postgresql/15/bin/postgres": "postgresql-15",
  "/usr/bin/psql": "postgresql-client-15",
  "/usr/bin/pgbench": "postgresql-client-15",
  "/usr/sbin/ip": "iproute2",
  "/usr/bin/nsenter": "util-linux",
  "/usr/bin/setpriv": "util-linux",
  "/usr/bin/openssl": "openssl",
};

/**
 * Throws a clear error when the harness cannot run here: not root, or a Debian package
 * missing. A failure, never a skip.
 */
export function assertPrerequisites(): void {
  const problems: string[] = [];
  if (process.getuid && process.getuid() !== 0) problems.push("must run as root (network namespaces, bind mounts): sudo npm run test:live");
  const missing = new Set<string>();
  for (const [bin, pkg] of Object.entries(REQUIRED_BINARIES)) {
    if (spawnSync("test", ["-x", bin]).status !== 0) missing.add(pkg);
  }
  if (missing.size) problems.push(`missing Debian packages: apt-get install -y ${[...missing].join(" ")}`);
  if (problems.length) throw new Error(`live harness prerequisites: ${problems.join("; ")}`);
}

/** The spec of the live cluster (XS keeps three PostgreSQL instances small); `spec` replaces it. */
export function liveSpec(spec?: ClusterSpec): ResolvedClusterSpec {
  return resolveClusterSpec(spec ?? { name: CLUSTER_NAME, deployment: "distributed", size: "XS", storageGiB: 2, majorVersion: 15 });
}

/** The harness's runtime context for cluster `name`: the stand-in AWS endpoint, IMDS and s3rver. */
export function liveRuntime(name: string = CLUSTER_NAME): RuntimeContext {
  return {
    region: REGION,
    backupBucket: BUCKET,
    kmsKeyArn: `arn:aws:kms:${REGION}:000000000000:key/00000000-0000-4000-8000-000000000001`,
    secretArn: `arn:aws:secretsmanager:${REGION}:000000000000:secret:${name}-cluster-AbCdEf`,
    // The PgBouncer tier's own secret; its certificate is for the address clients use here
    // (the pooler host: no load balancer in the harness).
    poolerSecretArn: `arn:aws:secretsmanager:${REGION}:000000000000:secret:${name}-pooler-GhIjKl`,
    poolerEndpointNames: [POOLER.address],
    caCertificateParameter: `/managed-postgres/${name}/ca-certificate`,
    s3Endpoint: SERVICES.address,
    s3VerifyTls: false,
    awsEndpointUrl: `http://${SERVICES.address}:${AWS_PORT}`,
    metadataEndpoint: `http://${SERVICES.address}:${AWS_PORT}`,
  };
}

/** Options of a {@link LiveCluster}. */
export interface LiveClusterOptions {
  /** Progress messages. @default - console.log with a timestamp */
  readonly log?: (message: string) => void;
  /**
   * The cluster's spec (name, deployment, …). A standalone cluster uses the first zone's
   * host only and has no pooler host. @default - {@link liveSpec}
   */
  readonly spec?: ClusterSpec;
}

/** The running cluster. */
export class LiveCluster implements FaultCluster {
  readonly spec: ResolvedClusterSpec;
  readonly runtime: RuntimeContext;
  readonly members: ClusterMember[];
  readonly nodes: HarnessHost[];
  readonly pooler = new HarnessHost(POOLER);
  readonly services = new HarnessHost(SERVICES);
  /** CA certificate file on the machine (clients of the endpoints verify against it). */
  readonly caFile = join(RUN_ROOT, "pki", "ca.crt");
  /** Directory s3rver stores the bucket in. */
  readonly s3Directory = join(RUN_ROOT, "s3");
  /** The cluster CA (generated by the first node's bootstrap; read from a node after prepare). */
  caPem = "";
  /** Patroni REST API password (from a node's secrets.env, written by the bootstrap). */
  restapiPassword = "";
  /** Corrections the harness had to apply to rendered files (must stay empty; see library-driver.ts). */
  readonly workarounds = new Set<string>();
  /** CA of the harness itself (s3rver's certificate only). */
  private harnessCa!: KeyPair;
  private readonly log: (m: string) => void;

  constructor(options: LiveClusterOptions = {}) {
    this.log = options.log ?? ((m) => console.log(`${new Date().toISOString()} ${m}`));
    this.spec = liveSpec(options.spec);
    this.runtime = liveRuntime(this.spec.name);
    const zones = this.distributed ? ZONES : ZONES.slice(0, 1);
    this.members = zones.map((z, i) => ({ name: `${this.spec.name}-${i}`, slotIndex: i, address: z.address, zone: ZONE_NAMES[i] }));
    this.nodes = zones.map((z, i) => new HarnessHost(z, join(RUN_ROOT, "volumes", `slot-${i}`)));
  }

  /** Distributed (3 nodes + a pooler host) or standalone (1 node running its own PgBouncer). */
  get distributed(): boolean {
    return this.spec.deployment === "distributed";
  }

  /** Indexes of the database nodes. */
  get nodeIndexes(): number[] {
    return this.nodes.map((_, i) => i);
  }

  nodeContext(i: number): NodeContext {
    return { spec: this.spec, self: this.members[i], members: this.members, runtime: this.runtime };
  }

  poolerContext(): PoolerContext {
    return { spec: this.spec, members: this.members, runtime: this.runtime };
  }

  /** Brings everything up; on failure tears down what it started and rethrows. */
  async start(): Promise<void> {
    assertPrerequisites();
    const missing = missingBootstrapPackages(this.nodeContext(0));
    if (missing.length) throw new Error(`the node bootstrap needs Debian packages missing here: apt-get install -y ${missing.join(" ")}`);
    await acquireRunLock(this.log);
    await cleanupLeftovers();
    try {
      const t0 = Date.now();
      mkdirSync(join(RUN_ROOT, "pki"), { recursive: true });
      await createNetwork();
      this.log("network: bridge + 5 namespaces up");
      this.harnessCa = await createCa(join(RUN_ROOT, "pki", "harness"), "mph3 harness services CA");
      await this.startServices();
      this.log("services: s3rver (TLS) + AWS stand-in up");
      const n = this.nodes.length;
      for (const i of this.nodeIndexes) {
        await this.nodes[i].boot();
        for (const w of await writeUserData(this.nodes[i], nodeUserDataFiles(this.nodeContext(i)))) this.workarounds.add(w);
      }
      // The first boots race for the cluster secret, as in a real deployment.
      await Promise.all(this.nodes.map((h) => runBootstrap(h, "prepare")));
      this.loadClusterSecrets();
      this.log(`bootstrap prepare: ${n}/${n} nodes`);
      await this.startNodeDaemons(this.nodeIndexes);
      this.log(`etcd ${n}/${n} healthy, patroni: ${this.distributed ? "primary + synchronous standby + replica" : "primary"}`);
      await Promise.all(this.nodes.map((h) => runBootstrap(h, "finalize")));
      this.log("bootstrap finalize: stanza created on the primary");
      if (this.distributed) {
        await this.pooler.boot();
        for (const w of await writeUserData(this.pooler, poolerUserDataFiles(this.poolerContext()))) this.workarounds.add(w);
        await runBootstrap(this.pooler, "prepare");
        for (const svc of poolerDaemons(this.poolerContext())) await startUnit(this.pooler, svc);
      }
      await this.createAppSchema();
      await waitFor("read-write endpoint", async () => ((await this.endpointQuery("rw", "select 1")).code === 0 ? true : undefined), 90_000, 1000);
      this.log(`cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      this.log(`start failed: ${String(err).slice(0, 4000)}`);
      this.log(this.diagnostics());
      if (process.env.MPH3_KEEP_ON_FAILURE === "1") this.log("MPH3_KEEP_ON_FAILURE=1: leaving the harness up for inspection");
      else await this.stop();
      throw err;
    }
  }

  /** Kills every process of the harness, removes namespaces, links and directories, and releases the run lock. */
  async stop(): Promise<void> {
    for (const h of [this.pooler, ...this.nodes, this.services]) await killNamespace(h.def.netns);
    await cleanupLeftovers();
    releaseRunLock();
  }

  /** The current value (AWSCURRENT) of a secret in the AWS stand-in (Secrets Manager GetSecretValue). */
  secretValue(arn: string): Promise<string> {
    const payload = JSON.stringify({ SecretId: arn });
    return new Promise((resolvePromise, reject) => {
      const req = httpRequest(
        {
          host: SERVICES.address,
          port: AWS_PORT,
          path: "/",
          method: "POST",
          timeout: 5000,
          headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.GetSecretValue", "content-length": Buffer.byteLength(payload) },
        },
        (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => {
            try {
              const out = JSON.parse(body) as { SecretString?: string };
              if (res.statusCode !== 200 || out.SecretString === undefined) throw new Error(`HTTP ${res.statusCode}: ${body.slice(0, 500)}`);
              resolvePromise(out.SecretString);
            } catch (err) {
              reject(new Error(`GetSecretValue ${arn}: ${String(err)}`));
            }
          });
        },
      );
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error(`timeout GetSecretValue ${arn}`)));
      req.end(payload);
    });
  }

  /** Tail of the service logs (for failure messages). */
  diagnostics(): string {
    const r = spawnSync("sh", ["-c", `for f in ${RUN_ROOT}/hosts/*/logs/*.log; do echo "== $f"; tail -n 15 "$f"; done 2>/dev/null`], {
      encoding: "utf8",
      timeout: 10_000,
    });
    return (r.stdout ?? "").slice(-12000);
  }

  private async startServices(): Promise<void> {
    const pair = await issueCertificate(join(RUN_ROOT, "pki", "s3"), this.harnessCa, "s3.harness", [SERVICES.address]);
    const name = this.spec.name;
    const tlsDir = join(RUN_ROOT, "pki", "s3tls");
    mkdirSync(tlsDir, { recursive: true });
    writeFileSync(join(tlsDir, "s3.key"), pair.keyPem, { mode: 0o600 });
    writeFileSync(join(tlsDir, "s3.crt"), pair.certPem);
    mkdirSync(this.s3Directory, { recursive: true });
    const config = {
      address: SERVICES.address,
      awsPort: AWS_PORT,
      s3Port: S3_PORT,
      s3Directory: this.s3Directory,
      bucket: BUCKET,
      tlsKeyFile: join(tlsDir, "s3.key"),
      tlsCertFile: join(tlsDir, "s3.crt"),
      standin: {
        region: REGION,
        accountId: "000000000000",
        clusterName: name,
        volumeGiB: this.spec.storageGiB,
        roleName: `${name}-node`,
        hosts: [
          ...this.members.map((m, i) => ({
            address: m.address,
            zone: ZONE_NAMES[i],
            slotIndex: i,
            tags: { Name: `${name}-${i}`, "managed-postgres:cluster": name, "managed-postgres:slot": String(i) },
          })),
          ...(this.distributed ? [{ address: POOLER.address, zone: ZONE_NAMES[0], tags: { Name: `${name}-pooler`, "managed-postgres:cluster": name } }] : []),
        ],
        secrets: [
          { arn: this.runtime.secretArn, name: `${name}-cluster` },
          ...(this.distributed ? [{ arn: this.runtime.poolerSecretArn!, name: `${name}-pooler` }] : []),
        ],
      },
    };
    const configFile = join(RUN_ROOT, "services.json");
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    await this.services.boot();
    await this.services.startService({
      name: "services",
      execStart: `${process.execPath} -r ${REPO_ROOT}/node_modules/ts-node/register/transpile-only ${REPO_ROOT}/test/live/harness/services-main.ts ${configFile}`,
      environment: { TS_NODE_TRANSPILE_ONLY: "1", TS_NODE_PROJECT: join(REPO_ROOT, "tsconfig.json") },
    });
    await waitFor(
      "AWS stand-in and s3rver",
      async () => {
        if (this.services.servicePid("services") && !processAlive(this.services.servicePid("services")!)) {
          throw new Error(`services process exited:\n${this.diagnostics()}`);
        }
        return (await this.standinState()) ? true : undefined;
      },
      120_000,
      1000,
    );
  }

  /** The stand-in's state (calls, secret versions, attachments). */
  standinState(): Promise<
    | { calls: { api: string; action: string; from: string; status: number; target?: string }[]; secrets: unknown; parameters?: Record<string, { value: string; version: number }> }
    | undefined
  > {
    return new Promise((resolvePromise) => {
      const req = httpRequest({ host: SERVICES.address, port: AWS_PORT, path: "/_harness/state", timeout: 5000 }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => {
          try {
            resolvePromise(JSON.parse(body));
          } catch {
            resolvePromise(undefined);
          }
        });
      });
      req.on("error", () => resolvePromise(undefined));
      req.on("timeout", () => req.destroy());
      req.end();
    });
  }

  // ------------------------------------------------------------------ probes

  /** HTTPS request to a member's Patroni REST API (verifying the cluster CA). */
  patroniRequest(index: number, method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<{ status: number; body: string }> {
    return patroniHttps(this.members[index].address, this.caPem, this.restapiPassword, method, path, body, timeoutMs);
  }


  /**
   * Patroni's view of the cluster (`GET /cluster`), asked of every reachable member
   * (skipping `exclude`); the view most members agree on wins. A member cut off from etcd
   * serves its last (stale) view, so a single answer is not enough after a partition.
   */
  async patroniCluster(exclude: readonly number[] = []): Promise<PatroniMember[]> {
    const indexes = this.nodeIndexes.filter((i) => !exclude.includes(i) && this.nodes[i].up);
    return majorityClusterView(indexes, (i) => this.patroniRequest(i, "GET", "/cluster"));
  }

  /** Index of the member named `name`. */
  indexOf(name: string): number {
    const i = this.members.findIndex((m) => m.name === name);
    if (i < 0) throw new Error(`unknown member ${name}`);
    return i;
  }

  /** The current leader's index, if one is running (skipping `exclude`). */
  async leaderIndex(exclude: readonly number[] = []): Promise<number | undefined> {
    const ms = await this.patroniCluster(exclude);
    const leader = ms.find((m) => m.role === "leader" && m.state === "running");
    return leader ? this.indexOf(leader.name) : undefined;
  }

  /**
   * Waits until the cluster has a running leader, a streaming synchronous standby and a
   * streaming replica (standalone: a running leader).
   */
  async waitFormed(timeoutMs: number): Promise<PatroniMember[]> {
    if (!this.distributed) {
      return waitFor(
        "one primary",
        async () => {
          const ms = await this.patroniCluster();
          return ms.length === 1 && ms[0].role === "leader" && ms[0].state === "running" ? ms : undefined;
        },
        timeoutMs,
        1000,
      );
    }
    return waitFormedOfThree(() => this.patroniCluster(), timeoutMs);
  }

  /** etcd's view of its members' health (from the machine, with a member's client certificate). */
  async etcdHealth(): Promise<{ endpoint: string; health: boolean }[]> {
    const up = this.nodes.findIndex((n) => n.up);
    const r = await run(
      [
        "etcdctl",
        `--endpoints=${this.members.map((m) => `https://${m.address}:${PORTS.etcdClient}`).join(",")}`,
        `--cacert=${this.caFile}`,
        `--cert=${this.nodes[up].hostPath(PATHS.serverCert)}`,
        `--key=${this.nodes[up].hostPath(PATHS.serverKey)}`,
        "--dial-timeout=3s",
        "--command-timeout=5s",
        "endpoint",
        "health",
        "-w",
        "json",
      ],
      { timeoutMs: 30_000, env: { ETCDCTL_API: "3" } },
    );
    try {
      return JSON.parse(r.stdout) as { endpoint: string; health: boolean }[];
    } catch {
      return [];
    }
  }

  async waitEtcdHealthy(count: number, timeoutMs: number): Promise<void> {
    await waitFor(
      `${count} healthy etcd members`,
      async () => ((await this.etcdHealth()).filter((e) => e.health).length >= count ? true : undefined),
      timeoutMs,
      1000,
    );
  }

  /** psql as the superuser over the node's Unix socket (peer authentication). */
  nodeQuery(index: number, sql: string, db = "postgres", timeoutMs = 30_000): Promise<RunResult> {
    return this.nodes[index].exec(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-d", db, "-c", sql], {
      user: "postgres",
      timeoutMs,
    });
  }

  /** Like {@link nodeQuery}, rejects on failure, returns trimmed output. */
  async nodeQueryOk(index: number, sql: string, db = "postgres"): Promise<string> {
    const r = await this.nodeQuery(index, sql, db);
    if (r.code !== 0) throw new Error(`[${this.members[index].name}] ${sql}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** libpq connection string of an endpoint (PgBouncer rw 6432 / ro 6433 on the pooler). */
  endpointConnInfo(pool: "rw" | "ro", extra = ""): string {
    const port = pool === "rw" ? PORTS.pgbouncerReadWrite : PORTS.pgbouncerReadOnly;
    // Standalone: the node's own PgBouncer (read-write only).
    const host = this.distributed ? POOLER.address : this.members[0].address;
    return `host=${host} port=${port} dbname=${APP_USER.name} user=${APP_USER.name} sslmode=verify-ca sslrootcert=${this.caFile} connect_timeout=5 ${extra}`.trim();
  }

  /** Connection string straight to a node's PostgreSQL (not through the pooler). */
  directConnInfo(index: number, extra = ""): string {
    return `host=${this.members[index].address} port=${PORTS.postgres} dbname=${APP_USER.name} user=${APP_USER.name} sslmode=verify-ca sslrootcert=${this.caFile} connect_timeout=5 ${extra}`.trim();
  }

  /** Runs SQL through an endpoint as the application role. */
  endpointQuery(pool: "rw" | "ro", sql: string, timeoutMs = 20_000, extraConnInfo = ""): Promise<RunResult> {
    return run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", this.endpointConnInfo(pool, extraConnInfo), "-c", sql], {
      timeoutMs,
      env: { PGPASSWORD: APP_USER.password, PGAPPNAME: "live-harness" },
    });
  }

  /** pgBackRest on a node as postgres, with the harness's repository credentials. */
  pgbackrest(index: number, args: readonly string[], timeoutMs = 300_000): Promise<RunResult> {
    return this.nodes[index].exec(["pgbackrest", `--stanza=${this.spec.name}`, ...args], {
      user: "postgres",
      timeoutMs,
      env: HARNESS_ENV,
    });
  }

  private async createAppSchema(): Promise<void> {
    const leader = (await this.leaderIndex())!;
    const esc = APP_USER.password.replace(/'/g, "''");
    await this.nodeQueryOk(leader, `DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='${APP_USER.name}') THEN CREATE ROLE ${APP_USER.name} LOGIN PASSWORD '${esc}'; END IF; END$$`);
    const exists = await this.nodeQueryOk(leader, `SELECT count(*) FROM pg_database WHERE datname='${APP_USER.name}'`);
    if (exists === "0") await this.nodeQueryOk(leader, `CREATE DATABASE ${APP_USER.name} OWNER ${APP_USER.name}`);
    await this.nodeQueryOk(
      leader,
      `CREATE TABLE IF NOT EXISTS writes (id bigint PRIMARY KEY, writer text NOT NULL DEFAULT '', at timestamptz NOT NULL DEFAULT clock_timestamp());
       ALTER TABLE writes OWNER TO ${APP_USER.name};`,
      APP_USER.name,
    );
  }

  // ------------------------------------------------------------------ faults

  /** Hard crash of a zone: SIGKILL of every process of its node at once. */
  async crashNode(index: number): Promise<number[]> {
    return this.nodes[index].crash();
  }

  /**
   * Boots a crashed node's slot again as a replacement instance: a new instance id, empty
   * instance directories, the same data volume and address; user data written, the
   * bootstrap's prepare, then the daemons.
   */
  async restartNode(index: number): Promise<void> {
    const host = this.nodes[index];
    host.wipeInstance();
    await runOk(["curl", "-sf", "-m", "5", "-o", "/dev/null", `http://${SERVICES.address}:${AWS_PORT}/_harness/boot?address=${host.def.address}`]).catch(() => undefined);
    await host.boot();
    for (const w of await writeUserData(host, nodeUserDataFiles(this.nodeContext(index)))) this.workarounds.add(w);
    await runBootstrap(host, "prepare");
    await this.startNodeDaemons([index], false);
  }

  /** {@link FaultCluster.recoverNode}: {@link restartNode}. */
  recoverNode(index: number): Promise<void> {
    return this.restartNode(index);
  }

  /** The rendered Patroni timing (`patroniTiming` of the spec). */
  patroniTiming(): Promise<PatroniTiming> {
    return Promise.resolve(patroniTiming(this.spec));
  }

  /** `nsenter` into the zone's network and mount namespaces (host PIDs: no PID namespace here). */
  nodeCommand(index: number): string[] {
    return ["nsenter", "-t", String(this.nodes[index].pid), "-m", "-n", "--"];
  }

  /** Cuts the zone's link to the bridge. */
  partitionZone(index: number): Promise<void> {
    return partition(ZONES[index]);
  }

  healZone(index: number): Promise<void> {
    return heal(ZONES[index]);
  }

  /** One pooler host outside every zone here: nothing to choose. */
  endpointAvoiding(index: number): void {
    void index;
  }

  /**
   * Starts the daemons of nodes (etcd first, then Patroni, pgBackRest's TLS server and the
   * exporter); with `waitFormed`, waits for etcd quorum and a formed cluster in between.
   */
  async startNodeDaemons(indexes: readonly number[], waitFormed = true): Promise<void> {
    for (const i of indexes) await startUnit(this.nodes[i], nodeDaemons(this.nodeContext(i)).get("etcd.service")!);
    if (waitFormed) await this.waitEtcdHealthy(this.nodes.length, 180_000);
    for (const i of indexes) {
      for (const [unit, svc] of nodeDaemons(this.nodeContext(i))) if (unit !== "etcd.service") await startUnit(this.nodes[i], svc);
    }
    if (waitFormed) await this.waitFormed(300_000);
  }

  /** Reads the CA and the REST API password the bootstrap wrote (from the first node that is up). */
  private loadClusterSecrets(): void {
    const n = this.nodes.find((x) => x.up)!;
    this.caPem = readFileSync(n.hostPath(PATHS.caCert), "utf8");
    writeFileSync(this.caFile, this.caPem);
    const env = readFileSync(n.hostPath(PATHS.patroniEnv), "utf8");
    this.restapiPassword = /^PATRONI_RESTAPI_PASSWORD=(.*)$/m.exec(env)?.[1] ?? "";
    if (!this.restapiPassword) throw new Error(`${PATHS.patroniEnv} has no PATRONI_RESTAPI_PASSWORD`);
  }

  /** Path of a file on the node's data volume or config, on the machine. */
  hostPath(index: number, path: string): string {
    return this.nodes[index].hostPath(path);
  }

  /** The pgBackRest configuration path (for the tests' messages). */
  static readonly pgbackrestConfig = PATHS.pgbackrestConfig;
}

/** One harness run at a time on a machine: the lock file holds the running process's PID. */
export const RUN_LOCK = `/var/tmp/${PREFIX}.lock`;

/**
 * Waits (up to 30 minutes) until no other live process holds {@link RUN_LOCK}, then takes
 * it. A lock whose process is gone is stale and taken over.
 */
export async function acquireRunLock(log: (m: string) => void): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  let announced = false;
  while (Date.now() < deadline) {
    try {
      const fd = openSync(RUN_LOCK, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch {
      const holder = Number(readFileSync(RUN_LOCK, "utf8").trim());
      if (holder === process.pid) return;
      if (!holder || !processAlive(holder)) {
        rmSync(RUN_LOCK, { force: true });
        continue;
      }
      if (!announced) log(`another harness run (pid ${holder}) holds ${RUN_LOCK}: waiting for it`);
      announced = true;
      await sleep(5000);
    }
  }
  throw new Error(`another harness run still holds ${RUN_LOCK} after 30 minutes`);
}

/** Releases {@link RUN_LOCK} if this process holds it. */
export function releaseRunLock(): void {
  try {
    if (Number(readFileSync(RUN_LOCK, "utf8").trim()) === process.pid) rmSync(RUN_LOCK, { force: true });
  } catch {
    /* not held */
  }
}

/** Whether a process exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sleep re-export for tests. */
export { sleep };
