/**
 * Issue 15's blue/green major upgrade on the EC2 twin, as one flow shared by
 * test/live/twin-upgrade.test.ts (a modest database) and bench/upgrade.test.ts
 * (`npm run bench:upgrade`, at least 1 GiB): the upgrade fixture app (test/twin/apps/upgrade:
 * blue `orders`, distributed, PostgreSQL 15 on the Debian 12 root, with `upgradeTo`; green
 * `orders-v17`, standalone, PostgreSQL 17 on the Debian 13 root, with `upgradeFrom`) in ONE
 * stack on one twin.
 *
 * Steps (docs/UPGRADING.md, "Blue/green through logical replication"):
 * 1. boot both clusters; blue formed with the application role, database `app` and its
 *    `writes` table (TwinFaultCluster.ofTwin), then the database `shop` (tables `items`,
 *    bigserial key, about 1 KiB a row, and `events`, an identity column) created in one psql
 *    session and loaded to `loadMiB` MiB on blue's primary;
 * 2. a writer through blue's read-write endpoint (one INSERT a statement into `app.writes`,
 *    every acknowledgement recorded) and an updater (an UPDATE of `shop.items` and an INSERT into
 *    `shop.events` a statement, through the same endpoint), both for the whole run;
 * 3. green's timer (every 60 s on green's primary) follows blue: once every database of blue has
 *    its `mp_upgrade_*` slot on blue's primary and green its subscription, one failover on blue
 *    ({@link failBluePrimary}): blue's primary crashed (its instance killed, SIGKILL of every
 *    process), the synchronous standby promoted by Patroni, the crashed slot's replacement
 *    streaming again (the catch-up probed meanwhile); catch-up = the slots' creation → every
 *    table of every subscription ready (`pg_subscription_rel` 'r') and every slot within
 *    {@link CAUGHT_UP_BYTES} of blue's WAL position, on blue's new primary;
 * 4. the cutover: the app synthesized again with `upgradeFrom.cutover: true` and re-applied
 *    (green's launch template +1; `applyImmediately`: green's maintenance timer replaces the
 *    node, the replacement runs the new script); the writer stays on blue's read-write endpoint
 *    all along: blue's PgBouncers (blue's `upgradeTo.readWriteEndpoint` names green's endpoint)
 *    pause before blue becomes read-only and follow green after the cutover
 *    (src/render/upgrade-redirect.ts); the write gap = the writer's longest wait between two
 *    acknowledgements from 10 s before blue became read-only (the done mark's times) to the end,
 *    with 20 writes acknowledged after the done mark; every error the writer saw after the
 *    re-apply is reported;
 * 5. checks: green's done mark, every acknowledged write on green (0 lost), none of those
 *    acknowledged after the cutover on blue (read-only), per table count and
 *    an order-independent checksum (sum of `hashtextextended` of each row's text) equal on blue
 *    and green (`writes`: blue's writer's rows), every sequence on green at least blue's value.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PORTS } from "../../../src/cluster-spec";
import { TAG_CLUSTER, TAG_SLOT_RESOURCE } from "../../../src/cluster-spec/types";
import { synthesizeApp, synthesizeAppAsync, UPGRADE_APP, UPGRADE_CUTOVER_ENV } from "../../twin/apps/synth";
import { TwinCluster, type LaunchedInstance } from "../../twin/cluster";
import { TwinFaultCluster } from "../../twin/live";
import { APP_USER } from "./constants";
import { run, sleep, waitFor } from "./exec";
import { ContinuousWriter, lostWrites, type WriterResult } from "./writer";

/** Blue's and green's cluster names in the fixture app. */
export const BLUE = "orders";
export const GREEN = "orders-v17";
/** A slot within this many bytes of blue's WAL position counts as caught up (one WAL segment is 16 MiB; the writer adds a few KiB a second). */
export const CAUGHT_UP_BYTES = 1024 * 1024;
/** The load database and its tables (`writes` lives in the application database). */
const LOAD_DB = "shop";
const LOAD_TABLES = ["items", "events"] as const;

