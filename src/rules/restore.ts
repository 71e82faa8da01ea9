/**
 * `restoreFrom` rules (pure): validation of a {@link RestoreFrom} and the source cluster's
 * read-only IAM statements. The restore's node files are rendered by `src/render/restore.ts`.
 */
import { reservedBucketAffix, showValue, type RestoreFrom } from "../cluster-spec";

export type { RestoreFrom } from "../cluster-spec";


/** One problem with one `restoreFrom` field. */
export interface RestoreIssue {
  /** `restoreFrom.backupBucket`, `restoreFrom.stanza`, `restoreFrom.target`, … */
  readonly field: string;
  readonly message: string;
}

/**
 * The character-level rule of each `restoreFrom` field, as RE2-compatible regular expressions
 * (Terraform's `regex()` uses RE2): the synth-time check of literal values and the plan-time
 * precondition of token values use the same ones. None admits whitespace, quotes, `$`, `;`,
 * `#`, `=` or `[`: the values are written into a shell script, pgBackRest's INI file and
 * Patroni's `restore_command`. The bucket's other S3 rules (no `..`, not an IP address, the
 * reserved prefixes and suffixes) are checked beside the pattern.
 */
export const RESTORE_FROM_PATTERNS = {
  backupBucket: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
  stanza: "^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$",
  target: "^(?:latest|(\\d{4})-(\\d{2})-(\\d{2})[ T](\\d{2}):(\\d{2}):(\\d{2})(\\.\\d{1,6})?(Z|[+-]\\d{2}(?::?\\d{2})?))$",
  secretArn: "^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:[A-Za-z0-9/_+=.@-]+$",
  backupKmsKeyArn: "^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:(key|alias)/[A-Za-z0-9/_-]+$",
  region: "^[a-z]{2}(-[a-z]+)+-\\d$",
} as const;

const BUCKET_CHARS = new RegExp(RESTORE_FROM_PATTERNS.backupBucket);
const STANZA = new RegExp(RESTORE_FROM_PATTERNS.stanza);
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}(?::?\d{2})?)$/;
const KMS_ARN = new RegExp(RESTORE_FROM_PATTERNS.backupKmsKeyArn);
const SECRET_ARN = new RegExp(RESTORE_FROM_PATTERNS.secretArn);
const REGION = new RegExp(RESTORE_FROM_PATTERNS.region);

/** An S3 general purpose bucket name (3 to 63 characters, the S3 naming rules). */
function isBucketName(v: string): boolean {
  return BUCKET_CHARS.test(v) && !v.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(v) && reservedBucketAffix(v) === undefined;
}

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
        message: `cluster "${cluster}": \`restoreFrom.${field}\`: got ${showValue(v)}; expected ${expected}`,
      });
    }
  };
  check("backupBucket", isBucketName, "the source cluster's S3 bucket name (3 to 63 lower-case letters, digits, dots, hyphens; not an ARN)");
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
