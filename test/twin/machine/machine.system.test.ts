/**
 * The EC2 twin's machines (issues 10 and 11): the Debian 13 node root booted with
 * systemd-nspawn, real systemd as PID 1, real cloud-init running gzip'd user data from the
 * NoCloud seed; ENI and volume hotplug while it runs; crash and destroy leave nothing.
 *
 * System tier: root, systemd-container, the node root of scripts/build-node-root.sh. Own
 * namespaces (`twmb-v-<pid>` with the "VPC" bridge, `twmb-m-<pid>` for the machine), removed
 * in afterAll. Boots three machines one after the other; prints the measurements as
 * `machine: boot_to_cloud_init_done_ms=… rss_idle_mib=… crash_gone_ms=…`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { requirePrerequisites } from "../../support/prerequisites";
import { alive, must, sleep } from "./host";
import { bootMachine, destroyAllMachines, mountedUnder, nodeRoot, reapStaleMachines, type Machine, type MachineOptions } from "./index";

const ID = String(process.pid % 100000);
const VPC_NS = `twmb-v-${ID}`;
const MACHINE_NS = `twmb-m-${ID}`;
const BRIDGE = `twmbbr${ID}`;
const PRIMARY_PEER = `twmbp${ID}`;
const ENI_MAC = "02:00:5e:7a:01:23";
const INSTANCE_ID = "i-0123456789abcdef0";
const CLOUD_INIT_TIMEOUT_MS = 120_000;

const USER_DATA = `#cloud-config
write_files:
  - path: /etc/twin-test/hello.conf
    permissions: "0640"
    content: |
      written by cloud-init from the user data
  - path: /etc/systemd/system/twin-hello.service
    content: |
      [Unit]
      Description=EC2 twin test service
      [Service]
      ExecStart=/bin/sleep infinity
      [Install]
      WantedBy=multi-user.target
  - path: /etc/systemd/system/twin-tick.service
    content: |
      [Service]
      Type=oneshot
      ExecStart=/bin/true
  - path: /etc/systemd/system/twin-tick.timer
    content: |
      [Timer]
      OnCalendar=hourly
      [Install]
      WantedBy=timers.target
runcmd:
  - [ systemctl, daemon-reload ]
  - [ systemctl, enable, --now, twin-hello.service, twin-tick.timer ]
`;

/** Units image/build.sh disables (not masks) that the user data replaces. */
const NODE_UNITS = ["etcd.service", "patroni.service", "haproxy.service", "prometheus-postgres-exporter.service"];
const machineIds: string[] = [];
let stage = "";
let machine: Machine;
const bootMs: number[] = [];
const rssMiB: number[] = [];
const crashMs: number[] = [];

function ip(...args: string[]): string {
  return must(["ip", ...args]);
}

/** Boots a machine named `name` and waits for cloud-init; records the time to `done`. */
async function bootTimed(name: string, extra: Partial<MachineOptions> = {}): Promise<Machine> {
  const t0 = Date.now();
  const m = await bootMachine({ name, netns: MACHINE_NS, userData: gzipSync(USER_DATA), instanceId: INSTANCE_ID, ...extra });
  await m.waitForCloudInit(CLOUD_INIT_TIMEOUT_MS);
  bootMs.push(Date.now() - t0);
  return m;
}

async function crashTimed(m: Machine): Promise<void> {
  const t0 = Date.now();
  await m.crash();
  crashMs.push(Date.now() - t0);
}

