/**
 * Storage growth on the EC2 twin (issue 12): the standalone example (storageGiB 20) applied and
 * booted as in twin-standalone.test.ts (the Debian 13 node image under systemd-nspawn, real
 * systemd and cloud-init, the slot volume a loop device of a sparse file as /dev/nvme1n1).
 * - At first boot the primary sets the WAL limits of its volume in Patroni's dynamic
 *   configuration (none is in the user data).
 * - The volume then grows 20 → 30 GiB under the running node (the file grows, `losetup -c`:
 *   EC2's ModifyVolume as the NVMe device sees it) while a client inserts without pause, and the
 *   node's own `managed-postgres-grow-fs.service` runs. ext4's online resize needs
 *   CAP_SYS_RESOURCE: where the machine has it, the filesystem and the limits grow; where it
 *   lacks it (this CI container), the service fails with resize2fs's "Permission denied" and
 *   changes nothing else. Either way: PostgreSQL is never restarted and no statement fails.
 *
 * Root, the Debian packages of `sudo npm run setup:system`, terraform, and the node root of
 * scripts/build-node-root.sh; fails (never skips) without them.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { walLimitsForVolume } from "../../src/render";
import { bootStandalone } from "../twin/boot";
import type { LaunchedInstance, TwinCluster } from "../twin/cluster";
import { requirePrerequisites } from "../support/prerequisites";

jest.setTimeout(1_200_000);

let twin: TwinCluster;
let node: LaunchedInstance;
const GIB = 2 ** 30;

const sh = async (cmd: string, timeoutMs = 60_000) => {
  const r = await node.machine.exec(["bash", "-c", cmd], { timeoutMs });
  return { ...r, out: r.stdout.trim() };
};
/** The two limits as "<max_wal_size>MB <max_slot_wal_keep_size>MB" (pg_settings' unit is MB; SHOW would say 5GB). */
const limits = async () => (await sh(`runuser -u postgres -- psql -XAt -F ' ' -h /var/run/postgresql -d postgres -c "SELECT string_agg(setting || unit, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('max_slot_wal_keep_size', 'max_wal_size')"`)).out.split(" ").reverse().join(" ");
const psql = (sql: string) => sh(`runuser -u postgres -- psql -XAt -h /var/run/postgresql -d postgres -c "${sql}"`);
/** Whether this process (and so the machines it starts) has CAP_SYS_RESOURCE (bit 24 of CapEff). */
const hasSysResource = () => ((Number.parseInt(/^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!.slice(-8), 16) >>> 24) & 1) === 1;

beforeAll(async () => {
  requirePrerequisites({ root: true, commands: ["terraform", "systemd-nspawn", "nft", "ip", "openssl", "debootstrap", "losetup", "truncate"] });
  ({ twin, instance: node } = await bootStandalone("twst"));
}, 1_200_000);

afterAll(async () => {
  await twin?.destroy();
}, 300_000);

test("the user data holds no WAL limit; at first boot the primary set those of its 20 GiB volume in Patroni's dynamic configuration", async () => {
  const lt = twin.state.ofType("aws_launch_template")[0];
  const userData = gunzipSync(Buffer.from(String(lt.attributes.user_data), "base64")).toString("utf8");
  expect(userData).toContain("wal_keep_size");
  expect(userData).not.toMatch(/max_wal_size|max_slot_wal_keep_size/);
  const want = walLimitsForVolume(20 * 1024);
  // Patroni applies the dynamic configuration within a loop
  let live = "";
  for (let i = 0; i < 30 && live !== `${want.max_wal_size} ${want.max_slot_wal_keep_size}`; i++) {
    live = await limits();
    if (live !== `${want.max_wal_size} ${want.max_slot_wal_keep_size}`) await new Promise((r) => setTimeout(r, 1000));
  }
  expect(live).toBe(`${want.max_wal_size} ${want.max_slot_wal_keep_size}`);
  const logs = (await sh("journalctl --no-pager -o cat | grep -h 'WAL limits' ; grep -h 'WAL limits' /var/log/cloud-init-output.log")).out;
  expect(logs).toContain("WAL limits for a 20480 MiB data volume set in Patroni's dynamic configuration: max_wal_size max_slot_wal_keep_size unset unset -> 2560MB 5120MB");
});

