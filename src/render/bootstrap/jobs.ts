/**
 * Helper scripts of the timer services: daily full backup, logical dumps, online
 * filesystem growth. Bash, `set -euo pipefail`, shellcheck-clean, Terraform-safe (see
 * `./shell.ts`). Pure.
 */
import { PORTS } from "../../spec";
import { BACKUP_RUNNER_PATRONI_CHECK, stanzaName } from "../pgbackrest";
import { PATHS } from "../paths";
import type { NodeContext } from "../types";
import { BOOT_SECRET_FILES, JOB_SCRIPTS, logicalDumpPrefix } from "./files";
import { assertTerraformSafe, awsCliPrefix, shq } from "./shell";

const HEADER = "Rendered by cdktf-managed-postgres; do not edit on the node.";

/**
 * Bash function `grow_data_filesystem`: grows the ext4 filesystem mounted on
 * `PATHS.dataMount` to the size of its block device when the device is bigger (EBS volume
 * modified online; the volume has no partition table), with `resize2fs` (online for ext4).
 * Does nothing when the mount is not an ext4 filesystem on a block device (e.g. a bind
 * mount in the live harness). Used by the bootstrap and by {@link renderGrowFilesystemScript}.
 */
export const GROW_FILESYSTEM_FUNCTION = `grow_data_filesystem() {
  local dev fstype dev_bytes fs_bytes
  if ! mountpoint -q ${PATHS.dataMount}; then
    log "${PATHS.dataMount} is not mounted: nothing to grow"
    return 0
  fi
  dev=$(findmnt -n -o SOURCE --target ${PATHS.dataMount})
  fstype=$(findmnt -n -o FSTYPE --target ${PATHS.dataMount})
  if [ "$fstype" != ext4 ] || [ ! -b "$dev" ]; then
    log "${PATHS.dataMount} is $fstype on $dev, not ext4 on a block device: nothing to grow"
    return 0
  fi
  dev_bytes=$(blockdev --getsize64 "$dev")
  fs_bytes=$(dumpe2fs -h "$dev" 2>/dev/null | awk -F: '/^Block count:/ {c = $2} /^Block size:/ {s = $2} END {printf "%.0f\\n", c * s}')
  if [ "$dev_bytes" -gt "$fs_bytes" ]; then
    log "growing the filesystem on $dev from $fs_bytes to $dev_bytes bytes"
    resize2fs "$dev"
  fi
}`;

/** Bash `log` function: timestamped line on stderr (journald keeps it). */
export function logFunction(tag: string): string {
  return `log() {
  printf '%s ${tag}: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}`;
}

function patroniUrl(ctx: NodeContext): string {
  return `https://${ctx.self.address}:${PORTS.patroniRest}`;
}

function roleCheckFunction(): string {
  return `# Exit status 0 when this node's Patroni REST API answers 200 on the path ($1).
patroni_says() {
  curl -sf -o /dev/null --max-time 10 --cacert "$CA_FILE" "$PATRONI_URL/$1"
}`;
}

/**
 * The daily full backup (`pgbackrest --stanza=<name> --type=full backup`), run as postgres
 * by `managed-postgres-backup.service` on every node. It acts only on the node that should
 * take the backup and exits 0 elsewhere:
 * - distributed: the node whose Patroni REST API answers 200 on
 *   `BACKUP_RUNNER_PATRONI_CHECK` (`/sync`, the synchronous standby; pgBackRest copies from
 *   it with `backup-standby=y` and asks the primary only to start and stop the backup);
 * - standalone: the primary (`/primary`).
 * pgBackRest expires backups older than the retention after each backup.
 */
