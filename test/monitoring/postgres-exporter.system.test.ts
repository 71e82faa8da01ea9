/**
 * The rendered postgres_exporter custom queries, run by the real exporter (Debian's
 * prometheus-postgres-exporter 0.11) against a loopback PostgreSQL 15 primary and a
 * streaming replica started in a temporary directory: the metrics the alarms read exist
 * and move with the condition they watch.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { METRICS } from "../../src/monitoring";
import { renderPostgresExporterQueries } from "../../src/render/monitoring";
import { bash, freePort, samples } from "./helpers";
import { requirePrerequisites } from "../support/prerequisites";

const BIN = "/usr/lib/postgresql/15/bin";

/**
 * $1 stage dir, $2 primary port, $3 replica port, $4 exporter port (primary), $5 exporter
 * port (replica). Prints the scrapes between ==== markers.
 */
const SCRIPT = String.raw`
set -euo pipefail
STAGE=$1; P1=$2; P2=$3; E1=$4; E2=$5; BIN=${BIN}
PIDS=()
cleanup() {
  for p in "$${"{"}PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done
  runuser -u postgres -- "$BIN/pg_ctl" -D "$STAGE/replica" -m immediate stop >/dev/null 2>&1 || true
  runuser -u postgres -- "$BIN/pg_ctl" -D "$STAGE/primary" -m immediate stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
chown postgres:postgres "$STAGE"; chmod 0700 "$STAGE"
mkdir -p "$STAGE/sock"; chown postgres:postgres "$STAGE/sock"
as_pg() { runuser -u postgres -- "$@"; }
as_pg "$BIN/initdb" -D "$STAGE/primary" -A trust -U postgres >/dev/null
# In postgresql.conf (not on the command line) so that ALTER SYSTEM can change it later.
echo "archive_command = '/bin/true'" >> "$STAGE/primary/postgresql.conf"
OPTS="-c listen_addresses='' -c unix_socket_directories=$STAGE/sock -c wal_level=replica -c archive_mode=on"
as_pg "$BIN/pg_ctl" -D "$STAGE/primary" -w -t 30 -l "$STAGE/primary.log" -o "$OPTS -p $P1" start >/dev/null
as_pg "$BIN/pg_basebackup" -h "$STAGE/sock" -p "$P1" -U postgres -D "$STAGE/replica" -R -X stream >/dev/null
as_pg "$BIN/pg_ctl" -D "$STAGE/replica" -w -t 30 -l "$STAGE/replica.log" -o "-c listen_addresses='' -c unix_socket_directories=$STAGE/sock -c archive_mode=on -c archive_command=/bin/false -p $P2" start >/dev/null
psql1() { as_pg psql -X -q -A -t -h "$STAGE/sock" -p "$P1" -U postgres -d postgres -c "$1"; }
psql2() { as_pg psql -X -q -A -t -h "$STAGE/sock" -p "$P2" -U postgres -d postgres -c "$1"; }
# The backup status job's file: a full backup that ended one hour ago.
echo $(( $(date +%s) - 3600 )) > "$STAGE/last-full-backup.epoch"; chown postgres "$STAGE/last-full-backup.epoch"
start_exporter() {
  DATA_SOURCE_NAME="host=$STAGE/sock port=$1 user=postgres dbname=postgres sslmode=disable" \
  PG_EXPORTER_EXTEND_QUERY_PATH="$STAGE/queries.yaml" \
    /usr/bin/prometheus-postgres-exporter --web.listen-address="127.0.0.1:$2" --log.level=warn >"$STAGE/exporter-$2.log" 2>&1 &
  PIDS+=($!)
}
start_exporter "$P1" "$E1"
start_exporter "$P2" "$E2"
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$1/metrics"; }
# Wait until the segments of the base backup are archived (by /bin/true) and both exporters answer.
for i in $(seq 1 50); do
  if [ "$(psql1 "SELECT archived_count > 0 FROM pg_stat_archiver")" = t ] &&
     scrape "$E1" | grep -q '^mp_connections_used' && scrape "$E2" | grep -q '^mp_replication_lag_seconds'; then break; fi
  sleep 0.2
done
echo "==== primary"; scrape "$E1"
echo "==== replica"; scrape "$E2"
# Archiving starts failing (archive_command=/bin/false) at the next complete segment.
psql1 "ALTER SYSTEM SET archive_command = '/bin/false'" >/dev/null
psql1 "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
psql1 "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g" >/dev/null
psql1 "SELECT pg_switch_wal()" >/dev/null
for i in $(seq 1 50); do
  [ "$(psql1 "SELECT failed_count FROM pg_stat_archiver")" -gt 0 ] && break
  sleep 0.2
done
# The replica stops replaying while the primary keeps committing: its lag grows.
psql2 "SELECT pg_wal_replay_pause()" >/dev/null
sleep 0.5
psql1 "INSERT INTO t SELECT 1" >/dev/null
sleep 2.5
psql1 "INSERT INTO t SELECT 2" >/dev/null
sleep 0.5
rm "$STAGE/last-full-backup.epoch"
echo "==== primary-after"; scrape "$E1"
echo "==== replica-after"; scrape "$E2"
echo "==== end"
`;

