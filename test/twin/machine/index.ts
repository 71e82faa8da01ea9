/**
 * Machines of the EC2 twin (issues 10 and 11): the Debian 13 node image booted like an EC2
 * instance, with real systemd as PID 1 and real cloud-init running the user data.
 *
 * A machine is `systemd-nspawn --boot` of a per-machine overlay on the cached node root of
 * scripts/build-node-root.sh (lower = the root, never written; upper/work in a temporary
 * directory under /var/tmp), in a network namespace the caller created (`ip netns add`).
 * The user data reaches cloud-init as EC2's datasource hands it over: the NoCloud seed
 * `/var/lib/cloud/seed/nocloud/{meta-data,user-data}` (cloud-init 25.1's ds-identify finds it;
 * `datasource_list: [ NoCloud ]` in /etc/cloud/cloud.cfg.d/90-twin-nocloud.cfg pins it), the
 * user data byte for byte (gzip'd is fine: cloud-init gunzips it, as on EC2).
 *
 * How nspawn runs (systemd-nspawn 252 of this Debian 12 host, whose PID 1 is not systemd):
 * - `nsenter --net=/run/netns/<netns> systemd-nspawn --network-namespace-path=…`: nspawn
 *   itself runs in the machine's namespace, so the sysfs it mounts shows the machine's own
 *   links in /sys/class/net (with `--network-namespace-path` alone it showed the host's).
 * - `--register=no --keep-unit`: no machined, no scope unit, hence no device cgroup either:
 *   a loop device node made in the machine's /dev opens (mkfs, mount) without `DeviceAllow=`.
 * - `--capability=all`: the node runs `ip addr/rule/route`, mkfs, mount.
 * - `SYSTEMD_NSPAWN_API_VFS_WRITABLE=network`: /proc/sys/net writable (an EC2 instance can
 *   set net.* sysctls; nspawn makes /proc/sys read-only otherwise).
 * - `--resolv-conf=off --timezone=off --link-journal=no`: the image's own files, nothing of
 *   the host's.
 * - `lo` of the namespace is brought up from outside (nspawn does not configure it).
 *
 * Hotplug (what the twin's AttachNetworkInterface / AttachVolume do while it runs):
 * a veth whose inner end has the ENI's MAC appears in the machine's namespace as `ethN`
 * (down, no address: the node's bootstrap finds it by MAC); a loop device of a file appears
 * as /dev/<name> (a node with the loop's major:minor; no udev runs in a container, so no
 * /dev/disk/by-* links unless `byId` asks for one).
 *
 * Needs root and systemd-container; fails (never skips) elsewhere.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { assertSystemTier } from "../../support/prerequisites";
import { alive, attempt, childrenOf, loopsOf, must, namespaceOf, pidsInNamespace, rssKiB, run, sleep, type RunResult } from "./host";

export { detachLoopsOf, loopsOf } from "./host";

/** A file placed in the machine's root before it boots. */
export interface MachineFile {
  /** Absolute path inside the machine, e.g. `/etc/hosts`. Symlinks resolve inside the root. */
  readonly path: string;
  readonly content: string | Buffer;
  /** @default 0o644 */
  readonly mode?: number;
  /** `user:group` resolved in the machine's /etc/passwd. @default "root:root" */
  readonly owner?: string;
}

/** Options of {@link bootMachine}. */
export interface MachineOptions {
  /** Unique among running machines; also the hostname (meta-data `local-hostname`) and nspawn's `--machine`. 1-63 of `[a-z0-9-]`. */
  readonly name: string;
  /** An existing `ip netns` name: the machine's network namespace (its links are the instance's ENIs). */
  readonly netns: string;
  /** NoCloud user-data: exactly the bytes EC2 would hand cloud-init (gzip'd allowed). */
  readonly userData: Buffer | string;
  /** NoCloud meta-data `instance-id`, e.g. `i-0123456789abcdef0`. */
  readonly instanceId: string;
  /** Written into the machine's root (the overlay's upper layer) before boot. */
  readonly files?: readonly MachineFile[];
  /**
   * PEM certificates the machine trusts (e.g. the twin's CA for the AWS endpoints): written to
   * /usr/local/share/ca-certificates/twin-<i>.crt and added to /etc/ssl/certs/ca-certificates.crt
   * by the root's own `update-ca-certificates` before boot (the bundle curl, OpenSSL and the
   * AWS CLI read). @default - none
   */
  readonly caCertificates?: readonly string[];
  /** Lines added to the machine's /etc/hosts before boot: name → IPv4 address (e.g. the AWS endpoint names → the twin). @default - none */
  readonly hosts?: Readonly<Record<string, string>>;
  /** Lower layer. @default - {@link nodeRoot}`()` (the cached Debian 13 node root) */
  readonly root?: string;
  /** Limit for systemd to become the container's PID 1, milliseconds. @default 30000 */
  readonly startTimeoutMs?: number;
}