export function renderFullBackupScript(ctx: NodeContext): string {
  const distributed = ctx.spec.deployment === "distributed";
  const check = distributed ? BACKUP_RUNNER_PATRONI_CHECK.replace(/^\//, "") : "primary";
  const text = `#!/bin/bash
# Daily full pgBackRest backup of cluster ${ctx.spec.name} (${ctx.self.name}). ${HEADER}
# Acts only where Patroni answers 200 on /${check} (${distributed ? "the synchronous standby" : "the primary"}); exits 0 elsewhere.
set -euo pipefail
readonly PATRONI_URL=${shq(patroniUrl(ctx))}
readonly CA_FILE=${shq(PATHS.caCert)}
readonly STANZA=${shq(stanzaName(ctx.spec))}
${logFunction("managed-postgres-backup")}
${roleCheckFunction()}
if ! patroni_says ${check}; then
  log "not ${distributed ? "the synchronous standby" : "the primary"}: no backup from this node"
  exit 0
fi
log "starting the full backup of stanza $STANZA"
exec pgbackrest --stanza="$STANZA" --type=full backup
`;
  return assertTerraformSafe(text, JOB_SCRIPTS.fullBackup);
}

/**
 * The logical dump job, run as postgres by `managed-postgres-logical-dump.service` on every
 * node; it acts on one node only:
 * - distributed: the asynchronous replica (Patroni `/async`), or the synchronous standby
 *   (`/sync`) when no asynchronous replica is running (Patroni `/cluster`); never the primary;
 * - standalone: the primary.
 * For every database that is not a template and allows connections:
 * `pg_dump -Fc`, encrypted client-side with AES-256-CBC (`openssl enc -aes-256-cbc -pbkdf2`,
 * key derived from the cluster's backup cipher pass, read from
 * `BOOT_SECRET_FILES.backupCipherPass`), streamed to
 * `s3://<bucket>/<cluster>/logical/<database>/<UTC timestamp>.dump.enc` with SSE-KMS (the
 * cluster key). The bucket's lifecycle rule on the prefix `<cluster>/logical/` expires
 * them. Decrypt with
 * `openssl enc -d -aes-256-cbc -pbkdf2 -pass file:<pass file> -in x.dump.enc -out x.dump`.
 */
export function renderLogicalDumpScript(ctx: NodeContext): string {
  const { spec, runtime } = ctx;
  const distributed = spec.deployment === "distributed";
  const s3Args: string[] = [];
  if (runtime.s3Endpoint) s3Args.push("--endpoint-url", shq(`https://${runtime.s3Endpoint}`));
  if (runtime.s3VerifyTls === false) s3Args.push("--no-verify-ssl");
  const aws = [awsCliPrefix(runtime.region, undefined), ...s3Args].join(" ");
  const selection = distributed
    ? `if patroni_says async; then
  log "asynchronous replica: dumping"
elif patroni_says sync && ! async_replica_running; then
  log "synchronous standby and no asynchronous replica is running: dumping"
else
  log "not the dumping replica: nothing to do"
  exit 0
fi`
    : `if ! patroni_says primary; then
  log "not the primary: nothing to do"
  exit 0
fi`;
  const text = `#!/bin/bash
# Logical dumps (pg_dump -Fc, AES-256 client-side, SSE-KMS) of cluster ${spec.name} (${ctx.self.name}). ${HEADER}
set -euo pipefail
readonly PATRONI_URL=${shq(patroniUrl(ctx))}
readonly CA_FILE=${shq(PATHS.caCert)}
readonly PASS_FILE=${shq(BOOT_SECRET_FILES.backupCipherPass)}
readonly BUCKET=${shq(runtime.backupBucket)}
readonly PREFIX=${shq(logicalDumpPrefix(spec.name))}
readonly KMS_KEY=${shq(runtime.kmsKeyArn)}
${logFunction("managed-postgres-logical-dump")}
${roleCheckFunction()}
async_replica_running() {
  curl -sf --max-time 10 --cacert "$CA_FILE" "$PATRONI_URL/cluster" |
    jq -e '[.members[] | select(.role == "replica" and .state == "running")] | length > 0' >/dev/null
}
${selection}
[ -r "$PASS_FILE" ] || { log "missing $PASS_FILE (written by the bootstrap)"; exit 1; }
stamp=$(date -u +%Y%m%dT%H%M%SZ)
failed=0
databases=$(psql -X -A -t -q -d postgres -c "SELECT datname FROM pg_catalog.pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname")
while IFS= read -r db; do
  [ -n "$db" ] || continue
  key="$PREFIX$db/$stamp.dump.enc"
  log "dumping database $db to s3://$BUCKET/$key"
  if pg_dump -Fc -d "$db" |
    openssl enc -aes-256-cbc -pbkdf2 -salt -pass "file:$PASS_FILE" |
    ${aws} s3 cp - "s3://$BUCKET/$key" --sse aws:kms --sse-kms-key-id "$KMS_KEY" --only-show-errors; then
    log "database $db dumped"
  else
    log "dump of database $db FAILED"
    failed=1
  fi
done <<<"$databases"
exit "$failed"
`;
  return assertTerraformSafe(text, JOB_SCRIPTS.logicalDump);
}

/** The filesystem growth job (root), run every 5 minutes by `managed-postgres-grow-fs.timer`. */
export function renderGrowFilesystemScript(ctx: NodeContext): string {
  const text = `#!/bin/bash
# Online growth of the data volume's filesystem, cluster ${ctx.spec.name} (${ctx.self.name}). ${HEADER}
set -euo pipefail
${logFunction("managed-postgres-grow-fs")}
${GROW_FILESYSTEM_FUNCTION}
grow_data_filesystem
`;
  return assertTerraformSafe(text, JOB_SCRIPTS.growFilesystem);
}
