/** The backup status script: age of the newest full backup, for the backup alarm. */
import type { ResolvedClusterSpec } from "../../cluster-spec";
import { stanzaName } from "../pgbackrest";
import { MONITORING_PATHS } from "./paths";

/**
 * The backup status script (bash, run as postgres every 15 minutes by
 * `managed-postgres-backup-status.timer`): reads `pgbackrest --output=json info` of the
 * cluster's stanza and writes the stop time of the newest full backup (epoch seconds) to
 * `MONITORING_PATHS.backupStatusFile`, atomically. The repository is shared, so every node
 * reports the same age, whichever node took the backup. Needs `jq`.
 */
export function renderBackupStatusScript(spec: ResolvedClusterSpec): string {
  const out = MONITORING_PATHS.backupStatusFile;
  return `#!/bin/bash
# Newest full backup of stanza ${stanzaName(spec)} -> ${out} (read by postgres_exporter). Rendered by cdktf-managed-postgres.
set -euo pipefail
info=$(pgbackrest --stanza='${stanzaName(spec)}' --output=json info)
stop=$(jq -r '[.[0].backup[]? | select(.type == "full") | .timestamp.stop] | max // empty' <<<"$info")
if [ -z "$stop" ]; then
  echo "no full backup in the repository yet" >&2
  exit 0
fi
printf '%s\\n' "$stop" > '${out}.tmp'
mv '${out}.tmp' '${out}'
`;
}
