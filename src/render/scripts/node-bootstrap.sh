# shellcheck shell=bash
# managed-postgres-bootstrap of a database node: its own steps and the timer jobs, after
# bootstrap-common.sh. Header values besides those of bootstrap-common.sh:
#   CLUSTER SELF_NAME SELF_ADDRESS PEER_ADDRESSES (the other members' addresses, words)
#   BLUE_NODE_ADDRESSES (a green cluster's blue node addresses, upgradeFrom; words; only with upgradeFrom)
#   FILTER_CLUSTER FILTER_SLOT FILTER_ENI FILTER_VOLUME CLIENT_REQUEST_TOKEN
#   DATA_MOUNT ROUTE_TABLE PATRONI_URL STANZA DEPLOYMENT
#   ETCD_DATA_DIR PGBACKREST_SPOOL POSTGRES_SOCKET_DIR PGBACKREST_INCLUDE_DIR PATRONI_ENV
#   BACKUP_CIPHER_PASS_FILE PGBOUNCER_HERE (yes|no) PATRONI_RESTAPI_USERNAME
#   PGBOUNCER_AUTH_PASSWORD_ENV PATRONI_POST_BOOTSTRAP_SCRIPT
#   BACKUP_RUNNER_CHECK BACKUP_RUNNER (Patroni health check and who passes it)
#   BACKUP_BUCKET KMS_KEY_ARN LOGICAL_DUMP_PREFIX S3_ENDPOINT_URL (empty: AWS) S3_VERIFY_TLS (yes|no)
#   JOB_FULL_BACKUP JOB_LOGICAL_DUMP JOB_GROW_FILESYSTEM JOB_CHECK_DATA_VERSION JOB_MAINTENANCE JOB_PUBLISH
#   (subcommands of the timer jobs and of patroni.service's ExecStartPre; node-maintenance.sh defines
#   check_data_version and job_maintenance)
#   POOLER_SECRET_ID (empty: no pooler tier) POOLER_SECRET_FIELDS (words) POOLER_CERT_CN
#   POOLER_CERT_NAMES (endpoint names or addresses, words) CA_PARAMETER (empty: not published)
# shellcheck disable=SC2154,SC2034 # header values; globals shared with bootstrap-common.sh

readonly CERT_NAME=$SELF_NAME CERT_ADDRESS=$SELF_ADDRESS
INSTANCE_ID=""
SLOT_ID=""
SLOT_MAC=""

step_imds() {
  retry_capture IMDS_TOKEN 30 2 imds_token || die "IMDSv2: no token from $IMDS"
  retry_capture INSTANCE_ID 10 2 imds_get instance-id || die "IMDSv2: no instance-id"
  local zone
  retry_capture zone 10 2 imds_get placement/availability-zone || die "IMDSv2: no availability zone"
  log "instance $INSTANCE_ID in $zone is $SELF_NAME"
}

# offer_secret ID TOKEN FILE WHAT: put-secret-value of FILE's JSON (never on a command line)
# under ClientRequestToken TOKEN; logs "stored WHAT" or why not. Never fails.
offer_secret() {
  if awsc secretsmanager put-secret-value --secret-id "$1" --client-request-token "$2" \
    --secret-string "file://$3" >/dev/null 2>"$WORK/aws.err"; then
    log "stored $4"
  else
    log "put-secret-value did not store $4 (another node's may have won): $(tr '\n' ' ' <"$WORK/aws.err" | cut -c1-200)"
  fi
}

offer_cluster_secret() {
  local d="$WORK/candidate"
  rm -rf "$d"
  mkdir -m 0700 "$d"
  local f
  for f in $SECRET_FIELDS; do
    case "$f" in
      ca_*) ;;
      *) openssl rand -hex 32 | tr -d '\n' >"$d/$f" ;;
    esac
  done
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/ca_key_pem"
  openssl req -x509 -new -key "$d/ca_key_pem" -sha256 -days 3650 -subj "/CN=$CLUSTER managed-postgres CA" \
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out "$d/ca_cert_pem"
  for f in $SECRET_FIELDS; do
    jq -n --arg k "$f" --rawfile v "$d/$f" '{($k): $v}'
  done | jq -s add >"$d/secret.json"
  offer_secret "$SECRET_ID" "$CLIENT_REQUEST_TOKEN" "$d/secret.json" "this node's candidate as the cluster secret"
  rm -rf "$d"
}
step_secrets() {
  local i rc
  for ((i = 1; i <= 30; i++)); do
    rc=0
    SECRET_JSON=$(read_secret "$SECRET_ID") || rc=$?
    if [ "$rc" -eq 0 ]; then break; fi
    if [ "$rc" -eq 3 ]; then
      log "the cluster secret has no value yet: offering a candidate"
      offer_cluster_secret
      continue
    fi
    sleep 10
  done
  [ "$rc" -eq 0 ] || die "could not read the cluster secret $SECRET_ID"
  secret_is_complete || die "the cluster secret $SECRET_ID lacks fields (expected: $SECRET_FIELDS)"
  log "cluster secret read"
}

