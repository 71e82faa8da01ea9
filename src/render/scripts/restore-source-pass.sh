#!/bin/bash
# managed-postgres-restore-source-pass (restoreFrom): writes OUT, the restore source's pgBackRest
# configuration = TEMPLATE with `repo1-cipher-pass=<backup_cipher_pass of SOURCE_SECRET>` after its
# first line `[global]` (postgres:postgres 0640, atomically); does nothing once OUT exists; never
# prints the secret. Rendered by renderRestoreSourcePassScript (src/render/restore.ts), which puts
# `set -euo pipefail`, `umask 077` and the header in front: SOURCE_SECRET (ARN; its 4th field is the
# region), TEMPLATE, OUT, AWS_ENDPOINT_URL (empty: the public endpoints).
# shellcheck disable=SC2154

[ -s "$OUT" ] && exit 0
region=$(printf '%s' "$SOURCE_SECRET" | cut -d: -f4)
set -- --region "$region"
if [ -n "$AWS_ENDPOINT_URL" ]; then set -- "$@" --endpoint-url "$AWS_ENDPOINT_URL"; fi
json=$(aws "$@" secretsmanager get-secret-value --secret-id "$SOURCE_SECRET" --query SecretString --output text)
cipher=$(printf '%s' "$json" | jq -r '.backup_cipher_pass // empty')
if [ -z "$cipher" ]; then
  echo "managed-postgres-restore-source-pass: the source secret has no backup_cipher_pass" >&2
  exit 1
fi
tmp=$(mktemp "$OUT.XXXXXX")
{ printf '%s\n' '[global]' "repo1-cipher-pass=$cipher"; tail -n +2 "$TEMPLATE"; } >"$tmp"
chown postgres:postgres "$tmp"
chmod 0640 "$tmp"
mv "$tmp" "$OUT"