/** Options of {@link Machine.attachInterface}. */
export interface AttachInterfaceOptions {
  /** `ip netns` name of the bridge's namespace. @default - the host's (root) namespace */
  readonly bridgeNetns?: string;
  /** Link name inside the machine. @default - the first free `ethN`, N ≥ 1 */
  readonly name?: string;
}

/** Options of {@link Machine.attachBlockDevice}. */
export interface AttachBlockDeviceOptions {
  /** Also create `/dev/disk/by-id/<byId>` → the device (e.g. `nvme-Amazon_Elastic_Block_Store_vol0123…`, as udev names an EBS volume on Nitro). */
  readonly byId?: string;
}

/** A booted machine. */
export interface Machine {
  readonly name: string;
  /** Temporary directory of the machine (overlay upper/work/root, console.log) under /var/tmp; removed by {@link destroy}. */
  readonly dir: string;
  /** PID of systemd-nspawn (on the host). */
  readonly pid: number;
  /** Host PID of the container's PID 1 (systemd). */
  leaderPid(): number;
  /** Whether any process of the machine (nspawn or inside) still runs. */
  running(): boolean;
  /** Host PIDs of nspawn and every process inside the machine. */
  processes(): number[];
  /** Sum of VmRSS of {@link processes}, KiB. */
  rssKiB(): number;
  /** The console output so far (nspawn `--console=read-only`). */
  consoleLog(): string;
  /**
   * Runs `cmd` inside the machine (all its namespaces, root, PATH of a Debian root shell) under
   * coreutils `timeout`; never throws for a non-zero status.
   * @param opts.timeoutMs @default 30000 (status null and "killed after" in stderr when reached)
   */
  exec(cmd: readonly string[], opts?: { timeoutMs?: number; input?: string }): Promise<RunResult>;
  /**
   * `cloud-init status --wait --long` inside, bounded by `timeoutMs`; resolves when the status is
   * `done` (recoverable errors allowed: the image has no ssh-keygen, so cloud-init always
   * records its ssh host-key warnings and exits 2, "degraded done").
   * @throws Error with the status output and the last 40 lines of /var/log/cloud-init-output.log
   */
  waitForCloudInit(timeoutMs: number): Promise<void>;
  /** `journalctl -o short-iso -n <lines> [-u <unit>]` inside. @param lines @default 200 */
  journal(unit?: string, lines?: number): Promise<string>;
  /** SIGKILL to nspawn and every process inside at once (an instance failure); resolves when none is left (≤ 10 s). @throws Error naming the survivors */
  crash(): Promise<void>;
  /** Clean poweroff (SIGTERM to nspawn = `systemctl poweroff` inside); after `timeoutMs` (default 60000) it crashes the machine and throws. */
  stop(timeoutMs?: number): Promise<void>;
  /** Adds a veth pair: the end with `mac` appears inside (down); the other end is enslaved to `peerBridge`. Returns the link's name inside. @throws Error when the bridge or the MAC is wrong */
  attachInterface(mac: string, peerBridge: string, opts?: AttachInterfaceOptions): Promise<string>;
  /** Deletes the link with `mac` from the machine's namespace (its peer goes with it). @throws Error when no link has that MAC */
  detachInterface(mac: string): Promise<void>;
  /** `losetup` of `file` on the host; the device appears as /dev/<devName> inside. Returns `/dev/<devName>`. */
  attachBlockDevice(file: string, devName: string, opts?: AttachBlockDeviceOptions): Promise<string>;
  /** Removes /dev/<devName> inside and detaches the loop device (deferred by the kernel while mounted). @throws Error when not attached */
  detachBlockDevice(devName: string): Promise<void>;
  /** Crash if running, remove veths and loop devices it attached, unmount and remove the overlay. Idempotent. */
  destroy(): Promise<void>;
}