# issue_certificate KEY CERT CN SAN: a new EC P-256 key and a certificate (serverAuth +
# clientAuth, 10 years) signed with the cluster CA, whose key only ever exists in WORK.
issue_certificate() {
  local key=$1 cert=$2 cn=$3 san=$4
  secret_field ca_key_pem >"$WORK/ca.key"
  openssl ecparam -name prime256v1 -genkey -noout -out "$key"
  openssl req -new -key "$key" -subj "/CN=$cn" -out "$WORK/cert.csr"
  printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
    'extendedKeyUsage=serverAuth,clientAuth' "subjectAltName=$san" >"$WORK/cert.ext"
  openssl x509 -req -in "$WORK/cert.csr" -CA "$CA_CERT" -CAkey "$WORK/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 3650 -sha256 -extfile "$WORK/cert.ext" -out "$cert" 2>/dev/null
  rm -f "$WORK/ca.key" "$WORK/cert.csr" "$WORK/cert.ext"
}

# certificate_is_current CERT KEY NAME...: signed by the CA, valid 30 more days, for every NAME, KEY its key.
certificate_is_current() {
  local cert=$1 key=$2
  shift 2
  [ -s "$cert" ] && [ -s "$key" ] || return 1
  openssl verify -CAfile "$CA_CERT" "$cert" >/dev/null 2>&1 || return 1
  openssl x509 -in "$cert" -noout -checkend 2592000 >/dev/null 2>&1 || return 1
  cert_has_names "$cert" "$@" || return 1
  cert_matches_key "$cert" "$key"
}

step_tls() {
  tls_setup
  secret_field ca_cert_pem | write_file "$CA_CERT" 0644 root root
  if certificate_is_current "$SERVER_CERT" "$SERVER_KEY" "DNS:$CERT_ADDRESS"; then
    log "TLS certificate of $CERT_NAME is current"
    return 0
  fi
  log "issuing the TLS certificate of $CERT_NAME ($CERT_ADDRESS)"
  issue_certificate "$WORK/server.key" "$WORK/server.crt" "$CERT_NAME" "IP:$CERT_ADDRESS,DNS:$CERT_ADDRESS,DNS:$CERT_NAME"
  write_file "$SERVER_KEY" 0640 root ssl-cert <"$WORK/server.key"
  write_file "$SERVER_CERT" 0644 root root <"$WORK/server.crt"
}

# pooler_names: the subjectAltName entries of the pooler certificate, one a line.
pooler_names() {
  local n
  printf 'DNS:%s\n' "$POOLER_CERT_CN"
  for n in $POOLER_CERT_NAMES; do
    if [[ $n =~ ^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$ ]]; then printf 'IP:%s\n' "$n"; fi
    printf 'DNS:%s\n' "$n"
  done
}

# pooler_secret_is_current JSON_FILE: the pooler secret in JSON_FILE has every field, the
# cluster's auth password and CA, and a current certificate for every pooler name.
pooler_secret_is_current() {
  local f=$1 d="$WORK/pooler-check"
  jq -e --arg fields "$POOLER_SECRET_FIELDS" '[($fields | split(" "))[] as $k | .[$k]] | all(type == "string" and length > 0)' "$f" >/dev/null || return 1
  [ "$(jq -r .pgbouncer_auth_password "$f")" = "$(secret_field pgbouncer_auth_password)" ] || return 1
  [ "$(jq -r .ca_cert_pem "$f")" = "$(secret_field ca_cert_pem)" ] || return 1
  rm -rf "$d"
  mkdir -m 0700 "$d"
  jq -r .tls_cert_pem "$f" >"$d/cert"
  jq -r .tls_key_pem "$f" >"$d/key"
  local rc=0
  # shellcheck disable=SC2046 # one word per name (names hold no blanks)
  certificate_is_current "$d/cert" "$d/key" $(pooler_names) || rc=1
  rm -rf "$d"
  return "$rc"
}

# step_pooler_secret (distributed): makes the PgBouncer tier's secret current. When it is
# missing or stale (other auth password or CA, certificate expiring within 30 days or not
# for every endpoint name), issues a new pooler key and certificate and offers them with a
# ClientRequestToken derived from the value it replaces: every node that saw the same value
# offers under the same token, so exactly one new version is created and the others fail
# (ResourceExistsException) or are no-ops. A failure here is logged, never fatal to the node.
step_pooler_secret() {
  [ -n "$POOLER_SECRET_ID" ] || return 0
  local rc=0 cur="$WORK/pooler-current.json" d="$WORK/pooler-candidate" seen token san
  read_secret "$POOLER_SECRET_ID" >"$cur" || rc=$?
  if [ "$rc" -eq 0 ] && pooler_secret_is_current "$cur"; then
    log "the PgBouncer tier's secret is current"
    rm -f "$cur"
    return 0
  fi
  if [ "$rc" -eq 0 ]; then
    seen=$(sha256sum <"$cur" | cut -c1-64)
    log "the PgBouncer tier's secret is stale: issuing a new certificate for it"
  elif [ "$rc" -eq 3 ]; then
    seen=none
    log "the PgBouncer tier's secret has no value yet: issuing its certificate"
  else
    log "WARNING: could not read the PgBouncer tier's secret $POOLER_SECRET_ID: not refreshing it now"
    return 0
  fi
  rm -f "$cur"
  token=$(printf '%s' "managed-postgres/pooler-secret/v1/$CLUSTER/$seen" | sha256sum | cut -c1-32 | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12})$/\1-\2-\3-\4-\5/')
  rm -rf "$d"
  mkdir -m 0700 "$d"
  san=$(pooler_names | paste -sd, -)
  issue_certificate "$d/key" "$d/cert" "$POOLER_CERT_CN" "$san"
  printf '%s' "$(secret_field pgbouncer_auth_password)" >"$d/pgb"
  jq -n --rawfile p "$d/pgb" --rawfile ca "$CA_CERT" --rawfile c "$d/cert" --rawfile k "$d/key" \
    '{pgbouncer_auth_password: $p, ca_cert_pem: $ca, tls_cert_pem: $c, tls_key_pem: $k}' >"$d/secret.json"
  offer_secret "$POOLER_SECRET_ID" "$token" "$d/secret.json" "the PgBouncer tier's secret (certificate for $san)"
  rm -rf "$d"
}

