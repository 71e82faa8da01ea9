/**
 * What the system tier needs from the machine, and the guard that keeps the unit tier free of it.
 *
 * Three tiers (README, "Tests"):
 * - unit (`npm test`, jest.config.js): Node and npm only, any user. Its setup file sets
 *   {@link TEST_TIER_VARIABLE} to `unit`, and every helper here throws when called there.
 * - system (`npm run test:system`, jest.system.config.js): files named `*.system.test.ts`
 *   (and test/image), run as root after `sudo npm run setup:system`.
 * - live (`npm run test:live`, jest.live.config.js): the three-zone cluster harness in test/live.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Environment variable naming the jest tier a test runs in: `unit` or `system` (set by the configs' setup files). */
export const TEST_TIER_VARIABLE = "MANAGED_POSTGRES_TEST_TIER";

/** The command that installs every Debian package of {@link DEBIAN_PACKAGES} (scripts/setup-system.sh). */
export const SETUP_COMMAND = "sudo npm run setup:system";

/**
 * The Debian 12 package that provides each command (or file) a system test runs; `terraform`
 * has none (HashiCorp ships it: https://developer.hashicorp.com/terraform/install). The
 * packages are the ones scripts/setup-system.sh installs.
 */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  patroni: "patroni",
  etcd: "etcd-server",
  etcdctl: "etcd-client",
  haproxy: "haproxy",
  pgbouncer: "pgbouncer",
  "/usr/sbin/pgbouncer": "pgbouncer",
  pgbackrest: "pgbackrest",
  "cloud-init": "cloud-init",
  shellcheck: "shellcheck",
  "systemd-analyze": "systemd",
  jq: "jq",
  aws: "awscli",
  openssl: "openssl",
  curl: "curl",
  python3: "python3",
  ip: "iproute2",
  unshare: "util-linux",
  runuser: "util-linux",
  blkid: "util-linux",
  mkswap: "util-linux",
  losetup: "mount",
  "mkfs.ext4": "e2fsprogs",
  debootstrap: "debootstrap",
  "systemd-nspawn": "systemd-container",
  nft: "nftables",
  ping: "iputils-ping",
  "/usr/lib/postgresql/15/bin/initdb": "postgresql-15",
  "/usr/bin/prometheus-postgres-exporter": "prometheus-postgres-exporter",
  "/usr/bin/prometheus-pgbouncer-exporter": "prometheus-pgbouncer-exporter",
};

/** How to get a command that no Debian package provides. */
const NOT_IN_DEBIAN: Readonly<Record<string, string>> = {
  terraform: "terraform (not in Debian: install it from https://developer.hashicorp.com/terraform/install, any 1.x)",
};

/** What a test file needs from the machine. */
export interface Prerequisites {
  /** Commands that must be on PATH, e.g. `terraform`, `jq`. */
  readonly commands?: readonly string[];
  /** Absolute paths that must exist, e.g. `/usr/lib/postgresql/15/bin/initdb`. */
  readonly files?: readonly string[];
  /** Whether the test must run as root (network namespaces, runuser). */
  readonly root?: boolean;
}

/**
 * Throws when called in the unit tier: a test that runs a real tool belongs in a
 * `*.system.test.ts` file.
 * @param what what the test was about to use, for the message (e.g. "command `shellcheck`")
 * @throws Error "… move this test to a *.system.test.ts file" in the unit tier
 */
export function assertSystemTier(what: string): void {
  if (process.env[TEST_TIER_VARIABLE] === "unit") {
    throw new Error(
      `${what} is a system prerequisite, and \`npm test\` runs with Node and npm only: move this test to a *.system.test.ts file ` +
        "(it then runs with `npm run test:system`).",
    );
  }
}

/**
 * True when `command` is on PATH.
 * @throws Error in the unit tier (see {@link assertSystemTier})
 */
export function hasCommand(command: string): boolean {
  assertSystemTier(`command \`${command}\``);
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** The install hint for what is missing: the Debian packages, terraform's source, the root note. */
export function installHint(missing: readonly string[], root: boolean): string {
  const packages = [...new Set(missing.map((m) => DEBIAN_PACKAGES[m]).filter((p): p is string => p !== undefined))];
  const parts: string[] = [];
  if (packages.length > 0) parts.push(`Debian package${packages.length > 1 ? "s" : ""} ${packages.join(", ")}: run \`${SETUP_COMMAND}\``);
  for (const m of missing) if (NOT_IN_DEBIAN[m]) parts.push(NOT_IN_DEBIAN[m]!);
  const unknown = missing.filter((m) => !DEBIAN_PACKAGES[m] && !NOT_IN_DEBIAN[m]);
  if (unknown.length > 0) parts.push(`${unknown.join(", ")} (from the base system)`);
  if (root) parts.push("root: run the system tier as root (`sudo npm run test:system`)");
  return parts.join("; ");
}

/**
 * Fails loudly when the machine lacks what a test needs: these tests never skip, so a machine
 * without the Debian packages goes red instead of silently passing less.
 * @throws Error in the unit tier (see {@link assertSystemTier})
 * @throws Error naming every missing command, file or privilege and the package that provides it
 */
export function requirePrerequisites(what: Prerequisites): void {
  assertSystemTier(`requirePrerequisites(${JSON.stringify(what)})`);
  const missing: string[] = [];
  for (const c of what.commands ?? []) if (!hasCommand(c)) missing.push(c);
  for (const f of what.files ?? []) if (!existsSync(f)) missing.push(f);
  const notRoot = what.root === true && process.getuid?.() !== 0;
  if (missing.length > 0 || notRoot) {
    const listed = [...missing.map((m) => (m.startsWith("/") ? `file ${m}` : `command \`${m}\``)), ...(notRoot ? ["root privileges"] : [])];
    throw new Error(`This test needs ${listed.join(", ")}. Install: ${installHint(missing, notRoot)}.`);
  }
}

/**
 * The system tier's global check (jest.system.config.js): every command and file of
 * {@link DEBIAN_PACKAGES}, terraform, and root. One error lists all that is missing, so a
 * machine without `sudo npm run setup:system` fails before any test instead of file by file.
 * @throws Error naming every missing package and how to get it
 */
export function requireSystemTier(): void {
  const needed = [...Object.keys(DEBIAN_PACKAGES), ...Object.keys(NOT_IN_DEBIAN)];
  const missing = needed.filter((n) => (n.startsWith("/") ? !existsSync(n) : !hasCommand(n)));
  const notRoot = process.getuid?.() !== 0;
  if (missing.length > 0 || notRoot) {
    throw new Error(`npm run test:system cannot run here. Missing: ${installHint(missing, notRoot)}.`);
  }
}
