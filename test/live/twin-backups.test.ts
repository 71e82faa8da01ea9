/**
 * Backups, encryption, point-in-time recovery, restore into a new cluster and the exporters the
 * alarms read, on the EC2 twin (issue 10; test/twin/cluster.ts): what `terraform apply` of the
 * synthesized standalone example creates, the node under systemd-nspawn with real systemd and
 * cloud-init, the instance role's credentials from IMDSv2, every S3 request SigV4-checked and
 * authorized against the synthesized policies (bucket policy, key policy through S3) and stored
 * with the SSE-KMS key the request named. No render function is called.
 *
 * 1. Backups: the stanza is in the bucket; the node's own backup unit (`systemctl start`, what
 *    its timer runs) takes a full backup; WAL is archived; the logical dump unit puts an
 *    encrypted dump of every database; every object pgBackRest and the dump job stored starts
 *    with OpenSSL's `Salted__` header (client-side AES-256) and every object of the bucket is
 *    SSE-KMS under the cluster's key; a marker written 2000 times into a table is in the data
 *    files but in no object.
 * 2. PITR: `pgbackrest restore --type=time` into a fresh data directory on the node, started as
 *    a separate instance: exactly the rows committed before the target.
 * 3. Exporters: connections/max_connections, replication lag, WAL archiving, the newest full
 *    backup's age (the node's backup status unit), and the PgBouncer exporter of the node's pool:
 *    on the Debian 13 image the unit runs the Go exporter 0.10 (the first twin runs found the
 *    unit restarting every 10 s on Debian 12's Python command), whose metric names the
 *    CloudWatch agent's scrape configuration renames (GO_EXPORTER_METRIC_RENAMES).
 * 4. Restore into a new cluster: the restore-standalone fixture (`restoreFrom` +
 *    `installPackagesAtBoot`) synthesized with the first cluster's bucket, stanza, secret, key
 *    and the target time, applied to a second twin whose account holds the first cluster's
 *    bucket (its objects as stored), secret (its value) and key (its policy): Patroni
 *    bootstraps it with the custom `pgbackrest_restore` method; the rows before the target,
 *    the source's system identifier, every AWS call allowed.
 *
 * Root, `sudo npm run setup:system`, terraform and the node root; fails (never skips) without them.
 */
import { RESTORE_FROM_ENV, synthesizeApp, TWIN_APPS } from "../twin/apps/synth";
import { bootOne, bootStandalone } from "../twin/boot";
import type { LaunchedInstance, TwinCluster } from "../twin/cluster";
import type { TwinBucket, TwinKmsKey, TwinSecret } from "../twin/aws";
import { requirePrerequisites } from "../support/prerequisites";
import { PGBOUNCER_EXPORTER_PORTS, PORTS } from "../../src/cluster-spec/ports";
import { GO_EXPORTER_METRIC_RENAMES } from "../../src/render/monitoring";
import { METRICS } from "../../src/monitoring";

jest.setTimeout(1_200_000);

const MARKER = `plaintext-marker-${process.pid}-7f3a9c`;
const ROWS = "SELECT phase || ':' || count(*) || ':' || min(id) || ':' || max(id) FROM orders GROUP BY phase ORDER BY phase";
const PG_BIN = "/usr/lib/postgresql/17/bin";

let source: TwinCluster | undefined;
let node: LaunchedInstance;
let stanza = "";
let dataDirectory = "";
const t0 = Date.now();
const times: Record<string, number> = {};
const jobLogs: Record<string, string> = {};
const facts = { target: "", systemIdentifier: "", backupStop: 0 };

async function sh(on: LaunchedInstance, cmd: string, timeoutMs = 120_000): Promise<string> {
  const r = await on.machine.exec(["bash", "-c", cmd], { timeoutMs });
  if (r.status !== 0) throw new Error(`${on.id}: \`${cmd}\` exited ${r.status}: ${r.stderr.slice(-2000)}${r.stdout.slice(-1000)}`);
  return r.stdout.trim();
}

