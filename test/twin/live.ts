/**
 * The fault scenarios' view of the EC2 twin (issues 10, 11): a {@link FaultCluster} over a
 * {@link TwinCluster} of the synthesized distributed example. Index i = slot i (its ENI, its
 * volume, its Auto Scaling group, its availability zone).
 *
 * - Members: Patroni's REST API (`GET /cluster`, `/patroni`, `POST /switchover`) at the slot
 *   addresses, port 8008, verified against the cluster CA that the nodes publish in the SSM
 *   parameter `/managed-postgres/<name>/ca-certificate`; basic auth with the API password of
 *   the cluster secret (read from the twin's Secrets Manager; never printed).
 * - The test process reaches the VPC through the twin's host link: TwinNetwork routes every
 *   subnet via the router namespace, so psql and HTTPS clients run on this machine and connect
 *   from 198.18.1.2 (outside the VPC CIDR; the rendered pg_hba and PgBouncer admit any TLS
 *   client with a password, the security groups are not modelled).
 * - Endpoints: the NLB is not modelled. Clients connect to one PgBouncer instance's primary
 *   address, ports 6432 (rw) and 6433 (ro); `endpointAvoiding` moves them to a pooler outside a
 *   zone about to be cut off (the NLB would stop routing to the targets it cannot reach).
 * - Crash: {@link TwinCluster.crash} of the slot's instance (every process killed, EC2 marks it
 *   shutting-down and releases its ENI and volume after `terminationDelayMs`); the slot's group
 *   launches the replacement right away, as Auto Scaling's default instance maintenance policy
 *   does (terminate and launch at the same time), and the replacement's bootstrap must wait
 *   for the slot, take it over and rejoin.
 * - Partition: {@link TwinNetwork.partition} of the slot's subnet (the pooler instances in
 *   that subnet are cut off too).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PORTS } from "../../src/cluster-spec";
import { PATHS } from "../../src/render";
import { TAG_CLUSTER, TAG_SLOT, TAG_SLOT_RESOURCE } from "../../src/cluster-spec/types";
import { APP_USER } from "../live/harness/constants";
import { run, waitFor, type RunResult } from "../live/harness/exec";
import { majorityClusterView, patroniHttps, REPLICA_UP, waitFormedOfThree, type FaultCluster, type PatroniMember, type PatroniTiming } from "../live/harness/fault-cluster";
import { synthesizeApp, TWIN_APPS } from "./apps/synth";
import { TwinCluster, type LaunchedInstance } from "./cluster";

/** Options of {@link TwinFaultCluster.start}. */
export interface TwinFaultClusterOptions {
  /** Twin prefix (2–5 lowercase characters, unique per test file). */
  readonly prefix: string;
  /** How long a terminated instance keeps its ENI and volume. @default 15000 */
  readonly terminationDelayMs?: number;
  readonly log?: (message: string) => void;
  /** The app to synthesize (its stack `distributed`). @default TWIN_APPS.distributed */
  readonly app?: string;
}

/** Options of {@link TwinFaultCluster.ofTwin}: one distributed cluster of a twin already started. */
export interface TwinFaultClusterOfTwinOptions {
  /**
   * The cluster's name (tag `managed-postgres:cluster` of its slot ENIs, its secret
   * `managed-postgres/<name>`, its CA parameter `/managed-postgres/<name>/ca-certificate`, its
   * PgBouncer groups `mp-<name>-pooler…`), for a stack of several clusters
   * (test/twin/apps/upgrade). @default the stack's only cluster
   */
  readonly cluster?: string;
  /** When the boot started (ms since the epoch), for {@link TwinFaultCluster.bootSeconds}. @default now */
  readonly startedAt?: number;
  readonly log?: (message: string) => void;
}

/** One slot of the cluster. */
interface Slot {
  readonly index: number;
  readonly address: string;
  readonly subnetId: string;
  readonly group: string;
  readonly eniId: string;
}