async function sh(m: Machine, script: string): Promise<string> {
  const r = await m.exec(["sh", "-c", script]);
  if (r.status !== 0) throw new Error(`\`${script}\` in ${m.name}: status ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

beforeAll(() => {
  requirePrerequisites({ root: true, commands: ["systemd-nspawn", "nsenter", "losetup", "ip", "chroot"] });
  nodeRoot();
  stage = mkdtempSync("/var/tmp/twmb-test-");
  ip("netns", "add", VPC_NS);
  ip("netns", "add", MACHINE_NS);
  ip("-n", VPC_NS, "link", "set", "lo", "up");
  ip("-n", VPC_NS, "link", "add", BRIDGE, "type", "bridge");
  ip("-n", VPC_NS, "addr", "add", "10.77.0.1/24", "dev", BRIDGE);
  ip("-n", VPC_NS, "addr", "add", "10.77.1.1/24", "dev", BRIDGE);
  ip("-n", VPC_NS, "link", "set", BRIDGE, "up");
  // The primary ENI, configured from outside (no DHCP in the twin).
  ip("-n", VPC_NS, "link", "add", PRIMARY_PEER, "type", "veth", "peer", "name", "eth0", "netns", MACHINE_NS);
  ip("-n", VPC_NS, "link", "set", PRIMARY_PEER, "master", BRIDGE, "up");
  ip("-n", MACHINE_NS, "addr", "add", "10.77.0.10/24", "dev", "eth0");
  ip("-n", MACHINE_NS, "link", "set", "eth0", "up");
  // A CA the machine is told to trust, and a certificate it signed.
  const openssl = (...args: string[]) => must(["openssl", ...args]);
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=twin-test-ca",
    "-keyout", join(stage, "ca.key"), "-out", join(stage, "ca.crt"), "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=ec2.us-east-1.amazonaws.com", "-keyout", join(stage, "leaf.key"), "-out", join(stage, "leaf.csr"));
  openssl("x509", "-req", "-in", join(stage, "leaf.csr"), "-CA", join(stage, "ca.crt"), "-CAkey", join(stage, "ca.key"), "-CAcreateserial", "-days", "1", "-out", join(stage, "leaf.crt"));
}, 45 * 60_000);

afterAll(async () => {
  try {
    await destroyAllMachines();
  } finally {
    spawnSync("ip", ["netns", "del", MACHINE_NS]);
    spawnSync("ip", ["netns", "del", VPC_NS]);
    if (stage) rmSync(stage, { recursive: true, force: true });
    if (bootMs.length > 0) {
      const sorted = [...bootMs].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      // eslint-disable-next-line no-console
      console.log(
        `machine: boot_to_cloud_init_done_ms=${median} (runs ${bootMs.join(",")}) rss_idle_mib=${rssMiB.map((r) => r.toFixed(1)).join(",")} crash_gone_ms=${crashMs.join(",")}`,
      );
    }
  }
}, 120_000);

describe("a machine boots the node image like an EC2 instance", () => {
  test("real systemd and cloud-init run the gzip'd user data from the NoCloud seed", async () => {
    machine = await bootTimed(`twmb-${ID}-a`, {
      files: [
        { path: "/etc/twin-files/note", content: "before boot\n", mode: 0o600 },
        { path: "/root/leaf.crt", content: readFileSync(join(stage, "leaf.crt"), "utf8") },
      ],
      caCertificates: [readFileSync(join(stage, "ca.crt"), "utf8")],
      hosts: { "ec2.us-east-1.amazonaws.com": "10.77.0.1" },
    });
    expect(await sh(machine, "cloud-init status --long | sed -n 's/^detail: //p'")).toContain("DataSourceNoCloud");
    expect(await sh(machine, "cloud-init query instance_id")).toBe(INSTANCE_ID);
    expect(await sh(machine, "hostname; cat /etc/hostname")).toBe(`twmb-${ID}-a\ntwmb-${ID}-a`);
    expect(await sh(machine, "stat -c '%a %U' /etc/twin-test/hello.conf; cat /etc/twin-test/hello.conf")).toBe("640 root\nwritten by cloud-init from the user data");
    expect(await sh(machine, "stat -c '%a' /etc/twin-files/note; cat /etc/twin-files/note")).toBe("600\nbefore boot");
    expect(await sh(machine, "readlink /proc/1/exe; systemctl is-active twin-hello.service")).toBe("/usr/lib/systemd/systemd\nactive");
    expect(await sh(machine, "systemctl list-timers --all --no-legend --no-pager")).toMatch(/twin-tick\.timer\s+twin-tick\.service/);
    expect(await sh(machine, "openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt /root/leaf.crt")).toBe("/root/leaf.crt: OK");
    expect(await sh(machine, "getent hosts ec2.us-east-1.amazonaws.com")).toMatch(/^10\.77\.0\.1\s+ec2\.us-east-1\.amazonaws\.com$/);
    expect(await sh(machine, "patroni --version")).toBe("patroni 4.0.7");
    // image/build.sh: the node's daemons wait for the bootstrap; the image carries no machine ID.
    expect(await sh(machine, `systemctl is-enabled ${NODE_UNITS.join(" ")} || true`)).toBe(NODE_UNITS.map(() => "disabled").join("\n"));
    machineIds.push(await sh(machine, "cat /etc/machine-id"));
    expect(machineIds[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(readFileSync(join(nodeRoot(), "etc", "machine-id"), "utf8")).toBe("");
    expect(await sh(machine, "/usr/lib/postgresql/17/bin/postgres --version")).toMatch(/^postgres \(PostgreSQL\) 17\./);
    // Nothing of the host leaks in: the machine sees its own links only.
    expect((await sh(machine, "ls /sys/class/net")).split("\n").sort()).toEqual(["eth0", "lo"]);
    expect(await machine.journal("twin-hello.service")).toContain("Started twin-hello.service");
  });

  test("an ENI attached while it runs appears by MAC, and an address on it answers from the bridge", async () => {
    const name = await machine.attachInterface(ENI_MAC, BRIDGE, { bridgeNetns: VPC_NS });
    expect(name).toBe("eth1");
    // How step_slot_network of node-bootstrap.sh finds it.
    const find = `ip -o link show | awk -v m="${ENI_MAC}" 'index($0, "link/ether " m " ") {sub(":$", "", $2); sub("@.*", "", $2); print $2; exit}'`;
    expect(await sh(machine, find)).toBe("eth1");
    // The node's bootstrap configures it (step_slot_network); answer ARP only on the link that has the address.
    await sh(machine, "ip link set eth1 up && ip addr add 10.77.1.20/24 dev eth1 && sysctl -qw net.ipv4.conf.all.arp_ignore=1");
    let ok = false;
    for (let i = 0; i < 10 && !ok; i++) {
      ok = spawnSync("ip", ["netns", "exec", VPC_NS, "ping", "-c", "1", "-W", "1", "10.77.1.20"], { stdio: "ignore", timeout: 5000 }).status === 0;
      if (!ok) await sleep(500);
    }
    expect(ok).toBe(true);
    expect(ip("-n", VPC_NS, "neigh", "show", "10.77.1.20")).toContain(`lladdr ${ENI_MAC}`);
    await machine.detachInterface(ENI_MAC);
    expect(await sh(machine, "ip -o link show | grep -c link/ether || true")).toBe("1");
    await expect(machine.detachInterface(ENI_MAC)).rejects.toThrow(/no link with MAC/);
  });

  test("a volume attached while it runs is a block device the node can format and mount by UUID", async () => {
    const file = join(stage, "vol.img");
    must(["truncate", "-s", "64M", file]);
    const byId = "nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0";
    expect(await machine.attachBlockDevice(file, "xvdf", { byId })).toBe("/dev/xvdf");
    // What format_if_blank and step_data_volume of node-bootstrap.sh run.
    expect((await machine.exec(["blkid", "-p", "/dev/xvdf"])).status).toBe(2);
    const out = await sh(
      machine,
      `readlink -f /dev/disk/by-id/${byId}; mkfs.ext4 -q -L mpg-data /dev/xvdf && mkdir -p /data && ` +
        "mount UUID=$(blkid -o value -s UUID /dev/xvdf) /data && echo kept > /data/x && findmnt -n -o SOURCE,FSTYPE /data && umount /data && blkid -p -o value -s LABEL /dev/xvdf",
    );
    expect(out.split("\n")).toEqual(["/dev/xvdf", "/dev/xvdf ext4", "mpg-data"]);
    await machine.detachBlockDevice("xvdf");
    expect(await sh(machine, "test -e /dev/xvdf && echo present || echo gone")).toBe("gone");
    expect(must(["losetup", "-j", file]).trim()).toBe("");
  });

  test("crash() kills every process of the machine at once; destroy() leaves no mount and no directory", async () => {
    // A volume still attached at the crash: destroy() detaches it.
    const file = join(stage, "vol2.img");
    must(["truncate", "-s", "16M", file]);
    await machine.attachBlockDevice(file, "xvdg");
    await machine.attachInterface("02:00:5e:7a:01:24", BRIDGE, { bridgeNetns: VPC_NS });
    rssMiB.push(machine.rssKiB() / 1024);
    const before = machine.processes();
    expect(before).toContain(machine.leaderPid());
    expect(before.length).toBeGreaterThanOrEqual(4); // nspawn, systemd, journald, twin-hello's sleep, …
    await crashTimed(machine);
    expect(machine.running()).toBe(false);
    expect(before.filter(alive)).toEqual([]);
    await expect(machine.exec(["true"])).rejects.toThrow(/not running/);
    const dir = machine.dir;
    expect(mountedUnder(dir)).toBe(true);
    await machine.destroy();
    await machine.destroy();
    expect(mountedUnder(dir)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(must(["losetup", "-j", file]).trim()).toBe("");
    expect(ip("-n", VPC_NS, "-o", "link", "show", "master", BRIDGE).split("\n").filter(Boolean)).toHaveLength(1);
  });

  test("two more boots for the medians; a clean stop() also leaves nothing", async () => {
    for (const suffix of ["b", "c"]) {
      const m = await bootTimed(`twmb-${ID}-${suffix}`);
      machineIds.push(await sh(m, "cat /etc/machine-id"));
      await sleep(3000);
      rssMiB.push(m.rssKiB() / 1024);
      if (suffix === "b") await crashTimed(m);
      else await m.stop(60_000);
      expect(m.running()).toBe(false);
      await m.destroy();
      expect(existsSync(m.dir)).toBe(false);
    }
    expect(bootMs).toHaveLength(3);
    expect(new Set(machineIds).size).toBe(3); // each instance its own machine ID
  });

  test("a first boot (machine-id `uninitialized`, as `cloud-init clean --machine-id` leaves it) keeps the node's daemons disabled", async () => {
    const m = await bootMachine({
      name: `twmb-${ID}-h`,
      netns: MACHINE_NS,
      userData: "#cloud-config\n{}\n",
      instanceId: INSTANCE_ID,
      files: [{ path: "/etc/machine-id", content: "uninitialized\n", mode: 0o444 }],
    });
    try {
      // It is a first boot: systemd-firstboot.service's ConditionFirstBoot=yes holds (checked once it ran).
      let condition = "";
      for (let i = 0; i < 75 && condition !== "yes"; i++) {
        await sleep(200);
        condition = (await m.exec(["systemctl", "show", "-P", "ConditionResult", "systemd-firstboot.service"])).stdout.trim();
      }
      expect(condition).toBe("yes");
      // preset-all ran in PID 1 before any unit started; the preset file keeps these disabled.
      expect(await sh(m, `systemctl is-enabled ${NODE_UNITS.join(" ")} || true`)).toBe(NODE_UNITS.map(() => "disabled").join("\n"));
      expect(await sh(m, "systemctl is-enabled postgresql.service pgbouncer.service || true")).toBe("masked\nmasked");
    } finally {
      await m.destroy();
    }
  });

  test("waitForCloudInit throws with cloud-init's status and the tail of its output when the user data fails", async () => {
    const failing = "#cloud-config\nruncmd:\n  - [ sh, -c, 'echo twin-failure-marker; exit 3' ]\n";
    const m = await bootMachine({ name: `twmb-${ID}-d`, netns: MACHINE_NS, userData: gzipSync(failing), instanceId: INSTANCE_ID });
    await expect(m.waitForCloudInit(CLOUD_INIT_TIMEOUT_MS)).rejects.toThrow(/status: error[\s\S]*runcmd[\s\S]*twin-failure-marker/);
    await m.destroy();
    expect(m.running()).toBe(false);
  });

  test("reapStaleMachines removes the machine of a process that died without destroy()", async () => {
    const m = await bootMachine({ name: `twmb-${ID}-g`, netns: MACHINE_NS, userData: gzipSync(USER_DATA), instanceId: INSTANCE_ID });
    const file = join(stage, "vol3.img");
    must(["truncate", "-s", "16M", file]);
    await m.attachBlockDevice(file, "xvdf");
    await m.attachInterface("02:00:5e:7a:01:25", BRIDGE, { bridgeNetns: VPC_NS });
    expect(await reapStaleMachines()).not.toContain(m.dir); // its owner (this process) runs
    expect(m.running()).toBe(true);
    // As if this process had died: the state names an owner that has exited.
    const stateFile = join(m.dir, "twin-machine.json");
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as { owner: number };
    state.owner = spawnSync("true").pid!;
    writeFileSync(stateFile, JSON.stringify(state));
    const pids = m.processes();
    expect(await reapStaleMachines()).toContain(m.dir);
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(m.dir)).toBe(false);
    expect(must(["losetup", "-j", file]).trim()).toBe("");
    expect(ip("-n", VPC_NS, "-o", "link", "show", "master", BRIDGE).split("\n").filter(Boolean)).toHaveLength(1);
    await m.destroy();
  });

  test("a boot that fails removes what it made, processes included", async () => {
    const leftovers = () => readdirSync("/var/tmp").filter((d) => d.startsWith(`twin-machine-twmb-${ID}-e-`));
    // An init that never becomes systemd: nspawn runs it and waits.
    const notSystemd = { path: "/usr/lib/systemd/systemd", content: "#!/bin/sh\nexec sleep 600\n", mode: 0o755 };
    await expect(
      bootMachine({ name: `twmb-${ID}-e`, netns: MACHINE_NS, userData: USER_DATA, instanceId: INSTANCE_ID, files: [notSystemd], startTimeoutMs: 5_000 }),
    ).rejects.toThrow(/systemd did not start as PID 1 \(nspawn still running\)/);
    expect(leftovers()).toEqual([]);
    expect(must(["ip", "netns", "pids", MACHINE_NS]).trim()).toBe("");
    await expect(bootMachine({ name: "Not_A_Hostname", netns: MACHINE_NS, userData: "", instanceId: INSTANCE_ID })).rejects.toThrow(/must be 1-63/);
    await expect(bootMachine({ name: `twmb-${ID}-f`, netns: `twmb-none-${ID}`, userData: "", instanceId: INSTANCE_ID })).rejects.toThrow(/does not exist/);
  });
});