# step_publish_ca: the CA certificate in the SSM parameter CA_PARAMETER (clients' sslrootcert),
# written when it differs. A failure is logged, never fatal.
step_publish_ca() {
  [ -n "$CA_PARAMETER" ] || return 0
  local cur=""
  cur=$(awsc ssm get-parameter --name "$CA_PARAMETER" --query Parameter.Value --output text 2>"$WORK/aws.err") || cur=""
  if [ "$cur" = "$(cat "$CA_CERT")" ]; then
    log "the CA certificate is published in $CA_PARAMETER"
    return 0
  fi
  if awsc ssm put-parameter --name "$CA_PARAMETER" --type String --overwrite --value "file://$CA_CERT" >/dev/null 2>"$WORK/aws.err"; then
    log "published the CA certificate in $CA_PARAMETER"
  else
    log "WARNING: could not publish the CA certificate in $CA_PARAMETER: $(tr '\n' ' ' <"$WORK/aws.err" | cut -c1-200)"
  fi
}

# what a node writes for others: the PgBouncer tier's secret and the published CA certificate
step_publish() {
  step_pooler_secret
  step_publish_ca
}

# job_publish (subcommand JOB_PUBLISH, root, every 5 minutes on every node): step_publish
# without a boot, so a running node rewrites a pooler secret or CA parameter that is missing
# or stale (emptied, restored, other password or CA, certificate within 30 days of its end).
# Safe on every node at once: step_pooler_secret's request token lets one version win.
job_publish() {
  if [ -z "$POOLER_SECRET_ID" ] && [ -z "$CA_PARAMETER" ]; then return 0; fi
  WORK=$(mktemp -d /run/managed-postgres-bootstrap.XXXXXX)
  trap cleanup EXIT
  SECRET_JSON=$(read_secret "$SECRET_ID") || die "could not read the cluster secret $SECRET_ID"
  secret_is_complete || die "the cluster secret $SECRET_ID lacks fields (expected: $SECRET_FIELDS)"
  [ -s "$CA_CERT" ] || die "missing $CA_CERT (the boot writes it)"
  step_publish
}

slot_interface() {
  ip -o -4 addr show | awk -v a="$SELF_ADDRESS" '!found {split($4, p, "/"); if (p[1] == a) {print $2; found = 1}}'
}
# in_subnet ADDRESS CIDR: status 0 when the IPv4 ADDRESS lies in CIDR
in_subnet() {
  awk -v a="$1" -v c="$2" 'function n(s, p) {split(s, p, "."); return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4]} BEGIN {split(c, x, "/"); m = 2 ^ (32 - x[2]); exit !(int(n(a) / m) == int(n(x[1]) / m))}'
}
# The slot ENI is a second interface, usually in the primary ENI's subnet. Replies from the
# slot address leave through it (ip rule from <slot ip>, table ROUTE_TABLE); connections this
# node opens to the other members (etcd peers, replication, pg_rewind, Patroni REST,
# pgBackRest) leave from the slot address through it too: a /32 route per member address in
# the main table, via the slot interface with src <slot ip> (etcd checks the peer's source
# address against its certificate, pg_hba admits members' /32s); so do a green cluster's
# connections to blue's nodes (upgradeFrom: blue's pg_hba admits green's slot /32s only, through
# `upgradeTo`; from the primary ENI's address blue answers "no pg_hba.conf entry"). Idempotent. Under pipefail a
# reader that stops early (grep -q, awk exit) can end `ip` with SIGPIPE and fail the pipeline:
# the readers here read all of their input (a second prepare added the rule twice: File exists).
ensure_source_routing() {
  local iface def net gw peer rules upgrade_source=""
  # set only on a green cluster's nodes (upgradeFrom)
  if [ -v BLUE_NODE_ADDRESSES ]; then upgrade_source=$BLUE_NODE_ADDRESSES; fi
  iface=$(slot_interface)
  def=$(ip -4 route show default | awk '!found {for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); found = 1; break}}')
  if [ -z "$def" ] || [ "$iface" = "$def" ]; then return 0; fi
  net=$(ip -4 route show dev "$iface" proto kernel scope link |
    awk -v a="$SELF_ADDRESS" '!found {for (i = 1; i < NF; i++) if ($i == "src" && $(i + 1) == a) {print $1; found = 1; break}}')
  if [ -z "$net" ]; then
    log "no connected route for $SELF_ADDRESS on $iface: source routing not configured"
    return 0
  fi
  gw=$(awk -F'[./]' '{printf "%d.%d.%d.%d", $1, $2, $3, $4 + 1}' <<<"$net")
  ip route replace "$net" dev "$iface" src "$SELF_ADDRESS" table "$ROUTE_TABLE"
  ip route replace default via "$gw" dev "$iface" table "$ROUTE_TABLE"
  rules=$(ip rule show)
  if ! grep -qF "from $SELF_ADDRESS lookup $ROUTE_TABLE" <<<"$rules"; then
    ip rule add from "$SELF_ADDRESS" lookup "$ROUTE_TABLE" priority "$ROUTE_TABLE"
  fi
  for peer in $PEER_ADDRESSES $upgrade_source; do
    if in_subnet "$peer" "$net"; then
      ip route replace "$peer/32" dev "$iface" src "$SELF_ADDRESS"
    else
      ip route replace "$peer/32" via "$gw" dev "$iface" src "$SELF_ADDRESS"
    fi
  done
  log "connections to the members ($PEER_ADDRESSES) leave from $SELF_ADDRESS on $iface"
  if [ -n "$upgrade_source" ]; then
    log "connections to the upgrade source's nodes ($upgrade_source) leave from $SELF_ADDRESS on $iface"
  fi
}

