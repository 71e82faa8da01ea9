#!/bin/bash
# managed-postgres-fetch-bootstrap: installs a database node's bootstrap script from the
# cluster's backup bucket (the script is too big for EC2 user data), run by cloud-init's
# runcmd before the bootstrap itself. Gets s3://BUCKET/KEY at VERSION_ID with the instance
# role (the AWS CLI takes its credentials from IMDSv2), checks that its SHA-256 is SHA256
# (both come with the user data: a new script means a new launch template version), and only
# then installs it at TARGET (root 0755). Exits non-zero, TARGET untouched, otherwise.
# Header values: BUCKET KEY VERSION_ID SHA256 REGION S3_ENDPOINT_URL (empty: AWS)
#   S3_VERIFY_TLS (yes|no) TARGET
# shellcheck disable=SC2154 # header values

log() {
  printf '%s managed-postgres-fetch-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}
if ! command -v aws >/dev/null 2>&1; then
  log "installing awscli"
  DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q awscli
fi
tmp=$(mktemp "$(dirname "$TARGET")/.managed-postgres-bootstrap.XXXXXX")
trap 'rm -f "$tmp"' EXIT
set -- s3api get-object --bucket "$BUCKET" --key "$KEY" --version-id "$VERSION_ID" "$tmp"
if [ "$S3_VERIFY_TLS" = no ]; then set -- --no-verify-ssl "$@"; fi
if [ -n "$S3_ENDPOINT_URL" ]; then set -- --endpoint-url "$S3_ENDPOINT_URL" "$@"; fi
# the instance role's policy may still be propagating right after the first apply
ok=no
for ((i = 1; i <= 30; i++)); do
  if aws --region "$REGION" "$@" >/dev/null; then
    ok=yes
    break
  fi
  log "get-object s3://$BUCKET/$KEY ($VERSION_ID) failed (attempt $i of 30)"
  sleep 10
done
if [ "$ok" != yes ]; then
  log "ERROR: could not get s3://$BUCKET/$KEY"
  exit 1
fi
sum=$(sha256sum <"$tmp" | cut -d' ' -f1)
if [ "$sum" != "$SHA256" ]; then
  log "ERROR: s3://$BUCKET/$KEY has SHA-256 $sum, the user data expects $SHA256: not installing it"
  exit 1
fi
chmod 0755 "$tmp"
mv -f "$tmp" "$TARGET"
log "installed $TARGET (SHA-256 $sum)"