/** Options of {@link runUpgradeFlow}. */
export interface UpgradeFlowOptions {
  /** Twin prefix (2–5 lowercase characters). */
  readonly prefix: string;
  /** Size of the `shop` database to load on blue, MiB (rows of about 1 KiB). */
  readonly loadMiB: number;
  readonly log: (message: string) => void;
  /** Bounds, ms: the catch-up (from the slots' creation, the failover included), and the cutover after the re-apply. */
  readonly catchUpTimeoutMs: number;
  readonly cutoverTimeoutMs: number;
}

/** One table compared on blue and green after the cutover. */
export interface TableComparison {
  readonly table: string;
  readonly blue: string;
  readonly green: string;
}

/** What {@link runUpgradeFlow} measured. */
export interface UpgradeFlowResult {
  readonly bootSeconds: number;
  readonly images: { readonly blue: string; readonly green: string };
  readonly loadSeconds: number;
  readonly blueDatabaseBytes: number;
  readonly catchupSeconds: number;
  readonly failover: BlueFailover;
  /** The re-apply → blue read-only (the done mark's time; green's node is replaced and its timer runs the script). */
  readonly reapplyToReadOnlySeconds: number;
  /** The writer's longest wait between two acknowledgements around the cutover, through blue's read-write endpoint. */
  readonly cutoverWriteGapSeconds: number;
  /** What the writer saw on stderr after the re-apply (a paused PgBouncer holds queries: none expected). */
  readonly cutoverErrors: { readonly at: number; readonly message: string }[];
  /** Writes acknowledged through blue's endpoint after the done mark (they went to green), and how many of them blue has (0: read-only). */
  readonly writesAfterCutover: number;
  readonly writesAfterCutoverOnBlue: number;
  /** The one writer, through blue's read-write endpoint for the whole run. */
  readonly blueWriter: WriterResult;
  readonly lostWrites: number[];
  readonly tables: TableComparison[];
  readonly rowsMismatched: number;
  readonly sequences: { readonly name: string; readonly blue: string; readonly green: string }[];
  readonly doneMark: string;
  /** Blue read-only → the done mark, from the mark's own times (green's clock): when a client that waits for the mark (sequences copied) may write to green. */
  readonly readOnlyToDoneSeconds: number;
  readonly updates: number;
  readonly greenLog: string;
}

const iso = () => new Date().toISOString();

/** Green's standalone node: its slot ENI's instance, address and CA, and queries on it. */
class Green {
  readonly caFile: string;
  constructor(
    private readonly twin: TwinCluster,
    readonly address: string,
    private readonly eniId: string,
    caPem: string,
  ) {
    this.caFile = join(twin.workDir, "green-ca.pem");
    writeFileSync(this.caFile, caPem);
  }

  static of(twin: TwinCluster): Green {
    const eni = twin.world.networkInterfaces.find((e) => e.tags[TAG_CLUSTER] === GREEN && e.tags[TAG_SLOT_RESOURCE] === "network-interface");
    if (!eni) throw new Error(`no slot ENI of ${GREEN}`);
    const param = twin.world.parameters.find((p) => p.name === `/managed-postgres/${GREEN}/ca-certificate`);
    const caPem = param ? (twin.aws!.ssm.read(param.name)?.value ?? "") : "";
    if (!caPem.includes("BEGIN CERTIFICATE")) throw new Error(`${GREEN} did not publish its CA in ${param?.name ?? "an SSM parameter"}`);
    return new Green(twin, eni.privateIp, eni.id, caPem);
  }

  /** The instance holding green's slot now (the cutover's roll replaces it). */
  instance(): LaunchedInstance {
    const eni = this.twin.world.networkInterfaces.find((e) => e.id === this.eniId);
    const inst = this.twin.instances.get(eni?.attachment?.instanceId ?? "");
    if (!inst) throw new Error(`no running instance holds ${GREEN}'s slot`);
    return inst;
  }