# Polls of attach_slot: SLOT_POLLS of SLOT_POLL_SECONDS (10 minutes); a holder that is
# shutting down is force-detached after SLOT_FORCE_AFTER polls (2 minutes), a terminated one at once.
readonly SLOT_POLLS=60 SLOT_POLL_SECONDS=10 SLOT_FORCE_AFTER=12

# slot_describe eni|volume: one line per object matching the slot's tag filters
# (cluster, slot, slot-resource): "id state holder attachment-id mac" (ENI) or
# "id state holder attachment-state" (volume); "None" for an absent field.
slot_describe() {
  if [ "$1" = eni ]; then
    awsc ec2 describe-network-interfaces --filters "$FILTER_CLUSTER" "$FILTER_SLOT" "$FILTER_ENI" \
      --query 'NetworkInterfaces[].[NetworkInterfaceId,Status,Attachment.InstanceId,Attachment.AttachmentId,MacAddress]' --output text
  else
    awsc ec2 describe-volumes --filters "$FILTER_CLUSTER" "$FILTER_SLOT" "$FILTER_VOLUME" \
      --query 'Volumes[].[VolumeId,State,Attachments[0].InstanceId,Attachments[0].State]' --output text
  fi
}

# instance_state ID: EC2's state name of instance ID; "terminated" when EC2 no longer knows
# it, "unknown" when the call fails otherwise.
instance_state() {
  local out
  if out=$(awsc ec2 describe-instances --instance-ids "$1" --query 'Reservations[].Instances[].State.Name' --output text 2>"$WORK/aws.err"); then
    if [ -z "$out" ] || [ "$out" = None ]; then out=terminated; fi
    printf '%s\n' "$out"
  elif grep -q InvalidInstanceID.NotFound "$WORK/aws.err"; then
    echo terminated
  else
    echo unknown
  fi
}

# give_up_slot MESSAGE: this instance cannot take its slot. Marks it Unhealthy (ignoring the
# health check grace period) so that Auto Scaling replaces it instead of keeping a node
# that never joins, then dies.
give_up_slot() {
  log "$1: marking instance $INSTANCE_ID unhealthy so that Auto Scaling replaces it"
  awsc autoscaling set-instance-health --instance-id "$INSTANCE_ID" --health-status Unhealthy --no-should-respect-grace-period >/dev/null ||
    log "set-instance-health failed"
  die "$1"
}