const PATH_INSIDE = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const DEV_RE = /^[a-z][a-z0-9]{1,15}$/;
const REPO = join(__dirname, "..", "..", "..");
const NODE_ROOT_SCRIPT = join(REPO, "scripts", "build-node-root.sh");

const cachedRoots = new Map<string, string>();

/**
 * Path of a cached node root: the last line `scripts/build-node-root.sh <suite>` prints (it
 * builds the root when its recipe changed: ~6 minutes on the 2-core machine). Never write into it.
 * @param suite - `trixie` (Debian 13, PostgreSQL 17: image/) or `bookworm` (Debian 12,
 *   PostgreSQL 15: image/bookworm/). @default "trixie"
 * @throws Error with the script's last output when it fails
 */
export function nodeRoot(suite: "trixie" | "bookworm" = "trixie"): string {
  const cached = cachedRoots.get(suite);
  if (cached) return cached;
  assertSystemTier("nodeRoot (root, debootstrap)");
  const r = spawnSync(NODE_ROOT_SCRIPT, [suite], { encoding: "utf8", timeout: 40 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  const path = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !path.startsWith("/")) {
    throw new Error(`scripts/build-node-root.sh ${suite} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ""}):\n${(r.stderr ?? "").slice(-3000)}`);
  }
  cachedRoots.set(suite, path);
  return path;
}

const live = new Set<NspawnMachine>();

/** Destroys every machine this process booted and has not destroyed (for afterAll / failure paths). */
export async function destroyAllMachines(): Promise<void> {
  for (const m of [...live]) await m.destroy();
}

/**
 * Boots a machine and resolves once systemd is PID 1 inside (cloud-init may still run:
 * {@link Machine.waitForCloudInit}). On any failure everything made so far is removed.
 * @throws Error for a bad name, a missing netns, a name already running, or when nspawn exits
 *   before systemd starts (with the console output)
 */
export async function bootMachine(opts: MachineOptions): Promise<Machine> {
  assertSystemTier("bootMachine (root, systemd-nspawn, network namespaces)");
  if (!NAME_RE.test(opts.name)) throw new Error(`machine name \`${opts.name}\` must be 1-63 of [a-z0-9-], starting with a letter or digit`);
  if (!existsSync(`/run/netns/${opts.netns}`)) throw new Error(`network namespace \`${opts.netns}\` does not exist (ip netns add ${opts.netns})`);
  for (const m of live) if (m.name === opts.name) throw new Error(`a machine named \`${opts.name}\` is already running`);
  const lower = opts.root ?? nodeRoot();
  const dir = mkdtempSync(join("/var/tmp", `twin-machine-${opts.name}-`));
  const m = new NspawnMachine(opts.name, opts.netns, dir);
  live.add(m);
  try {
    await m.start(lower, opts);
    return m;
  } catch (e) {
    await m.destroy();
    throw e;
  }
}

interface HotplugLink {
  readonly mac: string;
  readonly hostEnd: string;
  readonly bridgeNetns?: string;
}

class NspawnMachine implements Machine {
  pid = 0;
  private leader = 0;
  private pidNamespace = "";
  /** Host PID of the container's PID 1 from the start (before it is systemd). */
  private init = 0;
  private readonly merged: string;
  private readonly links: HotplugLink[] = [];
  private readonly loops = new Map<string, { loop: string; file: string; byId?: string }>();
  private destroying: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly netns: string,
    readonly dir: string,
  ) {
    this.merged = join(dir, "root");
  }

  async start(lower: string, opts: MachineOptions): Promise<void> {
    for (const d of ["upper", "work", "root"]) mkdirSync(join(this.dir, d), { mode: 0o755 });
    must(["mount", "-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${this.dir}/upper,workdir=${this.dir}/work`, this.merged]);
    const seed: MachineFile[] = [
      { path: "/var/lib/cloud/seed/nocloud/meta-data", content: `${JSON.stringify({ "instance-id": opts.instanceId, "local-hostname": opts.name })}\n`, mode: 0o600 },
      { path: "/var/lib/cloud/seed/nocloud/user-data", content: opts.userData, mode: 0o600 },
      { path: "/etc/cloud/cloud.cfg.d/90-twin-nocloud.cfg", content: "# EC2 twin: the user data comes from the NoCloud seed\ndatasource_list: [ NoCloud ]\n" },
    ];
    const cas = (opts.caCertificates ?? []).map((pem, i) => ({ path: `/usr/local/share/ca-certificates/twin-${i}.crt`, content: pem }));
    for (const f of [...seed, ...cas, ...(opts.files ?? [])]) this.writeFile(f);
    if (cas.length > 0) this.chroot(["update-ca-certificates"]);
    const hosts = Object.entries(opts.hosts ?? {});
    for (const [name, address] of hosts) {
      if (!/^[A-Za-z0-9.-]+$/.test(name) || !/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw new Error(`hosts entry \`${name}\` → \`${address}\` must be a DNS name and an IPv4 address`);
    }
    if (hosts.length > 0) this.chroot(["sh", "-c", "cat >> /etc/hosts"], `# EC2 twin\n${hosts.map(([n, a]) => `${a} ${n}`).join("\n")}\n`);
    must(["ip", "-n", this.netns, "link", "set", "lo", "up"]);

    const console = openSync(join(this.dir, "console.log"), "a");
    try {
      const child = spawn(
        "nsenter",
        [
          `--net=/run/netns/${this.netns}`,
          "--",
          "systemd-nspawn",
          "-D",
          this.merged,
          "--register=no",
          "--keep-unit",
          `--machine=${this.name}`,
          `--network-namespace-path=/run/netns/${this.netns}`,
          "--capability=all",
          "--console=read-only",
          "--resolv-conf=off",
          "--timezone=off",
          "--link-journal=no",
          "--boot",
        ],
        { detached: true, stdio: ["ignore", console, console], env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: "network" } },
      );
      child.unref();
      this.pid = child.pid ?? 0;
    } finally {
      closeSync(console);
    }
    if (!this.pid) throw new Error(`could not start systemd-nspawn for ${this.name}`);
    this.saveState();
    const own = namespaceOf(this.pid, "pid");
    const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (!alive(this.pid)) break;
      for (const c of childrenOf(this.pid)) {
        const ns = namespaceOf(c, "pid");
        let exe = "";
        try {
          exe = readlinkSync(`/proc/${c}/exe`);
        } catch {
          /* gone, or not yet exec'd */
        }
        if (!ns || ns === own) continue;
        if (!this.pidNamespace) {
          // Known from here on: crash(), destroy() and reapStaleMachines() kill the whole namespace.
          this.pidNamespace = ns;
          this.init = c;
          this.saveState();
        }
        if (exe.endsWith("/systemd")) {
          this.leader = c;
          return;
        }
      }
      await sleep(50);
    }
    throw new Error(`${this.name}: systemd did not start as PID 1 (nspawn ${alive(this.pid) ? "still running" : "exited"}). Console:\n${this.consoleLog().slice(-3000)}`);
  }

  /** Writes a file into the stopped machine's root through chroot, so its symlinks resolve inside it. */
  private writeFile(f: MachineFile): void {
    if (!f.path.startsWith("/")) throw new Error(`machine file path \`${f.path}\` must be absolute`);
    const script = 'set -e; mkdir -p "$(dirname "$1")"; rm -f "$1"; cat > "$1"; chmod "$2" "$1"; chown "$3" "$1"';
    this.chroot(["/bin/sh", "-c", script, "sh", f.path, (f.mode ?? 0o644).toString(8), f.owner ?? "root:root"], f.content);
  }

  /** Runs a command chrooted into the stopped machine's root. @throws Error with its stderr */
  private chroot(cmd: readonly string[], input: string | Buffer = ""): void {
    const r = spawnSync("chroot", [this.merged, ...cmd], { input, timeout: 60_000, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${this.name}: \`${cmd.join(" ")}\` in its root failed (status ${r.status}): ${r.stderr}`);
  }

  leaderPid(): number {
    return this.leader;
  }

  running(): boolean {
    return this.processes().length > 0;
  }

  processes(): number[] {
    const pids = this.pidNamespace ? pidsInNamespace(this.pidNamespace) : [];
    if (this.pid && alive(this.pid)) pids.unshift(this.pid);
    return pids;
  }

  rssKiB(): number {
    return this.processes().reduce((sum, p) => sum + rssKiB(p), 0);
  }

  consoleLog(): string {
    try {
      return readFileSync(join(this.dir, "console.log"), "utf8");
    } catch {
      return "";
    }
  }

  async exec(cmd: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    if (!this.leader || !alive(this.leader)) throw new Error(`${this.name} is not running: cannot run \`${cmd.join(" ")}\``);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    return run(
      ["nsenter", "-t", String(this.leader), "-a", "--", "/usr/bin/env", "-i", `PATH=${PATH_INSIDE}`, "HOME=/root", "LANG=C.UTF-8", "timeout", "-k", "2", seconds, ...cmd],
      { timeoutMs: timeoutMs + 5_000, input: opts.input },
    );
  }

  async waitForCloudInit(timeoutMs: number): Promise<void> {
    const r = await this.exec(["cloud-init", "status", "--wait", "--long"], { timeoutMs });
    if (/^\.*status: done$/m.test(r.stdout) && (r.status === 0 || r.status === 2)) return;
    const tail = this.leader && alive(this.leader) ? (await this.exec(["tail", "-n", "40", "/var/log/cloud-init-output.log"], { timeoutMs: 10_000 })).stdout : "(machine not running)";
    throw new Error(
      `${this.name}: cloud-init did not reach "status: done" (exit ${r.status}, limit ${timeoutMs} ms):\n${r.stdout}${r.stderr}\n--- tail of /var/log/cloud-init-output.log:\n${tail}`,
    );
  }

  async journal(unit?: string, lines = 200): Promise<string> {
    const r = await this.exec(["journalctl", "--no-pager", "-o", "short-iso", "-n", String(lines), ...(unit ? ["-u", unit] : [])]);
    return r.stdout + r.stderr;
  }

  async crash(): Promise<void> {
    const victims = this.processes();
    if (this.leader) victims.unshift(this.leader);
    for (const p of victims) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    // The kernel kills the rest of the PID namespace when its init dies; wait for all of it.
    for (let i = 0; i < 500; i++) {
      if (!this.running()) return;
      if (i % 50 === 49) for (const p of this.processes()) attemptKill(p);
      await sleep(20);
    }
    throw new Error(`${this.name}: processes left 10 s after SIGKILL: ${this.processes().join(" ")}`);
  }

  async stop(timeoutMs = 60_000): Promise<void> {
    if (!this.running()) return;
    attemptKill(this.pid, "SIGTERM");
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running()) return;
      await sleep(100);
    }
    // what systemd was still waiting for (the jobs and the units still stopping), for the error
    const holding = await this.exec(["sh", "-c", "systemctl list-jobs --no-pager --no-legend; systemctl list-units --no-pager --no-legend --state=deactivating"], { timeoutMs: 5_000 })
      .then((r) => (r.stdout + r.stderr).trim().replace(/\s*\n\s*/g, "; "))
      .catch((err: unknown) => `(not readable: ${String(err)})`);
    await this.crash();
    throw new Error(`${this.name}: no clean poweroff within ${timeoutMs} ms (crashed instead); still waiting: ${holding || "(nothing listed)"}`);
  }

  async attachInterface(mac: string, peerBridge: string, opts: AttachInterfaceOptions = {}): Promise<string> {
    const want = mac.toLowerCase();
    if (!MAC_RE.test(want)) throw new Error(`\`${mac}\` is not a MAC address (xx:xx:xx:xx:xx:xx)`);
    const inNs = (args: string[]) => (opts.bridgeNetns ? ["ip", "-n", opts.bridgeNetns, ...args] : ["ip", ...args]);
    must(inNs(["link", "show", "dev", peerBridge, "type", "bridge"]));
    const present = await this.linkNames();
    if (present.some((l) => l.mac === want)) throw new Error(`${this.name} already has a link with MAC ${want}`);
    let name = opts.name;
    for (let n = 1; !name && n < 64; n++) if (!present.some((l) => l.name === `eth${n}`)) name = `eth${n}`;
    const hostEnd = `twv${randomBytes(5).toString("hex")}`;
    must(inNs(["link", "add", hostEnd, "type", "veth", "peer", "name", name!, "address", want, "netns", this.netns]));
    try {
      must(inNs(["link", "set", hostEnd, "master", peerBridge, "up"]));
    } catch (e) {
      attempt(inNs(["link", "del", hostEnd]));
      throw e;
    }
    this.links.push({ mac: want, hostEnd, bridgeNetns: opts.bridgeNetns });
    this.saveState();
    return name!;
  }

  async detachInterface(mac: string): Promise<void> {
    const want = mac.toLowerCase();
    const link = (await this.linkNames()).find((l) => l.mac === want);
    if (!link) throw new Error(`${this.name} has no link with MAC ${want}`);
    must(["ip", "-n", this.netns, "link", "del", link.name]);
    const i = this.links.findIndex((l) => l.mac === want);
    if (i >= 0) this.links.splice(i, 1);
    this.saveState();
  }

  /** Links of the machine's namespace: name and MAC (lower case). */
  private async linkNames(): Promise<{ name: string; mac: string }[]> {
    const out = must(["ip", "-n", this.netns, "-o", "link", "show"]);
    return out
      .split("\n")
      .map((l) => /^\d+: ([^:@]+)[@:].*link\/\S+ ([0-9a-f:]+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ name: m[1]!, mac: m[2]! }));
  }

  async attachBlockDevice(file: string, devName: string, opts: AttachBlockDeviceOptions = {}): Promise<string> {
    if (!DEV_RE.test(devName)) throw new Error(`device name \`${devName}\` must be like xvdf (2-16 of [a-z0-9])`);
    if (this.loops.has(devName)) throw new Error(`${this.name} already has /dev/${devName}`);
    if (opts.byId !== undefined && !/^[A-Za-z0-9_.:-]+$/.test(opts.byId)) throw new Error(`byId \`${opts.byId}\` must be a file name of [A-Za-z0-9_.:-]`);
    const loop = must(["losetup", "--find", "--show", file]).trim();
    try {
      const rdev = statSync(loop).rdev;
      const major = (rdev >> 8) & 0xfff;
      const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
      const link = opts.byId ? ` && mkdir -p /dev/disk/by-id && ln -sfn ../../${devName} /dev/disk/by-id/${opts.byId}` : "";
      const r = await this.exec(["sh", "-c", `mknod -m 0660 /dev/${devName} b ${major} ${minor} && chgrp disk /dev/${devName}${link}`], { timeoutMs: 10_000 });
      if (r.status !== 0) throw new Error(`${this.name}: mknod /dev/${devName} failed: ${r.stderr}`);
    } catch (e) {
      attempt(["losetup", "-d", loop]);
      throw e;
    }
    this.loops.set(devName, { loop, file: resolve(file), byId: opts.byId });
    this.saveState();
    return `/dev/${devName}`;
  }

  async detachBlockDevice(devName: string): Promise<void> {
    const att = this.loops.get(devName);
    if (!att) throw new Error(`${this.name} has no /dev/${devName} attached`);
    if (this.leader && alive(this.leader)) {
      await this.exec(["rm", "-f", `/dev/${devName}`, ...(att.byId ? [`/dev/disk/by-id/${att.byId}`] : [])], { timeoutMs: 10_000 });
    }
    must(["losetup", "-d", att.loop]);
    this.loops.delete(devName);
    this.saveState();
  }

  destroy(): Promise<void> {
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  /** Records what {@link reapStaleMachines} needs if this process dies without destroy(). */
  private saveState(): void {
    const state: MachineState = {
      owner: process.pid,
      ownerStart: startTime(process.pid),
      nspawn: this.pid,
      nspawnStart: startTime(this.pid),
      init: this.init,
      initStart: this.init ? startTime(this.init) : "",
      pidNamespace: this.pidNamespace,
      links: this.links.map((l) => ({ hostEnd: l.hostEnd, bridgeNetns: l.bridgeNetns })),
      loops: [...this.loops.values()].map((l) => ({ loop: l.loop, file: l.file })),
    };
    writeFileSync(join(this.dir, STATE_FILE), JSON.stringify(state));
  }

  private async teardown(): Promise<void> {
    const problems: string[] = [];
    try {
      if (this.running()) await this.crash();
    } catch (e) {
      problems.push(String(e));
    }
    for (const l of this.links) attempt(l.bridgeNetns ? ["ip", "-n", l.bridgeNetns, "link", "del", l.hostEnd] : ["ip", "link", "del", l.hostEnd]);
    for (const { loop, file } of this.loops.values()) detachLoop(loop, file);
    this.loops.clear();
    for (let i = 0; i < 20 && mountedUnder(this.dir); i++) {
      if (attempt(["umount", this.merged]) !== 0) await sleep(100);
    }
    if (mountedUnder(this.dir)) attempt(["umount", "-l", this.merged]);
    if (mountedUnder(this.dir)) problems.push(`${this.merged} is still mounted`);
    else rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
    if (problems.length > 0) throw new Error(`${this.name}: destroy incomplete: ${problems.join("; ")}`);
  }
}

