/**
 * The node files of `restoreFrom` (creating a cluster from another cluster's pgBackRest
 * backups): the source repository's pgBackRest configuration, the script writing its cipher
 * pass before Patroni starts, its systemd drop-in, and the options of Patroni's restore
 * bootstrap. Pure. The checks of a `RestoreFrom` are in src/rules/restore.ts.
 */
import type { RestoreFrom } from "../cluster-spec";
import { assertTerraformSafe } from "./terraform-safe";
import { scriptBody, shellHeader } from "./scripts";
import { commandWord, iniValue } from "./values";

/**
 * The target in the form pgBackRest's `--target` and PostgreSQL's `recovery_target_time`
 * read: `YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM` (`Z` becomes `+00:00`). `"latest"` unchanged.
 */
export function pgBackRestTarget(target: string): string {
  if (target === "latest") return target;
  return target.replace("T", " ").replace(/Z$/, "+00:00");
}

/**
 * pgBackRest configuration of the restore source repository, given to pgBackRest with
 * `--config` by Patroni's bootstrap method and by `restore_command`. With an explicit
 * `--config`, pgBackRest loads no include directory (and ignores `config-include-path`
 * inside a file; checked with pgBackRest 2.45), so this file is complete: the node writes
 * it at first boot from {@link RESTORE_SOURCE_TEMPLATE} plus the source's cipher pass.
 */
export const RESTORE_SOURCE_CONFIG = "/etc/pgbackrest/restore-source.conf";
/** The source repository's settings without the cipher pass, shipped in the user data. */
export const RESTORE_SOURCE_TEMPLATE = "/etc/pgbackrest/restore-source.conf.template";

/**
 * Text of {@link RESTORE_SOURCE_TEMPLATE}; its first line is `[global]` (the node inserts
 * `repo1-cipher-pass` right after it): repo1 = the source bucket under `/<stanza>`, S3
 * with the instance role's credentials, aes-256-cbc. Values may be tokens (checked at plan
 * time); literal values are checked here too.
 * @throws Error when a value holds a line break (it would add INI lines) or the stanza is not
 *   one shell word
 * @param region region of the source bucket when `restore.region` is not given
 * @param s3Endpoint S3 endpoint host[:port] @default - `s3.<region>.amazonaws.com`
 */
export function renderRestoreSourceConfig(restore: RestoreFrom, region: string, s3Endpoint?: string): string {
  const r = iniValue(restore.region ?? region, "repo1-s3-region");
  return [
    "[global]",
    "# Source repository of the restore (restoreFrom): read only, never written by this cluster.",
    "# repo1-cipher-pass is inserted above at first boot, from the source cluster's secret.",
    "repo1-type=s3",
    `repo1-path=/${commandWord(restore.stanza, "restoreFrom.stanza")}`,
    `repo1-s3-bucket=${iniValue(restore.backupBucket, "repo1-s3-bucket")}`,
    `repo1-s3-endpoint=${iniValue(s3Endpoint ?? `s3.${r}.amazonaws.com`, "repo1-s3-endpoint")}`,
    `repo1-s3-region=${r}`,
    "repo1-s3-key-type=auto",
    `repo1-s3-uri-style=${s3Endpoint ? "path" : "host"}`,
    "repo1-cipher-type=aes-256-cbc",
    "log-level-console=info",
    "",
    `[${restore.stanza}]`,
    "",
  ].join("\n");
}

/** Script that writes the restore source's cipher pass, run before Patroni starts. */
export const RESTORE_SOURCE_PASS_SCRIPT = "/usr/local/sbin/managed-postgres-restore-source-pass";
/** systemd drop-in running {@link RESTORE_SOURCE_PASS_SCRIPT} as `ExecStartPre` of patroni.service. */
export const RESTORE_SOURCE_DROP_IN = "/etc/systemd/system/patroni.service.d/20-restore-source.conf";

/**
 * Text of {@link RESTORE_SOURCE_PASS_SCRIPT}: `scripts/restore-source-pass.sh` behind a header
 * of its values. It reads `backup_cipher_pass` from the source secret (`restore.secretArn`,
 * region taken from the ARN) with the AWS CLI and jq, and writes {@link RESTORE_SOURCE_CONFIG}
 * = the template with `repo1-cipher-pass=…` after its `[global]` line (postgres:postgres
 * 0640, atomically). Does nothing once the file exists; never prints the secret. The ARN may
 * be a Terraform token.
 * @throws Error if the text would contain a Terraform template sequence (a bug)
 */
export function renderRestoreSourcePassScript(
  restore: RestoreFrom,
  /**
   * File locations (for tests) and the AWS API endpoint URL (the live harness's stand-in).
   * @default - the constants above; the AWS public endpoints
   */
  paths: { readonly template?: string; readonly out?: string; readonly awsEndpointUrl?: string } = {},
): string {
  const text = [
    "#!/bin/bash",
    "# managed-postgres-restore-source-pass: the restore source's pgBackRest cipher pass (restoreFrom).",
    "# Rendered by cdktf-managed-postgres; runs as ExecStartPre of patroni.service; never prints the secret.",
    "set -euo pipefail",
    "umask 077",
    shellHeader({
      SOURCE_SECRET: restore.secretArn,
      TEMPLATE: paths.template ?? RESTORE_SOURCE_TEMPLATE,
      OUT: paths.out ?? RESTORE_SOURCE_CONFIG,
      AWS_ENDPOINT_URL: paths.awsEndpointUrl ?? "",
    }) + scriptBody("restore-source-pass.sh"),
  ].join("\n");
  return assertTerraformSafe(text, RESTORE_SOURCE_PASS_SCRIPT);
}

/** Text of {@link RESTORE_SOURCE_DROP_IN}: `+` runs the script as root although Patroni runs as postgres. */
export function renderRestoreSourceDropIn(): string {
  return ["# restoreFrom: write the restore source's cipher pass before Patroni bootstraps.", "[Service]", `ExecStartPre=+${RESTORE_SOURCE_PASS_SCRIPT}`, ""].join("\n");
}

/**
 * Options of H1's `renderPatroniConfig(ctx, { restore })`: Patroni's custom bootstrap
 * method runs `pgbackrest --config=RESTORE_SOURCE_CONFIG --stanza=<stanza> restore` to the
 * target on the first primary; the replicas clone from it as usual.
 */
export function patroniRestoreOptions(restore: RestoreFrom): { stanza: string; target: string; configFile: string; repoPath: string } {
  return { stanza: restore.stanza, target: pgBackRestTarget(restore.target), configFile: RESTORE_SOURCE_CONFIG, repoPath: `/${restore.stanza}` };
}
