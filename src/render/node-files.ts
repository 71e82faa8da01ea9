/**
 * Every rendered configuration file of a database node or a pooler instance, with its
 * path, mode and owner. Secrets, TLS material, systemd units and the bootstrap script are
 * not here: the node bootstrap generates or writes them.
 */
import { PATHS, pgbouncerConfigPath } from "./paths";
import { renderEtcdConfig } from "./etcd";
import { renderHaproxyConfig } from "./haproxy";
import { renderPatroniConfig, PATRONI_POST_BOOTSTRAP_SCRIPT, PATRONI_POST_BOOTSTRAP_SQL, type PatroniOptions } from "./patroni";
import { renderPgBackRestConfig } from "./pgbackrest";
import { renderPgBouncerConfig } from "./pgbouncer";
import { POST_BOOTSTRAP_SQL, PGBOUNCER_AUTH_PASSWORD_ENV } from "./sql";
import { AWS_EC2_TARGET, type RenderTarget } from "./target";
import type { NodeContext, PoolerContext, RenderedFile } from "./types";

/**
 * The post-bootstrap script Patroni runs with the new cluster's connection URL as its only
 * argument: creates the `pgbouncer_auth` role (password from the environment variable
 * `PGBOUNCER_AUTH_PASSWORD`) and the PgBouncer lookup function.
 */
export function renderPostBootstrapScript(): string {
  return [
    "#!/bin/sh",
    "# Run once by Patroni after the cluster is created (bootstrap.post_bootstrap).",
    "# $1: connection URL of the new primary, as the superuser. Rendered by cdktf-managed-postgres.",
    "set -eu",
    `if [ -z "\${${PGBOUNCER_AUTH_PASSWORD_ENV}:-}" ]; then`,
    `  echo "post-bootstrap: ${PGBOUNCER_AUTH_PASSWORD_ENV} is not set (expected in ${PATHS.patroniEnv})" >&2`,
    "  exit 1",
    "fi",
    "# The password stays in the environment (psql's \\getenv), never on a command line.",
    `exec psql --no-psqlrc --quiet -d "$1" -v ON_ERROR_STOP=1 -f ${PATRONI_POST_BOOTSTRAP_SQL}`,
    "",
  ].join("\n");
}

/** Options of {@link renderNodeConfigFiles}. */
export interface NodeConfigOptions {
  /** Where the node runs; passed to every renderer. @default AWS_EC2_TARGET */
  readonly target?: RenderTarget;
  /** Passed to `renderPatroniConfig` (restore). @default - initdb */
  readonly patroni?: Omit<PatroniOptions, "target">;
}

/** A configuration file whose text is rendered on demand (paths alone cost nothing). */
interface PendingFile {
  readonly path: string;
  readonly render: () => string;
  readonly mode: string;
  readonly owner: string;
}

const rendered = (files: readonly PendingFile[]): RenderedFile[] => files.map((f) => ({ path: f.path, content: f.render(), mode: f.mode, owner: f.owner }));

function nodeConfigFiles(ctx: NodeContext, options: NodeConfigOptions): PendingFile[] {
  const pg = "postgres:postgres";
  const target = options.target ?? AWS_EC2_TARGET;
  const files: PendingFile[] = [
    { path: PATHS.patroniConfig, render: () => renderPatroniConfig(ctx, { ...options.patroni, target }), mode: "0640", owner: pg },
    { path: PATRONI_POST_BOOTSTRAP_SCRIPT, render: renderPostBootstrapScript, mode: "0750", owner: pg },
    { path: PATRONI_POST_BOOTSTRAP_SQL, render: () => POST_BOOTSTRAP_SQL, mode: "0640", owner: pg },
  ];
  if (target.dcs.kind === "etcd3") {
    files.push({ path: PATHS.etcdConfig, render: () => renderEtcdConfig(ctx), mode: "0640", owner: "etcd:etcd" });
  }
  files.push({ path: PATHS.pgbackrestConfig, render: () => renderPgBackRestConfig(ctx, target), mode: "0640", owner: pg });
  if (ctx.spec.deployment === "standalone") {
    files.push({ path: pgbouncerConfigPath("rw"), render: () => renderPgBouncerConfig(ctx, "rw", target), mode: "0640", owner: pg });
  }
  return files;
}

function poolerConfigFiles(ctx: PoolerContext): PendingFile[] {
  if (ctx.spec.deployment !== "distributed") {
    throw new Error(
      `renderPoolerConfigFiles: cluster ${ctx.spec.name} is ${ctx.spec.deployment}; only distributed clusters have a PgBouncer tier`,
    );
  }
  const pg = "postgres:postgres";
  return [
    { path: pgbouncerConfigPath("rw"), render: () => renderPgBouncerConfig(ctx, "rw"), mode: "0640", owner: pg },
    { path: pgbouncerConfigPath("ro"), render: () => renderPgBouncerConfig(ctx, "ro"), mode: "0640", owner: pg },
    { path: PATHS.haproxyConfig, render: () => renderHaproxyConfig(ctx), mode: "0640", owner: "root:haproxy" },
  ];
}

/**
 * The configuration files of a database node: patroni.yml, the post-bootstrap script and
 * SQL, etcd.conf.yml (etcd3 DCS only), pgbackrest.conf, and for a standalone cluster the
 * PgBouncer rw ini (PgBouncer runs on the node; Cloud Temple Managed PostgreSQL). Paths from `PATHS`; owners
 * `postgres:postgres` (Patroni, PostgreSQL, pgBackRest and Debian's PgBouncer run as
 * postgres) or `etcd:etcd`; modes 0640 (0750 for the script). Pure.
 * @throws Error as `renderPatroniConfig` does for invalid options
 */
export function renderNodeConfigFiles(ctx: NodeContext, options: NodeConfigOptions = {}): RenderedFile[] {
  return rendered(nodeConfigFiles(ctx, options));
}

/**
 * The paths of {@link renderNodeConfigFiles}, same order, without rendering the files (the
 * bootstrap script checks that they exist). Pure.
 */
export function nodeConfigFilePaths(ctx: NodeContext, options: NodeConfigOptions = {}): string[] {
  return nodeConfigFiles(ctx, options).map((f) => f.path);
}

/**
 * The configuration files of a PgBouncer tier instance (distributed): PgBouncer rw and ro
 * inis (`postgres:postgres`, 0640) and haproxy.cfg (`root:haproxy`, 0640). Pure.
 * @throws Error if the cluster is standalone (it has no pooler tier)
 */
export function renderPoolerConfigFiles(ctx: PoolerContext): RenderedFile[] {
  return rendered(poolerConfigFiles(ctx));
}

/**
 * The paths of {@link renderPoolerConfigFiles}, same order, without rendering the files. Pure.
 * @throws Error if the cluster is standalone (it has no pooler tier)
 */
export function poolerConfigFilePaths(ctx: PoolerContext): string[] {
  return poolerConfigFiles(ctx).map((f) => f.path);
}
