# shellcheck shell=bash
# Day 2 of a database node, after node-bootstrap.sh: the data-version check before Patroni
# starts, and the rolling maintenance the cluster performs on itself (docs/operations.md).
# Header values besides those of bootstrap-common.sh and node-bootstrap.sh:
#   MAJOR_VERSION PGDATA PGDATA_ROOT (this node's major version and data directories)
#   EVENTS_LOG METRIC_NAMESPACE SLOT (embedded-metric-format lines the CloudWatch agent ships)
#   PATRONI_CONFIG PATRONI_SCOPE CONFIG_DIGEST_FILE (the configuration digest Patroni started with)
#   MW_DAY (ISO weekday, 1 = Monday) MW_START_MINUTE (minutes after 00:00 UTC) MW_DURATION (minutes)
#   APPLY_IMMEDIATELY (yes|no) ETCD_ENDPOINTS (comma list) DCS_PREFIX (no trailing slash)
#   MEMBER_NAMES (words) LAG_LIMIT_BYTES ROLL_LOCK_TTL (seconds)
#   MAINTENANCE_NEED_FILE (this node's "NEED WHY first-seen-revision"; see note_need)
#   BACKUP_STATUS_FILE BACKUP_MAX_AGE_SECONDS JOB_VERIFY_BACKUP VERIFY_SCRATCH VERIFY_PORT
#   DEPART_WAIT_SECONDS DEPART_DRAIN_SECONDS (a departing replica's bounded waits; see depart)
# shellcheck disable=SC2154,SC2153 # header values (CLUSTER, SELF_NAME… come from the header)

# emit_metric NAME VALUE [EVENT]: one CloudWatch embedded-metric-format line (namespace
# METRIC_NAMESPACE, dimensions Cluster and Cluster+Slot) appended to EVENTS_LOG, which the
# CloudWatch agent ships to the cluster's metrics log group; CloudWatch Logs extracts the metric.
emit_metric() {
  local dir event=""
  if [ "$#" -gt 2 ]; then event=$3; fi
  dir=$(dirname "$EVENTS_LOG")
  # root's jobs and postgres's jobs both write it: group postgres, group-writable
  [ -d "$dir" ] || install -d -m 0775 -g postgres "$dir"
  [ -e "$EVENTS_LOG" ] || install -m 0664 -g postgres /dev/null "$EVENTS_LOG"
  if [ -f "$EVENTS_LOG" ] && [ "$(stat -c %s "$EVENTS_LOG")" -gt 10485760 ]; then mv -f "$EVENTS_LOG" "$EVENTS_LOG.1"; fi
  jq -n -c --arg ns "$METRIC_NAMESPACE" --arg c "$CLUSTER" --arg s "$SLOT" --arg m "$1" --argjson v "$2" \
    --arg e "$event" --arg node "$SELF_NAME" --argjson t "$(date +%s)000" \
    '{_aws: {Timestamp: $t, CloudWatchMetrics: [{Namespace: $ns, Dimensions: [["Cluster"], ["Cluster", "Slot"]], Metrics: [{Name: $m}]}]},
      Cluster: $c, Slot: $s, node: $node, event: $e} + {($m): $v}' >>"$EVENTS_LOG"
}