const STATE_FILE = "twin-machine.json";

/** What a machine's directory records about it (twin-machine.json). */
interface MachineState {
  readonly owner: number;
  readonly ownerStart: string;
  readonly nspawn: number;
  readonly nspawnStart: string;
  /** The container's PID 1 (host PID, its start time) and its PID namespace; empty before nspawn made it. */
  readonly init: number;
  readonly initStart: string;
  readonly pidNamespace: string;
  readonly links: readonly { hostEnd: string; bridgeNetns?: string }[];
  readonly loops: readonly { loop: string; file: string }[];
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot): tells a PID's reuse apart. "" when gone. */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

/**
 * Removes the machines of processes that died without destroy() (a killed jest run): every
 * /var/tmp/twin-machine-* whose twin-machine.json names an owner that no longer runs. Kills
 * its nspawn and every process of its PID namespace (while its recorded PID 1 still runs:
 * PIDs are compared with their start times, so a reused PID is never hit), deletes the veths
 * and loop devices it recorded (a loop only while it is still backed by the recorded file, also
 * a deleted one), unmounts and removes the directory. Machines of running processes are left alone.
 * @returns the directories removed
 */
export async function reapStaleMachines(): Promise<string[]> {
  assertSystemTier("reapStaleMachines (root)");
  const reaped: string[] = [];
  for (const entry of readdirSync("/var/tmp").filter((d) => d.startsWith("twin-machine-"))) {
    const dir = join("/var/tmp", entry);
    let state: MachineState;
    try {
      state = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")) as MachineState;
    } catch {
      continue; // being created, or not ours
    }
    if (alive(state.owner) && startTime(state.owner) === state.ownerStart) continue;
    const root = join(dir, "root");
    const victims = () => [
      ...(state.nspawn && startTime(state.nspawn) === state.nspawnStart ? [state.nspawn] : []),
      ...(state.init && startTime(state.init) === state.initStart && namespaceOf(state.init, "pid") === state.pidNamespace ? pidsInNamespace(state.pidNamespace) : []),
    ];
    for (let i = 0; i < 50; i++) {
      const left = victims();
      if (left.length === 0) break;
      for (const p of left) attemptKill(p);
      await sleep(100);
    }
    for (const l of state.links) attempt(l.bridgeNetns ? ["ip", "-n", l.bridgeNetns, "link", "del", l.hostEnd] : ["ip", "link", "del", l.hostEnd]);
    for (const l of state.loops) detachLoop(l.loop, l.file);
    if (mountedUnder(dir)) attempt(["umount", root]);
    if (mountedUnder(dir)) attempt(["umount", "-l", root]);
    if (!mountedUnder(dir)) {
      rmSync(dir, { recursive: true, force: true });
      reaped.push(dir);
    }
  }
  return reaped;
}

/** `losetup -d` of `loop` only while its backing file is still `file`, also deleted meanwhile (a freed loop may be someone else's now). */
function detachLoop(loop: string, file: string): void {
  if (loopsOf(file).includes(loop)) attempt(["losetup", "-d", loop]);
}

function attemptKill(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}

/** Whether this process's mount table has a mount at or under `dir`. */
export function mountedUnder(dir: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => {
      const target = l.split(" ")[4];
      return target !== undefined && (target === dir || target.startsWith(`${dir}/`));
    });
}
