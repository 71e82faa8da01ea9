/**
 * The environment line(s) every benchmark prints first: the machine (OS, kernel, CPUs, memory,
 * load average) and, for the benchmarks that boot a cluster, the versions of the packages the
 * nodes run — from the host's dpkg database, or from a node image root (`--admindir` of the
 * Debian 13 root the twin boots).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";

/** The packages whose versions decide the cluster's behaviour (any that are not installed are left out). */
export const CLUSTER_PACKAGES = [
  "postgresql-15",
  "postgresql-16",
  "postgresql-17",
  "patroni",
  "etcd-server",
  "pgbouncer",
  "haproxy",
  "pgbackrest",
  "cloud-init",
  "systemd",
  "awscli",
] as const;

/** `PRETTY_NAME` of an os-release file under `root` ("/" for the host). */
export function osName(root = "/"): string {
  for (const f of ["etc/os-release", "usr/lib/os-release"]) {
    const p = join(root, f);
    if (existsSync(p)) {
      const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync(p, "utf8"));
      if (m) return m[1];
    }
  }
  return "unknown OS";
}

/** `package version` of each installed package of `names`, from the dpkg database under `root`. */
export function packageVersions(names: readonly string[] = CLUSTER_PACKAGES, root = "/"): string[] {
  const r = spawnSync("dpkg-query", [`--admindir=${join(root, "var/lib/dpkg")}`, "-W", "-f", "${Package} ${Version} ${db:Status-Status}\\n", ...names], { encoding: "utf8" });
  return (r.stdout ?? "")
    .split("\n")
    .map((l) => l.trim().split(" "))
    .filter((p) => p.length === 3 && p[2] === "installed")
    .map((p) => `${p[0]} ${p[1]}`);
}

/** The machine line: Node, OS, kernel, CPUs, memory, 1-minute load average. */
export function machineLine(): string {
  return (
    `node ${process.version}, ${osName()} (kernel ${release()}), ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ` +
    `${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${loadavg()[0].toFixed(1)}`
  );
}

/** The header of a cluster benchmark: the machine, and what the nodes run (`imageRoot`: a node image root, else the host). */
export function clusterEnvironment(imageRoot?: string): string {
  const root = imageRoot ?? "/";
  const where = imageRoot ? `node image ${osName(root)} (${imageRoot})` : `host packages, ${osName(root)}`;
  return `${machineLine()}\nnodes run: ${where}: ${packageVersions(CLUSTER_PACKAGES, root).join(", ") || "no cluster package installed"}`;
}
