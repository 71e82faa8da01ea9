/**
 * `restoreFrom`: create a cluster from another cluster's pgBackRest backups (PITR). The way
 * to change a deployment model, to shrink storage, or to go back in time into a new cluster.
 */

/** Where a new cluster's first primary restores from. */
export interface RestoreFrom {
  /** Name of the source cluster's backup bucket (S3 bucket name, not an ARN). */
  readonly backupBucket: string;
  /** pgBackRest stanza of the source cluster: its cluster name. */
  readonly stanza: string;
  /**
   * Recovery target: `"latest"` (the end of the archived WAL) or an ISO 8601 timestamp with
   * a time zone, to the second or finer: `2026-11-20T10:00:00Z`, `2026-11-20 10:00:00+00:00`.
   */
  readonly target: string;
  /**
   * ARN of the source cluster's Secrets Manager secret (its `<id>_secret_arn` output). The
   * backups are encrypted client-side (pgBackRest aes-256-cbc) with the source's
   * `backup_cipher_pass`; the new nodes read it from this secret, and only from it.
   */
  readonly secretArn: string;
  /**
   * ARN of the source cluster's KMS key (its `<id>_kms_key_arn` output), which encrypts its
   * bucket (SSE-KMS) and its secret. The instance role gets `kms:Decrypt` on this key only,
   * through S3 and Secrets Manager only (`kms:ViaService`).
   * @default - no KMS permission (the source bucket and secret use AWS-managed keys)
   */
  readonly backupKmsKeyArn?: string;
  /**
   * AWS region of the source bucket.
   * @default - this cluster's region
   */
  readonly region?: string;
}

/** One problem with one `restoreFrom` field. */
export interface RestoreIssue {
  /** `restoreFrom.backupBucket`, `restoreFrom.stanza`, `restoreFrom.target`, … */
  readonly field: string;
  readonly message: string;
}