describe("postgres_exporter with the rendered custom queries", () => {
  // Runs PostgreSQL as the postgres user (runuser): root and the Debian packages, or a loud failure.
  beforeAll(() => requirePrerequisites({ files: [`${BIN}/initdb`, "/usr/bin/prometheus-postgres-exporter"], root: true }));
  const scrapes: Record<string, string> = {};
  let stage = "";

  beforeAll(async () => {
    stage = fs.mkdtempSync(path.join(os.tmpdir(), "h6-pgexp-"));
    fs.writeFileSync(path.join(stage, "queries.yaml"), renderPostgresExporterQueries({ backupStatusFile: path.join(stage, "last-full-backup.epoch") }));
    const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
    const r = bash(SCRIPT, [stage, ...ports.map(String)], 90_000);
    if (!r.stdout.includes("==== end")) {
      const logs = fs.readdirSync(stage).filter((f) => f.endsWith(".log")).map((f) => `--- ${f}\n${fs.readFileSync(path.join(stage, f), "utf8").slice(-2000)}`);
      throw new Error(`exporter script failed (status ${r.status}):\n${r.stderr}\n${logs.join("\n")}`);
    }
    for (const part of r.stdout.split(/^==== /m).slice(1)) {
      const nl = part.indexOf("\n");
      scrapes[part.slice(0, nl)] = part.slice(nl + 1);
    }
  }, 120_000);

  afterAll(() => {
    if (stage) fs.rmSync(stage, { recursive: true, force: true });
  });

  const value = (scrape: string, metric: string): number[] => samples(scrapes[scrape], metric).map((s) => s.value);

  test("the exporter loads the queries file without errors (pg_up 1, no scrape error)", () => {
    expect(value("primary", "pg_up")).toEqual([1]);
    expect(value("primary", "pg_exporter_last_scrape_error")).toEqual([0]);
    expect(value("replica", "pg_exporter_last_scrape_error")).toEqual([0]);
  });

  test("connections: used client backends and max_connections", () => {
    expect(value("primary", METRICS.connectionsUsed)[0]).toBeGreaterThanOrEqual(1);
    expect(value("primary", METRICS.connectionsMax)).toEqual([100]);
  });

  test("replication lag is 0 on the primary and on a streaming, caught-up replica", () => {
    expect(value("primary", METRICS.replicationLagSeconds)).toEqual([0]);
    expect(value("replica", METRICS.replicationLagSeconds)).toEqual([0]);
  });

  test("replication lag grows on a replica whose replay is paused while the primary commits", () => {
    expect(value("replica-after", METRICS.replicationLagSeconds)[0]).toBeGreaterThanOrEqual(2);
  });

  test("WAL archiving: not failing while archive_command succeeds, failing once it fails", () => {
    expect(value("primary", METRICS.walArchiveFailing)).toEqual([0]);
    expect(value("primary-after", METRICS.walArchiveFailing)).toEqual([1]);
    expect(value("primary-after", METRICS.walArchiveFailedCount)[0]).toBeGreaterThan(0);
  });

  test("WAL archiving metrics exist only on the primary", () => {
    expect(value("replica", METRICS.walArchiveFailing)).toEqual([]);
  });

  test("backup age: seconds since the epoch in the backup status file", () => {
    const [age] = value("primary", METRICS.backupLastFullAgeSeconds);
    expect(age).toBeGreaterThanOrEqual(3600);
    expect(age).toBeLessThan(3600 + 60);
  });

  test("backup age: no sample while the backup status file is missing (the alarm treats missing data as breaching)", () => {
    expect(value("primary-after", METRICS.backupLastFullAgeSeconds)).toEqual([]);
  });
});