# attach_slot eni|volume: waits (SLOT_POLLS polls) until the slot's ENI or volume is attached
# to this instance, attaching it once available; sets SLOT_ID (and SLOT_MAC for the ENI).
# Exactly one object must match the slot's filters (else: refuses). While an instance being
# replaced holds it: waits; force-detaches it from a terminated holder, or from one shutting
# down for SLOT_FORCE_AFTER polls; never from a pending, running, stopping or stopped one.
# Gives up with give_up_slot.
attach_slot() {
  local kind=$1 desc n id state holder extra mac hstate i down=0
  for ((i = 1; i <= SLOT_POLLS; i++)); do
    if ! desc=$(slot_describe "$kind"); then
      log "describing the slot $kind failed: retrying"
      sleep "$SLOT_POLL_SECONDS"
      continue
    fi
    n=$(grep -c . <<<"$desc" || true)
    if [ "$n" -ne 1 ]; then
      die "$n objects match the slot $kind filters ($FILTER_CLUSTER $FILTER_SLOT $FILTER_ENI / $FILTER_VOLUME), expected exactly 1: not choosing one"
    fi
    id="" state="" holder="" extra="" mac=""
    read -r id state holder extra mac <<<"$desc" || true
    if [ "$holder" = "$INSTANCE_ID" ]; then
      SLOT_ID=$id
      SLOT_MAC=$(tr '[:upper:]' '[:lower:]' <<<"$mac")
      return 0
    fi
    if [ "$state" = available ]; then
      log "attaching the slot $kind $id"
      if [ "$kind" = eni ]; then
        awsc ec2 attach-network-interface --network-interface-id "$id" --instance-id "$INSTANCE_ID" --device-index 1 >/dev/null || true
      else
        awsc ec2 attach-volume --volume-id "$id" --instance-id "$INSTANCE_ID" --device /dev/sdf >/dev/null || true
      fi
      sleep 2
      continue
    fi
    hstate=none
    if [ -n "$holder" ] && [ "$holder" != None ]; then hstate=$(instance_state "$holder"); fi
    case "$hstate" in
      shutting-down | terminated) down=$((down + 1)) ;;
      *) down=0 ;;
    esac
    log "slot $kind $id is $state, held by $holder ($hstate): waiting"
    if [ "$hstate" = terminated ] || [ "$down" -gt "$SLOT_FORCE_AFTER" ]; then
      log "force-detaching the slot $kind $id from $holder ($hstate)"
      if [ "$kind" = eni ]; then
        awsc ec2 detach-network-interface --attachment-id "$extra" --force >/dev/null || true
      else
        awsc ec2 detach-volume --volume-id "$id" --instance-id "$holder" --force >/dev/null || true
      fi
    fi
    sleep "$SLOT_POLL_SECONDS"
  done
  give_up_slot "the slot $kind of $SELF_NAME could not be attached in $((SLOT_POLLS * SLOT_POLL_SECONDS)) s"
}
step_slot_network() {
  local mac iface="" cidr i
  if [ -n "$(slot_interface)" ]; then
    log "slot address $SELF_ADDRESS already configured"
    ensure_source_routing
    return 0
  fi
  attach_slot eni
  mac=$SLOT_MAC
  for ((i = 1; i <= 60; i++)); do
    iface=$(ip -o link show | awk -v m="$mac" '!found && index($0, "link/ether " m " ") {sub(":$", "", $2); sub("@.*", "", $2); print $2; found = 1}')
    if [ -n "$iface" ]; then break; fi
    sleep 2
  done
  [ -n "$iface" ] || give_up_slot "no network interface with MAC $mac appeared"
  ip link set dev "$iface" up
  for ((i = 1; i <= 15; i++)); do
    if [ -n "$(slot_interface)" ]; then break; fi
    sleep 2
  done
  if [ -z "$(slot_interface)" ]; then
    retry_capture cidr 10 2 imds_get "network/interfaces/macs/$mac/subnet-ipv4-cidr-block" || die "IMDS: no subnet of $mac"
    ip addr add "$SELF_ADDRESS/$(cut -d/ -f2 <<<"$cidr")" dev "$iface"
  fi
  log "slot address $SELF_ADDRESS is on $iface"
  ensure_source_routing
}

# format_if_blank DEVICE: creates an ext4 filesystem (label mpg-data) on DEVICE only when
# `blkid -p` (low-level probe, no cache) finds neither a filesystem nor a partition table
# (exit status 2); refuses (exits) on any other blkid error and when the device holds
# something other than ext4. Never formats a volume with data.
format_if_blank() {
  local dev=$1 rc=0 fstype
  blkid -p "$dev" >/dev/null 2>&1 || rc=$?
  if [ "$rc" -eq 2 ]; then
    log "no filesystem and no partition table on $dev: creating ext4"
    mkfs.ext4 -q -L mpg-data "$dev"
  elif [ "$rc" -ne 0 ]; then
    die "blkid -p $dev failed with status $rc: not formatting"
  fi
  fstype=$(blkid -p -o value -s TYPE "$dev" 2>/dev/null || true)
  [ "$fstype" = ext4 ] || die "$dev holds '$fstype', not ext4: refusing to format or mount it"
}

# grow_data_filesystem (step 3 of prepare, and the first half of job_grow_fs): grows the ext4
# filesystem on DATA_MOUNT to the size of its block device when the device is bigger (EBS
# volume modified online; no partition table), with resize2fs (online for ext4: PostgreSQL
# keeps running). Nothing when the mount is not ext4 on a block device (e.g. a bind mount).
# Sets GREW to "<from bytes> <to bytes> <seconds>" when it grew the filesystem, else empty.
GREW=""
grow_data_filesystem() {
  local dev fstype dev_bytes fs_bytes t0
  GREW=""
  if ! mountpoint -q "$DATA_MOUNT"; then
    log "$DATA_MOUNT is not mounted: nothing to grow"
    return 0
  fi
  dev=$(findmnt -n -o SOURCE --target "$DATA_MOUNT")
  fstype=$(findmnt -n -o FSTYPE --target "$DATA_MOUNT")
  if [ "$fstype" != ext4 ] || [ ! -b "$dev" ]; then
    log "$DATA_MOUNT is $fstype on $dev, not ext4 on a block device: nothing to grow"
    return 0
  fi
  dev_bytes=$(blockdev --getsize64 "$dev")
  fs_bytes=$(dumpe2fs -h "$dev" 2>/dev/null | awk -F: '/^Block count:/ {c = $2} /^Block size:/ {s = $2} END {printf "%.0f\n", c * s}')
  if [ "$dev_bytes" -gt "$fs_bytes" ]; then
    log "growing the filesystem on $dev from $fs_bytes to $dev_bytes bytes (online: no unmount, no restart)"
    t0=$(date +%s)
    resize2fs "$dev"
    GREW="$fs_bytes $dev_bytes $(($(date +%s) - t0))"
    log "filesystem on $dev grown to $dev_bytes bytes in $(cut -d' ' -f3 <<<"$GREW") s"
  fi
}