const BUCKET = /^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const STANZA = /^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}(?::?\d{2})?)$/;
const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** True for a real calendar timestamp in one of the forms of {@link RestoreFrom.target}. */
export function isRestoreTimestamp(value: string): boolean {
  const m = TIMESTAMP.exec(value);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

/**
 * Checks `restoreFrom`. Fields holding unresolved tokens are skipped (`isUnresolved`).
 *
 * @param cluster the new cluster's name, for messages
 * @param now rejects a target in the future (nothing to restore there yet)
 * @returns every problem found (empty when valid)
 */
export function restoreFromIssues(
  restore: RestoreFrom,
  cluster: string,
  now: Date,
  isUnresolved: (v: unknown) => boolean = () => false,
): RestoreIssue[] {
  const issues: RestoreIssue[] = [];
  const check = (field: keyof RestoreFrom, ok: (v: any) => boolean, expected: string, optional = false) => {
    const v = restore[field];
    if (optional && v === undefined) return;
    if (isUnresolved(v)) return;
    if (typeof v !== "string" || !ok(v)) {
      issues.push({
        field: `restoreFrom.${field}`,
        message: `cluster "${cluster}": \`restoreFrom.${field}\`: got ${JSON.stringify(v) ?? "nothing"}; expected ${expected}`,
      });
    }
  };
  check("backupBucket", (v) => BUCKET.test(v), "the source cluster's S3 bucket name (3 to 63 lower-case letters, digits, dots, hyphens; not an ARN)");
  check("stanza", (v) => STANZA.test(v), "the source cluster's name (its pgBackRest stanza)");
  check("target", (v) => v === "latest" || isRestoreTimestamp(v), '"latest" or an ISO 8601 timestamp with a time zone, e.g. "2026-11-20T10:00:00Z"');
  check("secretArn", (v) => SECRET_ARN.test(v), 'the source cluster\'s secret ARN (its `<id>_secret_arn` output), "arn:aws:secretsmanager:<region>:<account>:secret:…"');
  check("backupKmsKeyArn", (v) => KMS_ARN.test(v), 'a KMS key ARN such as "arn:aws:kms:eu-west-1:123456789012:key/…"', true);
  check("region", (v) => REGION.test(v), 'an AWS region such as "eu-west-1"', true);
  const t = restore.target;
  if (typeof t === "string" && !isUnresolved(t) && t !== "latest" && isRestoreTimestamp(t)) {
    const at = Date.parse(t.replace(" ", "T").replace(/([+-]\d{2})$/, "$1:00").replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
    if (!isNaN(at) && at > now.getTime()) {
      issues.push({
        field: "restoreFrom.target",
        message: `cluster "${cluster}": \`restoreFrom.target\`: ${JSON.stringify(t)} is in the future (now ${now.toISOString()}); give a past timestamp or "latest"`,
      });
    }
  }
  if (typeof restore.stanza === "string" && restore.stanza === cluster && !isUnresolved(restore.stanza)) {
    issues.push({
      field: "restoreFrom.stanza",
      message: `cluster "${cluster}": \`restoreFrom.stanza\` names this very cluster; a restore creates a new cluster from another cluster's backups: give the new cluster another name`,
    });
  }
  return issues;
}

/**
 * The target in the form pgBackRest's `--target` and PostgreSQL's `recovery_target_time`
 * read: `YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM` (`Z` becomes `+00:00`). `"latest"` unchanged.
 */
export function pgBackRestTarget(target: string): string {
  if (target === "latest") return target;
  return target.replace("T", " ").replace(/Z$/, "+00:00");
}

/** An IAM policy statement, in the shape of provider-aws' `DataAwsIamPolicyDocumentStatement`. */
export interface RestorePolicyStatement {
  readonly sid: string;
  readonly effect: "Allow";
  readonly actions: string[];
  readonly resources: string[];
  readonly condition?: { test: string; variable: string; values: string[] }[];
}

/**
 * Least-privilege read access of the new cluster's nodes to the source cluster's backups:
 * - `s3:ListBucket` on the source bucket, for keys under `<stanza>/` only (`s3:prefix`);
 * - `s3:GetObject` on `<bucket>/<stanza>/*` (no write, no delete: the source repository is
 *   never modified by a restore);
 * - `secretsmanager:GetSecretValue` on the source secret (the cipher pass);
 * - `kms:Decrypt` on `backupKmsKeyArn`, through S3 and Secrets Manager only, when given.
 *
 * @param partition AWS partition (`aws`, or a token)
 * @param region region of the source bucket and secret (token allowed)
 */
export function restoreSourceStatements(restore: RestoreFrom, partition: string, region: string): RestorePolicyStatement[] {
  const bucketArn = `arn:${partition}:s3:::${restore.backupBucket}`;
  const statements: RestorePolicyStatement[] = [
    {
      sid: "RestoreSourceBucketList",
      effect: "Allow",
      actions: ["s3:ListBucket"],
      resources: [bucketArn],
      condition: [{ test: "StringLike", variable: "s3:prefix", values: [restore.stanza, `${restore.stanza}/*`] }],
    },
    {
      sid: "RestoreSourceBackupsRead",
      effect: "Allow",
      actions: ["s3:GetObject"],
      resources: [`${bucketArn}/${restore.stanza}/*`],
    },
    {
      sid: "RestoreSourceCipherPassRead",
      effect: "Allow",
      actions: ["secretsmanager:GetSecretValue"],
      resources: [restore.secretArn],
    },
  ];
  if (restore.backupKmsKeyArn) {
    const r = restore.region ?? region;
    statements.push({
      sid: "RestoreSourceKeyDecrypt",
      effect: "Allow",
      actions: ["kms:Decrypt"],
      resources: [restore.backupKmsKeyArn],
      condition: [{ test: "StringEquals", variable: "kms:ViaService", values: [`s3.${r}.amazonaws.com`, `secretsmanager.${r}.amazonaws.com`] }],
    });
  }
  return statements;
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
 * with the instance role's credentials, aes-256-cbc. Values may be tokens; used verbatim.
 * @param region region of the source bucket when `restore.region` is not given
 * @param s3Endpoint S3 endpoint host[:port] @default - `s3.<region>.amazonaws.com`
 */
export function renderRestoreSourceConfig(restore: RestoreFrom, region: string, s3Endpoint?: string): string {
  const r = restore.region ?? region;
  return [
    "[global]",
    "# Source repository of the restore (restoreFrom): read only, never written by this cluster.",
    "# repo1-cipher-pass is inserted above at first boot, from the source cluster's secret.",
    "repo1-type=s3",
    `repo1-path=/${restore.stanza}`,
    `repo1-s3-bucket=${restore.backupBucket}`,
    `repo1-s3-endpoint=${s3Endpoint ?? `s3.${r}.amazonaws.com`}`,
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
 * Text of {@link RESTORE_SOURCE_PASS_SCRIPT}: reads `backup_cipher_pass` from the source
 * secret (`restore.secretArn`, region taken from the ARN) with the AWS CLI and jq, and
 * writes {@link RESTORE_SOURCE_CONFIG} = the template with `repo1-cipher-pass=…` after its
 * `[global]` line (postgres:postgres 0640, atomically). Does nothing once the file exists; never prints
 * the secret. Contains no `${`: the ARN may be a Terraform token.
 */
export function renderRestoreSourcePassScript(
  restore: RestoreFrom,
  /**
   * File locations (for tests) and the AWS API endpoint URL (the live harness's stand-in).
   * @default - the constants above; the AWS public endpoints
   */
  paths: { readonly template?: string; readonly out?: string; readonly awsEndpointUrl?: string } = {},
): string {
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  return [
    "#!/bin/bash",
    "# managed-postgres-restore-source-pass: the restore source's pgBackRest cipher pass (restoreFrom).",
    "# Rendered by cdktf-managed-postgres; runs as ExecStartPre of patroni.service; never prints the secret.",
    "set -euo pipefail",
    "umask 077",
    `readonly SOURCE_SECRET=${q(restore.secretArn)}`,
    `readonly TEMPLATE=${q(paths.template ?? RESTORE_SOURCE_TEMPLATE)}`,
    `readonly OUT=${q(paths.out ?? RESTORE_SOURCE_CONFIG)}`,
    '[ -s "$OUT" ] && exit 0',
    'region=$(printf \'%s\' "$SOURCE_SECRET" | cut -d: -f4)',
    `json=$(aws --region "$region"${paths.awsEndpointUrl ? ` --endpoint-url ${q(paths.awsEndpointUrl)}` : ""} secretsmanager get-secret-value --secret-id "$SOURCE_SECRET" --query SecretString --output text)`,
    "cipher=$(printf '%s' \"$json\" | jq -r '.backup_cipher_pass // empty')",
    'if [ -z "$cipher" ]; then',
    '  echo "managed-postgres-restore-source-pass: the source secret has no backup_cipher_pass" >&2',
    "  exit 1",
    "fi",
    'tmp=$(mktemp "$OUT.XXXXXX")',
    "{ printf '%s\\n' '[global]' \"repo1-cipher-pass=$cipher\"; tail -n +2 \"$TEMPLATE\"; } >\"$tmp\"",
    'chown postgres:postgres "$tmp"',
    'chmod 0640 "$tmp"',
    'mv "$tmp" "$OUT"',
    "",
  ].join("\n");
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
