/**
 * Live restore through the `restoreFrom` files, on this machine: a PostgreSQL 15 source
 * archives WAL and takes a full backup with pgBackRest into an S3 bucket (s3rver over TLS,
 * client-side aes-256-cbc); then a new, empty data directory is restored the way a new
 * cluster's first primary is:
 *   1. the restore-source template (`renderRestoreSourceConfig`) and the pass script
 *      (`renderRestoreSourcePassScript`, with a stand-in `aws` that returns the source
 *      secret) write the complete source config;
 *   2. Patroni's bootstrap command (`pgbackrestRestoreCommand` with
 *      `patroniRestoreOptions`) restores to a point in time (`--type=time`), and the
 *      recovery promotes;
 * and the rows are checked: exactly those committed before the target.
 *
 * What this is not: H2b's 3-AZ harness (Patroni, etcd, the standalone → distributed
 * switch). Differences from AWS, each a stand-in: s3rver instead of S3 (path style, TLS not
 * verified, static keys instead of the instance role), `pg_ctl` instead of Patroni, the data
 * directory in a temporary directory (`--pg1-path` replaced). Needs root (runs PostgreSQL
 * as `postgres`), PostgreSQL 15, pgbackrest, jq, openssl.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { resolveClusterSpec } from "../../src/cluster-spec";
import { pgbackrestRestoreCommand } from "../../src/render/patroni";
import type { NodeContext } from "../../src/render/types";
import type { RestoreFrom } from "../../src/cluster-spec";
import { patroniRestoreOptions, renderRestoreSourceConfig, renderRestoreSourcePassScript } from "../../src/render/restore";

const run = promisify(execFile);
const BIN = "/usr/lib/postgresql/15/bin";
const S3_PORT = 45443;
const BUCKET = "src-backups";
const STANZA = "src";
const CIPHER = "live-restore-cipher-pass-0123456789";
const KEYS = { id: "S3RVER", secret: "S3RVER" };

const root = fs.mkdtempSync(path.join(os.tmpdir(), "mp-live-restore-"));
fs.chmodSync(root, 0o755);
const dir = (name: string) => path.join(root, name);
let s3: { close(): Promise<void> } | undefined;
const pgPids: string[] = [];

/** Runs a command as postgres. */
async function asPostgres(cmd: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run("runuser", ["-u", "postgres", "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...cmd], { maxBuffer: 16 << 20 });
  return stdout;
}

function psql(port: number, sql: string): Promise<string> {
  return asPostgres([`${BIN}/psql`, "-h", dir("sock"), "-p", String(port), "-d", "postgres", "-Atqc", sql]);
}

/** pgBackRest config of the source cluster (the writer): repo1 on s3rver, cipher. */
function sourceConfig(): string {
  return [
    "[global]",
    "repo1-type=s3",
    `repo1-path=/${STANZA}`,
    `repo1-s3-bucket=${BUCKET}`,
    `repo1-s3-endpoint=127.0.0.1:${S3_PORT}`,
    "repo1-s3-region=eu-west-1",
    "repo1-s3-uri-style=path",
    "repo1-storage-verify-tls=n",
    "repo1-s3-key-type=shared",
    `repo1-s3-key=${KEYS.id}`,
    `repo1-s3-key-secret=${KEYS.secret}`,
    "repo1-cipher-type=aes-256-cbc",
    `repo1-cipher-pass=${CIPHER}`,
    `log-path=${dir("log")}`,
    `lock-path=${dir("lock")}`,
    "start-fast=y",
    "",
    `[${STANZA}]`,
    `pg1-path=${dir("src")}`,
    `pg1-socket-path=${dir("sock")}`,
    "pg1-port=55432",
    "",
  ].join("\n");
}

async function waitForSql(port: number, sql: string, want: (out: string) => boolean, timeoutMs = 60_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < end) {
    try {
      last = (await psql(port, sql)).trim();
      if (want(last)) return last;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting on port ${port} for ${sql}: ${last}`);
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("test/live/restore.test.ts needs root (it runs PostgreSQL as postgres)");
  for (const bin of [`${BIN}/postgres`, "/usr/bin/pgbackrest", "/usr/bin/jq", "/usr/bin/openssl"]) {
    if (!fs.existsSync(bin)) throw new Error(`live restore prerequisites: ${bin} is missing`);
  }
  for (const d of ["src", "dst", "sock", "log", "lock", "s3", "bin"]) fs.mkdirSync(dir(d), { mode: 0o750 });
  await run("chown", ["-R", "postgres:postgres", dir("src"), dir("dst"), dir("sock"), dir("log"), dir("lock")]);
  fs.chmodSync(dir("src"), 0o700);
  fs.chmodSync(dir("dst"), 0o700);
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", dir("s3.key"), "-out", dir("s3.crt")]);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require("s3rver");
  const server = new S3rver({
    address: "127.0.0.1",
    port: S3_PORT,
    directory: dir("s3"),
    key: fs.readFileSync(dir("s3.key")),
    cert: fs.readFileSync(dir("s3.crt")),
    silent: true,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  await server.run();
  s3 = server;
});

afterAll(async () => {
  for (const d of ["dst", "src"]) {
    if (fs.existsSync(path.join(dir(d), "postmaster.pid"))) await asPostgres([`${BIN}/pg_ctl`, "-D", dir(d), "-m", "immediate", "stop"]).catch(() => undefined);
  }
  await s3?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test("a new data directory restored through the restoreFrom files holds exactly the rows committed before the target", async () => {
  // Source: initdb, archiving into the S3 repository, stanza, rows, full backup.
  fs.writeFileSync(dir("source.conf"), sourceConfig(), { mode: 0o644 });
  await asPostgres([`${BIN}/initdb`, "-D", dir("src"), "-A", "trust", "--no-sync"]);
  fs.appendFileSync(
    path.join(dir("src"), "postgresql.conf"),
    [
      "port = 55432",
      `unix_socket_directories = '${dir("sock")}'`,
      "listen_addresses = ''",
      "archive_mode = on",
      `archive_command = 'pgbackrest --config=${dir("source.conf")} --stanza=${STANZA} archive-push %p'`,
      "wal_level = replica",
      "",
    ].join("\n"),
  );
  await asPostgres([`${BIN}/pg_ctl`, "-D", dir("src"), "-l", dir("log/src.log"), "-w", "start"]);
  pgPids.push("src");
  await asPostgres(["pgbackrest", `--config=${dir("source.conf")}`, `--stanza=${STANZA}`, "stanza-create"]);
  await psql(55432, "create table orders(id int primary key, at timestamptz default clock_timestamp()); insert into orders(id) select generate_series(1, 10);");
  await asPostgres(["pgbackrest", `--config=${dir("source.conf")}`, `--stanza=${STANZA}`, "--type=full", "backup"]);
  // pgBackRest records backup stop times in whole seconds: a target must come after it.
  await new Promise((r) => setTimeout(r, 1500));
  await psql(55432, "insert into orders(id) select generate_series(11, 20);");
  const target = (await psql(55432, "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")).trim();
  await new Promise((r) => setTimeout(r, 1100));
  await psql(55432, "insert into orders(id) select generate_series(21, 30); select pg_switch_wal();");
  await asPostgres(["pgbackrest", `--config=${dir("source.conf")}`, `--stanza=${STANZA}`, "check"]);
  await asPostgres([`${BIN}/pg_ctl`, "-D", dir("src"), "-m", "fast", "stop"]);

  // The new cluster's first primary: the restoreFrom files, as the user data ships them.
  const restore: RestoreFrom = {
    backupBucket: BUCKET,
    stanza: STANZA,
    target,
    secretArn: "arn:aws:secretsmanager:eu-west-1:000000000000:secret:managed-postgres/src-AbCdEf",
  };
  // Stand-ins for AWS: s3rver's endpoint; static keys instead of the instance role.
  const template = renderRestoreSourceConfig(restore, "eu-west-1", `127.0.0.1:${S3_PORT}`)
    .replace("repo1-s3-key-type=auto", `repo1-s3-key-type=shared\nrepo1-s3-key=${KEYS.id}\nrepo1-s3-key-secret=${KEYS.secret}\nrepo1-storage-verify-tls=n`)
    .replace(`[${STANZA}]`, `log-path=${dir("log")}\nlock-path=${dir("lock")}\n\n[${STANZA}]\npg1-socket-path=${dir("sock")}`);
  fs.writeFileSync(dir("restore-source.conf.template"), template, { mode: 0o644 });
  fs.writeFileSync(path.join(dir("bin"), "aws"), `#!/bin/sh\necho '${JSON.stringify({ backup_cipher_pass: CIPHER, superuser_password: "unused" })}'\n`, { mode: 0o755 });
  const out = dir("restore-source.conf");
  fs.writeFileSync(dir("pass.sh"), renderRestoreSourcePassScript(restore, { template: dir("restore-source.conf.template"), out }), { mode: 0o755 });
  await run("bash", [dir("pass.sh")], { env: { ...process.env, PATH: `${dir("bin")}:${process.env.PATH}` } });

  const spec = resolveClusterSpec({ name: "dst", deployment: "distributed", size: "XS", storageGiB: 2, majorVersion: 15 });
  const ctx = { spec } as unknown as NodeContext;
  const options = { ...patroniRestoreOptions(restore), configFile: out };
  const command = pgbackrestRestoreCommand(ctx, options).replace(/--pg1-path=\S+/, `--pg1-path=${dir("dst")}`);
  await asPostgres(["sh", "-c", command]);

  // Start the restored copy without archiving (Patroni's configuration would take over here).
  await asPostgres([`${BIN}/pg_ctl`, "-D", dir("dst"), "-l", dir("log/dst.log"), "-w", "-o", `-p 55433 -c archive_mode=off -c unix_socket_directories=${dir("sock")} -c listen_addresses=''`, "start"]);
  pgPids.push("dst");
  await waitForSql(55433, "select pg_is_in_recovery()", (o) => o === "f", 120_000);
  expect(await psql(55433, "select count(*), min(id), max(id) from orders")).toBe("20|1|20\n");
});