# data_volume_mib: the size of the data volume in MiB: its block device's size, or (DATA_MOUNT
# not on a block device, e.g. a bind mount) the size of the filesystem holding DATA_MOUNT.
data_volume_mib() {
  local dev
  dev=$(findmnt -n -o SOURCE --target "$DATA_MOUNT") || return 1
  if [ -b "$dev" ]; then
    echo $(($(blockdev --getsize64 "$dev") / 1048576))
  else
    df -B1M --output=size "$DATA_MOUNT" | tail -n 1 | tr -d ' '
  fi
}

# patch_patroni_config BODY: PATCH /config (Patroni's dynamic configuration, what
# `patronictl edit-config` changes) on this node's Patroni with the JSON BODY and the REST API
# credentials: the password read from PATRONI_ENV and handed to curl as its configuration on
# stdin, never on a command line. Status 1 (and a log line) when the password is not a plain
# token or the request fails.
patch_patroni_config() {
  local pass
  pass=$(sed -n 's/^PATRONI_RESTAPI_PASSWORD[=]//p' "$PATRONI_ENV")
  # an unquoted curl config value: the password is hex (step_secrets), anything else is refused
  case "$pass" in
    "" | *[!A-Za-z0-9._~+/=-]*)
      log "the REST API password in $PATRONI_ENV is empty or not a plain token"
      return 1
      ;;
  esac
  printf 'user = %s:%s\n' "$PATRONI_RESTAPI_USERNAME" "$pass" |
    curl -sf -o /dev/null --max-time 10 --cacert "$CA_CERT" -K - -X PATCH -H 'Content-Type: application/json' \
      --data "$1" "$PATRONI_URL/config"
}

# wal_limits_for MIB: "max_wal_size max_slot_wal_keep_size" for a data volume of MIB MiB:
# an eighth of the volume from 256MB to 8192MB, and a quarter (walLimitsForVolume in
# src/render/postgres.ts: the same formula).
wal_limits_for() {
  local wal=$(($1 / 8))
  if [ "$wal" -lt 256 ]; then wal=256; fi
  if [ "$wal" -gt 8192 ]; then wal=8192; fi
  echo "$wal""MB $(($1 / 4))MB"
}

# apply_wal_limits (the second half of job_grow_fs, and finalize on the primary): on the
# primary only, sets max_wal_size and max_slot_wal_keep_size for this node's data volume in
# Patroni's dynamic configuration (PATCH /config with the REST API credentials, the password
# read from PATRONI_ENV and handed to curl as its configuration on stdin, never on a command line) when they differ.
# Both are sighup parameters: Patroni reloads every member at its next loop, no restart. They
# are in no rendered file, so growing storageGiB changes no launch template (issue 12).
apply_wal_limits() {
  local mib want have body
  if ! patroni_says primary; then
    log "not the primary: the WAL limits are set by the primary"
    return 0
  fi
  mib=$(data_volume_mib) || { log "the size of $DATA_MOUNT is unknown: WAL limits unchanged"; return 1; }
  want=$(wal_limits_for "$mib")
  have=$(curl -sf --max-time 10 --cacert "$CA_CERT" "$PATRONI_URL/config" |
    jq -r '.postgresql.parameters // {} | "\(.max_wal_size // "unset") \(.max_slot_wal_keep_size // "unset")"') || {
    log "GET $PATRONI_URL/config failed: WAL limits unchanged"
    return 1
  }
  if [ "$have" = "$want" ]; then return 0; fi
  body=$(jq -n -c --arg w "$(cut -d' ' -f1 <<<"$want")" --arg s "$(cut -d' ' -f2 <<<"$want")" \
    '{postgresql: {parameters: {max_wal_size: $w, max_slot_wal_keep_size: $s}}}')
  patch_patroni_config "$body" || {
    log "PATCH $PATRONI_URL/config failed: WAL limits unchanged"
    return 1
  }
  log "WAL limits for a $mib MiB data volume set in Patroni's dynamic configuration: max_wal_size max_slot_wal_keep_size $have -> $want (a reload on every member, no restart)"
  emit_metric mp_wal_limits_set 1 "data volume $mib MiB: max_wal_size max_slot_wal_keep_size $have -> $want"
}

# job_grow_fs (subcommand JOB_GROW_FILESYSTEM, root, every 5 minutes): grows the data
# filesystem online when its volume grew (mp_data_filesystem_grown 1, with the sizes and the
# seconds resize2fs took), then, on the primary, makes the WAL limits follow the volume.
job_grow_fs() {
  grow_data_filesystem
  if [ -n "$GREW" ]; then
    local from to secs
    read -r from to secs <<<"$GREW"
    emit_metric mp_data_filesystem_grown 1 "data filesystem grown online from $from to $to bytes in $secs s"
  fi
  apply_wal_limits
}