/** The distributed example on the twin, formed, with the application role, database and `writes` table. */
export class TwinFaultCluster implements FaultCluster {
  readonly members: { name: string; address: string }[] = [];
  /** The cluster CA (the SSM parameter's value) as a file on this machine. */
  readonly caFile: string;
  /** The replacement launched at each slot's last crash. */
  private readonly replacements = new Map<number, Promise<LaunchedInstance>>();
  private endpointPooler: LaunchedInstance;
  /** Seconds from apply to a formed cluster with the application schema. */
  readonly bootSeconds: number;

  private constructor(
    readonly twin: TwinCluster,
    private readonly slots: Slot[],
    readonly caPem: string,
    private readonly restapiPassword: string,
    bootSeconds: number,
    /** The cluster's name when the twin holds several ({@link TwinFaultClusterOfTwinOptions.cluster}). */
    readonly clusterName?: string,
  ) {
    this.caFile = join(twin.workDir, "published-ca.pem");
    writeFileSync(this.caFile, caPem);
    this.endpointPooler = this.poolers()[0]!;
    this.bootSeconds = bootSeconds;
  }

  /**
   * Synthesizes the distributed example, applies it to a new twin, waits for cloud-init on
   * every instance and for a formed cluster, creates the application role, database and
   * `writes` table. Destroys the twin when anything fails.
   * @throws Error naming the instance whose cloud-init failed, or the members seen
   */
  static async start(options: TwinFaultClusterOptions): Promise<TwinFaultCluster> {
    const t0 = Date.now();
    const log = options.log ?? (() => undefined);
    const { distributed } = synthesizeApp(options.app ?? TWIN_APPS.distributed);
    const twin = await TwinCluster.start({ stackDir: distributed, prefix: options.prefix, terminationDelayMs: options.terminationDelayMs ?? 15_000, log });
    try {
      return await TwinFaultCluster.ofTwin(twin, { startedAt: t0, log });
    } catch (e) {
      await twin.destroy();
      throw e;
    }
  }

  /**
   * The fault view of one distributed cluster of a running twin (its instances launched by
   * {@link TwinCluster.start}): waits for cloud-init on every instance of the twin and for the
   * cluster formed, creates the application role, database and `writes` table. The twin stays
   * the caller's (not destroyed on failure).
   * @throws Error naming the instance whose cloud-init failed, or the members seen
   */
  static async ofTwin(twin: TwinCluster, options: TwinFaultClusterOfTwinOptions = {}): Promise<TwinFaultCluster> {
    const t0 = options.startedAt ?? Date.now();
    const log = options.log ?? (() => undefined);
    const name = options.cluster;
    {
      try {
        await twin.waitForCloudInit(1_200_000);
      } catch (e) {
        for (const i of twin.instances.values()) {
          const r = await i.machine.exec(["tail", "-n", "40", "/var/log/cloud-init-output.log"], { timeoutMs: 30_000 }).catch(() => undefined);
          log(`--- ${i.id} (${i.group})\n${r?.stdout ?? ""}`);
        }
        throw e;
      }
      const slots = twin.world.networkInterfaces
        .filter((e) => e.tags[TAG_SLOT_RESOURCE] === "network-interface" && (name === undefined || e.tags[TAG_CLUSTER] === name))
        .map((e) => ({ index: Number(e.tags[TAG_SLOT]), address: e.privateIp, subnetId: e.subnetId, eniId: e.id, group: twin.instances.get(e.attachment?.instanceId ?? "")?.group ?? "" }))
        .sort((a, b) => a.index - b.index);
      if (slots.length !== 3 || slots.some((s, i) => s.index !== i || !s.group)) throw new Error(`expected slots 0..2 each held by an instance: ${JSON.stringify(slots)}`);
      const caParam = twin.world.parameters.find((p) => (name === undefined ? p.name.endsWith("/ca-certificate") : p.name === `/managed-postgres/${name}/ca-certificate`));
      const caPem = caParam ? (twin.aws!.ssm.read(caParam.name)?.value ?? "") : "";
      if (!caPem.includes("BEGIN CERTIFICATE")) throw new Error(`the nodes did not publish the CA in ${caParam?.name ?? "an SSM parameter"}`);
      const secret = twin.world.secrets.find((s) => (name === undefined ? !s.name.endsWith("/pooler") : s.name === `managed-postgres/${name}`))!;
      const restapiPassword = (JSON.parse(twin.aws!.secrets.currentString(secret.arn) ?? "{}") as { restapi_password?: string }).restapi_password ?? "";
      if (!restapiPassword) throw new Error(`the cluster secret ${secret.name} has no restapi_password`);
      const cluster = new TwinFaultCluster(twin, slots, caPem, restapiPassword, 0, name);
      const ms = await waitFor(
        "three members of the slot addresses",
        async () => {
          const view = await majorityClusterView([0, 1, 2], (i) => cluster.patroniRequest(i, "GET", "/cluster"));
          return slots.every((s) => view.some((m) => m.host === s.address)) ? view : undefined;
        },
        300_000,
        2000,
      );
      for (const s of slots) cluster.members.push({ name: ms.find((m) => m.host === s.address)!.name, address: s.address });
      await cluster.waitFormed(300_000);
      await cluster.createAppSchema();
      await waitFor("the read-write endpoint", async () => ((await cluster.endpointQuery("rw", "SELECT 1")).code === 0 ? true : undefined), 120_000, 1000);
      (cluster as { bootSeconds: number }).bootSeconds = (Date.now() - t0) / 1000;
      log(`${name ?? "cluster"} formed with the application schema in ${cluster.bootSeconds.toFixed(0)} s (synth + apply + boot)`);
      return cluster;
    }
  }

