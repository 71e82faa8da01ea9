/**
 * A throw-away "host" for checking rendered files with the real tools, at their real
 * absolute paths, without touching this machine or the network:
 *
 * - a network namespace created for the run, with only `lo` up and the test addresses
 *   (10.10.0.11…) on it: whatever a tool tries to reach stays inside (nothing is routed
 *   out), and `patroni --validate-config` sees non-loopback local addresses;
 * - a private mount namespace with one overlay root per simulated host (`$ROOT0`, `$ROOT1`,
 *   …): lower layer `/` read-only, upper layer on a tmpfs, so the files can be written to
 *   `/etc/patroni/…`, `/data/etcd`, … of that root only; gone when the run ends;
 * - optional TLS material at `PATHS.caCert`/`serverCert`/`serverKey` in every root: a
 *   throw-away CA and one server+client certificate whose SANs are all test addresses.
 *
 * The script runs with bash in the mount namespace (not chrooted); it uses
 * `chroot "$ROOTi" cmd` to run a tool inside root i. Every process left in the network
 * namespace is killed by PID when the run ends, the namespace deleted, the stage removed.
 * Needs root (as on this machine and in CI); fails, never skips, without it.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { PATHS } from "../../src/render";
import { assertSystemTier } from "../support/prerequisites";

/** A file to place in a root. */
export interface SandboxFile {
  readonly path: string;
  readonly content: string;
  readonly mode?: string;
  readonly owner?: string;
}

/** Options of {@link runSandbox}. */
export interface SandboxOptions {
  /** IPv4 addresses to put on the namespace's `lo`. */
  readonly addresses: readonly string[];
  /** One entry per simulated host: the files of that root. */
  readonly roots: readonly (readonly SandboxFile[])[];
  /** bash script; `$ROOT0`… are the roots, `$STAGE` a scratch directory. */
  readonly script: string;
  /** Generate TLS material into every root. @default false */
  readonly tls?: boolean;
  /**
   * Common name of each root's certificate (e.g. the member names, for pgBackRest's
   * `tls-server-auth`). @default - "orders-0" for every root
   */
  readonly commonNames?: readonly string[];
  /**
   * Read-only lower layer of every root: another system's root filesystem (e.g. the Debian 13
   * node root of scripts/build-node-root.sh). Owners are resolved inside the root.
   * @default "/" (this machine)
   */
  readonly lowerRoot?: string;
  /** Hard limit for the whole run, seconds. @default 90 */
  readonly timeoutSec?: number;
}

/** What a run produced. */
export interface SandboxResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let counter = 0;

function sh(args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: 20_000 });
  return { status: r.status, stdout: r.stdout ?? "" };
}

/**
 * Runs `options.script` in a fresh network + mount namespace; always cleans up.
 * @throws Error in the unit tier (the sandbox needs root and the Debian tools: *.system.test.ts only)
 */