# check_data_version (subcommand JOB_CHECK_DATA_VERSION; ExecStartPre of patroni.service, as
# root): refuses (exit 1, one log line, mp_data_version_mismatch 1) when PGDATA, or any
# sibling data directory under PGDATA_ROOT, holds a PG_VERSION other than MAJOR_VERSION: a
# node never starts PostgreSQL on another major version's data directory. Otherwise records
# the digest of the configuration Patroni starts with (CONFIG_DIGEST_FILE) and publishes 0.
check_data_version() {
  local f v
  for f in "$PGDATA/PG_VERSION" "$PGDATA_ROOT"/*/PG_VERSION; do
    [ -f "$f" ] || continue
    v=$(tr -d '[:space:]' <"$f")
    if [ "$v" != "$MAJOR_VERSION" ]; then
      log "REFUSING to start PostgreSQL $MAJOR_VERSION: $(dirname "$f") holds a PostgreSQL $v data directory (PG_VERSION). Keep majorVersion $v for cluster $CLUSTER, or move to $MAJOR_VERSION through a new cluster loaded from a logical dump (docs/UPGRADING.md, \"Major versions\")"
      emit_metric mp_data_version_mismatch 1 "refused: data directory $(dirname "$f") is PostgreSQL $v, node runs $MAJOR_VERSION"
      return 1
    fi
  done
  emit_metric mp_data_version_mismatch 0 "data directory matches PostgreSQL $MAJOR_VERSION"
  install -d -m 0755 "$(dirname "$CONFIG_DIGEST_FILE")"
  config_digest >"$CONFIG_DIGEST_FILE"
}

# config_digest: SHA-256 of the rendered configuration files as they are on disk now, without
# the departure tags a departing node appends to PATRONI_CONFIG (set_departure_tags).
config_digest() {
  local f
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    printf '%s\n' "$f"
    if [ -f "$f" ]; then sed "/^$DEPART_MARK\$/,\$d" "$f"; fi
  done <<<"$CONFIG_FILES" | sha256sum | cut -d' ' -f1
}

# The line that starts the departure tags in PATRONI_CONFIG; everything from it to the end of
# the file is the block set_departure_tags appended.
DEPART_MARK="# managed-postgres-maintenance: departing"

# departure_tags_set: status 0 when PATRONI_CONFIG carries the departure tags.
departure_tags_set() {
  grep -qxF "$DEPART_MARK" "$PATRONI_CONFIG" 2>/dev/null
}

# rewrite_patroni_config: replaces PATRONI_CONFIG by the text on stdin (a temporary file in
# its directory, owner and mode kept, renamed over it: Patroni never reads half a file).
rewrite_patroni_config() {
  local tmp
  tmp=$(mktemp "$(dirname "$PATRONI_CONFIG")/.patroni.yml.XXXXXX") || return 1
  if cat >"$tmp" && chown --reference="$PATRONI_CONFIG" "$tmp" && chmod --reference="$PATRONI_CONFIG" "$tmp" && mv -f "$tmp" "$PATRONI_CONFIG"; then
    return 0
  fi
  rm -f "$tmp"
  return 1
}

# set_departure_tags: appends Patroni's tags `nosync` (Patroni never picks this member as the
# synchronous standby: the primary moves the role to another streaming replica at its next HA
# loop) and `noloadbalance` (its `GET /replica` answers 503, so HAProxy's read-only backend
# drops it) to PATRONI_CONFIG and reloads Patroni (Patroni 3.0.2 and 4.0.7 take `tags` from the
# local file on a reload). A replacement instance renders a fresh file without them; after a
# restart clear_departure_tags removes them.
set_departure_tags() {
  if ! departure_tags_set; then
    {
      cat "$PATRONI_CONFIG"
      if [ -n "$(tail -c1 "$PATRONI_CONFIG")" ]; then echo; fi
      printf '%s\ntags:\n  nosync: true\n  noloadbalance: true\n' "$DEPART_MARK"
    } | rewrite_patroni_config || return 1
  fi
  patronictl_env reload "$PATRONI_SCOPE" "$SELF_NAME" --force >/dev/null
}

# clear_departure_tags: removes the departure tags from PATRONI_CONFIG (when there) and reloads
# Patroni, so the member may be the synchronous standby and serve reads again.
clear_departure_tags() {
  departure_tags_set || return 0
  sed "/^$DEPART_MARK\$/,\$d" "$PATRONI_CONFIG" | rewrite_patroni_config || {
    log "maintenance: could not remove the departure tags from $PATRONI_CONFIG: retrying next run"
    return 1
  }
  local i
  for ((i = 1; i <= 3; i++)); do
    if patronictl_env reload "$PATRONI_SCOPE" "$SELF_NAME" --force >/dev/null; then
      log "maintenance: $SELF_NAME is back: departure tags (nosync, noloadbalance) removed"
      return 0
    fi
    sleep 2
  done
  log "maintenance: departure tags removed from $PATRONI_CONFIG, but Patroni's reload failed: it keeps them until its next reload"
  return 1
}

# depart: the graceful departure of a replica the roll is about to replace or restart (the
# primary switches over first and departs as a replica at a later run). Status 0 when it may go
# now; 1 when it must wait (logged; the next run goes on). With synchronous_mode_strict a commit
# waits for the synchronous standby: a standby that just vanished held every commit until the
# primary's next HA loop (loop_wait) named another one, and HAProxy's read-only backend kept
# sending it sessions until its checks failed. So, before leaving:
# 1. unless it carries them already, another member must be able to take the synchronous
#    standby role (a streaming or running replica without nosync): never below a synchronous
#    standby; otherwise it waits;
# 2. set_departure_tags (nosync, noloadbalance) and a reload;
# 3. wait, at most DEPART_WAIT_SECONDS (two HA loops and the primary's 2 s settle), until GET
#    /cluster shows this member with both tags and another member as sync_standby, then
#    DEPART_DRAIN_SECONDS (HAProxy's fall x inter, src/render/haproxy.ts) so every pooler's
#    read-only backend has marked it down.
depart() {
  local cluster others sync i
  # a standalone cluster's only member: no standby to hand over to, nothing to drain (its
  # replacement or restart is the cluster's downtime, docs/operations.md)
  if [ "$(wc -w <<<"$MEMBER_NAMES")" -le 1 ]; then
    log "maintenance: $SELF_NAME is the cluster's only member: nothing to hand over before its $NEED"
    return 0
  fi
  cluster=$(patroni_get cluster) || {
    log "maintenance: $SELF_NAME waits before its $NEED: Patroni REST API not answering"
    return 1
  }
  if ! departure_tags_set; then
    others=$(jq -r --arg s "$SELF_NAME" '[.members[] | select(.name != $s and .role != "leader" and .role != "master" and .role != "primary"
      and (.state == "streaming" or .state == "running") and ((.tags.nosync // false) != true)) | .name] | join(" ")' <<<"$cluster")
    if [ -z "$others" ]; then
      log "maintenance: $SELF_NAME waits before its $NEED: no other streaming replica could take the synchronous standby role (the roll never goes below a synchronous standby)"
      return 1
    fi
    sync=$(jq -r '[.members[] | select(.role == "sync_standby") | .name] | first // "none"' <<<"$cluster")
    if ! set_departure_tags; then
      log "maintenance: $SELF_NAME waits before its $NEED: could not set the departure tags in $PATRONI_CONFIG or reload Patroni"
      return 1
    fi
    log "maintenance: $SELF_NAME departs before its $NEED: tags nosync and noloadbalance set (synchronous standby now $sync; candidates $others)"
  fi
  for ((i = 0; i < DEPART_WAIT_SECONDS; i += 2)); do
    cluster=$(patroni_get cluster) || cluster='{}'
    sync=$(jq -r --arg s "$SELF_NAME" '(.members // []) as $m
      | if ($m | any(.name == $s and .role != "sync_standby" and .tags.nosync == true and .tags.noloadbalance == true))
        then [$m[] | select(.role == "sync_standby" and .name != $s) | .name] | first // empty else empty end' <<<"$cluster")
    if [ -n "$sync" ]; then
      sleep "$DEPART_DRAIN_SECONDS"
      log "maintenance: $SELF_NAME left: $sync is the synchronous standby, HAProxy's read-only backends dropped $SELF_NAME ($DEPART_DRAIN_SECONDS s of checks)"
      emit_metric mp_maintenance_node_departed 1 "$NEED: synchronous standby $sync"
      return 0
    fi
    sleep 2
  done
  log "maintenance: $SELF_NAME waits before its $NEED: after $DEPART_WAIT_SECONDS s Patroni does not yet show its departure tags and another synchronous standby: retrying next run"
  return 1
}

# minute_of_week EPOCH: minutes since Monday 00:00 UTC of the week of EPOCH.
minute_of_week() {
  local d h m
  read -r d h m < <(date -u -d "@$1" '+%u %H %M')
  echo $(((d - 1) * 1440 + 10#$h * 60 + 10#$m))
}

# in_window [EPOCH]: status 0 when EPOCH (default now) is inside the weekly maintenance window
# [start, start + MW_DURATION) in UTC, the window wrapping from Sunday into Monday.
in_window() {
  local now start
  now=$(minute_of_week "$1")
  start=$(((MW_DAY - 1) * 1440 + MW_START_MINUTE))
  [ $(((now - start + 10080) % 10080)) -lt "$MW_DURATION" ]
}

# etcdc_at ENDPOINTS ARGS...: etcdctl (API 3) with this node's client certificate.
etcdc_at() {
  local endpoints=$1
  shift
  ETCDCTL_API=3 etcdctl --endpoints="$endpoints" --cacert="$CA_CERT" --cert="$SERVER_CERT" --key="$SERVER_KEY" \
    --dial-timeout=3s --command-timeout=5s "$@"
}

etcdc() {
  etcdc_at "$ETCD_ENDPOINTS" "$@"
}

# dcs_get KEY: the value of DCS_PREFIX/KEY, empty when absent.
dcs_get() {
  etcdc get --print-value-only "$DCS_PREFIX/$1"
}

patroni_get() {
  curl -sf --max-time 10 --cacert "$CA_CERT" "$PATRONI_URL/$1"
}

# patronictl with the REST API credentials in its environment: the password read from
# PATRONI_ENV and exported by the builtin (never on a command line); the user name is the header's.
patronictl_env() {
  (
    export PATRONI_RESTAPI_USERNAME
    export "PATRONI_RESTAPI_PASSWORD=$(sed -n 's/^PATRONI_RESTAPI_PASSWORD[=]//p' "$PATRONI_ENV")"
    patronictl -c "$PATRONI_CONFIG" "$@"
  )
}

# what_differs: sets NEED (replace|restart|reload|none) and WHY. replace: the slot group's
# launch template version differs from the aws:ec2launchtemplate:version tag EC2 put on this
# instance; restart: Patroni reports pending_restart; reload: the configuration files differ
# from those Patroni started with.
what_differs() {
  local tags running group desired patroni
  NEED=none WHY=""
  tags=$(awsc ec2 describe-instances --instance-ids "$INSTANCE_ID" --query 'Reservations[0].Instances[0].Tags' --output json) || {
    WHY="describe-instances failed"
    return 1
  }
  running=$(jq -r '.[]? | select(.Key == "aws:ec2launchtemplate:version") | .Value' <<<"$tags")
  group=$(jq -r '.[]? | select(.Key == "aws:autoscaling:groupName") | .Value' <<<"$tags")
  if [ -n "$group" ]; then
    desired=$(awsc autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$group" \
      --query 'AutoScalingGroups[0].LaunchTemplate.Version' --output text) || {
      WHY="describe-auto-scaling-groups failed"
      return 1
    }
    if [ -n "$running" ] && [ "$desired" != "$running" ]; then
      NEED=replace WHY="launch template version $running, group $group wants $desired"
      return 0
    fi
  fi
  patroni=$(patroni_get patroni) || {
    WHY="Patroni REST API not answering"
    return 1
  }
  if jq -e '.pending_restart == true' <<<"$patroni" >/dev/null; then
    NEED=restart WHY="Patroni reports pending_restart"
  elif [ -f "$CONFIG_DIGEST_FILE" ] && [ "$(config_digest)" != "$(cat "$CONFIG_DIGEST_FILE")" ]; then
    NEED=reload WHY="configuration digest changed since Patroni started"
  fi
}

# dcs_configuration_patch: prints {"patch": BODY, "held": HELD} (compact JSON). BODY brings
# Patroni's dynamic configuration (GET /config) to the bootstrap.dcs section of this node's
# PATRONI_CONFIG: every scalar setting there (ttl, loop_wait, retry_timeout, synchronous_mode, …),
# the scalars of its postgresql section and its postgresql.parameters (the settings Patroni takes
# only from the DCS: max_connections, max_wal_senders, …) whose value differs, compared as text;
# {} when none does. HELD ({name: {from, to}}) are the decreases BODY leaves out: a standby must
# run max_connections, max_prepared_transactions, max_locks_per_transaction, max_worker_processes
# and max_wal_senders at least as high as its primary (PostgreSQL documentation, "Hot Standby",
# administrator's overview), so a decrease needs the primary restarted before the replicas, which
# this roll does not do (a replica restarted first comes back with the primary's value and
# pending_restart: Patroni's effective_configuration). wal_level lowered from logical is held too
# ({from, to, slots}) while Patroni's dynamic configuration lists a permanent logical slot (an
# upgrade's mp_upgrade_*, issue 15): PostgreSQL refuses to start with a logical slot and wal_level
# below logical ("logical replication slot ... exists, but wal_level < logical"), so every member
# the roll restarted would stay down. Settings the file does not render (the WAL limits
# apply_wal_limits sets, anything an operator added) are left alone. Status 1 when the file or
# Patroni cannot be read.
dcs_configuration_patch() {
  local want have
  want=$(python3 -c 'import json, sys, yaml; print(json.dumps(((yaml.safe_load(open(sys.argv[1])) or {}).get("bootstrap") or {}).get("dcs") or {}))' "$PATRONI_CONFIG") || return 1
  have=$(patroni_get config) || return 1
  jq -c -n --argjson want "$want" --argjson have "$have" '
    def differing($w; $h): $w | with_entries(select((.value | type) != "object" and (.value | tostring) != ($h[.key] | tostring)));
    def nonempty($k): if . == {} then {} else {($k): .} end;
    def int: tostring | select(test("^[0-9]+$")) | tonumber;
    ["max_connections", "max_prepared_transactions", "max_locks_per_transaction", "max_worker_processes", "max_wal_senders"] as $standby_minimum |
    ($want.postgresql // {}) as $wp | ($have.postgresql // {}) as $hp |
    differing($wp.parameters // {}; $hp.parameters // {}) as $parameters |
    ($parameters | with_entries(.key as $k | select(($standby_minimum | index($k)) != null)
      | select(([.value | int] | first) as $to | ([$hp.parameters[$k] | int] | first) as $from | $to != null and $from != null and $to < $from)
      | .value = {from: ($hp.parameters[.key] | tostring), to: (.value | tostring)})) as $lowered |
    [($have.slots // {}) | to_entries[] | select((.value.type // "") == "logical") | .key] as $logical |
    ($parameters | with_entries(select(.key == "wal_level" and (.value | tostring) != "logical"
      and ($hp.parameters.wal_level | tostring) == "logical" and ($logical | length) > 0))
      | map_values({from: "logical", to: tostring, slots: $logical})) as $slotted |
    ($lowered + $slotted) as $held |
    {patch: (differing($want; $have) + ((differing($wp; $hp) + ($parameters | with_entries(select(.key as $k | $held | has($k) | not))
      | nonempty("parameters"))) | nonempty("postgresql"))), held: $held}'
}

# apply_dcs_configuration (each maintenance run of a node that runs the launch template version
# its group wants): Patroni copies the bootstrap.dcs section of its file into the DCS only when it
# creates the cluster, so without this a new size (max_connections) or new timing would never
# reach a running cluster. PATCHes the settings that differ (one log line, mp_dcs_configuration_set
# 1); Patroni reloads every member at its next loop and flags pending_restart where a setting needs
# a restart, which this roll then applies node by node, replicas first. The first node replaced in
# a roll does it, so the nodes replaced after it start with the new values and need no restart.
# A held decrease (dcs_configuration_patch) is logged with what to do, mp_dcs_configuration_held 1.
apply_dcs_configuration() {
  local out body held lowered slotted
  out=$(dcs_configuration_patch) || {
    log "maintenance: Patroni's dynamic configuration or $PATRONI_CONFIG unreadable: dynamic configuration left as it is"
    return 0
  }
  body=$(jq -c '.patch' <<<"$out")
  held=$(jq -c '.held' <<<"$out")
  if [ "$held" != "{}" ]; then
    lowered=$(jq -r 'to_entries | map(select(.value.slots == null) | "\(.key) \(.value.from) -> \(.value.to)") | join(", ")' <<<"$held")
    if [ -n "$lowered" ]; then
      log "maintenance: not lowering $lowered in Patroni's dynamic configuration: a decrease must restart the primary before the replicas, which the roll does not do (docs/operations.md, \"Lowering max_connections\")"
    fi
    slotted=$(jq -r 'to_entries | map(select(.value.slots != null) | "\(.key) \(.value.from) -> \(.value.to) (logical slots \(.value.slots | join(" ")))") | join(", ")' <<<"$held")
    if [ -n "$slotted" ]; then
      log "maintenance: not lowering $slotted in Patroni's dynamic configuration: PostgreSQL does not start with a logical slot and wal_level below logical; remove the slots first (docs/UPGRADING.md, \"Blue/green\", rollback)"
    fi
    emit_metric mp_dcs_configuration_held 1 "$held"
  fi
  if [ "$body" = "{}" ]; then return 0; fi
  if patch_patroni_config "$body"; then
    log "maintenance: Patroni's dynamic configuration set to what $PATRONI_CONFIG renders: $body"
    emit_metric mp_dcs_configuration_set 1 "$body"
  else
    log "maintenance: PATCH $PATRONI_URL/config failed: dynamic configuration unchanged, retrying next run ($body)"
  fi
}

# cluster_unhealthy: prints why the cluster may not lose a node now (nothing when healthy):
# every member of MEMBER_NAMES present and running or streaming, one leader, replica lag at
# most LAG_LIMIT_BYTES, a synchronous standby (more than one member), and the newest full
# backup younger than BACKUP_MAX_AGE_SECONDS (when the backup status job has reported one).
cluster_unhealthy() {
  local cluster m n last age
  cluster=$(patroni_get cluster) || {
    echo "Patroni REST API not answering"
    return 0
  }
  for m in $MEMBER_NAMES; do
    if ! jq -e --arg m "$m" '.members[] | select(.name == $m)' <<<"$cluster" >/dev/null; then
      echo "member $m is missing"
      return 0
    fi
  done
  m=$(jq -r '[.members[] | select(.state != "running" and .state != "streaming") | "\(.name) is \(.state)"] | first // empty' <<<"$cluster")
  if [ -n "$m" ]; then
    echo "member $m"
    return 0
  fi
  n=$(jq '[.members[] | select(.role == "leader" or .role == "master" or .role == "primary")] | length' <<<"$cluster")
  if [ "$n" -ne 1 ]; then
    echo "$n leaders"
    return 0
  fi
  m=$(jq -r --argjson l "$LAG_LIMIT_BYTES" '[.members[] | select(.role != "leader" and .role != "master" and .role != "primary")
    | select((.lag | type) != "number" or .lag > $l) | "\(.name) lags \(.lag) bytes"] | first // empty' <<<"$cluster")
  if [ -n "$m" ]; then
    echo "member $m (limit $LAG_LIMIT_BYTES)"
    return 0
  fi
  n=$(wc -w <<<"$MEMBER_NAMES")
  if [ "$n" -gt 1 ] && ! jq -e '[.members[] | select(.role == "sync_standby")] | length > 0' <<<"$cluster" >/dev/null; then
    echo "no synchronous standby"
    return 0
  fi
  if [ -r "$BACKUP_STATUS_FILE" ]; then
    last=$(tr -d '[:space:]' <"$BACKUP_STATUS_FILE")
    if [[ "$last" =~ ^[0-9]+$ ]]; then
      age=$(($(date +%s) - last))
      if [ "$age" -gt "$BACKUP_MAX_AGE_SECONDS" ]; then
        echo "the newest full backup is $((age / 3600)) h old (limit $((BACKUP_MAX_AGE_SECONDS / 3600)) h): a backup failed"
        return 0
      fi
    fi
  fi
}

# roll_lock: the DCS lock "member lease-hex action" at DCS_PREFIX/lock, empty when free.
roll_lock() {
  dcs_get lock
}

# take_lock ACTION: creates DCS_PREFIX/lock for this member on a new lease of ROLL_LOCK_TTL
# seconds, only when no key exists (etcd transaction); status 0 when taken. The lease makes the
# lock expire when its holder dies mid-roll.
take_lock() {
  local lease out
  lease=$(etcdc lease grant "$ROLL_LOCK_TTL" | awk '{print $2}')
  [ -n "$lease" ] || return 1
  out=$(printf 'create("%s") = "0"\n\nput --lease=%s %s "%s %s %s"\n\n\n' "$DCS_PREFIX/lock" "$lease" "$DCS_PREFIX/lock" "$SELF_NAME" "$lease" "$1" | etcdc txn)
  if [ "$(head -n1 <<<"$out")" = SUCCESS ]; then return 0; fi
  etcdc lease revoke "$lease" >/dev/null 2>&1 || true
  return 1
}

# renew_lock LOCK: refreshes the lease of this member's LOCK.
renew_lock() {
  local lease
  lease=$(awk '{print $2}' <<<"$1")
  etcdc lease keep-alive --once "$lease" >/dev/null 2>&1 || log "could not renew the roll lock's lease $lease"
}

release_lock() {
  local lease
  lease=$(awk '{print $2}' <<<"$1")
  etcdc del "$DCS_PREFIX/lock" >/dev/null
  etcdc lease revoke "$lease" >/dev/null 2>&1 || true
  log "maintenance: $SELF_NAME is done; roll lock released"
  emit_metric mp_maintenance_node_done 1 "node rolled and healthy"
}

# note_need REV: prints the etcd revision from which this node has seen its current NEED and
# WHY, kept in MAINTENANCE_NEED_FILE as "NEED WHY REVISION": the stored revision while NEED and
# WHY are unchanged, else REV (the revision of this run's state put), which it records. NEED none
# removes the file. The primary rolls only after every other member has put its state after it.
note_need() {
  local line="" seen
  if [ "$NEED" = none ]; then
    rm -f "$MAINTENANCE_NEED_FILE"
    return 0
  fi
  if [ -r "$MAINTENANCE_NEED_FILE" ]; then line=$(head -n1 "$MAINTENANCE_NEED_FILE"); fi
  seen=$(awk '{print $NF}' <<<"$line")
  if [[ "$seen" =~ ^[0-9]+$ ]] && [ "$line" = "$NEED $WHY $seen" ]; then
    echo "$seen"
    return 0
  fi
  install -d -m 0755 "$(dirname "$MAINTENANCE_NEED_FILE")"
  printf '%s %s %s\n' "$NEED" "$WHY" "$1" >"$MAINTENANCE_NEED_FILE"
  echo "$1"
}

# replicas_pending SINCE: prints " member:state" for every other member of MEMBER_NAMES that
# does not yet allow the primary to roll (nothing when all do): its state key must say none
# and have been put after the etcd revision SINCE (mod_revision > SINCE), so a state a
# replica put before this node saw the change (its old none) does not count.
replicas_pending() {
  local m fresh state out=""
  for m in $MEMBER_NAMES; do
    [ "$m" != "$SELF_NAME" ] || continue
    fresh="" state=""
    read -r fresh state < <(etcdc get -w json "$DCS_PREFIX/state/$m" |
      jq -r --argjson since "$1" '.kvs[0]? // empty | "\(.mod_revision > $since) \(.value | @base64d)"' || true) || true
    if [ -n "$state" ] && [ "$state" != none ]; then
      out="$out $m:$(printf '%s' "$state" | tr -s '[:space:]' ' ')"
    elif [ "$fresh" != true ]; then
      out="$out $m:not reported since the change"
    fi
  done
  printf '%s' "$out"
}

# job_maintenance (subcommand JOB_MAINTENANCE, root, every minute): compares what this node
# should run with what it runs and, when they differ, rolls it: in the maintenance window or
# with APPLY_IMMEDIATELY, one node at a time (the DCS lock), replicas first, the primary last
# after a switchover to the synchronous standby, only while the cluster is healthy; the pause
# key DCS_PREFIX/pause (any value) stops it. Every decision is one log line. Each run puts this
# member's NEED at DCS_PREFIX/state/<member>; the primary waits until every other member has
# put none there after the primary first saw its own need (etcd revisions, no clocks: a
# primary whose timer runs first right after a change must not read the replicas' old none).
job_maintenance() {
  local lock holder role sync others pause rev since why=""
  step_imds_quiet
  what_differs || {
    log "maintenance: cannot tell what differs ($WHY): waiting"
    return 0
  }
  rev=$(etcdc put -w json "$DCS_PREFIX/state/$SELF_NAME" "$NEED" | jq -r '.header.revision // empty') || rev=""
  if [[ ! "$rev" =~ ^[0-9]+$ ]]; then
    log "maintenance: the DCS does not answer: waiting"
    return 0
  fi
  since=$(note_need "$rev")
  # tags left by a departure whose restart is done (or whose need went away)
  if [ "$NEED" != replace ] && [ "$NEED" != restart ]; then clear_departure_tags || true; fi
  if [ "$NEED" != replace ]; then apply_dcs_configuration; fi
  lock=$(roll_lock)
  holder=$(awk '{print $1}' <<<"$lock")
  if [ "$holder" = "$SELF_NAME" ]; then
    renew_lock "$lock"
    if [ "$NEED" = none ]; then
      why=$(cluster_unhealthy)
      if [ -z "$why" ]; then
        release_lock "$lock"
      else
        log "maintenance: $SELF_NAME holds the roll lock, waiting until the cluster is healthy: $why"
      fi
      return 0
    fi
  elif [ "$NEED" = none ]; then
    return 0
  fi
  pause=$(dcs_get pause)
  if [ -n "$pause" ]; then
    log "maintenance: paused ($DCS_PREFIX/pause = $pause): $NEED of $SELF_NAME waits ($WHY)"
    emit_metric mp_maintenance_paused 1 "paused by $DCS_PREFIX/pause: $pause"
    return 0
  fi
  if [ "$holder" != "$SELF_NAME" ] && [ "$APPLY_IMMEDIATELY" != yes ] && ! in_window "$(date +%s)"; then
    log "maintenance: $NEED of $SELF_NAME pending ($WHY): waiting for the maintenance window"
    return 0
  fi
  if [ -n "$holder" ] && [ "$holder" != "$SELF_NAME" ]; then
    # a holder that died mid-roll is "missing" until its replacement (same member name) joins,
    # which then releases the lock once the cluster is healthy (or the lease ends): say so
    why=$(cluster_unhealthy)
    if [ -n "$why" ]; then
      log "maintenance: $NEED of $SELF_NAME pending ($WHY): $holder holds the roll lock, cluster not healthy: $why"
    else
      log "maintenance: $NEED of $SELF_NAME pending ($WHY): $holder is rolling"
    fi
    return 0
  fi
  # the holder too: after its switchover it acts only once it is back as a healthy replica
  why=$(cluster_unhealthy)
  if [ -n "$why" ]; then
    log "maintenance: roll paused, $NEED of $SELF_NAME waits: cluster not healthy: $why"
    emit_metric mp_maintenance_paused 1 "cluster not healthy: $why"
    return 0
  fi
  role=$(patroni_get patroni | jq -r '.role')
  if [ "$role" = master ] || [ "$role" = primary ] || [ "$role" = leader ]; then
    others=$(replicas_pending "$since")
    if [ -n "$others" ]; then
      log "maintenance: primary $SELF_NAME waits for the replicas first:$others"
      return 0
    fi
  fi
  if [ "$holder" != "$SELF_NAME" ]; then
    if ! take_lock "$NEED"; then
      log "maintenance: another node took the roll lock first: waiting"
      return 0
    fi
    log "maintenance: $SELF_NAME took the roll lock for $NEED ($WHY)"
    emit_metric mp_maintenance_started 1 "$NEED: $WHY"
  fi
  if [ "$role" = master ] || [ "$role" = primary ] || [ "$role" = leader ]; then
    if [ "$(wc -w <<<"$MEMBER_NAMES")" -gt 1 ]; then
      sync=$(patroni_get cluster | jq -r '[.members[] | select(.role == "sync_standby") | .name] | first // empty')
      if [ -z "$sync" ]; then
        log "maintenance: primary $SELF_NAME has no synchronous standby to switch over to: waiting"
        return 0
      fi
      log "maintenance: switching over from $SELF_NAME to the synchronous standby $sync before the $NEED"
      emit_metric mp_maintenance_switchover 1 "switchover $SELF_NAME -> $sync"
      patronictl_env switchover --leader "$SELF_NAME" --candidate "$sync" --force "$PATRONI_SCOPE" ||
        log "maintenance: the switchover failed: retrying next run"
      return 0
    fi
  fi
  case "$NEED" in
    replace)
      depart || return 0
      log "maintenance: replacing $SELF_NAME ($WHY): terminate-instance-in-auto-scaling-group $INSTANCE_ID, capacity kept"
      emit_metric mp_maintenance_node_replaced 1 "$WHY"
      awsc autoscaling terminate-instance-in-auto-scaling-group --instance-id "$INSTANCE_ID" --no-should-decrement-desired-capacity >/dev/null
      ;;
    restart)
      depart || return 0
      log "maintenance: restarting PostgreSQL on $SELF_NAME through Patroni ($WHY)"
      emit_metric mp_maintenance_node_restarted 1 "$WHY"
      patronictl_env restart "$PATRONI_SCOPE" "$SELF_NAME" --force ||
        log "maintenance: the restart of $SELF_NAME failed: retrying next run"
      clear_departure_tags || true
      ;;
    reload)
      log "maintenance: reloading $SELF_NAME through Patroni ($WHY)"
      emit_metric mp_maintenance_node_reloaded 1 "$WHY"
      patronictl_env reload "$PATRONI_SCOPE" "$SELF_NAME" --force
      config_digest >"$CONFIG_DIGEST_FILE"
      ;;
  esac
}

# step_imds_quiet: INSTANCE_ID from IMDSv2, without the bootstrap's log line.
step_imds_quiet() {
  retry_capture IMDS_TOKEN 5 2 imds_token || die "IMDSv2: no token from $IMDS"
  retry_capture INSTANCE_ID 5 2 imds_get instance-id || die "IMDSv2: no instance-id"
}

# verify_failed REASON: logs the failure, publishes mp_backup_verify_failed 1, status 1.
verify_failed() {
  log "backup verification FAILED: $1"
  emit_metric mp_backup_verify_failed 1 "$1"
  return 1
}

# job_verify_backup (subcommand JOB_VERIFY_BACKUP, as postgres, weekly; acts on the replica-side
# node): `pgbackrest verify` of the repository, then a restore check of the newest backup into
# VERIFY_SCRATCH (only when the data volume has the backup's size plus a quarter
# free; skipped otherwise, with a log line), started as a throw-away PostgreSQL (no TCP, its own
# socket directory, archiving off, small shared_buffers) until it answers a query after
# recovery, then stopped and removed. Publishes mp_backup_verify_failed 0 or 1.
job_verify_backup() {
  local info label size free scratch=$VERIFY_SCRATCH bin="/usr/lib/postgresql/$MAJOR_VERSION/bin" i ok="" rc=0
  replica_side_node || return 0
  if ! pgbackrest --stanza="$STANZA" verify; then verify_failed "pgbackrest verify reported errors in the repository of stanza $STANZA" || return 1; fi
  info=$(pgbackrest --stanza="$STANZA" --output=json info) || { verify_failed "pgbackrest info failed" || return 1; }
  label=$(jq -r '.[0].backup[-1].label // empty' <<<"$info")
  size=$(jq -r '.[0].backup[-1].info.size // 0' <<<"$info")
  if [ -z "$label" ]; then
    log "no backup in the repository yet: nothing to restore"
    emit_metric mp_backup_verify_failed 0 "verify passed; no backup to restore yet"
    return 0
  fi
  free=$(df -B1 --output=avail "$DATA_MOUNT" | tail -n1 | tr -d ' ')
  if [ "$free" -lt $((size + size / 4)) ]; then
    log "restore check of $label skipped: $free bytes free on $DATA_MOUNT, the backup needs $size (+25 %)"
    emit_metric mp_backup_verify_failed 0 "verify passed; restore check skipped (not enough free space)"
    return 0
  fi
  rm -rf "$scratch"
  install -d -m 0700 "$scratch"
  log "restore check: backup $label ($size bytes) into $scratch"
  if ! pgbackrest --stanza="$STANZA" --pg1-path="$scratch/data" --set="$label" --type=immediate --target-action=promote --archive-mode=off restore >"$scratch/restore.log" 2>&1; then
    rc=1
    verify_failed "pgbackrest restore of $label failed: $(tail -n3 "$scratch/restore.log" | tr '\n' ' ' | cut -c1-300)" || true
  else
    printf 'local all all peer\n' >"$scratch/hba.conf"
    : >"$scratch/ident.conf"
    "$bin/pg_ctl" -D "$scratch/data" -l "$scratch/postgres.log" -w -t 30 start -o "-c port=$VERIFY_PORT -c listen_addresses='' -c unix_socket_directories=$scratch -c hba_file=$scratch/hba.conf -c ident_file=$scratch/ident.conf -c archive_mode=off -c hot_standby=off -c shared_buffers=128MB -c synchronous_standby_names='' -c logging_collector=off -c ssl=off" >/dev/null 2>&1 || true
    for ((i = 1; i <= 120; i++)); do
      if [ "$(psql -X -A -t -q -h "$scratch" -p "$VERIFY_PORT" -d postgres -c 'SELECT NOT pg_is_in_recovery() AND count(*) > 0 FROM pg_catalog.pg_database' 2>/dev/null)" = t ]; then
        ok=yes
        break
      fi
      sleep 5
    done
    "$bin/pg_ctl" -D "$scratch/data" -m fast -w stop >/dev/null 2>&1 || true
    if [ -n "$ok" ]; then
      log "restore check: backup $label restored, recovered and answered a query"
    else
      rc=1
      verify_failed "the restored backup $label did not come up: $(tail -n3 "$scratch/postgres.log" 2>/dev/null | tr '\n' ' ' | cut -c1-300)" || true
    fi
  fi
  rm -rf "$scratch"
  if [ "$rc" -eq 0 ]; then emit_metric mp_backup_verify_failed 0 "verify and restore check of $label passed"; fi
  return "$rc"
}

# job_etcd_leader (subcommand JOB_ETCD_LEADER, root, every 10 s, distributed): keeps the etcd
# leader off the Patroni primary's node. A member that becomes etcd leader renews every lease to
# its full TTL plus an election timeout (etcd's lessor `Promote`), so when the node that is both
# the primary and the etcd leader fails, its Patroni leader key expires an etcd election plus a
# whole ttl after the failure, instead of at most ttl after its last renewal: seconds more of
# failover. When this node is both, the etcd leadership moves to another started member whose
# etcd answers (`etcdctl move-leader`, etcd's leadership transfer: no election timeout).
job_etcd_leader() {
  local self status id state name url
  patroni_says primary || return 0
  self=$(tr ',' '\n' <<<"$ETCD_ENDPOINTS" | grep -F "//$SELF_ADDRESS:") || return 0
  # simple format: endpoint, ID, version, db size, is leader, is learner, raft term, raft index, ...
  status=$(etcdc_at "$self" endpoint status) || {
    log "etcd-leader: the local etcd member does not answer"
    return 0
  }
  [ "$(awk -F', ' '{print $5}' <<<"$status")" = true ] || return 0
  # simple format: ID, status, name, peer URLs, client URLs, is learner
  while IFS=', ' read -r id state name _ url _; do
    if [ "$state" != started ] || [ "$name" = "$SELF_NAME" ]; then continue; fi
    etcdc_at "$url" endpoint health >/dev/null 2>&1 || continue
    if etcdc_at "$self" move-leader "$id" >/dev/null; then
      log "etcd-leader: the primary $SELF_NAME was the etcd leader; etcd leadership moved to $name"
      return 0
    fi
  done < <(etcdc_at "$self" member list)
  log "etcd-leader: the primary $SELF_NAME is the etcd leader and no other member could take it"
}