test("the volume grows 20 → 30 GiB under the running node: grow-fs acts at once, PostgreSQL never restarts, 0 failed statements", async () => {
  const volumeId = twin.world.volumes.find((v) => v.tags["managed-postgres:slot-resource"] === "data-volume")!.id;
  const loops = spawnSync("losetup", ["-n", "-O", "NAME,BACK-FILE"], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.includes(`/twst-twin/volumes/${volumeId}.img`));
  expect(loops).toHaveLength(1);
  const [loop, file] = loops[0]!.trim().split(/\s+/);
  expect((await sh("findmnt -n -o SOURCE /data")).out).toBe("/dev/nvme1n1");

  await psql("CREATE TABLE growth_probe (id bigserial PRIMARY KEY, pad text)");
  const startedAt = (await psql("SELECT pg_postmaster_start_time()")).out;
  // the load: a transient unit in the machine, inserting until /run/stop-load exists
  const load = `ok=0; failed=0; while [ ! -e /run/stop-load ]; do if runuser -u postgres -- psql -XAtq -h /var/run/postgresql -d postgres -c "INSERT INTO growth_probe (pad) SELECT repeat('x', 1000) FROM generate_series(1, 50)" >/dev/null 2>>/run/load.err; then ok=$((ok + 1)); else failed=$((failed + 1)); fi; done; echo "$ok $failed" > /run/load.out`;
  expect((await sh(`systemd-run --unit=mp-growth-load bash -c '${load.replace(/'/g, "'\\''")}'`)).status).toBe(0);
  await new Promise((r) => setTimeout(r, 2000));

  expect(spawnSync("truncate", ["-s", String(30 * GIB), file!]).status).toBe(0);
  expect(spawnSync("losetup", ["-c", loop!]).status).toBe(0);
  expect((await sh("blockdev --getsize64 /dev/nvme1n1")).out).toBe(String(30 * GIB));
  const t0 = Date.now();
  const job = await sh("systemctl start managed-postgres-grow-fs.service; echo \"status=$?\"", 120_000);
  const jobMs = Date.now() - t0;
  const journal = (await sh("journalctl -u managed-postgres-grow-fs.service --no-pager -o cat")).out;
  expect(journal).toContain(`growing the filesystem on /dev/nvme1n1 from ${20 * GIB} to ${30 * GIB} bytes (online: no unmount, no restart)`);
  const fsBytes = Number((await sh("df -B1 --output=size /data | tail -n 1")).out);
  if (hasSysResource()) {
    expect(job.out).toContain("status=0");
    expect(fsBytes).toBeGreaterThan(29 * GIB);
    const want = walLimitsForVolume(30 * 1024);
    let live = "";
    for (let i = 0; i < 30 && live !== `${want.max_wal_size} ${want.max_slot_wal_keep_size}`; i++) {
      live = await limits();
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(live).toBe(`${want.max_wal_size} ${want.max_slot_wal_keep_size}`);
  } else {
    // no CAP_SYS_RESOURCE in this container, so none in the machine: ext4 refuses the online resize
    expect(job.out).not.toContain("status=0");
    expect(journal).toContain("Permission denied to resize filesystem");
    expect(fsBytes).toBeLessThan(20 * GIB);
    expect(await limits()).toBe("2560MB 5120MB");
  }
  await new Promise((r) => setTimeout(r, 2000));
  await sh("touch /run/stop-load");
  let counts = "";
  for (let i = 0; i < 30 && !counts; i++) {
    counts = (await sh("cat /run/load.out 2>/dev/null")).out;
    if (!counts) await new Promise((r) => setTimeout(r, 500));
  }
  const [ok, failed] = counts.split(" ").map(Number);
  console.log(`twin storage growth 20 → 30 GiB (CAP_SYS_RESOURCE: ${hasSysResource()}): grow-fs service ${jobMs} ms (${job.out}); load ${ok} ok, ${failed} failed`);
  expect((await sh("cat /run/load.err 2>/dev/null")).out).toBe("");
  expect(failed).toBe(0);
  expect(ok).toBeGreaterThan(5);
  expect((await psql("SELECT count(*) FROM growth_probe")).out).toBe(String(ok! * 50));
  expect((await psql(`SELECT pg_postmaster_start_time() = '${startedAt}'::timestamptz`)).out).toBe("t");
});
