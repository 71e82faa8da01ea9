#!/bin/bash
# managed-postgres-backup-status (monitoring): writes the stop time of the newest full backup of
# stanza STANZA (seconds since the epoch, one line) to OUT, atomically through OUT.tmp; postgres_exporter's
# mp_backup query reads it for the backup alarm. Runs as postgres every 15 minutes
# (managed-postgres-backup-status.timer). Needs pgbackrest and jq. With no full backup in the
# repository it leaves OUT alone and exits 0. Rendered by renderBackupStatusScript
# (src/render/monitoring/backup-status.ts), which puts `set -euo pipefail` and the header in
# front: STANZA, OUT.
# shellcheck disable=SC2154

info=$(pgbackrest --stanza="$STANZA" --output=json info)
stop=$(jq -r '[.[0].backup[]? | select(.type == "full") | .timestamp.stop] | max // empty' <<<"$info")
if [ -z "$stop" ]; then
  echo "no full backup in the repository yet" >&2
  exit 0
fi
printf '%s\n' "$stop" >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