export function runSandbox(options: SandboxOptions): SandboxResult {
  assertSystemTier("runSandbox (root, network namespaces, the Debian tools)");
  const ns = `h1r-${process.pid}-${++counter}`;
  const stage = mkdtempSync(join(tmpdir(), "h1-render-"));
  const timeoutSec = options.timeoutSec ?? 90;
  try {
    options.roots.forEach((files, i) => {
      for (const f of files) {
        const target = join(stage, `root${i}`, f.path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, f.content, { mode: parseInt(f.mode ?? "0644", 8) });
      }
    });
    const owners = options.roots
      .flatMap((files, i) => files.filter((f) => f.owner).map((f) => `chroot "$ROOT${i}" chown ${f.owner} "${f.path}"`))
      .join("\n");
    const rootSetup = options.roots
      .map(
        (_, i) => `mkdir -p "$M/u${i}" "$M/w${i}" "$M/r${i}"
mount -t overlay overlay -o lowerdir=${options.lowerRoot ?? "/"},upperdir="$M/u${i}",workdir="$M/w${i}" "$M/r${i}"
mount --rbind /proc "$M/r${i}/proc"
mount --rbind /dev "$M/r${i}/dev"
mount -t tmpfs tmpfs "$M/r${i}/run"
mount -t tmpfs tmpfs "$M/r${i}/tmp"
if [ -d "$STAGE/root${i}" ]; then cp -a "$STAGE/root${i}/." "$M/r${i}/"; fi
export ROOT${i}="$M/r${i}"`,
      )
      .join("\n");
    // IP and DNS entries for each address: pgBackRest 2.45's TLS client matches a host only
    // against DNS names (and the CN), libpq/Go/Python against IP entries.
    const sans = options.addresses
      .flatMap((a) => [`IP:${a}`, `DNS:${a}`])
      .concat(["IP:127.0.0.1", "DNS:localhost"])
      .join(",");
    const tls = options.tls
      ? `T="$STAGE/tls"; mkdir -p "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=test-ca" \\
  -keyout "$T/ca.key" -out "$T/ca.crt" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
i=0
for r in ${options.roots.map((_, i) => `"$ROOT${i}"`).join(" ")}; do
  cn=$(echo "${(options.commonNames ?? []).join(" ")}" | awk -v n=$((i+1)) '{print $n}'); [ -n "$cn" ] || cn=orders-0
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" -keyout "$T/server$i.key" -out "$T/server$i.csr" 2>/dev/null
  printf 'subjectAltName=${sans}\\nextendedKeyUsage=serverAuth,clientAuth\\nkeyUsage=critical,digitalSignature,keyEncipherment\\n' > "$T/ext"
  openssl x509 -req -in "$T/server$i.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 -extfile "$T/ext" -out "$T/server$i.crt" 2>/dev/null
  mkdir -p "$r${dirname(PATHS.caCert)}"
  cp "$T/ca.crt" "$r${PATHS.caCert}"; cp "$T/server$i.crt" "$r${PATHS.serverCert}"; cp "$T/server$i.key" "$r${PATHS.serverKey}"
  chroot "$r" chown postgres:postgres ${PATHS.serverKey} ${PATHS.serverCert}; chmod 0600 "$r${PATHS.serverKey}"
  i=$((i+1))
done`
      : "";
    writeFileSync(
      join(stage, "wrapper.sh"),
      `set -eu
umask 022
export STAGE="${stage}"
M="$STAGE/mnt"; mkdir -p "$M"; mount -t tmpfs tmpfs "$M"
ip link set lo up
${options.addresses.map((a) => `ip addr add ${a}/32 dev lo`).join("\n")}
${rootSetup}
${owners}
${tls}
set +e
bash "$STAGE/run.sh"
rc=$?
jobs -p | xargs -r kill 2>/dev/null
exit $rc
`,
    );
    writeFileSync(join(stage, "run.sh"), options.script);
    const add = sh(["ip", "netns", "add", ns]);
    if (add.status !== 0) throw new Error(`ip netns add ${ns} failed (needs root)`);
    const r = spawnSync(
      "timeout",
      ["-k", "5", String(timeoutSec), "ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private", "bash", join(stage, "wrapper.sh")],
      { encoding: "utf8", timeout: (timeoutSec + 15) * 1000, maxBuffer: 16 * 1024 * 1024 },
    );
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  } finally {
    // Kill, by PID, whatever is still running in the namespace this run created.
    const pids = sh(["ip", "netns", "pids", ns]).stdout.split(/\s+/).filter((p) => /^\d+$/.test(p));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    sh(["ip", "netns", "del", ns]);
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * With H1_DEBUG set, writes a run's output to `<tmpdir>/h1-<name>-debug.txt` for a human to
 * read; otherwise does nothing. Never affects a test's outcome.
 */
export function debugDump(name: string, r: SandboxResult): void {
  if (process.env.H1_DEBUG) writeFileSync(join(tmpdir(), `h1-${name}-debug.txt`), `${r.stdout}\n=== stderr\n${r.stderr}`);
}

/**
 * The values a sandbox script printed as `<name>: <value>` lines, in order (trimmed).
 * Scripts report what they observed this way; tests assert on the lists.
 */
export function reported(stdout: string, name: string): string[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith(`${name}: `))
    .map((l) => l.slice(name.length + 2).trim());
}

/**
 * Test-only Patroni and PgBouncer-auth secrets, as the environment the bootstrap writes to
 * PATHS.patroniEnv on a real node (`VAR=value …`, for `env`).
 */
export const TEST_PATRONI_SECRETS_ENV =
  "PATRONI_SUPERUSER_PASSWORD=su-pw PATRONI_REPLICATION_PASSWORD=repl-pw PATRONI_REWIND_PASSWORD=rew-pw " +
  "PATRONI_RESTAPI_USERNAME=patroni PATRONI_RESTAPI_PASSWORD=rest-pw PGBOUNCER_AUTH_PASSWORD=auth-pw";
