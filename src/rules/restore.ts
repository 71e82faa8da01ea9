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
   * ARN of the KMS key that encrypts the source bucket (SSE-KMS). The instance role gets
   * `kms:Decrypt` on this key only.
   * @default - no KMS permission (the source bucket uses SSE-S3)
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
