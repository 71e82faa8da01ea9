/** The backup status script: age of the newest full backup, for the backup alarm. */
import type { ResolvedClusterSpec } from "../../cluster-spec";
import { assertTerraformSafe } from "../terraform-safe";
import { stanzaName } from "../pgbackrest";
import { scriptBody, shellHeader } from "../scripts";
import { MONITORING_PATHS } from "./paths";

/**
 * The backup status script (bash, run as postgres every 15 minutes by
 * `managed-postgres-backup-status.timer`): reads `pgbackrest --output=json info` of the
 * cluster's stanza and writes the stop time of the newest full backup (epoch seconds) to
 * `MONITORING_PATHS.backupStatusFile`, atomically. The repository is shared, so every node
 * reports the same age, whichever node took the backup. Needs `jq`. The body is
 * src/render/scripts/backup-status.sh; this puts `set -euo pipefail` and a header of
 * `readonly` values in front: `STANZA` (the cluster's pgBackRest stanza), `OUT` (the status file).
 * @throws Error if the assembled text holds a Terraform template sequence (`${`, `%{`)
 */
export function renderBackupStatusScript(spec: ResolvedClusterSpec): string {
  const out = MONITORING_PATHS.backupStatusFile;
  const text = [
    "#!/bin/bash",
    `# Newest full backup of stanza ${stanzaName(spec)} -> ${out} (read by postgres_exporter). Rendered by cdktf-managed-postgres.`,
    "set -euo pipefail",
    shellHeader({ STANZA: stanzaName(spec), OUT: out }) + scriptBody("backup-status.sh"),
  ].join("\n");
  return assertTerraformSafe(text, MONITORING_PATHS.backupStatusScript);
}