step_data_volume() {
  local vol dev="" by_id uuid line i
  if mountpoint -q "$DATA_MOUNT"; then
    log "$DATA_MOUNT already mounted"
    grow_data_filesystem
    return 0
  fi
  attach_slot volume
  vol=$SLOT_ID
  by_id="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$(tr -d '-' <<<"$vol")"
  for ((i = 1; i <= 60; i++)); do
    udevadm settle >/dev/null 2>&1 || true
    if [ -b "$by_id" ]; then dev=$(readlink -f "$by_id"); break; fi
    if [ -b /dev/xvdf ]; then dev=/dev/xvdf; break; fi
    sleep 2
  done
  [ -n "$dev" ] || give_up_slot "the device of $vol did not appear ($by_id)"
  format_if_blank "$dev"
  uuid=$(blkid -o value -s UUID "$dev")
  line="UUID=$uuid $DATA_MOUNT ext4 defaults,nofail,noatime,x-systemd.device-timeout=30s 0 2"
  if ! grep -qxF "$line" /etc/fstab; then
    awk -v m="$DATA_MOUNT" '$2 != m' /etc/fstab >/etc/fstab.managed-postgres
    printf '%s\n' "$line" >>/etc/fstab.managed-postgres
    chmod 0644 /etc/fstab.managed-postgres
    mv -f /etc/fstab.managed-postgres /etc/fstab
  fi
  mkdir -p "$DATA_MOUNT"
  mount "$DATA_MOUNT"
  log "$vol ($dev) mounted on $DATA_MOUNT"
  grow_data_filesystem
}
step_directories() {
  install -d -m 0755 -o root -g root "$DATA_MOUNT"
  install -d -m 0700 -o etcd -g etcd "$ETCD_DATA_DIR"
  install -d -m 0700 -o postgres -g postgres "$DATA_MOUNT/pgdata"
  install -d -m 0750 -o postgres -g postgres "$PGBACKREST_SPOOL"
  for d in /var/log/pgbackrest /var/log/postgresql "$POSTGRES_SOCKET_DIR" "$PGBACKREST_INCLUDE_DIR"; do
    if [ ! -d "$d" ]; then install -d -m 0750 -o postgres -g postgres "$d"; fi
  done
}

step_secret_files() {
  local su repl rewind rest pgb cipher
  su=$(secret_field superuser_password)
  repl=$(secret_field replication_password)
  rewind=$(secret_field rewind_password)
  rest=$(secret_field restapi_password)
  pgb=$(secret_field pgbouncer_auth_password)
  cipher=$(secret_field backup_cipher_pass)
  printf '%s\n' "PATRONI_SUPERUSER_PASSWORD=$su" "PATRONI_REPLICATION_PASSWORD=$repl" "PATRONI_REWIND_PASSWORD=$rewind" \
    "PATRONI_RESTAPI_USERNAME=$PATRONI_RESTAPI_USERNAME" "PATRONI_RESTAPI_PASSWORD=$rest" "$PGBOUNCER_AUTH_PASSWORD_ENV=$pgb" |
    write_file "$PATRONI_ENV" 0600 postgres postgres
  printf '%s\n' '[global]' "repo1-cipher-pass=$cipher" | write_file "$PGBACKREST_INCLUDE_DIR/secret.conf" 0640 postgres postgres
  printf '%s\n' "$cipher" | write_file "$BACKUP_CIPHER_PASS_FILE" 0600 postgres postgres
  if [ "$PGBOUNCER_HERE" = yes ]; then write_pgbouncer_secret_files "$pgb"; fi
  log "secret files written"
}

patroni_cluster_leader() {
  curl -sf --max-time 5 --cacert "$CA_CERT" "$PATRONI_URL/cluster" | jq -r '.members[] | select(.role == "leader") | .name'
}
finalize_primary() {
  local has_auth pgb
  log "this node is the primary: PgBouncer auth function and pgBackRest stanza"
  has_auth=$(runuser -u postgres -- psql -X -A -t -q -h "$POSTGRES_SOCKET_DIR" -d postgres \
    -c "SELECT to_regprocedure('pgbouncer.get_auth(text)') IS NOT NULL")
  if [ "$has_auth" != t ]; then
    log "pgbouncer.get_auth is missing: running the post-bootstrap script"
    pgb=$(sed -n "s/^$PGBOUNCER_AUTH_PASSWORD_ENV=//p" "$PATRONI_ENV")
    # exported by the builtin, so the password is on no command line
    (
      export "$PGBOUNCER_AUTH_PASSWORD_ENV=$pgb"
      runuser -u postgres -- "$PATRONI_POST_BOOTSTRAP_SCRIPT" "host=$POSTGRES_SOCKET_DIR dbname=postgres"
    )
  fi
  # The WAL limits that follow the data volume (a fresh cluster starts with PostgreSQL's
  # defaults until then); the grow-fs job retries every 5 minutes when this fails.
  apply_wal_limits || log "WAL limits not set now: the grow-fs job retries within 5 minutes"
  # Exit 50 (lock held): archive-push, failing until the stanza exists, holds the stanza's
  # archive lock for moments; often so right after a restore (restoreFrom) promoted.
  local i rc
  for ((i = 1; i <= 30; i++)); do
    rc=0
    runuser -u postgres -- pgbackrest --stanza="$STANZA" stanza-create || rc=$?
    if [ "$rc" -ne 50 ]; then return "$rc"; fi
    log "pgbackrest stanza-create: the stanza lock is held (attempt $i of 30), retrying in 2 s"
    sleep 2
  done
  die "pgbackrest stanza-create: the stanza lock was still held after 30 attempts"
}
step_finalize() {
  local leader="" i
  for ((i = 1; i <= 120; i++)); do
    leader=$(patroni_cluster_leader 2>/dev/null) || leader=""
    if [ -n "$leader" ]; then break; fi
    sleep 5
  done
  [ -n "$leader" ] || die "the cluster has no leader after 10 minutes"
  if [ "$leader" = "$SELF_NAME" ]; then
    finalize_primary
  else
    log "the primary is $leader: nothing to finalize here"
  fi
}

