# shellcheck shell=bash
# managed-postgres-bootstrap of a pooler instance: its own steps, after bootstrap-common.sh.
# SECRET_ID is the PgBouncer tier's own secret (SECRET_FIELDS: the auth user's password, the
# CA certificate, the tier's certificate and key), written by a database node: the pooler
# never reads the cluster secret and holds no CA key. Header values besides those of
# bootstrap-common.sh: none.
# shellcheck disable=SC2154,SC2034 # header values; globals shared with bootstrap-common.sh

INSTANCE_ID=""
LOCAL_ADDRESS=""
# Polls of step_secrets: SECRET_POLLS of SECRET_POLL_SECONDS (20 minutes: the database nodes
# take their slots, create the cluster secret, then write this tier's).
readonly SECRET_POLLS=120 SECRET_POLL_SECONDS=10

step_imds() {
  retry_capture IMDS_TOKEN 30 2 imds_token || die "IMDSv2: no token from $IMDS"
  retry_capture INSTANCE_ID 10 2 imds_get instance-id || die "IMDSv2: no instance-id"
  retry_capture LOCAL_ADDRESS 10 2 imds_get local-ipv4 || die "IMDSv2: no local-ipv4"
  log "pooler instance $INSTANCE_ID at $LOCAL_ADDRESS"
}

# Read only: a database node writes this tier's secret; wait for it (bounded), then check it.
step_secrets() {
  local i rc=1
  for ((i = 1; i <= SECRET_POLLS; i++)); do
    rc=0
    SECRET_JSON=$(read_secret "$SECRET_ID") || rc=$?
    if [ "$rc" -eq 0 ] && secret_is_complete; then break; fi
    if [ "$rc" -eq 3 ]; then
      log "the PgBouncer tier's secret has no value yet: waiting for a database node to write it (attempt $i of $SECRET_POLLS)"
    elif [ "$rc" -eq 0 ]; then
      log "the PgBouncer tier's secret lacks fields (expected: $SECRET_FIELDS): waiting for a database node to refresh it (attempt $i of $SECRET_POLLS)"
      rc=4
    else
      log "could not read the PgBouncer tier's secret (attempt $i of $SECRET_POLLS)"
    fi
    sleep "$SECRET_POLL_SECONDS"
  done
  [ "$rc" -eq 0 ] || die "no usable PgBouncer tier secret in $SECRET_ID after $((SECRET_POLLS * SECRET_POLL_SECONDS)) s"
  log "the PgBouncer tier's secret read"
}

# The CA certificate and this tier's certificate and key, as a database node issued them.
step_tls() {
  tls_setup
  secret_field ca_cert_pem | write_file "$CA_CERT" 0644 root root
  secret_field tls_cert_pem | write_file "$WORK/server.crt" 0600 root root
  secret_field tls_key_pem | write_file "$WORK/server.key" 0600 root root
  openssl verify -CAfile "$CA_CERT" "$WORK/server.crt" >/dev/null 2>&1 || die "the certificate in $SECRET_ID is not signed by the cluster CA"
  cert_matches_key "$WORK/server.crt" "$WORK/server.key" || die "the certificate and key in $SECRET_ID do not match"
  write_file "$SERVER_KEY" 0640 root ssl-cert <"$WORK/server.key"
  write_file "$SERVER_CERT" 0644 root root <"$WORK/server.crt"
  log "TLS certificate of the PgBouncer tier installed ($(openssl x509 -in "$SERVER_CERT" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' '))"
}

step_secret_files() {
  local pgb
  pgb=$(secret_field pgbouncer_auth_password)
  install -d -m 0755 -o root -g root /etc/managed-postgres
  write_pgbouncer_secret_files "$pgb"
  log "secret files written"
}

# a pooler instance has no machine steps in prepare (bootstrap-common.sh) and writes nothing for others
prepare_machine() {
  :
}
step_publish() {
  :
}

finalize() {
  log "pooler: nothing to finalize"
}