  /** The PgBouncer tier's instances. */
  poolers(): LaunchedInstance[] {
    return [...this.twin.instances.values()].filter((i) => (this.clusterName === undefined ? /pooler/.test(i.group) : i.group === `managed-postgres-${this.clusterName}-pooler`));
  }

  /** The pooler instance the endpoints use now. */
  get endpointInstance(): LaunchedInstance {
    return this.endpointPooler;
  }

  /** The load balancer's DNS name (the name the pooler certificate is issued for). */
  get endpointName(): string {
    return String(this.twin.state.ofType("aws_lb")[0]?.attributes.dns_name ?? "");
  }

  /** The running instance holding slot `index` (by its slot ENI's attachment). @throws Error when none does */
  instanceOf(index: number): LaunchedInstance {
    const eni = this.twin.world.networkInterfaces.find((e) => e.id === this.slots[index].eniId);
    const inst = this.twin.instances.get(eni?.attachment?.instanceId ?? "");
    if (!inst) throw new Error(`no running instance holds slot ${index}`);
    return inst;
  }

  indexOf(name: string): number {
    const i = this.members.findIndex((m) => m.name === name);
    if (i < 0) throw new Error(`unknown member ${name}`);
    return i;
  }

  patroniRequest(index: number, method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<{ status: number; body: string }> {
    return patroniHttps(this.slots[index].address, this.caPem, this.restapiPassword, method, path, body, timeoutMs);
  }


  /** Patroni's view, asked of every member not in `exclude` (the majority view wins). */
  patroniCluster(exclude: readonly number[] = []): Promise<PatroniMember[]> {
    return majorityClusterView(
      [0, 1, 2].filter((i) => !exclude.includes(i)),
      (i) => this.patroniRequest(i, "GET", "/cluster"),
    );
  }

  async leaderIndex(exclude: readonly number[] = []): Promise<number | undefined> {
    const leader = (await this.patroniCluster(exclude)).find((m) => m.role === "leader" && m.state === "running");
    return leader ? this.indexOf(leader.name) : undefined;
  }

  waitFormed(timeoutMs: number): Promise<PatroniMember[]> {
    return waitFormedOfThree(() => this.patroniCluster(), timeoutMs);
  }

  /**
   * Member name of the etcd leader, as the primary's etcdctl sees it (`endpoint status` of every
   * member, over the cluster's client TLS); undefined when no member reports itself leader.
   */
  async etcdLeaderName(): Promise<string | undefined> {
    const primary = (await this.leaderIndex()) ?? 0;
    const endpoints = this.members.map((m) => `https://${m.address}:${PORTS.etcdClient}`).join(",");
    const r = await this.instanceOf(primary).machine.exec(
      ["etcdctl", `--endpoints=${endpoints}`, `--cacert=${PATHS.caCert}`, `--cert=${PATHS.serverCert}`, `--key=${PATHS.serverKey}`, "--command-timeout=3s", "endpoint", "status"],
      { timeoutMs: 20_000 },
    );
    // "https://<address>:2379, <id>, <version>, <db size>, <is leader>, …" per member
    const line = r.stdout.split("\n").find((l) => l.split(", ")[4] === "true");
    const address = line?.split(", ")[0]!.replace(/^https:\/\//, "").replace(/:\d+$/, "");
    return this.members.find((m) => m.address === address)?.name;
  }

  /**
   * Waits for the steady state that `managed-postgres-etcd-leader.timer` (every 10 s) keeps: the
   * etcd leader on another member than the Patroni primary. A real instance failure strikes at a
   * random time, almost always in that state; in the ≤ 10 s after a leader change before the
   * timer moves the etcd leadership, a crash of the primary also costs an etcd election
   * (docs/live-harness.md).
   * @param timeoutMs bound of the wait @default 60000
   * @throws Error from {@link waitFor} when the state is not reached in time
   */
  async waitEtcdLeaderOffPrimary(timeoutMs = 60_000): Promise<{ primary: string; etcdLeader: string }> {
    return waitFor(
      "the etcd leader on another member than the Patroni primary",
      async () => {
        const p = await this.leaderIndex();
        if (p === undefined) return undefined;
        const etcdLeader = await this.etcdLeaderName();
        return etcdLeader && etcdLeader !== this.members[p]!.name ? { primary: this.members[p]!.name, etcdLeader } : undefined;
      },
      timeoutMs,
      2000,
    );
  }

  /** The dynamic configuration's timing (`GET /config`). */
  async patroniTiming(): Promise<PatroniTiming> {
    const leader = (await this.leaderIndex()) ?? 0;
    const c = JSON.parse((await this.patroniRequest(leader, "GET", "/config")).body) as PatroniTiming;
    return { ttl: c.ttl, loop_wait: c.loop_wait, retry_timeout: c.retry_timeout };
  }

  endpointConnInfo(pool: "rw" | "ro", extra = ""): string {
    const port = pool === "rw" ? PORTS.pgbouncerReadWrite : PORTS.pgbouncerReadOnly;
    return `host=${this.endpointPooler.address} port=${port} dbname=${APP_USER.name} user=${APP_USER.name} sslmode=verify-ca sslrootcert=${this.caFile} connect_timeout=5 ${extra}`.trim();
  }

  /** Connection string straight to slot `index`'s PostgreSQL (not through the pooler). */
  directConnInfo(index: number, extra = ""): string {
    return `host=${this.slots[index].address} port=${PORTS.postgres} dbname=${APP_USER.name} user=${APP_USER.name} sslmode=verify-ca sslrootcert=${this.caFile} connect_timeout=5 ${extra}`.trim();
  }

  endpointQuery(pool: "rw" | "ro", sql: string, timeoutMs = 20_000, extraConnInfo = ""): Promise<RunResult> {
    return run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", this.endpointConnInfo(pool, extraConnInfo), "-c", sql], {
      timeoutMs,
      env: { PGPASSWORD: APP_USER.password, PGAPPNAME: "twin-faults" },
    });
  }

