/**
 * A host of the harness as the software on it sees it: a network namespace (its own
 * address) plus a private mount namespace in which per-host directories are bind-mounted
 * over the absolute paths the rendered configuration uses (/etc/patroni, /data, …), so
 * the library's files work unchanged while all hosts share this machine's filesystem.
 *
 * A "holder" process (`sleep`) owns the mount namespace; everything else runs inside it
 * through `nsenter`. Killing every process of the network namespace is a hard crash of
 * the host; booting again creates a fresh mount namespace over the same directories (the
 * /data directory plays the slot's EBS volume and survives).
 */
import { spawn } from "child_process";
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from "fs";
import { dirname, join } from "path";
import type { HostDef } from "./constants";
import { RUN_ROOT } from "./constants";
import { run, runOk, sleep, waitFor, type RunOptions, type RunResult } from "./exec";
import { killNamespace, recordCreatedMountpoint } from "./network";

/** Paths every host gets a private copy of (the slot volume /data is added for database nodes). */
export const PRIVATE_PATHS: readonly string[] = [
  "/etc/patroni",
  "/etc/etcd",
  "/etc/pgbackrest",
  "/etc/pgbouncer",
  "/etc/haproxy",
  "/etc/managed-postgres",
  "/etc/systemd/system",
  "/usr/local/sbin",
  "/var/lib/postgresql",
  "/var/lib/cloud",
  "/var/lib/managed-postgres",
  "/var/log/postgresql",
  "/var/log/pgbackrest",
  "/var/log/pgbouncer",
  "/var/log/managed-postgres",
  "/var/spool/pgbackrest",
  "/run/postgresql",
  "/run/pgbouncer-rw",
  "/run/pgbouncer-ro",
  "/run/haproxy",
  "/run/managed-postgres",
  "/tmp",
];

/** Numeric ids of a user and of its primary group, from the host's passwd/group. */
export async function userIds(user: string): Promise<{ uid: number; gid: number }> {
  const out = (await runOk(["id", "-u", user])).trim();
  const gid = (await runOk(["id", "-g", user])).trim();
  return { uid: Number(out), gid: Number(gid) };
}

/** How to run a long-lived service inside a host (what a systemd unit would do). */
export interface ServiceDef {
  /** Unit name, e.g. `patroni`. */
  readonly name: string;
  /** `User=` (`root` when absent). */
  readonly user?: string;
  /** `Group=` (the user's primary group when absent). */
  readonly group?: string;
  /** Extra supplementary groups (`SupplementaryGroups=`). */
  readonly supplementaryGroups?: readonly string[];
  /** `EnvironmentFile=` paths (inside the host); a leading `-` makes one optional. */
  readonly environmentFiles?: readonly string[];
  /** Extra `Environment=` variables. */
  readonly environment?: Record<string, string>;
  /** `ExecStart=` command line (shell words). */
  readonly execStart: string;
}

const BASE_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
  LC_ALL: "C.UTF-8",
};

/** One harness host: network namespace + private mount namespace. */
export class HarnessHost {
  /** Directory on the machine holding this host's private copies of {@link PRIVATE_PATHS}. */
  readonly root: string;
  /** The bind mounts: absolute path in the host → directory on the machine. */
  readonly mounts: ReadonlyMap<string, string>;
  private holderPid?: number;
  private readonly services = new Map<string, number>();

