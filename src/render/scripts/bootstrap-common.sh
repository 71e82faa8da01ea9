# shellcheck shell=bash
# Functions of managed-postgres-bootstrap shared by database nodes (node-bootstrap.sh) and pooler
# instances (pooler-bootstrap.sh), and its `main`. Assembled by src/render/bootstrap/index.ts behind
# `set -euo pipefail`, `umask 077`, `LC_ALL=C` and a header of readonly values:
#   SECRET_ID IMDS STATE_DIR CA_CERT SERVER_CERT SERVER_KEY TLS_DIR
#   AWS_REGION AWS_ENDPOINT_URL (empty: the public endpoints)
#   PACKAGES ("package:command" words) PGDG_PACKAGE (empty, or the package that comes from PGDG)
#   SECRET_FIELDS (words) CONFIG_FILES (one path a line)
#   MASKED_UNITS REPLACED_UNITS UNITS JOBS (words)
#   PGBOUNCER_AUTH_ROLE PGBOUNCER_USERLIST PGBOUNCER_EXPORTER_PGPASS
# The kind's file defines step_tls. No dollar-brace or percent-brace
# sequences (the text travels through Terraform strings): write `$NAME`.
# shellcheck disable=SC2154

WORK=""
IMDS_TOKEN=""
SECRET_JSON=""

