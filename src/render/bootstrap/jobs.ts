/**
 * Bash functions of the timer jobs (daily full backup, logical dumps, online filesystem
 * growth), subcommands of the bootstrap script (`managed-postgres-bootstrap backup |
 * logical-dump | grow-fs`): one script on the node instead of four keeps the user data
 * under EC2's 16 KB. Terraform-safe (see `./shell.ts`). Pure.
 */
import { BACKUP_RUNNER_PATRONI_CHECK } from "../pgbackrest";
import { PATHS } from "../paths";
import type { NodeContext } from "../types";
import { BOOT_SECRET_FILES, logicalDumpPrefix } from "./files";
import { awsCliPrefix, shq } from "./shell";

/**
 * Bash function `grow_data_filesystem`: grows the ext4 filesystem mounted on
 * `PATHS.dataMount` to the size of its block device when the device is bigger (EBS volume
 * modified online; the volume has no partition table), with `resize2fs` (online for ext4).
 * Does nothing when the mount is not an ext4 filesystem on a block device (e.g. a bind
 * mount in the live harness). Subcommand `grow-fs` (root, every 5 minutes) and step 3 of `prepare`.
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


/**
 * Bash function `patroni_says PATH`: exit status 0 when this node's Patroni REST API
 * (`$PATRONI_URL`, TLS verified with `$CA_CERT`) answers 200 on PATH (`primary`, `sync`,
 * `async`, …; Patroni 3.0 "REST API" health-check endpoints).
 */
export const PATRONI_SAYS_FUNCTION = `patroni_says() {
  curl -sf -o /dev/null --max-time 10 --cacert "$CA_CERT" "$PATRONI_URL/$1"
}`;

/**
 * Bash function `job_backup` (subcommand `backup`, run as postgres by
 * `managed-postgres-backup.service` on every node): `pgbackrest --stanza=<name>
 * --type=full backup`, only where it should run, exit 0 elsewhere:
 * - distributed: the node whose Patroni REST API answers 200 on
 *   `BACKUP_RUNNER_PATRONI_CHECK` (`/sync`: the synchronous standby; with
 *   `backup-standby=y` pgBackRest copies from it and asks the primary only to start and
 *   stop the backup). Without a synchronous standby no node backs up (and the backup-age
 *   alarm fires);
 * - standalone: the primary (`/primary`).
 * pgBackRest expires backups beyond the retention after each backup.
 */
export function backupJobFunction(ctx: NodeContext): string {
  const distributed = ctx.spec.deployment === "distributed";
  const check = distributed ? BACKUP_RUNNER_PATRONI_CHECK.replace(/^\//, "") : "primary";
  const who = distributed ? "the synchronous standby" : "the primary";
  return `job_backup() {
  if ! patroni_says ${check}; then
    log "not ${who}: no backup from this node"
    return 0
  fi
  log "full backup of stanza $STANZA"
  pgbackrest --stanza="$STANZA" --type=full backup
}`;
}

/**
 * Bash function `job_logical_dump` (subcommand `logical-dump`, run as postgres by
 * `managed-postgres-logical-dump.service` on every node), acting on one node only:
 * - distributed: the asynchronous replica (Patroni `/async`), or the synchronous standby
 *   (`/sync`) when no asynchronous replica is running (Patroni `/cluster`); never the primary;
 * - standalone: the primary.
 * For every database that is not a template and allows connections: `pg_dump -Fc`,
 * encrypted client-side with AES-256-CBC (`openssl enc -aes-256-cbc -pbkdf2`, key derived
 * from the cluster's backup cipher pass in `BOOT_SECRET_FILES.backupCipherPass`),
 * streamed to `s3://<bucket>/<cluster>/logical/<database>/<UTC timestamp>.dump.enc` with
 * SSE-KMS (the cluster key). The bucket's lifecycle rule on `<cluster>/logical/` expires
 * them. Decrypt: `openssl enc -d -aes-256-cbc -pbkdf2 -pass file:<pass file> -in x.dump.enc -out x.dump`.
 * S3: `runtime.s3Endpoint` (as `https://<endpoint>`) and `runtime.s3VerifyTls` apply.
 */
export function logicalDumpJobFunction(ctx: NodeContext): string {
  const { spec, runtime } = ctx;
  const distributed = spec.deployment === "distributed";
  const s3Args: string[] = [];
  if (runtime.s3Endpoint) s3Args.push("--endpoint-url", shq(`https://${runtime.s3Endpoint}`));
  if (runtime.s3VerifyTls === false) s3Args.push("--no-verify-ssl");
  const aws = [awsCliPrefix(runtime.region, undefined), ...s3Args].join(" ");
  const selection = distributed
    ? `if patroni_says async; then
    log "asynchronous replica: dumping"
  elif patroni_says sync && ! curl -sf --max-time 10 --cacert "$CA_CERT" "$PATRONI_URL/cluster" |
    jq -e '[.members[] | select(.role == "replica" and .state == "running")] | length > 0' >/dev/null; then
    log "synchronous standby, no asynchronous replica running: dumping"
  else
    log "not the dumping replica: nothing to do"
    return 0
  fi`
    : `if ! patroni_says primary; then
    log "not the primary: nothing to do"
    return 0
  fi`;
  return `job_logical_dump() {
  local pass=${shq(BOOT_SECRET_FILES.backupCipherPass)} bucket=${shq(runtime.backupBucket)} stamp dbs db key failed=0
  ${selection}
  [ -r "$pass" ] || die "missing $pass"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  dbs=$(psql -X -A -t -q -d postgres -c "SELECT datname FROM pg_catalog.pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1")
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    key=${shq(logicalDumpPrefix(spec.name))}"$db/$stamp.dump.enc"
    log "dumping $db to s3://$bucket/$key"
    if pg_dump -Fc -d "$db" | openssl enc -aes-256-cbc -pbkdf2 -salt -pass "file:$pass" |
      ${aws} s3 cp - "s3://$bucket/$key" --sse aws:kms --sse-kms-key-id ${shq(runtime.kmsKeyArn)} --only-show-errors; then
      log "$db dumped"
    else
      log "dump of $db FAILED"
      failed=1
    fi
  done <<<"$dbs"
  return "$failed"
}`;
}
