/**
 * cloud-init user data (`#cloud-config`, cloud-init 22.4 schema) of a database node and of
 * a pooler instance: every rendered file through `write_files`, then the bootstrap script
 * through `runcmd`.
 *
 * - `write_files`: the configuration files (`renderNodeConfigFiles` /
 *   `renderPoolerConfigFiles`), the systemd units and job scripts (`renderSystemdUnits` /
 *   `renderPoolerSystemdUnits`), the monitoring files (`renderMonitoringFiles` /
 *   `renderPoolerMonitoringFiles`: CloudWatch agent and exporter configuration, drop-ins)
 *   and the bootstrap script, each with its mode and owner and
 *   `defer: true`: the owners (postgres, etcd, haproxy) are created by the Debian packages,
 *   so the files are written in cloud-init's final stage (module `write_files_deferred`,
 *   after package installation, before `scripts_user` runs `runcmd`). A file whose text
 *   contains `${` or `%{` (which Terraform would interpret) and no cdktf token is shipped
 *   base64-encoded (`encoding: b64`).
 * - `runcmd`: `[PATHS.bootstrapScript]` (all steps; cloud-init runs it once per instance,
 *   later boots run `managed-postgres-bootstrap.service`). With `bootstrapObject` (what the
 *   AWS constructs do for database nodes), the bootstrap script is an S3 object and the user
 *   data carries its loader instead: `runcmd` is `[loader]`, then `[PATHS.bootstrapScript]`.
 * - `ssh_pwauth: false`; no users, no passwords, no keys.
 * - `packages` only with `installPackages` (see {@link UserDataOptions}).
 *
 * The text is deterministic (same context, same bytes) and holds no secret: the secrets
 * are generated on the nodes. Cluster values that are cdktf tokens stay verbatim.
 */
import { stringify } from "yaml";
import { PATHS } from "./paths";
import {
  BOOTSTRAP_LOADER_PATH,
  nodePackages,
  poolerPackages,
  renderBootstrapLoader,
  renderBootstrapScript,
  renderPoolerBootstrapScript,
  type BootstrapObject,
} from "./bootstrap";
import { renderNodeConfigFiles, renderPoolerConfigFiles, type NodeConfigOptions } from "./node-files";
import { renderPoolerSystemdUnits, renderSystemdUnits } from "./systemd";
import { renderUpgradeRedirectFiles } from "./upgrade-redirect";
import { renderMonitoringFiles, renderPoolerMonitoringFiles } from "./monitoring";
import type { NodeContext, PoolerContext, RenderedFile } from "./types";
import { containsToken, terraformTemplateSequences } from "./terraform-safe";

/** Options of {@link renderNodeUserData} and {@link renderPoolerUserData}. */
export interface UserDataOptions {
  /**
   * Adds cloud-init's `packages:` list, so cloud-init installs the packages before writing
   * the files. cloud-init then always runs `apt-get update`, which needs the apt
   * repositories to be reachable (NAT or a mirror). Leave false with an image that already
   * has the packages (recommended; see docs/bootstrap.md): the bootstrap installs only
   * missing ones.
   * @default false
   */
  readonly installPackages?: boolean;
  /** Passed to `renderNodeConfigFiles` (database nodes only). @default - its defaults */
  readonly nodeConfig?: NodeConfigOptions;
  /**
   * More files to write, after the rendered ones (database nodes only), e.g. the restore
   * source's pgBackRest configuration of a cluster created with `restoreFrom`.
   * @default []
   */
  readonly extraFiles?: readonly RenderedFile[];
  /**
   * Database nodes: the bootstrap script is not in the user data but in this S3 object
   * (`renderBootstrapScript` of the same context, byte for byte); the user data carries the
   * loader (`BOOTSTRAP_LOADER_PATH`, {@link renderBootstrapLoader}) and `runcmd` runs it
   * before the bootstrap. Keeps the user data far below EC2's 16 KB.
   * @default - the bootstrap script is in the user data
   */
  readonly bootstrapObject?: BootstrapObject;
}