  async nodeQuery(index: number, sql: string, db = "postgres", timeoutMs = 30_000): Promise<RunResult> {
    const r = await this.instanceOf(index).machine.exec(["runuser", "-u", "postgres", "--", "psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-d", db, "-c", sql], {
      timeoutMs,
    });
    return { code: r.status, signal: null, stdout: r.stdout, stderr: r.stderr, timedOut: r.status === null };
  }

  async nodeQueryOk(index: number, sql: string, db = "postgres"): Promise<string> {
    const r = await this.nodeQuery(index, sql, db);
    if (r.code !== 0) throw new Error(`[${this.members[index]?.name ?? index}] ${sql}: ${r.stderr}`);
    return r.stdout.trim();
  }

  nodeCommand(index: number): string[] {
    return ["nsenter", "-t", String(this.instanceOf(index).machine.leaderPid()), "-a", "--"];
  }

  /** Kills the slot's instance; its group launches the replacement at once (not awaited here). */
  async crashNode(index: number): Promise<void> {
    const inst = this.instanceOf(index);
    await this.twin.crash(inst.id, { awaitRelease: false });
    const replacement = this.twin.launch(inst.group);
    replacement.catch(() => undefined);
    this.replacements.set(index, replacement);
  }

  /** Waits for the replacement launched at the crash: cloud-init done (the bootstrap took the slot) and the member streaming again ({@link REPLICA_UP}: `running` on Patroni 3.0, `streaming` later). */
  async recoverNode(index: number): Promise<void> {
    const pending = this.replacements.get(index);
    if (!pending) throw new Error(`slot ${index} was not crashed`);
    const inst = await pending;
    await inst.machine.waitForCloudInit(900_000);
    await waitFor(
      `${this.members[index].name} streaming on the replacement ${inst.id}`,
      async () => {
        const me = (await this.patroniCluster()).find((m) => m.name === this.members[index].name);
        return me && me.role !== "leader" && REPLICA_UP.includes(me.state) && this.instanceOf(index).id === inst.id ? true : undefined;
      },
      600_000,
      1000,
    );
  }

