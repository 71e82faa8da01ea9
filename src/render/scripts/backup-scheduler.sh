#!/bin/sh
# Daily full backup in the `backup` container of every Kubernetes database pod (POSIX sh:
# the image's /bin/sh, GNU date and curl). Waits until this pod's Patroni answers /health,
# creates the stanza when this pod is the primary (stanza-create is idempotent), then sleeps
# until FULL_BACKUP_TIME (UTC) every day and runs a full backup when this pod is the elected
# runner (Patroni REST answers 200 on RUNNER_CHECK: /sync on a distributed cluster, the
# synchronous standby; /primary on a standalone one).
# Header variables (src/render/kubernetes/config.ts): SELF_DOMAIN (the pod's DNS name after
# "$POD_NAME."), REST_PORT, CA_CERT, STANZA, FULL_BACKUP_TIME (HH:MM), RUNNER_CHECK.
# Environment: POD_NAME (the Downward API).
# shellcheck disable=SC2154
set -u
self="$POD_NAME.$SELF_DOMAIN"
api() { curl --silent --fail --output /dev/null --max-time 5 --cacert "$CA_CERT" "https://$self:$REST_PORT$1"; }
until api /health; do sleep 10; done
if api /primary; then pgbackrest --stanza="$STANZA" stanza-create || echo "backup-scheduler: stanza-create failed; retrying at the next run" >&2; fi
while true; do
  now=$(date -u +%s)
  next=$(date -u -d "today $FULL_BACKUP_TIME" +%s)
  [ "$next" -le "$now" ] && next=$((next + 86400))
  sleep $((next - now))
  if api "$RUNNER_CHECK"; then
    { pgbackrest --stanza="$STANZA" stanza-create && pgbackrest --stanza="$STANZA" --type=full backup; } || echo "backup-scheduler: backup failed" >&2
  fi
done
