/**
 * The weekly backup verification (`managed-postgres-bootstrap verify-backup`), run for real:
 * the rendered script with real bash, as postgres, against a real PostgreSQL 15 and a real
 * pgBackRest repository (posix, in a temporary directory), with a fake `curl` answering
 * Patroni's health check (this node is the primary of a standalone cluster). Checks the
 * success path (verify, restore of the newest backup into the scratch directory, recovery,
 * a query, clean-up, metric 0) and a corrupted repository (metric 1, non-zero status).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderBootstrapScript } from "../../src/render/bootstrap";
import { standaloneNode } from "./fixtures";
import { requirePrerequisites } from "../support/prerequisites";
import { setHeader } from "./script-header";

const BIN = "/usr/lib/postgresql/15/bin";
const PORT = 55437;
let d: string;

function asPostgres(cmd: string, env: Record<string, string> = {}) {
  const vars = Object.entries({ PGBACKREST_CONFIG: join(d, "pgbackrest.conf"), PATH: `${d}/bin:/usr/sbin:/usr/bin:/sbin:/bin`, ...env }).map(([k, v]) => `${k}=${v}`);
  const r = spawnSync("runuser", ["-u", "postgres", "--", "env", ...vars, "bash", "-c", cmd], { encoding: "utf8", timeout: 300_000, cwd: d });
  return { status: r.status, out: (r.stdout ?? "") + (r.stderr ?? "") };
}
function ok(cmd: string) {
  const r = asPostgres(cmd);
  if (r.status !== 0) throw new Error(`${cmd}: status ${r.status}\n${r.out}`);
  return r.out;
}

beforeAll(() => {
  requirePrerequisites({ commands: ["pgbackrest", "runuser", "jq", `${BIN}/initdb`, `${BIN}/pg_ctl`] });
  d = mkdtempSync(join(tmpdir(), "mp-verify-"));
  chmodSync(d, 0o755);
  for (const sub of ["bin", "repo", "log", "lock", "spool"]) mkdirSync(join(d, sub));
  writeFileSync(join(d, "bin", "curl"), "#!/bin/bash\n# Patroni health checks: this node is the primary\ncase \"${@: -1}\" in */primary) exit 0 ;; *) exit 22 ;; esac\n");
  chmodSync(join(d, "bin", "curl"), 0o755);
  writeFileSync(
    join(d, "pgbackrest.conf"),
    [
      "[global]",
      `repo1-path=${d}/repo`,
      `log-path=${d}/log`,
      `lock-path=${d}/lock`,
      `spool-path=${d}/spool`,
      "log-level-console=warn",
      "start-fast=y",
      "[verifytest]",
      `pg1-path=${d}/pg`,
      `pg1-socket-path=${d}`,
      `pg1-port=${PORT}`,
      "",
    ].join("\n"),
  );
  spawnSync("chown", ["-R", "postgres:postgres", d]);
  ok(`${BIN}/initdb -D ${d}/pg -A peer >/dev/null`);
  ok(
    `${BIN}/pg_ctl -D ${d}/pg -l ${d}/pg.log -w start -o "-c port=${PORT} -c listen_addresses='' -c unix_socket_directories=${d} -c wal_level=replica -c archive_mode=on -c archive_command='pgbackrest --stanza=verifytest archive-push %p'" >/dev/null`,
  );
  ok("pgbackrest --stanza=verifytest stanza-create");
  ok(`psql -X -q -h ${d} -p ${PORT} -d postgres -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"`);
  ok("pgbackrest --stanza=verifytest --type=full backup");
  const script = setHeader(renderBootstrapScript(standaloneNode({ majorVersion: 15 })), {
    STANZA: "verifytest",
    DATA_MOUNT: d,
    VERIFY_SCRATCH: `${d}/scratch`,
    EVENTS_LOG: `${d}/events/events.log`,
  });
  writeFileSync(join(d, "bootstrap.sh"), script);
  mkdirSync(join(d, "events"));
  spawnSync("chown", ["-R", "postgres:postgres", d]);
}, 300_000);

afterAll(() => {
  if (!d) return;
  asPostgres(`${BIN}/pg_ctl -D ${d}/pg -m immediate -w stop`);
  asPostgres(`${BIN}/pg_ctl -D ${d}/scratch/data -m immediate -w stop`);
  rmSync(d, { recursive: true, force: true });
});

const events = () => readFileSync(join(d, "events", "events.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));

test("verify, restore of the newest backup, recovery and a query pass: status 0, mp_backup_verify_failed 0, the scratch directory removed", () => {
  const r = asPostgres(`bash ${d}/bootstrap.sh verify-backup`);
  expect(r.out).toMatch(/restore check: backup \S+F \(\d+ bytes\) into .*\/scratch/);
  expect(r.out).toMatch(/restore check: backup \S+F restored, recovered and answered a query/);
  expect(r.status).toBe(0);
  const last = events().pop();
  expect(last).toMatchObject({ Cluster: "orders", mp_backup_verify_failed: 0 });
  expect(last._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: "mp_backup_verify_failed" }]);
  expect(existsSync(join(d, "scratch"))).toBe(false);
}, 300_000);

test("a corrupted file in the repository fails the verification: status 1, mp_backup_verify_failed 1, a log line naming it", () => {
  const backups = join(d, "repo", "backup", "verifytest");
  const label = readdirSync(backups).find((n) => /F$/.test(n))!;
  const dir = join(backups, label, "pg_data", "base");
  const db = readdirSync(dir).sort().pop()!;
  // the biggest relation file of the newest database (compressed or not)
  const file = readdirSync(join(dir, db))
    .filter((f) => /^\d+(\.\w+)?$/.test(f))
    .sort((a, b) => readFileSync(join(dir, db, b)).length - readFileSync(join(dir, db, a)).length)[0]!;
  const bytes = readFileSync(join(dir, db, file));
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  writeFileSync(join(dir, db, file), bytes);
  const r = asPostgres(`bash ${d}/bootstrap.sh verify-backup`);
  expect(r.status).not.toBe(0);
  expect(r.out).toMatch(/backup verification FAILED: /);
  expect(events().pop()).toMatchObject({ mp_backup_verify_failed: 1 });
}, 300_000);