  partitionZone(index: number): Promise<void> {
    return this.twin.net.partition(this.slots[index].subnetId);
  }

  healZone(index: number): Promise<void> {
    return this.twin.net.heal(this.slots[index].subnetId);
  }

  endpointAvoiding(index: number): void {
    const outside = this.poolers().find((p) => p.subnetId !== this.slots[index].subnetId);
    if (!outside) throw new Error(`no PgBouncer instance outside the subnet of slot ${index}`);
    this.endpointPooler = outside;
  }

  /** The application role (password {@link APP_USER}), its database and the scenarios' `writes` table, on the primary. */
  private async createAppSchema(): Promise<void> {
    const leader = (await waitFor("a leader", () => this.leaderIndex(), 120_000, 1000))!;
    const esc = APP_USER.password.replace(/'/g, "''");
    await this.nodeQueryOk(leader, `DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='${APP_USER.name}') THEN CREATE ROLE ${APP_USER.name} LOGIN PASSWORD '${esc}'; END IF; END$$`);
    if ((await this.nodeQueryOk(leader, `SELECT count(*) FROM pg_database WHERE datname='${APP_USER.name}'`)) === "0") {
      await this.nodeQueryOk(leader, `CREATE DATABASE ${APP_USER.name} OWNER ${APP_USER.name}`);
    }
    await this.nodeQueryOk(
      leader,
      `CREATE TABLE IF NOT EXISTS writes (id bigint PRIMARY KEY, writer text NOT NULL DEFAULT '', at timestamptz NOT NULL DEFAULT clock_timestamp());
       ALTER TABLE writes OWNER TO ${APP_USER.name};`,
      APP_USER.name,
    );
  }

  /** Stops the twin (machines, API, network, files). Idempotent. */
  destroy(): Promise<void> {
    return this.twin.destroy();
  }
}
