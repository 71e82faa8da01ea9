/**
 * Boots harness hosts the way cloud-init boots an EC2 instance from the library's user
 * data: the rendered files (bootstrap script, configuration, systemd units) are written at
 * their absolute paths, `managed-postgres-bootstrap prepare` runs as root, then — there is
 * no systemd in the container — the harness runs each unit's `ExecStart` as the unit's
 * `User=`/`Group=` with its `EnvironmentFile=`s and `Environment=` (from `nodeServices` /
 * `poolerServices`), then `managed-postgres-bootstrap finalize`.
 *
 * Harness-only environment (file {@link HARNESS_ENV_FILE}, added to every unit; the only
 * difference to AWS): static credentials instead of the instance role, and pgBackRest told
 * to use them instead of `repo1-s3-key-type=auto`, which would fetch credentials from the
 * fixed link-local IMDS address the harness must never contact.
 */
import { PATHS } from "../../../src/render/paths";
import { renderNodeConfigFiles, renderPoolerConfigFiles } from "../../../src/render/node-files";
import { nodePackages, poolerPackages, renderBootstrapScript, renderPoolerBootstrapScript } from "../../../src/render/bootstrap";
import { nodeServices, poolerServices, renderPoolerSystemdUnits, renderSystemdUnits, type ManagedService } from "../../../src/render/systemd";
import type { NodeContext, PoolerContext, RenderedFile } from "../../../src/render/types";
import { spawnSync } from "child_process";
import { S3_CREDENTIALS } from "./constants";
import type { HarnessHost, ServiceDef } from "./node";

/** Environment the harness adds to the bootstrap and every unit (see the module documentation). */
export const HARNESS_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
  AWS_EC2_METADATA_DISABLED: "true",
  PGBACKREST_REPO1_S3_KEY_TYPE: "shared",
  PGBACKREST_REPO1_S3_KEY: S3_CREDENTIALS.accessKeyId,
  PGBACKREST_REPO1_S3_KEY_SECRET: S3_CREDENTIALS.secretAccessKey,
  // s3rver's certificate has only an IP SAN, which pgBackRest 2.45 does not match (see
  // WORKAROUNDS); the rendered configuration says the same with runtime.s3VerifyTls=false.
  PGBACKREST_REPO1_STORAGE_VERIFY_TLS: "n",
};

/** Path (inside a host) of the harness-only environment file. */
export const HARNESS_ENV_FILE = "/etc/managed-postgres/harness.env";