# patroni_says PATH: status 0 when this node's Patroni REST API answers 200 on PATH
# (primary, sync, async, ...: Patroni 3.0 health-check endpoints).
patroni_says() {
  curl -sf -o /dev/null --max-time 10 --cacert "$CA_CERT" "$PATRONI_URL/$1"
}

# job_backup (subcommand JOB_FULL_BACKUP, as postgres, every node): a full pgBackRest backup,
# only on the node passing BACKUP_RUNNER_CHECK; pgBackRest expires beyond the retention after it.
job_backup() {
  if ! patroni_says "$BACKUP_RUNNER_CHECK"; then
    log "not $BACKUP_RUNNER: no backup from this node"
    return 0
  fi
  log "full backup of stanza $STANZA"
  pgbackrest --stanza="$STANZA" --type=full backup
}

# s3_upload KEY < STREAM: to s3://BACKUP_BUCKET/KEY with SSE-KMS (the cluster key), through
# S3_ENDPOINT_URL when set.
s3_upload() {
  set -- s3 cp - "s3://$BACKUP_BUCKET/$1" --sse aws:kms --sse-kms-key-id "$KMS_KEY_ARN" --only-show-errors
  if [ "$S3_VERIFY_TLS" = no ]; then set -- --no-verify-ssl "$@"; fi
  if [ -n "$S3_ENDPOINT_URL" ]; then set -- --endpoint-url "$S3_ENDPOINT_URL" "$@"; fi
  aws --region "$AWS_REGION" "$@"
}

# job_logical_dump (subcommand JOB_LOGICAL_DUMP, as postgres, every node; acts on one node:
# distributed, the asynchronous replica, else the synchronous standby; standalone, the
# primary): pg_dump -Fc of every database that allows connections, encrypted with
# `openssl enc -aes-256-cbc -pbkdf2` (pass: BACKUP_CIPHER_PASS_FILE), to
# LOGICAL_DUMP_PREFIX<database>/<UTC stamp>.dump.enc.
# replica_side_node: status 0 on the one node that does the replica-side work (logical dumps,
# backup verification): distributed, the asynchronous replica, else the synchronous standby when
# no asynchronous replica is running; standalone, the primary. Logs which.
replica_side_node() {
  if [ "$DEPLOYMENT" != distributed ]; then
    if patroni_says primary; then return 0; fi
    log "not the primary: nothing to do"
    return 1
  elif patroni_says async; then
    log "asynchronous replica: this node does it"
  elif patroni_says sync && ! curl -sf --max-time 10 --cacert "$CA_CERT" "$PATRONI_URL/cluster" |
    jq -e '[.members[] | select(.role == "replica" and .state == "running")] | length > 0' >/dev/null; then
    log "synchronous standby, no asynchronous replica running: this node does it"
  else
    log "not the replica that does it: nothing to do"
    return 1
  fi
}

job_logical_dump() {
  local pass=$BACKUP_CIPHER_PASS_FILE stamp dbs db key failed=0
  replica_side_node || return 0
  [ -r "$pass" ] || die "missing $pass"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  dbs=$(psql -X -A -t -q -d postgres -c "SELECT datname FROM pg_catalog.pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1")
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    key="$LOGICAL_DUMP_PREFIX$db/$stamp.dump.enc"
    log "dumping $db to s3://$BACKUP_BUCKET/$key"
    if pg_dump -Fc -d "$db" | openssl enc -aes-256-cbc -pbkdf2 -salt -pass "file:$pass" | s3_upload "$key"; then
      log "$db dumped"
    else
      log "dump of $db FAILED"
      failed=1
    fi
  done <<<"$dbs"
  return "$failed"
}

run_job() {
  case "$1" in
    "$JOB_FULL_BACKUP") job_backup ;;
    "$JOB_LOGICAL_DUMP") job_logical_dump ;;
    "$JOB_GROW_FILESYSTEM") job_grow_fs ;;
    "$JOB_CHECK_DATA_VERSION") check_data_version ;;
    "$JOB_MAINTENANCE") job_maintenance ;;
    "$JOB_VERIFY_BACKUP") job_verify_backup ;;
    "$JOB_PUBLISH") job_publish ;;
    "$JOB_ETCD_LEADER") job_etcd_leader ;;
    *) die "unknown job $1" ;;
  esac
}

# the node's machine steps of prepare (bootstrap-common.sh)
prepare_machine() {
  step_slot_network
  step_data_volume
  step_directories
}

finalize() {
  step_finalize
}