/** psql as postgres over the node's socket, ON_ERROR_STOP. */
async function psql(on: LaunchedInstance, sql: string, db = "postgres", extra: string[] = []): Promise<string> {
  const r = await on.machine.exec(["runuser", "-u", "postgres", "--", "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", ...extra, "-d", db, "-c", sql], { timeoutMs: 120_000 });
  if (r.status !== 0) throw new Error(`${on.id}: ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

const nodePsql = (sql: string, db = "postgres") => psql(node, sql, db, ["-h", "/var/run/postgresql"]);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 1000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs a unit of the node as systemd runs it for its timer; its journal is kept for the report. */
async function startUnit(on: LaunchedInstance, unit: string): Promise<void> {
  const r = await on.machine.exec(["systemctl", "start", unit], { timeoutMs: 600_000 });
  jobLogs[unit] = (await on.machine.exec(["journalctl", "-u", unit, "-n", "60", "--no-pager", "-o", "cat"], { timeoutMs: 30_000 })).stdout;
  if (r.status !== 0) throw new Error(`systemctl start ${unit} exited ${r.status}: ${r.stderr}\n${jobLogs[unit]}`);
}

function bucketOf(twin: TwinCluster): TwinBucket {
  expect(twin.world.buckets).toHaveLength(1);
  return twin.world.buckets[0];
}

/** Objects of the bucket the stack's Terraform wrote (the bootstrap loader's objects), by key. */
function terraformObjects(twin: TwinCluster): Set<string> {
  return new Set((bucketOf(twin).objects ?? []).map((o) => o.key));
}

async function walArchived(twin: TwinCluster, on: LaunchedInstance): Promise<string> {
  const seg = await psql(on, "SELECT pg_walfile_name(pg_current_wal_lsn())", "postgres", ["-h", "/var/run/postgresql"]);
  await psql(on, "SELECT pg_switch_wal()", "postgres", ["-h", "/var/run/postgresql"]);
  const prefix = `${stanza}/archive/${stanza}/`;
  await waitFor(`WAL segment ${seg} in the bucket`, async () => (twin.aws!.s3.list(bucketOf(twin).name, prefix).some((o) => o.key.includes(`/${seg}-`)) ? true : undefined), 120_000);
  return seg;
}

function sample(exposition: string, name: string): number[] {
  const re = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "gm");
  return [...exposition.matchAll(re)].map((m) => Number(m[2]));
}

beforeAll(async () => {
  requirePrerequisites({ root: true, commands: ["terraform", "systemd-nspawn", "nft", "ip", "openssl", "debootstrap"] });
  ({ twin: source, instance: node } = await bootStandalone("twb"));
  times.sourceReady = (Date.now() - t0) / 1000;
  stanza = await sh(node, "sed -n 's/^\\[\\(.*\\)\\]$/\\1/p' /etc/pgbackrest/pgbackrest.conf | grep -vx global | head -n 1");
  dataDirectory = await nodePsql("SHOW data_directory");
}, 1_200_000);

afterAll(async () => {
  await source?.destroy();
  await restored?.destroy();
  console.log(`twin-backups: ${JSON.stringify({ ...times, total: (Date.now() - t0) / 1000 })}`);
}, 300_000);

describe("backups", () => {
  beforeAll(async () => {
    await nodePsql("CREATE DATABASE app");
    await nodePsql(`CREATE TABLE secrets_probe (v text); INSERT INTO secrets_probe SELECT '${MARKER}' || g FROM generate_series(1, 2000) g`, "app");
    await nodePsql("CREATE TABLE orders (id int PRIMARY KEY, phase text NOT NULL)", "app");
    await nodePsql("INSERT INTO orders SELECT g, 'before' FROM generate_series(1, 100) g", "app");
    await nodePsql("CHECKPOINT");
    const t = Date.now();
    await startUnit(node, "managed-postgres-backup.service");
    times.backupJob = (Date.now() - t) / 1000;
    // Replayed from the WAL after the backup, before the target.
    await nodePsql("INSERT INTO orders SELECT g, 'before' FROM generate_series(101, 150) g", "app");
    await new Promise((r) => setTimeout(r, 1500));
    facts.target = await nodePsql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    await new Promise((r) => setTimeout(r, 1500));
    await nodePsql("INSERT INTO orders SELECT g, 'after' FROM generate_series(151, 200) g", "app");
    facts.systemIdentifier = await nodePsql("SELECT system_identifier FROM pg_control_system()");
    await startUnit(node, "managed-postgres-logical-dump.service");
  }, 900_000);

  test("the node schedules both jobs with its timers", async () => {
    for (const timer of ["managed-postgres-backup.timer", "managed-postgres-logical-dump.timer"]) {
      expect(`${timer}: ${await sh(node, `systemctl is-enabled ${timer}; systemctl is-active ${timer}`)}`).toBe(`${timer}: enabled\nactive`);
    }
  });

  test("the stanza exists in the bucket", () => {
    const keys = source!.aws!.s3.list(bucketOf(source!).name).map((o) => o.key);
    expect(keys).toEqual(expect.arrayContaining([`${stanza}/archive/${stanza}/archive.info`, `${stanza}/backup/${stanza}/backup.info`]));
  });

  test("the scheduled backup job takes a full backup", async () => {
    const info = JSON.parse(await sh(node, `runuser -u postgres -- pgbackrest --stanza=${stanza} info --output=json`)) as { backup: { label: string; type: string; timestamp: { stop: number } }[]; status: { code: number } }[];
    const full = info[0].backup.filter((b) => b.type === "full");
    if (full.length !== 1) console.log(`backup job:\n${jobLogs["managed-postgres-backup.service"]}`);
    expect(full).toHaveLength(1);
    expect(info[0].status.code).toBe(0);
    facts.backupStop = full[0].timestamp.stop;
    expect(facts.backupStop * 1000).toBeLessThan(Date.parse(facts.target));
    // the backup's manifest and files (bundled or one object each) are in the bucket
    const label = full[0].label;
    const files = source!.aws!.s3.list(bucketOf(source!).name, `${stanza}/backup/${stanza}/${label}/`).map((o) => o.key.slice(`${stanza}/backup/${stanza}/${label}/`.length));
    expect(files).toContain("backup.manifest");
    expect(files.filter((f) => /^(bundle|pg_data)\//.test(f)).length).toBeGreaterThan(0);
  });

  test("WAL is archived to the bucket", async () => {
    await walArchived(source!, node);
    const info = JSON.parse(await sh(node, `runuser -u postgres -- pgbackrest --stanza=${stanza} info --output=json`)) as { archive: { max: string | null }[] }[];
    expect(info[0].archive[0].max).not.toBeNull();
  });

  test("the logical dump job puts an encrypted dump of every database in the bucket", async () => {
    const dbs = (await nodePsql("SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1")).split("\n");
    expect(dbs).toEqual(["app", "postgres"]);
    const dumps = source!.aws!.s3.list(bucketOf(source!).name, `${stanza}/logical/`).map((o) => o.key);
    expect({ dumps, job: jobLogs["managed-postgres-logical-dump.service"] }).toMatchObject({
      dumps: dbs.map((db) => expect.stringMatching(new RegExp(`^${stanza}/logical/${db}/\\d{8}T\\d{6}Z\\.dump\\.enc$`))),
    });
  });

  test("every object is SSE-KMS under the cluster's key, and every backup object is encrypted client-side (OpenSSL salted AES-256)", () => {
    const twin = source!;
    expect(twin.world.kmsKeys).toHaveLength(1);
    const key = twin.world.kmsKeys[0];
    const objects = twin.aws!.s3.list(bucketOf(twin).name);
    expect(objects.length).toBeGreaterThan(5);
    expect(objects.filter((o) => o.kmsKeyArn !== key.arn).map((o) => `${o.key}: ${o.kmsKeyArn ?? "SSE-S3"}`)).toEqual([]);
    // what the node wrote: pgBackRest's repository and the logical dumps (not the loader's objects Terraform uploaded)
    const written = objects.filter((o) => !terraformObjects(twin).has(o.key));
    expect(written.every((o) => o.key.startsWith(`${stanza}/`))).toBe(true);
    const plain = written.filter((o) => twin.aws!.s3.read(bucketOf(twin).name, o.key)!.subarray(0, 8).toString("latin1") !== "Salted__");
    expect(plain.map((o) => o.key)).toEqual([]);
  });

  test("no stored object contains the plaintext written to a table", async () => {
    // The marker is in the node's data files (a search would find an unencrypted copy)...
    await nodePsql("CHECKPOINT");
    expect(await sh(node, `grep -rlF '${MARKER}' '${dataDirectory}/base' | head -n 1`)).not.toBe("");
    // ...and in no object of the bucket.
    const twin = source!;
    const hits = twin.aws!.s3.list(bucketOf(twin).name).filter((o) => twin.aws!.s3.read(bucketOf(twin).name, o.key)!.includes(MARKER));
    expect(hits.map((o) => o.key)).toEqual([]);
  });
});

describe("point-in-time recovery", () => {
  test("a restore to a time returns exactly the rows committed before it", async () => {
    expect(await nodePsql(ROWS, "app")).toBe("after:50:151:200\nbefore:150:1:150");
    await walArchived(source!, node);
    const dir = "/var/lib/postgresql/pitr-restore";
    const sock = "/var/lib/postgresql/pitr-sock";
    await sh(node, `rm -rf ${dir} ${sock} && install -d -m 0700 -o postgres -g postgres ${dir} ${sock}`);
    const t = Date.now();
    // pgBackRest's time format (the library converts restoreFrom's ISO target the same way)
    const target = facts.target.replace("T", " ").replace(/Z$/, "+00");
    await sh(node, `runuser -u postgres -- pgbackrest --stanza=${stanza} --pg1-path=${dir} --type=time '--target=${target}' --target-action=promote restore`, 600_000);
    const opts = `-p 5499 -c listen_addresses='' -c unix_socket_directories=${sock} -c archive_mode=off -c logging_collector=off -c hot_standby=on -c shared_buffers=64MB`;
    try {
      await sh(node, `runuser -u postgres -- ${PG_BIN}/pg_ctl -D ${dir} -l ${dir}/restore.log -w -t 300 -o "${opts}" start || { tail -n 40 ${dir}/restore.log; exit 1; }`, 330_000);
      const q = (sql: string) => psql(node, sql, "app", ["-h", sock, "-p", "5499"]);
      await waitFor("the restored instance is promoted", async () => ((await q("SELECT pg_is_in_recovery()")) === "f" ? true : undefined), 300_000);
      times.pitr = (Date.now() - t) / 1000;
      expect(await q(ROWS)).toBe("before:150:1:150");
      expect(await q("SELECT system_identifier FROM pg_control_system()")).toBe(facts.systemIdentifier);
    } finally {
      await node.machine.exec(["runuser", "-u", "postgres", "--", `${PG_BIN}/pg_ctl`, "-D", dir, "-m", "immediate", "stop"], { timeoutMs: 60_000 });
      await node.machine.exec(["rm", "-rf", dir, sock], { timeoutMs: 60_000 });
    }
  });
});

describe("the metrics the alarms use", () => {
  let scrape = "";

  beforeAll(async () => {
    // the node's backup status unit (its timer's job) reads the repository for the backup age
    await startUnit(node, "managed-postgres-backup-status.service");
    scrape = await waitFor(
      "the postgres exporter's custom queries",
      async () => {
        const text = await sh(node, `curl -sf -m 5 http://127.0.0.1:${PORTS.postgresExporter}/metrics`);
        return new RegExp(`^${METRICS.backupLastFullAgeSeconds}`, "m").test(text) ? text : undefined;
      },
      120_000,
      2000,
    );
  }, 300_000);

  test("connections and max_connections (size S: 150)", () => {
    expect(sample(scrape, METRICS.connectionsUsed)[0]).toBeGreaterThanOrEqual(1);
    expect(sample(scrape, METRICS.connectionsMax)).toEqual([150]);
  });

  test("replication lag is exposed and 0 on the primary", () => {
    expect(sample(scrape, METRICS.replicationLagSeconds)).toEqual([0]);
  });

  test("WAL archiving is reported on the primary and not failing", () => {
    expect(sample(scrape, METRICS.walArchiveFailing)).toEqual([0]);
  });

  test("the newest full backup is less than an hour old", () => {
    const [age] = sample(scrape, METRICS.backupLastFullAgeSeconds);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(3600);
  });

  test("the node's PgBouncer exporter runs (the Go exporter of the Debian 13 image) and exposes every metric the agent renames for the alarms", async () => {
    // standalone: PgBouncer on the node, one pool (rw)
    const units = (await sh(node, "systemctl list-units --type=service --state=active --no-legend --plain 'pgbouncer-exporter-*' | awk '{print $1}'")).split("\n").filter(Boolean);
    expect(units).toEqual(["pgbouncer-exporter-rw.service"]);
    const text = await waitFor(
      "the PgBouncer exporter's pool metrics",
      async () => {
        const r = await node.machine.exec(["curl", "-sf", "-m", "5", `http://127.0.0.1:${PGBOUNCER_EXPORTER_PORTS.rw}/metrics`], { timeoutMs: 30_000 });
        return r.status === 0 && /^pgbouncer_up 1$/m.test(r.stdout) ? r.stdout : undefined;
      },
      60_000,
      2000,
    );
    for (const goName of Object.keys(GO_EXPORTER_METRIC_RENAMES)) expect(text).toMatch(new RegExp(`^${goName}\\{database="[^"]+",user="[^"]+"\\} \\d+$`, "m"));
  });
});