function envFileText(vars: Record<string, string>): string {
  return Object.entries(vars).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

/** The user data's files of a database node (what cloud-init's write_files writes). */
export function nodeUserDataFiles(ctx: NodeContext): RenderedFile[] {
  return [
    { path: PATHS.bootstrapScript, content: renderBootstrapScript(ctx), mode: "0755", owner: "root:root" },
    ...renderNodeConfigFiles(ctx),
    ...renderSystemdUnits(ctx),
  ];
}

/** The user data's files of a pooler instance. */
export function poolerUserDataFiles(ctx: PoolerContext): RenderedFile[] {
  return [
    { path: PATHS.bootstrapScript, content: renderPoolerBootstrapScript(ctx), mode: "0755", owner: "root:root" },
    ...renderPoolerConfigFiles(ctx),
    ...renderPoolerSystemdUnits(ctx),
  ];
}

/**
 * Debian packages the bootstrap needs that are missing here. The harness fails with this
 * list instead of letting `prepare` run apt-get in the middle of a test.
 */
export function missingBootstrapPackages(ctx: NodeContext): string[] {
  const missing = new Set<string>();
  for (const p of [...nodePackages(ctx.spec), ...poolerPackages()]) {
    const found = p.command.startsWith("/")
      ? spawnSync("test", ["-e", p.command]).status === 0
      : spawnSync("sh", ["-c", `command -v ${p.command}`], { env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" } }).status === 0;
    if (!found) missing.add(p.name);
  }
  return [...missing];
}

/**
 * Defects of rendered files that would stop the cluster from booting, with the smallest
 * correction that lets the rest of the harness run. Every correction applied is recorded
 * (see {@link writeUserData}) and the live tests fail on any, so a defect never passes
 * silently; a fixed renderer makes them no-ops.
 */
const WORKAROUNDS: readonly { readonly path: string; readonly applies: (content: string) => boolean; readonly fix: (content: string) => string; readonly why: string }[] = [
  {
    path: PATHS.etcdConfig,
    applies: (c) => !/^enable-grpc-gateway:\s*true\s*$/m.test(c),
    fix: (c) => c.replace(/\n?$/, "\n") + "enable-grpc-gateway: true\n",
    why:
      "etcd 3.4 disables the gRPC gateway when started with --config-file unless enable-grpc-gateway: true " +
      "(etcd-io/etcd#12093); Patroni's etcd3 DCS talks to etcd only through it (/v3/...: 404 otherwise)",
  },
  {
    path: PATHS.bootstrapScript,
    applies: (c) => c.includes('"subjectAltName=IP:$CERT_ADDRESS,DNS:$CERT_NAME"'),
    fix: (c) => c.split('"subjectAltName=IP:$CERT_ADDRESS,DNS:$CERT_NAME"').join('"subjectAltName=IP:$CERT_ADDRESS,DNS:$CERT_ADDRESS,DNS:$CERT_NAME"'),
    why:
      "pgBackRest 2.45 (Debian 12) matches only DNS subject alternative names against pgN-host (IP SANs arrived in 2.46, " +
      "pgbackrest/pgbackrest#1977): without DNS:<address> in the node certificate a backup from the standby fails with " +
      "\"unable to find hostname '<address>' in certificate common name or subject alternative names\"",
  },
];

/**
 * Writes the user data's files and the harness environment file (cloud-init write_files).
 * Returns the workarounds it had to apply (empty when the rendered files are right).
 */
export async function writeUserData(host: HarnessHost, files: readonly RenderedFile[]): Promise<string[]> {
  const applied: string[] = [];
  for (const f of files) {
    let content = f.content;
    for (const w of WORKAROUNDS) {
      if (w.path === f.path && w.applies(content)) {
        content = w.fix(content);
        applied.push(`${f.path}: ${w.why}`);
      }
    }
    await host.writeFile(f.path, content, f.mode, f.owner);
  }
  await host.mkdir("/etc/managed-postgres", "0755", "root:root");
  await host.writeFile(HARNESS_ENV_FILE, envFileText(HARNESS_ENV), "0644", "root:root");
  return applied;
}

/** Runs `managed-postgres-bootstrap <command>` as root inside the host; rejects with its output on failure. */
export async function runBootstrap(host: HarnessHost, command: "prepare" | "finalize", timeoutMs = 600_000): Promise<string> {
  const r = await host.exec([PATHS.bootstrapScript, command], { env: HARNESS_ENV, timeoutMs });
  if (r.code !== 0 || r.timedOut) {
    throw new Error(
      `[${host.def.key}] managed-postgres-bootstrap ${command} failed (${r.timedOut ? "timed out" : `exit ${r.code}`}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-5000)}`,
    );
  }
  return r.stdout + r.stderr;
}

/** A unit as the harness runs it. */
export function toServiceDef(s: ManagedService): ServiceDef {
  return {
    name: s.unit.replace(/\.service$/, ""),
    user: s.user,
    group: s.group,
    environmentFiles: [...s.environmentFiles, `-${HARNESS_ENV_FILE}`],
    environment: { ...s.environment },
    execStart: s.execStart,
  };
}

/** Creates the unit's `RuntimeDirectory=`/`LogsDirectory=`-style directories, then starts it. */
export async function startUnit(host: HarnessHost, s: ManagedService): Promise<void> {
  for (const d of s.createdDirectories) await host.mkdir(d, "0755", `${s.user}:${s.group}`);
  await host.startService(toServiceDef(s));
}

/** Daemons of a database node by unit name. */
export function nodeDaemons(ctx: NodeContext): Map<string, ManagedService> {
  return new Map(nodeServices(ctx).filter((s) => s.kind === "daemon").map((s) => [s.unit, s]));
}

/** Daemons of a pooler instance, start order. */
export function poolerDaemons(ctx: PoolerContext): ManagedService[] {
  return poolerServices(ctx).filter((s) => s.kind === "daemon");
}
