# shellcheck shell=bash
# managed-postgres-bootstrap of a pooler instance: its own steps, after bootstrap-common.sh.
# Header values besides those of bootstrap-common.sh: CERT_NAME.
# shellcheck disable=SC2154,SC2034 # header values; globals shared with bootstrap-common.sh

INSTANCE_ID=""
CERT_ADDRESS=""

step_imds() {
  retry_capture IMDS_TOKEN 30 2 imds_token || die "IMDSv2: no token from $IMDS"
  retry_capture INSTANCE_ID 10 2 imds_get instance-id || die "IMDSv2: no instance-id"
  retry_capture CERT_ADDRESS 10 2 imds_get local-ipv4 || die "IMDSv2: no local-ipv4"
  log "pooler instance $INSTANCE_ID at $CERT_ADDRESS"
}

# Read only: the first database node creates the secret; wait for it (up to 10 minutes).
step_secrets() {
  local i rc
  for ((i = 1; i <= 60; i++)); do
    rc=0
    SECRET_JSON=$(read_cluster_secret) || rc=$?
    if [ "$rc" -eq 0 ]; then break; fi
    if [ "$rc" -eq 3 ]; then log "the cluster secret has no value yet: waiting for the database nodes"; fi
    sleep 10
  done
  [ "$rc" -eq 0 ] || die "could not read the cluster secret $SECRET_ID"
  secret_is_complete || die "the cluster secret $SECRET_ID lacks fields (expected: $SECRET_FIELDS)"
  log "cluster secret read"
}

step_secret_files() {
  local pgb
  pgb=$(secret_field pgbouncer_auth_password)
  install -d -m 0755 -o root -g root /etc/managed-postgres
  write_pgbouncer_secret_files "$pgb"
  log "secret files written"
}

# a pooler instance has no machine steps in prepare (bootstrap-common.sh)
prepare_machine() {
  :
}

finalize() {
  log "pooler: nothing to finalize"
}