log() {
  printf '%s managed-postgres-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

cleanup() {
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}

# awsc ARGS...: the AWS CLI with the region and, when set, the endpoint override.
awsc() {
  if [ -n "$AWS_ENDPOINT_URL" ]; then set -- --endpoint-url "$AWS_ENDPOINT_URL" "$@"; fi
  aws --region "$AWS_REGION" "$@"
}

# retry_capture NAME ATTEMPTS PAUSE COMMAND...: stdout of the first success goes to NAME.
retry_capture() {
  local name=$1 attempts=$2 pause=$3 out i
  shift 3
  for ((i = 1; i <= attempts; i++)); do
    if out=$("$@"); then
      printf -v "$name" '%s' "$out"
      return 0
    fi
    sleep "$pause"
  done
  return 1
}

# write_file PATH MODE OWNER GROUP < CONTENT (atomic)
write_file() {
  local path=$1 mode=$2 owner=$3 group=$4 tmp
  [ -d "$(dirname "$path")" ] || install -d -m 0755 "$(dirname "$path")"
  tmp=$(mktemp "$path.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  chown "$owner:$group" "$tmp"
  mv -f "$tmp" "$path"
}

step_packages() {
  local entry missing=""
  for entry in $PACKAGES; do
    if ! command -v "$(cut -d: -f2 <<<"$entry")" >/dev/null 2>&1 && [ ! -e "$(cut -d: -f2 <<<"$entry")" ]; then
      missing="$missing $(cut -d: -f1 <<<"$entry")"
    fi
  done
  if [ -z "$missing" ]; then
    log "required packages present"
    return 0
  fi
  log "installing missing packages:$missing"
  if [ -n "$PGDG_PACKAGE" ]; then
    log "$PGDG_PACKAGE comes from the PGDG apt repository: the image must configure it"
  fi
  mkdir -p /etc/postgresql-common
  if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
    printf 'create_main_cluster = false\n' >>/etc/postgresql-common/createcluster.conf
    chmod 0644 /etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -q -o Dpkg::Options::=--force-confold $missing
}

imds_token() {
  curl -sf -X PUT --max-time 5 -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS/latest/api/token"
}
imds_get() {
  curl -sf --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/latest/meta-data/$1"
}

# read_secret ID: the secret's current value on stdout; status 3: the secret has no value yet.
read_secret() {
  local out rc=0
  out=$(awsc secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text 2>"$WORK/aws.err") || rc=$?
  if [ "$rc" -eq 0 ]; then
    printf '%s' "$out"
    return 0
  fi
  if grep -q ResourceNotFoundException "$WORK/aws.err"; then
    return 3
  fi
  log "get-secret-value failed: $(tr '\n' ' ' <"$WORK/aws.err" | cut -c1-200)"
  return 1
}
secret_field() {
  printf '%s' "$SECRET_JSON" | jq -r --arg f "$1" '.[$f]'
}
secret_is_complete() {
  printf '%s' "$SECRET_JSON" | jq -e --arg fields "$SECRET_FIELDS" '[($fields | split(" "))[] as $f | .[$f]] | all(type == "string" and length > 0)' >/dev/null
}

# tls_setup: the TLS directory and the ssl-cert group (postgres and etcd join it when present).
tls_setup() {
  install -d -m 0755 -o root -g root /etc/managed-postgres "$TLS_DIR"
  getent group ssl-cert >/dev/null || groupadd --system ssl-cert
  local u
  for u in postgres etcd; do
    if id -u "$u" >/dev/null 2>&1; then usermod -a -G ssl-cert "$u"; fi
  done
}

# cert_has_names CERT NAME...: status 0 when CERT's subjectAltName lists every NAME (DNS:x, IP:x).
cert_has_names() {
  local cert=$1 sans n
  shift
  sans=$(openssl x509 -in "$cert" -noout -ext subjectAltName 2>/dev/null | tr ',' '\n' | sed 's/^ *//;s/^IP Address:/IP:/') || return 1
  for n in "$@"; do
    grep -qxF "$n" <<<"$sans" || return 1
  done
}

# cert_matches_key CERT KEY: status 0 when KEY is CERT's private key.
cert_matches_key() {
  [ "$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null)" = "$(openssl pkey -in "$2" -pubout 2>/dev/null)" ]
}

# write_pgbouncer_secret_files PASSWORD: PgBouncer's auth_file and the exporter's password file.
write_pgbouncer_secret_files() {
  printf '"%s" "%s"\n' "$PGBOUNCER_AUTH_ROLE" "$1" | write_file "$PGBOUNCER_USERLIST" 0600 postgres postgres
  printf '*:*:pgbouncer:%s:%s\n' "$PGBOUNCER_AUTH_ROLE" "$1" | write_file "$PGBOUNCER_EXPORTER_PGPASS" 0600 postgres postgres
}

step_check_files() {
  local f missing=0
  while IFS= read -r f; do
    if [ ! -s "$f" ]; then
      log "missing $f (cloud-init write_files should have written it)"
      missing=1
    fi
  done <<<"$CONFIG_FILES"
  [ "$missing" -eq 0 ] || die "configuration files are missing"
}

step_start() {
  local u
  systemctl daemon-reload
  if [ ! -e "$STATE_DIR/package-units-replaced" ]; then
    # Package units that would bind our ports with package defaults.
    for u in $MASKED_UNITS; do
      systemctl disable --now "$u" >/dev/null 2>&1 || true
      systemctl mask "$u" >/dev/null 2>&1 || true
    done
    systemctl stop 'postgresql@*' >/dev/null 2>&1 || true
    # Units we replace by name that the packages started with their defaults.
    for u in $REPLACED_UNITS; do
      if systemctl is-active --quiet "$u"; then systemctl stop "$u"; fi
    done
    touch "$STATE_DIR/package-units-replaced"
  fi
  systemctl enable managed-postgres-bootstrap.service
  # shellcheck disable=SC2086 # one word per unit
  systemctl enable --now --no-block $UNITS
}

# The kind's file defines prepare_machine, the step_ functions not defined here (step_publish:
# what this host writes for others), finalize
# and (when JOBS is not empty) run_job.
prepare() {
  install -d -m 0755 -o root -g root "$STATE_DIR"
  step_packages
  step_imds
  prepare_machine
  step_secrets
  step_tls
  step_secret_files
  step_publish
  step_check_files
  log "prepare: done"
}

main() {
  local command=all job usage="prepare|start|finalize|all"
  if [ "$#" -gt 0 ]; then command=$1; fi
  # Timer jobs run as their unit's user (postgres or root) and need no state directory.
  for job in $JOBS; do
    if [ "$command" = "$job" ]; then
      run_job "$command"
      return
    fi
    usage="$usage|$job"
  done
  if [ "$(id -u)" -ne 0 ]; then die "must run as root"; fi
  WORK=$(mktemp -d /run/managed-postgres-bootstrap.XXXXXX)
  trap cleanup EXIT
  case "$command" in
    prepare) prepare ;;
    start)
      step_start
      finalize
      ;;
    finalize) finalize ;;
    all)
      prepare
      step_start
      finalize
      touch "$STATE_DIR/bootstrapped"
      ;;
    *) die "usage: managed-postgres-bootstrap [$usage]" ;;
  esac
}