let restored: TwinCluster | undefined;
let restoredNode: LaunchedInstance;

describe("restore into a new cluster (restoreFrom)", () => {
  let restoreFrom: { backupBucket: string; stanza: string; target: string; secretArn: string; backupKmsKeyArn: string };

  beforeAll(async () => {
    // What the account keeps of the first cluster: its bucket as stored, its secret's value, its key.
    const twin = source!;
    const b = bucketOf(twin);
    const bucket: TwinBucket = {
      ...b,
      objects: twin.aws!.s3.list(b.name).map((o) => ({ key: o.key, body: twin.aws!.s3.read(b.name, o.key)!, contentType: o.contentType, ...(o.kmsKeyArn ? { kmsKeyArn: o.kmsKeyArn } : {}) })),
    };
    expect(twin.world.secrets).toHaveLength(1);
    const secret: TwinSecret = { ...twin.world.secrets[0], secretString: twin.aws!.secrets.currentString(twin.world.secrets[0].arn)! };
    expect(secret.secretString).toMatch(/backup_cipher_pass/);
    expect(twin.world.kmsKeys).toHaveLength(1);
    const key: TwinKmsKey = twin.world.kmsKeys[0];
    restoreFrom = { backupBucket: b.name, stanza, target: facts.target, secretArn: secret.arn, backupKmsKeyArn: key.arn };
    await twin.destroy();
    source = undefined;

    const t = Date.now();
    const stacks = synthesizeApp(TWIN_APPS["restore-standalone"], undefined, { [RESTORE_FROM_ENV]: JSON.stringify(restoreFrom) });
    ({ twin: restored, instance: restoredNode } = await bootOne(stacks["restore-standalone"], "twbr", { external: { buckets: [bucket], secrets: [secret], kmsKeys: [key] } }));
    times.restoredReady = (Date.now() - t) / 1000;
  }, 1_200_000);

  const rq = (sql: string, db = "postgres") => psql(restoredNode, sql, db, ["-h", "/var/run/postgresql"]);

  test("the new cluster's primary runs, bootstrapped by a pgBackRest restore of the source", async () => {
    const members = JSON.parse(await sh(restoredNode, "set -a; . /etc/patroni/secrets.env; set +a; patronictl -c /etc/patroni/patroni.yml list -f json")) as { Role: string; State: string }[];
    expect(members.map((m) => `${m.Role}:${m.State}`)).toEqual(["Leader:running"]);
    // the source's database system (initdb would have made a new one), promoted onto a new timeline
    expect(await rq("SELECT system_identifier FROM pg_control_system()")).toBe(facts.systemIdentifier);
    expect(Number(await rq("SELECT timeline_id FROM pg_control_checkpoint()"))).toBeGreaterThan(1);
    // Patroni's custom bootstrap ran pgBackRest with the source config, from the source's bucket, to the target
    const journal = await sh(restoredNode, "journalctl -u patroni --no-pager -o cat");
    const begin = journal.split("\n").find((l) => /INFO: restore command begin /.test(l)) ?? journal.slice(0, 3000);
    expect(begin).toContain("--config=/etc/pgbackrest/restore-source.conf");
    expect(begin).toContain(`--stanza=${stanza} `);
    expect(begin).toContain(`--repo1-s3-bucket=${restoreFrom.backupBucket} `);
    expect(begin).toContain("--type=time");
    expect(journal).toMatch(/INFO: restore command end: completed successfully/);
    // the drop-in wrote the source config (with the source's cipher pass) before Patroni started
    const conf = await sh(restoredNode, "stat -c %a /etc/pgbackrest/restore-source.conf; head -n 2 /etc/pgbackrest/restore-source.conf");
    expect(conf.split("\n")).toEqual(["640", "[global]", expect.stringMatching(/^repo1-cipher-pass=.+/)]);
  });

  test("it holds exactly the rows committed before the target", async () => {
    expect(await rq(ROWS, "app")).toBe("before:150:1:150");
  });

  test("the node read the source's bucket, secret and key with its own role, and no AWS call was denied", () => {
    const aws = restored!.aws!;
    expect(restored!.world.instanceProfiles).toHaveLength(1);
    const roleName = restored!.world.instanceProfiles[0].roleArn.split("/").pop()!;
    const byNode = (d: { principal: string }) => d.principal.includes(`:assumed-role/${roleName}/`);
    const denied = aws.decisions.filter((d) => d.result !== "Allowed").map((d) => `${d.action} on ${d.resource}: ${d.message ?? d.result}`);
    expect(denied).toEqual([]);
    const read = aws.decisions.filter((d) => byNode(d) && d.result === "Allowed" && d.action === "s3:GetObject" && d.resource.startsWith(`arn:aws:s3:::${restoreFrom.backupBucket}/${stanza}/`));
    expect(read.length).toBeGreaterThan(10);
    expect(aws.decisions.some((d) => byNode(d) && d.result === "Allowed" && d.action === "secretsmanager:GetSecretValue" && d.resource === restoreFrom.secretArn)).toBe(true);
    expect(aws.decisions.some((d) => byNode(d) && d.result === "Allowed" && d.action === "kms:Decrypt" && d.resource === restoreFrom.backupKmsKeyArn)).toBe(true);
  });
});