/** One entry of cloud-init's `write_files` (cc_write_files schema, cloud-init 22.4). */
export interface CloudInitWriteFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  defer: true;
  encoding?: "b64";
}

/**
 * The `write_files` entry of a rendered file: `permissions` = mode, `owner`, `defer: true`;
 * text as is, or base64 (`encoding: b64`) when it contains `${` or `%{` (Terraform would
 * interpret them) and no cdktf token.
 * @throws Error if the text contains both a cdktf token and `${`/`%{` (no encoding can
 *   keep the token resolvable and the rest literal)
 */
export function cloudInitWriteFile(f: RenderedFile): CloudInitWriteFile {
  const unsafe = terraformTemplateSequences(f.content).length > 0;
  if (unsafe && containsToken(f.content)) {
    throw new Error(
      `${f.path}: the file contains both cdktf tokens and "\${" or "%{", which Terraform would interpret; ` +
        `write shell variables as $NAME instead of \${NAME}`,
    );
  }
  const entry: CloudInitWriteFile = {
    path: f.path,
    content: unsafe ? Buffer.from(f.content, "utf8").toString("base64") : f.content,
    permissions: f.mode,
    owner: f.owner,
    defer: true,
  };
  if (unsafe) entry.encoding = "b64";
  return entry;
}

function assertUniquePaths(files: readonly RenderedFile[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new Error(`user data: two files want the path ${f.path}`);
    seen.add(f.path);
  }
}

function render(files: RenderedFile[], packages: readonly string[] | undefined, loader = false): string {
  assertUniquePaths(files);
  const doc: Record<string, unknown> = {
    ssh_pwauth: false,
    ...(packages ? { packages: [...packages] } : {}),
    write_files: files.map(cloudInitWriteFile),
    runcmd: loader ? [[BOOTSTRAP_LOADER_PATH], [PATHS.bootstrapScript]] : [[PATHS.bootstrapScript]],
  };
  return "#cloud-config\n" + stringify(doc, { lineWidth: 0, minContentWidth: 0, blockQuote: "literal" });
}

function bootstrapFile(content: string): RenderedFile {
  return { path: PATHS.bootstrapScript, content, mode: "0755", owner: "root:root" };
}

/**
 * The user data of a database node: `#cloud-config` YAML text (see the module
 * documentation). Measure: H3 ships it with `Fn.base64gzip`; the EC2 limit is 16 KB after
 * base64. Pure.
 * @throws Error if two rendered files share a path, or a file mixes tokens with `${`/`%{`
 */
export function renderNodeUserData(ctx: NodeContext, options: UserDataOptions = {}): string {
  const object = options.bootstrapObject;
  const files = [
    object
      ? { path: BOOTSTRAP_LOADER_PATH, content: renderBootstrapLoader(object, ctx.runtime), mode: "0755", owner: "root:root" }
      : bootstrapFile(renderBootstrapScript(ctx)),
    ...renderNodeConfigFiles(ctx, options.nodeConfig),
    ...renderSystemdUnits(ctx),
    ...renderMonitoringFiles(ctx),
    ...renderUpgradeRedirectFiles(ctx),
    ...(options.extraFiles ?? []),
  ];
  return render(files, options.installPackages ? nodePackages(ctx.spec).map((p) => p.name) : undefined, object !== undefined);
}

/**
 * The user data of a pooler instance (distributed clusters). Pure.
 * @throws Error if the cluster is standalone, or as {@link renderNodeUserData}
 */
export function renderPoolerUserData(ctx: PoolerContext, options: UserDataOptions = {}): string {
  const files = [
    bootstrapFile(renderPoolerBootstrapScript(ctx)),
    ...renderPoolerConfigFiles(ctx),
    ...renderPoolerSystemdUnits(ctx),
    ...renderPoolerMonitoringFiles(ctx),
    ...renderUpgradeRedirectFiles(ctx),
  ];
  return render(files, options.installPackages ? poolerPackages().map((p) => p.name) : undefined);
}