  async sql(sql: string, db = "postgres", timeoutMs = 60_000): Promise<string> {
    const r = await this.instance().machine.exec(["runuser", "-u", "postgres", "--", "psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-d", db, "-c", sql], { timeoutMs });
    if (r.status !== 0) throw new Error(`[${GREEN}] ${sql}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** The read-write endpoint of a standalone cluster: the node's PgBouncer. */
  connInfo(db: string = APP_USER.name): string {
    return `host=${this.address} port=${PORTS.pgbouncerReadWrite} dbname=${db} user=${APP_USER.name} sslmode=verify-ca sslrootcert=${this.caFile} connect_timeout=5`;
  }

  /** The upgrade service's journal on green's current instance. */
  async journal(): Promise<string> {
    const r = await this.instance().machine.exec(["journalctl", "--no-pager", "-o", "short-iso", "-u", "managed-postgres-upgrade"], { timeoutMs: 30_000 }).catch(() => undefined);
    return r?.stdout ?? "";
  }
}

/** Blue's current primary (slot index), asked of Patroni. */
async function bluePrimary(blue: TwinFaultCluster): Promise<number> {
  return (await waitFor("blue's primary", () => blue.leaderIndex(), 120_000, 1000))!;
}

async function blueSql(blue: TwinFaultCluster, sql: string, db = "postgres", timeoutMs = 60_000): Promise<string> {
  const p = await bluePrimary(blue);
  const r = await blue.nodeQuery(p, sql, db, timeoutMs);
  if (r.code !== 0) throw new Error(`[${BLUE} ${blue.members[p]!.name}] ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Count and order-independent checksum of a table, one line `count|checksum`: the sum of
 * `hashtextextended` (a stable hash, the same in PostgreSQL 15 and 17) of each row's text;
 * `writes` compared on blue's writer's rows, `at` as Unix time (no TimeZone dependence).
 */
function checksumSql(table: string, writesUpTo = Number.MAX_SAFE_INTEGER): string {
  if (table === "writes") {
    return `SELECT count(*) || '|' || COALESCE(sum(hashtextextended(concat_ws('|', id, writer, extract(epoch FROM at)), 0)), 0) FROM writes WHERE writer = 'blue' AND id <= ${writesUpTo}`;
  }
  return `SELECT count(*) || '|' || COALESCE(sum(hashtextextended(t::text, 0)), 0) FROM ${table} t`;
}

/** The load's schema: database `shop` and its tables, in one psql session (green copies a database's schema once: its tables must exist when it first sees the database). */
async function createLoadSchema(blue: TwinFaultCluster): Promise<void> {
  const p = await bluePrimary(blue);
  const r = await blue.instanceOf(p).machine.exec(
    [
      "runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-d", "postgres",
      "-c", `CREATE DATABASE ${LOAD_DB} OWNER ${APP_USER.name}`,
      "-c", `\\c ${LOAD_DB}`,
      "-c", `CREATE TABLE items (id bigserial PRIMARY KEY, sku integer NOT NULL, payload text NOT NULL);
             CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item bigint NOT NULL, amount numeric(12,2) NOT NULL, note text NOT NULL);
             ALTER TABLE items OWNER TO ${APP_USER.name}; ALTER TABLE events OWNER TO ${APP_USER.name};`,
    ],
    { timeoutMs: 60_000 },
  );
  if (r.status !== 0) throw new Error(`creating ${LOAD_DB} on blue: ${r.stderr}`);
}

/** Loads `mib` MiB into shop.items (rows of about 1 KiB: 30 md5 strings, under the TOAST threshold, so not compressed) and a quarter as many events, in batches of 64 MiB. */
async function loadData(blue: TwinFaultCluster, mib: number, log: (m: string) => void): Promise<void> {
  const rows = mib * 1000;
  const batch = 64_000;
  for (let from = 1; from <= rows; from += batch) {
    const to = Math.min(rows, from + batch - 1);
    await blueSql(
      blue,
      `INSERT INTO items (sku, payload) SELECT g, repeat(md5(g::text), 30) FROM generate_series(${from}, ${to}) g;
       INSERT INTO events (item, amount, note) SELECT g, (g % 10000) / 100.0, 'load' FROM generate_series(${from}, ${to}, 4) g`,
      LOAD_DB,
      600_000,
    );
    log(`loaded rows ${from}..${to} of ${rows}`);
  }
}

/**
 * An updater through blue's rw endpoint until stopped: an UPDATE of a random item and an INSERT
 * into events per statement. A refused statement (blue's failover, blue read-only after the
 * cutover) changes nothing and the next one follows. It used to stop at the first read-only
 * refusal, which blue's failover can give too (a statement routed to the new leader while its
 * PostgreSQL still finishes the promotion: 2.5 s after Patroni reported it leader in the run of
 * 2026-12-03 11:42 UTC), and that run's updater stopped at the crash (320 updates, all before).
 */
function startUpdater(blue: TwinFaultCluster, maxItem: number): { stop: () => Promise<number> } {
  let stopping = false;
  let done = 0;
  const loop = (async () => {
    const conn = blue.endpointConnInfo("rw").replace(`dbname=${APP_USER.name}`, `dbname=${LOAD_DB}`);
    while (!stopping) {
      const r = await run(
        ["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", conn, "-c",
          // the id drawn once (random() in the WHERE clause would be drawn per row: a scan of the table)
          `WITH pick AS (SELECT 1 + floor(random() * ${maxItem})::bigint AS id),
                u AS (UPDATE items SET sku = sku + 1 FROM pick WHERE items.id = pick.id RETURNING items.id)
           INSERT INTO events (item, amount, note) SELECT id, 1.5, 'live' FROM u`],
        { timeoutMs: 15_000, env: { PGPASSWORD: APP_USER.password, PGAPPNAME: "updater" } },
      );
      if (r.code === 0) done++;
      await sleep(200);
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return done;
    },
  };
}

/** Blue's databases (what green follows), each with its slot on blue's primary. */
async function upgradeSlots(blue: TwinFaultCluster): Promise<{ slots: number; databases: number; maxLag: number }> {
  const dbs = Number(await blueSql(blue, "SELECT count(*) FROM pg_database WHERE NOT datistemplate AND datallowconn"));
  const r = await blueSql(blue, "SELECT count(*) || '|' || COALESCE(max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), 0)::bigint FROM pg_replication_slots WHERE slot_name LIKE 'mp\\_upgrade\\_%'");
  const [slots, lag] = r.split("|").map(Number);
  return { slots: slots!, databases: dbs, maxLag: lag! };
}

/** What the failover on blue during the catch-up did ({@link failBluePrimary}). */
export interface BlueFailover {
  /** Patroni member name of the primary crashed, and of the member that took over (the synchronous standby at the crash). */
  readonly crashed: string;
  readonly newLeader: string;
  /** The synchronous standby at the crash. */
  readonly syncStandby: string;
  /** Crash (SIGKILL of the primary's whole instance) → another member the running leader, seconds. */
  readonly seconds: number;
  /** Crash → the new leader's PostgreSQL out of recovery (`pg_is_in_recovery()` false), seconds. */
  readonly promotedSeconds: number;
  /** Crash → the cluster formed again (the crashed slot's replacement streaming), seconds. */
  readonly formedSeconds: number;
  /** Blue's `mp_upgrade_*` slots on the synchronous standby just before the crash (names). */
  readonly slotsOnStandbyBeforeCrash: string[];
  /**
   * Blue's `mp_upgrade_*` slots on the new primary right after it led: `copied` when the slot's
   * confirmed_flush_lsn is at or before the new timeline's switch point (the last line of the
   * timeline's history file), i.e. the slot came from before the failover (Patroni copied it to
   * the standby); a slot Patroni created anew on the new primary starts after that point (the
   * changes in between never reach green).
   */
  readonly slotsOnNewPrimary: { readonly slot: string; readonly confirmedFlush: string; readonly copied: boolean }[];
  /** Blue's databases (one slot each). */
  readonly databases: number;
}

/** `name|confirmed_flush_lsn` of blue's `mp_upgrade_*` slots on node `index`, one a line. */
const SLOTS_SQL = "SELECT slot_name || '|' || COALESCE(confirmed_flush_lsn::text, '') FROM pg_replication_slots WHERE slot_name LIKE 'mp\\_upgrade\\_%' ORDER BY 1";

/**
 * The switch point of the timeline node `index` (a primary) writes: the LSN on the last line of
 * its history file (`pg_wal/<timeline>.history`, PostgreSQL documentation "Timelines"); the
 * timeline is the first 8 hex digits of the WAL file name of the current position.
 */
const SWITCH_POINT_SQL = `SELECT (regexp_match(pg_read_file('pg_wal/' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) || '.history'), '([0-9A-F]+/[0-9A-F]+)[^\\n]*\\n*$'))[1]`;

/**
 * The unplanned loss of blue's primary during the catch-up: its instance killed
 * ({@link TwinFaultCluster.crashNode}: SIGKILL of every process at once; the slot's group
 * launches the replacement at once), a new leader awaited (Patroni promotes the synchronous
 * standby once the leader key expires: ttl after the last renewal) and its promotion done,
 * blue's slots read on it; then the crashed slot's replacement awaited streaming and the cluster
 * formed again, and at the same time `meanwhile` (the catch-up: green follows blue's new primary
 * while the replacement boots and rejoins, as it would on AWS), whose result it returns too.
 * @throws Error from {@link waitFor} when no member leads within 180 s, its promotion does not end
 *   within 120 s, or the cluster does not form within 600 s; `meanwhile`'s error
 */
async function failBluePrimary<T>(blue: TwinFaultCluster, log: (m: string) => void, meanwhile: () => Promise<T>): Promise<{ failover: BlueFailover; meanwhile: T }> {
  const members = await blue.waitFormed(300_000);
  const crashed = members.find((m) => m.role === "leader")!.name;
  const syncStandby = members.find((m) => m.role === "sync_standby")!.name;
  const victim = blue.indexOf(crashed);
  const databases = Number(await blueSql(blue, "SELECT count(*) FROM pg_database WHERE NOT datistemplate AND datallowconn"));
  const slotsOnStandbyBeforeCrash = (await blue.nodeQueryOk(blue.indexOf(syncStandby), SLOTS_SQL)).split("\n").filter(Boolean).map((l) => l.split("|")[0]!);
  log(`crashing blue's primary ${crashed}; the synchronous standby ${syncStandby} holds ${slotsOnStandbyBeforeCrash.length} of ${databases} mp_upgrade slot(s): ${slotsOnStandbyBeforeCrash.join(", ")}`);
  const tc = Date.now();
  await blue.crashNode(victim);
  const leader = await waitFor(
    "a new leader of blue",
    async () => {
      const l = await blue.leaderIndex([victim]).catch(() => undefined);
      return l !== undefined && l !== victim ? l : undefined;
    },
    180_000,
    250,
  );
  const seconds = (Date.now() - tc) / 1000;
  const newLeader = blue.members[leader]!.name;
  // Patroni reports the new leader `running` once it holds the leader key, while its PostgreSQL
  // still finishes the promotion (in recovery: no WAL position of its own yet)
  await waitFor(`${newLeader} out of recovery`, async () => ((await blue.nodeQuery(leader, "SELECT pg_is_in_recovery()")).stdout.trim() === "f" ? true : undefined), 120_000, 200);
  const promotedSeconds = (Date.now() - tc) / 1000;
  const switchPoint = await blue.nodeQueryOk(leader, SWITCH_POINT_SQL);
  if (!/^[0-9A-F]+\/[0-9A-F]+$/.test(switchPoint)) throw new Error(`no timeline switch point in ${newLeader}'s history file: ${JSON.stringify(switchPoint)}`);
  const slotLines = (await blue.nodeQueryOk(leader, SLOTS_SQL)).split("\n").filter(Boolean);
  const slotsOnNewPrimary: BlueFailover["slotsOnNewPrimary"] = [];
  for (const line of slotLines) {
    const [slot, confirmedFlush] = line.split("|") as [string, string];
    const copied = confirmedFlush !== "" && (await blue.nodeQueryOk(leader, `SELECT '${confirmedFlush}'::pg_lsn <= '${switchPoint}'::pg_lsn`)) === "t";
    slotsOnNewPrimary.push({ slot, confirmedFlush, copied });
  }
  log(`blue failed over ${crashed} → ${newLeader} in ${seconds.toFixed(1)} s, out of recovery after ${promotedSeconds.toFixed(1)} s (timeline switch at ${switchPoint}); slots on ${newLeader}: ${JSON.stringify(slotsOnNewPrimary)}`);
  const [formedSeconds, result] = await Promise.all([
    (async () => {
      await blue.recoverNode(victim);
      await blue.waitFormed(600_000);
      const t = (Date.now() - tc) / 1000;
      log(`blue formed again ${t.toFixed(0)} s after the crash (${crashed}'s replacement streaming)`);
      return t;
    })(),
    meanwhile(),
  ]);
  return { failover: { crashed, newLeader, syncStandby, seconds, promotedSeconds, formedSeconds, slotsOnStandbyBeforeCrash, slotsOnNewPrimary, databases }, meanwhile: result };
}

/** Tables of green's subscriptions not yet ready ('r'), over blue's databases that exist on green. */
async function greenNotReady(green: Green, dbs: readonly string[]): Promise<number> {
  let n = 0;
  for (const db of dbs) {
    const exists = await green.sql(`SELECT count(*) FROM pg_database WHERE datname = '${db}'`);
    if (exists === "0") return Infinity;
    const subs = Number(await green.sql("SELECT count(*) FROM pg_subscription WHERE subname LIKE 'mp\\_upgrade\\_%'", db));
    if (subs === 0) return Infinity;
    n += Number(await green.sql("SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'", db));
  }
  return n;
}

/**
 * Runs the whole flow on a new twin and destroys it at the end (also on failure).
 * @throws Error naming the step that did not complete, with green's upgrade journal
 */
export async function runUpgradeFlow(o: UpgradeFlowOptions): Promise<UpgradeFlowResult> {
  const log = (m: string) => o.log(`${iso()} ${m}`);
  const t0 = Date.now();
  const { upgrade } = synthesizeApp(UPGRADE_APP);
  const twin = await TwinCluster.start({ stackDir: upgrade, prefix: o.prefix, log: (m) => log(`twin: ${m}`) });
  let green: Green | undefined;
  let blueWriter: ContinuousWriter | undefined;
  let updater: { stop: () => Promise<number> } | undefined;
  try {
    const blue = await TwinFaultCluster.ofTwin(twin, { cluster: BLUE, startedAt: t0, log: (m) => log(`blue: ${m}`) });
    await createLoadSchema(blue);
    green = Green.of(twin);
    const bootSeconds = (Date.now() - t0) / 1000;
    log(`both clusters booted in ${bootSeconds.toFixed(0)} s; blue's schema in place`);
    const images = {
      blue: await blue.nodeQueryOk(0, "SELECT version()"),
      green: await green.sql("SELECT version()"),
    };

    // 1. load
    const tl = Date.now();
    await loadData(blue, o.loadMiB, log);
    const loadSeconds = (Date.now() - tl) / 1000;
    const blueDatabaseBytes = Number(await blueSql(blue, `SELECT pg_database_size('${LOAD_DB}')`));
    log(`loaded ${(blueDatabaseBytes / 2 ** 20).toFixed(0)} MiB into ${LOAD_DB} in ${loadSeconds.toFixed(0)} s`);

    // 2. the writer and the updater, through blue's read-write endpoint
    // a statement may wait through the cutover's pause: 30 s before the writer gives it up (5 s by default)
    blueWriter = new ContinuousWriter({ connInfo: blue.endpointConnInfo("rw"), tag: "blue", idBase: 0, statementTimeoutMs: 30_000, maxDurationMs: 3_600_000, maxStatements: 10_000_000 }).start();
    updater = startUpdater(blue, o.loadMiB * 1000);
    await waitFor("the writer's first acknowledgements", async () => (blueWriter!.ackCount >= 20 ? true : undefined), 60_000, 200);

    // 3. follow: the slots on blue and green's subscriptions, one failover on blue, the catch-up
    const slotsSeen = await waitFor(
      "green's slot of every database of blue",
      async () => {
        const s = await upgradeSlots(blue).catch(() => undefined);
        return s && s.slots > 0 && s.slots >= s.databases ? Date.now() : undefined;
      },
      600_000,
      2000,
    );
    log(`every database of blue has its slot (${((slotsSeen - t0) / 1000).toFixed(0)} s after the start)`);
    const dbs = (await blueSql(blue, "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1")).split("\n").filter(Boolean);
    // the crash while the subscriptions use the slots (green creates each once blue's standbys hold its slot)
    await waitFor("green's subscription of every database of blue", async () => ((await greenNotReady(green!, dbs).catch(() => Infinity)) < Infinity ? true : undefined), 300_000, 1000);
    // the catch-up from the new leader on, while the crashed slot's replacement rejoins
    const { failover, meanwhile: caughtUp } = await failBluePrimary(blue, log, () =>
      waitFor(
        "green caught up with blue (every table ready, every slot within 1 MiB, on blue's new primary)",
        async () => {
          const s = await upgradeSlots(blue).catch(() => undefined);
          const pending = await greenNotReady(green!, dbs).catch(() => Infinity);
          log(`catch-up: ${s ? `${s.slots}/${s.databases} slots, lag ${s.maxLag} bytes` : "blue not answering"}, ${pending} table(s) not ready`);
          return s && s.slots >= s.databases && s.maxLag <= CAUGHT_UP_BYTES && pending === 0 ? Date.now() : undefined;
        },
        o.catchUpTimeoutMs,
        5000,
      ),
    );
    const catchupSeconds = (caughtUp - slotsSeen) / 1000;
    log(`caught up ${catchupSeconds.toFixed(0)} s after the slots appeared`);

    // 4. the cutover: re-apply with cutover: true; the writer stays on blue's read-write endpoint,
    // whose PgBouncers (upgradeTo.readWriteEndpoint) pause and then follow green
    // the updater stops first: what it would write after the cutover would go to green only (the
    // tables compared below); the writer carries the load through the cutover
    const updates = await updater.stop();
    updater = undefined;
    const next = await synthesizeAppAsync(UPGRADE_APP, undefined, { [UPGRADE_CUTOVER_ENV]: "1" });
    const tr = Date.now();
    const changed = await twin.reapply(next.upgrade!);
    log(`re-applied with cutover: true (${changed.length} resources changed)`);
    const doneMark = await waitFor(
      "green's done mark",
      async () => {
        const c = await green!.sql("SELECT COALESCE(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = 'postgres'").catch(() => "");
        return c.startsWith(`managed-postgres upgrade: cutover done from ${BLUE}`) ? c : undefined;
      },
      o.cutoverTimeoutMs,
      1000,
    );
    const marks = /blue read-only at (\d+) ms, done at (\d+) ms/.exec(doneMark);
    if (!marks) throw new Error(`green's done mark has no times: ${doneMark}`);
    const [readOnlyAt, doneAt] = [Number(marks[1]), Number(marks[2])];
    await waitFor("20 writes acknowledged through blue's endpoint after the cutover", async () => (blueWriter!.acksAfter(doneAt) >= 20 ? true : undefined), 120_000, 200).catch((e: unknown) => {
      log(`the writer after the cutover: ${JSON.stringify(blueWriter!.firstError(/./, doneAt))}`);
      throw e;
    });
    const blueResult = await blueWriter.stop();
    blueWriter = undefined;
    // the writer's longest wait around the cutover: consecutive acknowledgements from 10 s before
    // blue became read-only (its PgBouncers paused just before) to the end
    const around = blueResult.acks.map((a) => a.at).filter((t) => t >= readOnlyAt - 10_000);
    const cutoverWriteGapSeconds = around.slice(1).reduce((m, t, i) => Math.max(m, t - around[i]!), 0) / 1000;
    const cutoverErrors = blueResult.errors.filter((e) => e.at >= tr);
    const writesAfterCutover = blueResult.acks.filter((a) => a.at > doneAt).length;
    log(
      `blue read-only at ${new Date(readOnlyAt).toISOString()}, done at ${new Date(doneAt).toISOString()}; the writer's longest wait ${cutoverWriteGapSeconds.toFixed(2)} s, ` +
        `${cutoverErrors.length} error(s) after the re-apply, ${writesAfterCutover} write(s) acknowledged through blue's endpoint after the cutover`,
    );
    // where the cutover's time went: green's journal from the last "cutover ... begins" (each step's duration)
    const journal = (
      await waitFor("green's journal with the cutover's end", async () => ((j) => (j.includes("managed-postgres-upgrade: cutover done") ? j : undefined))(await green!.journal()), 30_000, 1000).catch(
        (e: unknown) => `(${String(e)})`,
      )
    ).split("\n");
    const begins = journal.map((l) => l.includes("managed-postgres-upgrade: cutover from ") && l.endsWith(" begins")).lastIndexOf(true);
    log(`green's cutover steps:\n${(begins >= 0 ? journal.slice(begins) : []).filter((l) => /step [a-z-]+: done in|told to follow green|cutover done/.test(l)).join("\n")}`);

    // 5. checks
    const present = new Set((await green.sql("SELECT id FROM writes", APP_USER.name, 120_000)).split("\n").filter(Boolean).map(Number));
    const lost = lostWrites(blueResult.acks, present);
    // after the cutover blue is read-only: what the writer got acknowledged then went to green only
    const afterIds = blueResult.acks.filter((a) => a.at > doneAt).map((a) => a.id);
    const writesAfterCutoverOnBlue = afterIds.length === 0 ? 0 : Number(await blueSql(blue, `SELECT count(*) FROM writes WHERE id IN (${afterIds.join(",")})`, APP_USER.name));
    // `writes` up to blue's last row: the writer's rows after the cutover are on green only
    const blueMaxId = Number(await blueSql(blue, "SELECT COALESCE(max(id), 0) FROM writes", APP_USER.name));
    const tables: TableComparison[] = [];
    for (const [db, table] of [[APP_USER.name, "writes"], ...LOAD_TABLES.map((t) => [LOAD_DB, t])] as const) {
      tables.push({ table: `${db}.${table}`, blue: await blueSql(blue, checksumSql(table, blueMaxId), db, 300_000), green: await green.sql(checksumSql(table, blueMaxId), db, 300_000) });
    }
    const rowsMismatched = tables.reduce((n, t) => n + Math.abs(Number(t.blue.split("|")[0]) - Number(t.green.split("|")[0])) + (t.blue === t.green ? 0 : 1), 0);
    const seqSql = "SELECT schemaname || '.' || sequencename || '|' || COALESCE(last_value, 0) FROM pg_sequences ORDER BY 1";
    const blueSeq = new Map((await blueSql(blue, seqSql, LOAD_DB)).split("\n").filter(Boolean).map((l) => l.split("|") as [string, string]));
    const greenSeq = new Map((await green.sql(seqSql, LOAD_DB)).split("\n").filter(Boolean).map((l) => l.split("|") as [string, string]));
    const sequences = [...blueSeq].map(([name, b]) => ({ name, blue: b, green: greenSeq.get(name) ?? "missing" }));
    return {
      bootSeconds,
      images,
      loadSeconds,
      blueDatabaseBytes,
      catchupSeconds,
      failover,
      reapplyToReadOnlySeconds: (readOnlyAt - tr) / 1000,
      cutoverWriteGapSeconds,
      cutoverErrors,
      writesAfterCutover,
      writesAfterCutoverOnBlue,
      blueWriter: blueResult,
      lostWrites: lost,
      tables,
      rowsMismatched,
      sequences,
      doneMark,
      readOnlyToDoneSeconds: (doneAt - readOnlyAt) / 1000,
      updates,
      greenLog: await green.journal(),
    };
  } catch (e) {
    const journal = green ? await green.journal().catch(() => "") : "";
    log(`green's upgrade journal:\n${journal.split("\n").slice(-80).join("\n")}`);
    throw e;
  } finally {
    await blueWriter?.stop().catch(() => undefined);
    await updater?.stop().catch(() => undefined);
    await twin.destroy();
  }
}
