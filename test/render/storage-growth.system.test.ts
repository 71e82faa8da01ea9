/**
 * Storage growth on a running node (issue 12): the data volume grows under a mounted ext4
 * filesystem while PostgreSQL 17 runs under Patroni 4.0.7 and a client inserts without pause;
 * the node's own `grow-fs` job (the rendered bootstrap script, `managed-postgres-grow-fs.timer`'s
 * command) grows the filesystem online and, on the primary, raises max_wal_size and
 * max_slot_wal_keep_size in Patroni's dynamic configuration. Measured: the job's duration,
 * the time until PostgreSQL runs with the new limits, failed statements (0), PostgreSQL
 * restarts (none).
 *
 * Faithful parts: the Debian 13 node root (scripts/build-node-root.sh) as the lower layer of a
 * render sandbox (own network and mount namespace, an overlay root), the rendered node files,
 * the rendered bootstrap script run as the timer runs it, a loop device of a sparse file as
 * the EBS volume (EBS `ModifyVolume` = the file grows, `losetup -c` = the kernel sees the new
 * size, as the NVMe driver does on EC2). The etcd, Patroni and PostgreSQL are real.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PATHS, renderNodeConfigFiles, walLimitsForVolume } from "../../src/render";
import { renderBootstrapScript } from "../../src/render/bootstrap";
import { standaloneNode, TEST_ADDRESSES } from "./fixtures";
import { debugDump, reported, runSandbox, TEST_PATRONI_SECRETS_ENV, type SandboxResult } from "./sandbox";
import { requireTools, startEtcd } from "./tools";
import { requirePrerequisites } from "../support/prerequisites";

const A = TEST_ADDRESSES[0];
const ctx = standaloneNode({ majorVersion: 17, size: "XS" });
const GIB = 1024 ** 3;
let r: SandboxResult;
let work = "";
const out = (name: string) => reported(r.stdout, name);

function detachLoops(file: string): void {
  const list = spawnSync("losetup", ["-j", file], { encoding: "utf8" }).stdout ?? "";
  for (const l of list.split("\n").filter(Boolean)) spawnSync("losetup", ["-d", l.split(":")[0]!]);
}

beforeAll(() => {
  requirePrerequisites({ root: true, commands: ["losetup", "truncate", "mkfs.ext4", "chroot", "unshare", "ip", "openssl", "bash"] });
  const build = spawnSync(join(__dirname, "..", "..", "scripts", "build-node-root.sh"), [], { encoding: "utf8", timeout: 40 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  const root = (build.stdout ?? "").trim().split("\n").pop() ?? "";
  if (build.status !== 0 || !root.startsWith("/")) throw new Error(`scripts/build-node-root.sh failed (status ${build.status}):\n${(build.stderr ?? "").slice(-2000)}`);
  work = mkdtempSync(join(tmpdir(), "mp-storage-growth-"));
  const img = join(work, "data-volume.img");
  const psql = `chroot --userspec=postgres:postgres "$ROOT0" env HOME=/var/lib/postgresql psql -X -At -d postgres`;
  const curl = `chroot "$ROOT0" curl -sf --max-time 3 --cacert ${PATHS.caCert}`;
  const repo = "PGBACKREST_REPO1_TYPE=posix PGBACKREST_REPO1_PATH=/var/lib/pgbackrest-test-repo PGBACKREST_REPO1_CIPHER_PASS=test-only";
  r = runSandbox({
    addresses: [A],
    tls: true,
    commonNames: ["orders-0"],
    lowerRoot: root,
    timeoutSec: 240,
    roots: [
      [
        ...renderNodeConfigFiles(ctx).map((f) => ({ ...f })),
        { path: PATHS.bootstrapScript, content: renderBootstrapScript(ctx), mode: "0750" },
        // what step_secret_files writes on a node (the REST API credentials the job uses)
        { path: PATHS.patroniEnv, content: "PATRONI_RESTAPI_USERNAME=patroni\nPATRONI_RESTAPI_PASSWORD=rest-pw\n", mode: "0600" },
      ],
    ],
    script: `${requireTools("losetup", "mkfs.ext4", "truncate")}
IMG=${JSON.stringify(img)}
truncate -s 3G "$IMG"
mkfs.ext4 -q -F -L mpg-data "$IMG"
LOOP=$(losetup -f --show "$IMG")
mkdir -p "$ROOT0/data"
mount "$LOOP" "$ROOT0/data"
echo "data_source: $(chroot "$ROOT0" findmnt -n -o SOURCE /data)"
PATRONI=""
cleanup() { [ -n "$PATRONI" ] && kill -TERM $PATRONI 2>/dev/null && wait $PATRONI; umount -l "$ROOT0/data"; losetup -d "$LOOP"; }
trap cleanup EXIT
chroot "$ROOT0" bash -c 'mkdir -p /data/pgdata /run/postgresql /var/lib/pgbackrest-test-repo ${PATHS.pgbackrestSpool} /var/log/pgbackrest && chmod 0755 /data && chown postgres:postgres /data/pgdata /run/postgresql /var/lib/pgbackrest-test-repo ${PATHS.pgbackrestSpool} /var/log/pgbackrest'
${startEtcd([0], [A])}
chroot --userspec=postgres:postgres "$ROOT0" env HOME=/var/lib/postgresql ${TEST_PATRONI_SECRETS_ENV} ${repo} patroni ${PATHS.patroniConfig} > "$STAGE/patroni.log" 2>&1 &
PATRONI=$!
for n in $(seq 1 240); do
  [ "$(${curl} -o /dev/null -w '%{http_code}' https://${A}:8008/primary)" = 200 ] && break
  kill -0 $PATRONI 2>/dev/null || break
  sleep 0.5
done
echo "primary: $(${curl} -o /dev/null -w '%{http_code}' https://${A}:8008/primary)"
PSQL() { ${psql} "$@"; }
# systemd's PATH (/usr/local/sbin first), as the timer's service runs the job
BOOT="chroot $ROOT0 env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ${PATHS.bootstrapScript}"
# ext4's online resize (EXT4_IOC_RESIZE_FS) needs CAP_SYS_RESOURCE; a container without it
# gets a resize2fs stand-in that records its call (the job's decision and everything after it
# stay real), and the run says which one ran.
if (( (0x$(awk '/^CapEff:/ {print $2}' /proc/self/status) >> 24) & 1 )); then
  echo "resize: real"
else
  echo "resize: stand-in (no CAP_SYS_RESOURCE)"
  printf '#!/bin/sh\necho "$*" >> /var/log/resize2fs-stand-in.log\n' > "$ROOT0/usr/local/sbin/resize2fs"
  chmod 0755 "$ROOT0/usr/local/sbin/resize2fs"
fi
# wait_for PARAMETER VALUE: up to 30 s until PostgreSQL runs with VALUE
wait_for() { for n in $(seq 1 150); do [ "$(PSQL -c "show $1")" = "$2" ] && return 0; sleep 0.2; done; return 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

echo "wal_before_job: $(PSQL -c 'show max_wal_size') $(PSQL -c 'show max_slot_wal_keep_size')"
$BOOT grow-fs 2>"$STAGE/job1.log"; echo "job1_status: $?"
wait_for max_wal_size 384MB
echo "wal_3g: $(PSQL -c 'show max_wal_size') $(PSQL -c 'show max_slot_wal_keep_size')"

PSQL -c "create table growth_probe (id bigserial primary key, pad text)" >/dev/null
PSQL -c "select pg_postmaster_start_time()" > "$STAGE/start-before"
(
  ok=0 failed=0
  while [ ! -e "$STAGE/stop" ]; do
    if PSQL -c "insert into growth_probe (pad) select repeat('x', 1000) from generate_series(1, 50)" >/dev/null 2>>"$STAGE/load.err"; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
  done
  echo "$ok $failed" > "$STAGE/load.out"
) &
LOAD=$!
sleep 2

# EBS ModifyVolume 3 -> 5 GiB: the device grows under the mounted filesystem
truncate -s 5G "$IMG"
losetup -c "$LOOP"
echo "device_bytes: $(blockdev --getsize64 "$LOOP")"
echo "fs_bytes_before: $(chroot "$ROOT0" df -B1 --output=size /data | tail -n 1 | tr -d ' ')"
t0=$(now_ms)
$BOOT grow-fs 2>"$STAGE/job2.log"; echo "job2_status: $?"
t1=$(now_ms)
echo "grow_job_ms: $((t1 - t0))"
echo "fs_bytes_after: $(chroot "$ROOT0" df -B1 --output=size /data | tail -n 1 | tr -d ' ')"
echo "stand_in_calls: $(cat "$ROOT0/var/log/resize2fs-stand-in.log" 2>/dev/null | tr '\n' ';')"
wait_for max_wal_size 640MB
t2=$(now_ms)
echo "wal_applied_ms: $((t2 - t0))"
echo "wal_5g: $(PSQL -c 'show max_wal_size') $(PSQL -c 'show max_slot_wal_keep_size')"
sleep 2
touch "$STAGE/stop"; wait $LOAD
echo "load: $(cat "$STAGE/load.out")"
echo "rows: $(PSQL -c 'select count(*) from growth_probe')"
echo "restarted: $(PSQL -c "select pg_postmaster_start_time() <> '$(cat "$STAGE/start-before")'::timestamptz")"
echo "pending_restart: $(${curl} https://${A}:8008/patroni | jq -r '.pending_restart // false')"
echo "dcs: $(${curl} https://${A}:8008/config | jq -c '.postgresql.parameters | {max_wal_size, max_slot_wal_keep_size}')"
$BOOT grow-fs 2>"$STAGE/job3.log"; echo "job3_status: $?"
sed 's/^[^ ]* /job1_log: /' "$STAGE/job1.log"
sed 's/^[^ ]* /job2_log: /' "$STAGE/job2.log"
sed 's/^[^ ]* /job3_log: /' "$STAGE/job3.log"
sed 's/^/load_err: /' "$STAGE/load.err" 2>/dev/null | head -5
jq -c '{grown: .mp_data_filesystem_grown, wal: .mp_wal_limits_set, event}' "$ROOT0/var/log/managed-postgres/events.log" | sed 's/^/event: /'
grep -E "Reload|restart" "$STAGE/patroni.log" | head -5 | sed 's/^/patroni_log: /'
`,
  });
  debugDump("storage-growth", r);
}, 45 * 60_000);

afterAll(() => {
  if (work) {
    detachLoops(join(work, "data-volume.img"));
    rmSync(work, { recursive: true, force: true });
  }
});

describe("storage growth on a running node: online, no restart, no failed statement (issue 12)", () => {
  test("the node boots as primary on the loop-device volume; before the job PostgreSQL has its defaults (no WAL limit in any rendered file)", () => {
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(out("data_source")[0]).toMatch(/^\/dev\/loop\d+$/);
    expect(out("primary")).toEqual(["200"]);
    expect(out("wal_before_job")).toEqual(["1GB -1"]);
  });

  test("the job sets the WAL limits of the 3 GiB volume in Patroni's dynamic configuration", () => {
    expect(out("job1_status")).toEqual(["0"]);
    expect(out("wal_3g")).toEqual([`${walLimitsForVolume(3 * 1024).max_wal_size} ${walLimitsForVolume(3 * 1024).max_slot_wal_keep_size}`]);
    expect(out("job1_log").join("\n")).toMatch(/WAL limits for a 3072 MiB data volume set in Patroni's dynamic configuration: max_wal_size max_slot_wal_keep_size unset unset -> 384MB 768MB/);
  });

  test("after the volume grew 3 → 5 GiB, one job run calls resize2fs on the mounted volume (online growth where the kernel allows: CAP_SYS_RESOURCE) and raises the WAL limits by a reload", () => {
    expect(out("device_bytes")).toEqual([String(5 * GIB)]);
    expect(Number(out("fs_bytes_before")[0])).toBeLessThan(3 * GIB);
    expect(out("job2_status")).toEqual(["0"]);
    const log = out("job2_log").join("\n");
    expect(log).toMatch(new RegExp(`growing the filesystem on /dev/loop\\d+ from ${3 * GIB} to ${5 * GIB} bytes`));
    const loop = out("data_source")[0]!;
    if (out("resize")[0] === "real") {
      expect(Number(out("fs_bytes_after")[0])).toBeGreaterThan(4.8 * GIB);
      expect(out("stand_in_calls")).toEqual([""]);
    } else {
      // this machine cannot resize ext4 online (no CAP_SYS_RESOURCE): the job called resize2fs once, on the volume
      expect(out("resize")).toEqual(["stand-in (no CAP_SYS_RESOURCE)"]);
      expect(out("stand_in_calls")).toEqual([`${loop};`]);
    }
    expect(log).toMatch(/WAL limits for a 5120 MiB data volume .*: max_wal_size max_slot_wal_keep_size 384MB 768MB -> 640MB 1280MB/);
    expect(out("wal_5g")).toEqual(["640MB 1280MB"]);
    expect(out("dcs")).toEqual(['{"max_wal_size":"640MB","max_slot_wal_keep_size":"1280MB"}']);
    // measured here: the whole job (resize2fs + PATCH) and the time until PostgreSQL runs with the new limits
    console.log(
      `storage growth 3 → 5 GiB (resize2fs: ${out("resize")[0]}): grow-fs job ${out("grow_job_ms")[0]} ms, new WAL limits live ${out("wal_applied_ms")[0]} ms after the job started; load ${out("load")[0]} (ok failed)`,
    );
    expect(Number(out("grow_job_ms")[0])).toBeLessThan(30_000);
  });

  test("0 failed statements during the growth, PostgreSQL never restarted, no restart pending", () => {
    const [ok, failed] = out("load")[0]!.split(" ").map(Number);
    expect(out("load_err")).toEqual([]);
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(10);
    expect(Number(out("rows")[0])).toBe(ok! * 50);
    expect(out("restarted")).toEqual(["f"]);
    expect(out("pending_restart")).toEqual(["false"]);
  });

  test("the job is idempotent once the filesystem has the volume's size; until then it tries again (a stand-in resize2fs grows nothing)", () => {
    expect(out("job3_status")).toEqual(["0"]);
    if (out("resize")[0] === "real") expect(out("job3_log")).toEqual([]);
    else {
      expect(out("job3_log")[0]).toMatch(new RegExp(`growing the filesystem on /dev/loop\\d+ from ${3 * GIB} to ${5 * GIB} bytes`));
      expect(out("job3_log").join("\n")).not.toContain("WAL limits");
    }
  });

  test("each growth and each change of the limits is one metric line in the events log", () => {
    const events = out("event").map((l) => JSON.parse(l));
    const grown = { grown: 1, wal: null, event: expect.stringMatching(new RegExp(`^data filesystem grown online from ${3 * GIB} to ${5 * GIB} bytes in \\d+ s$`)) };
    expect(events).toEqual([
      { grown: null, wal: 1, event: "data volume 3072 MiB: max_wal_size max_slot_wal_keep_size unset unset -> 384MB 768MB" },
      grown,
      { grown: null, wal: 1, event: "data volume 5120 MiB: max_wal_size max_slot_wal_keep_size 384MB 768MB -> 640MB 1280MB" },
      ...(out("resize")[0] === "real" ? [] : [grown]),
    ]);
  });
});

describe("the node's formula is walLimitsForVolume", () => {
  test("wal_limits_for in the bootstrap script gives the same limits for sizes from 2 GiB to 128 GiB", () => {
    const sizes = [1, 255, 2048, 2049, 3072, 20480, 51200, 65535, 65536, 81920, 131072];
    const dir = mkdtempSync(join(tmpdir(), "mp-wal-limits-"));
    try {
      const lines = renderBootstrapScript(ctx).trimEnd().split("\n");
      expect(lines.pop()).toBe('main "$@"');
      writeFileSync(join(dir, "lib.sh"), lines.join("\n") + "\n");
      const res = spawnSync("bash", ["-c", `source ${JSON.stringify(join(dir, "lib.sh"))}; for m in ${sizes.join(" ")}; do wal_limits_for $m; done`], { encoding: "utf8" });
      expect(res.stderr).toBe("");
      expect(res.stdout.trim().split("\n")).toEqual(sizes.map((m) => `${walLimitsForVolume(m).max_wal_size} ${walLimitsForVolume(m).max_slot_wal_keep_size}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