  constructor(
    readonly def: HostDef,
    /** Directory playing the slot's data volume, mounted at /data; absent for non-database hosts. */
    readonly volumeDir?: string,
  ) {
    this.root = join(RUN_ROOT, "hosts", def.key);
    const mounts = new Map<string, string>();
    for (const p of PRIVATE_PATHS) mounts.set(p, join(this.root, "fs", p.replace(/^\//, "").replace(/\//g, "_")));
    if (volumeDir) mounts.set("/data", volumeDir);
    this.mounts = mounts;
  }

  /** Log directory of the harness for this host (service stdout/stderr). */
  get logDir(): string {
    return join(this.root, "logs");
  }

  /** PID of the mount-namespace holder; throws if the host is down. */
  get pid(): number {
    if (!this.holderPid) throw new Error(`host ${this.def.key} is not booted`);
    return this.holderPid;
  }

  /** Whether the host has been booted and not crashed since. */
  get up(): boolean {
    return this.holderPid !== undefined;
  }

  /** The machine path behind an absolute path inside the host. */
  hostPath(path: string): string {
    let best: string | undefined;
    for (const target of this.mounts.keys()) {
      if ((path === target || path.startsWith(target + "/")) && (!best || target.length > best.length)) best = target;
    }
    if (!best) throw new Error(`${path} is not on a private mount of host ${this.def.key} (add its directory to PRIVATE_PATHS)`);
    return this.mounts.get(best)! + path.slice(best.length);
  }

  /** Writes a file inside the host with a mode and `user:group` owner. */
  async writeFile(path: string, content: string | Buffer, mode: string, owner: string): Promise<void> {
    const target = this.hostPath(path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    const [user, group] = owner.split(":");
    const u = await userIds(user);
    const g = group ? Number((await runOk(["getent", "group", group])).split(":")[2]) : u.gid;
    chownSync(target, u.uid, g);
    chmodSync(target, parseInt(mode, 8));
  }

  /** Creates a directory inside the host with a mode and owner. */
  async mkdir(path: string, mode: string, owner: string): Promise<void> {
    const target = this.hostPath(path);
    mkdirSync(target, { recursive: true });
    const [user, group] = owner.split(":");
    const u = await userIds(user);
    const g = group ? Number((await runOk(["getent", "group", group])).split(":")[2]) : u.gid;
    chownSync(target, u.uid, g);
    chmodSync(target, parseInt(mode, 8));
  }

  /**
   * Boots the host: creates its private directories (first boot), then a holder process
   * in the network namespace with a private mount namespace and the bind mounts.
   */
  async boot(): Promise<void> {
    if (this.holderPid) throw new Error(`host ${this.def.key} is already up`);
    mkdirSync(this.logDir, { recursive: true });
    for (const [target, source] of this.mounts) {
      if (!existsSync(target)) {
        mkdirSync(target, { recursive: true });
        recordCreatedMountpoint(target);
      }
      if (!existsSync(source)) this.createPrivateDir(target, source);
    }
    const script =
      [...this.mounts].map(([target, source]) => `mount --bind '${source}' '${target}'`).join(" && ") +
      " && echo mounted && exec sleep 2147483647";
    const log = openSync(join(this.logDir, "holder.log"), "a");
    const child = spawn("ip", ["netns", "exec", this.def.netns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script], {
      detached: true,
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    child.unref();
    const pid = child.pid!;
    this.holderPid = pid;
    // Ready once /data (or /tmp) inside the host is the bind-mounted directory.
    const probe = this.volumeDir ? "/data" : "/tmp";
    await waitFor(
      `host ${this.def.key} mounts`,
      async () => {
        const r = await run(["nsenter", "-t", String(pid), "-m", "--", "mountpoint", "-q", probe], { timeoutMs: 10_000 });
        return r.code === 0 ? true : undefined;
      },
      30_000,
      200,
    );
  }

  /**
   * Creates a private directory like the machine's own (owner and mode of the original,
   * e.g. /run/postgresql postgres:postgres 2775 from postgresql-common), empty, as on a
   * freshly booted image.
   */
  private createPrivateDir(target: string, source: string): void {
    mkdirSync(source, { recursive: true });
    const st = statSync(target);
    chownSync(source, st.uid, st.gid);
    chmodSync(source, st.mode & 0o7777);
  }

  /**
   * Forgets everything but the data volume, as when the Auto Scaling group replaces a dead
   * instance by a fresh one: the host's private directories are emptied (not /data).
   */
  wipeInstance(): void {
    if (this.holderPid) throw new Error(`host ${this.def.key} is up: crash it first`);
    for (const [target, source] of this.mounts) {
      if (target === "/data" || !existsSync(source)) continue;
      rmSync(source, { recursive: true, force: true });
      this.createPrivateDir(target, source);
    }
  }

  /** SIGKILLs every process of the host at once (hard crash); services must be started again. */
  async crash(): Promise<number[]> {
    const killed = await killNamespace(this.def.netns);
    this.holderPid = undefined;
    this.services.clear();
    return killed;
  }

  /** Runs a command inside the host (as root unless `user`) and waits for it. */
  exec(argv: readonly string[], options: RunOptions & { user?: string } = {}): Promise<RunResult> {
    const inner = options.user ? ["setpriv", `--reuid=${options.user}`, `--regid=${options.user}`, "--init-groups", "--", ...argv] : [...argv];
    return run(["nsenter", "-t", String(this.pid), "-m", "-n", "--", ...inner], {
      ...options,
      env: { ...BASE_ENV, HOME: options.user === "postgres" ? "/var/lib/postgresql" : "/root", ...(options.env ?? {}) },
    });
  }

  /** Like {@link exec} but rejects on failure. */
  async execOk(argv: readonly string[], options: RunOptions & { user?: string } = {}): Promise<string> {
    const r = await this.exec(argv, options);
    if (r.code !== 0 || r.timedOut) {
      throw new Error(
        `[${this.def.key}] ${argv.join(" ")} failed (${r.timedOut ? "timed out" : `exit ${r.code ?? r.signal}`})\n` +
          `stdout: ${r.stdout.slice(-3000)}\nstderr: ${r.stderr.slice(-3000)}`,
      );
    }
    return r.stdout;
  }

  /** Wraps a command line so it runs with the service's user, groups and environment files. */
  private serviceArgv(svc: ServiceDef, command: string): string[] {
    const envFiles = (svc.environmentFiles ?? [])
      .map((f) => (f.startsWith("-") ? `[ -r '${f.slice(1)}' ] && . '${f.slice(1)}';` : `. '${f}' || exit 1;`))
      .join(" ");
    const shell = `set -a; ${envFiles} set +a; exec ${command}`;
    const user = svc.user ?? "root";
    const priv =
      user === "root"
        ? []
        : [
            "setpriv",
            `--reuid=${user}`,
            `--regid=${svc.group ?? user}`,
            ...(svc.supplementaryGroups?.length ? [`--groups=${svc.supplementaryGroups.join(",")}`] : ["--init-groups"]),
            "--",
          ];
    // Environment files are read as root (systemd does), then privileges drop.
    if (priv.length) {
      return ["nsenter", "-t", String(this.pid), "-m", "-n", "--", "sh", "-c", `set -a; ${envFiles} set +a; exec "$@"`, "sh", ...priv, "sh", "-c", `exec ${command}`];
    }
    return ["nsenter", "-t", String(this.pid), "-m", "-n", "--", "sh", "-c", shell];
  }

  /** Starts a service (ExecStart in the background). */
  async startService(svc: ServiceDef): Promise<number> {
    const env = {
      ...BASE_ENV,
      HOME: svc.user === "postgres" ? "/var/lib/postgresql" : svc.user === "etcd" ? "/var/lib/etcd" : "/root",
      ...(svc.environment ?? {}),
    };
    const log = openSync(join(this.logDir, `${svc.name}.log`), "a");
    const argv = this.serviceArgv(svc, svc.execStart);
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", log, log], env });
    closeSync(log);
    child.unref();
    this.services.set(svc.name, child.pid!);
    await sleep(100);
    return child.pid!;
  }

  /** PID of a running service started by {@link startService}. */
  servicePid(name: string): number | undefined {
    return this.services.get(name);
  }

  /** Stops one service (SIGTERM, then SIGKILL after `graceMs`). */
  async stopService(name: string, graceMs = 15_000): Promise<void> {
    const pid = this.services.get(name);
    if (!pid) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* gone */
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(200);
    }
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
    this.services.delete(name);
  }
}
