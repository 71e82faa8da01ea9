#!/bin/bash
# managed-postgres-upgrade (upgradeFrom, issue 15): the green cluster of a blue/green major
# upgrade follows the blue cluster through logical replication, then (UPGRADE_CUTOVER=1) takes
# over its data. Runs as root on every green node (a timer); acts on green's primary only, under
# a lock; every step is idempotent, so a run after a crash continues where the last one stopped.
# Rendered by renderUpgradeScript (src/render/upgrade.ts), which puts `set -euo pipefail`,
# `umask 077`, `LC_ALL=C` and a header in front:
#   UPGRADE_FROM_CLUSTER UPGRADE_FROM_MAJOR UPGRADE_FROM_SECRET (ARN; its 4th field is the region)
#   UPGRADE_FROM_ADDRESSES (blue's database node addresses, words) UPGRADE_CUTOVER (0|1)
#   BLUE_PG_PORT BLUE_REST_PORT CLUSTER SELF_NAME SLOT PATRONI_URL CA_CERT PATRONI_RESTAPI_USERNAME
#   POSTGRES_SOCKET_DIR GREEN_PG_PORT PG_BIN SUPERUSER MANAGED_ROLES (words) EXCLUDED_SCHEMA
#   STATE_DIR EVENTS_LOG METRIC_NAMESPACE AWS_ENDPOINT_URL (empty: AWS) CATCHUP_TIMEOUT SLOT_TIMEOUT
#   DCS_KEY PGBOUNCER_AUTH_ROLE POOLER_AUTH_ROLE POOLER_PAUSE_TIMEOUT (the cutover's signal to
#   blue's PgBouncer hosts: src/render/upgrade-redirect.ts)
# Usage: managed-postgres-upgrade [run|preflight] (default run). Exit 0: done for now (or not the
# primary); 1: refused or failed (the log says why; the timer tries again). Never prints a secret:
# blue's passwords reach libpq through password files (0600), never a command line or a log.
# shellcheck disable=SC2154

WORK=""
BLUE_HOST=""
# the last error of this run (die), for the failed run's event; RUN_REPORTED=1: the run's outcome
# is already a metric of its own (preflight problems, schema drift), the EXIT trap adds none
LAST_ERROR=""
RUN_REPORTED=0
# the cutover pauses blue only once every slot is at most this far behind blue's WAL (bytes)
readonly CLOSE_BEHIND_BYTES=262144
readonly PUBLICATION=mp_upgrade SOURCE_PGPASS="$STATE_DIR/source.pgpass" SOURCE_CA="$STATE_DIR/source-ca.pem"

log() {
  printf '%s managed-postgres-upgrade: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}
die() {
  log "ERROR: $*"
  LAST_ERROR=$*
  exit 1
}
cleanup() {
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}

# emit_metric NAME VALUE [EVENT]: one CloudWatch embedded-metric-format line in EVENTS_LOG (as
# emit_metric of node-maintenance.sh writes it: the agent ships the file).
emit_metric() {
  local event=""
  if [ "$#" -gt 2 ]; then event=$3; fi
  [ -d "$(dirname "$EVENTS_LOG")" ] || install -d -m 0775 -g postgres "$(dirname "$EVENTS_LOG")"
  jq -n -c --arg ns "$METRIC_NAMESPACE" --arg c "$CLUSTER" --arg s "$SLOT" --arg m "$1" --argjson v "$2" \
    --arg e "$event" --arg node "$SELF_NAME" --argjson t "$(date +%s)000" \
    '{_aws: {Timestamp: $t, CloudWatchMetrics: [{Namespace: $ns, Dimensions: [["Cluster"], ["Cluster", "Slot"]], Metrics: [{Name: $m}]}]},
      Cluster: $c, Slot: $s, node: $node, event: $e} + {($m): $v}' >>"$EVENTS_LOG"
}

# run_finished STATUS: the EXIT trap of a run that took the lock. mp_upgrade_run_failed 1 (with
# the last error) when the run failed, 0 when it worked; nothing when the run's outcome is a
# metric of its own (RUN_REPORTED: preflight problems, schema drift). A green that cannot read
# blue's secret, reach blue's primary or copy from it publishes nothing else, and without this
# its alarms would stay silent (missing data is not breaching). Then removes WORK.
run_finished() {
  local why=$LAST_ERROR
  if [ -z "$why" ]; then why="see journalctl -u managed-postgres-upgrade"; fi
  if [ "$RUN_REPORTED" = 1 ]; then
    :
  elif [ "$1" -eq 0 ]; then
    emit_metric mp_upgrade_run_failed 0 || log "could not write the run's metric to $EVENTS_LOG"
  else
    emit_metric mp_upgrade_run_failed 1 "a run of managed-postgres-upgrade following $UPGRADE_FROM_CLUSTER failed (exit $1): $why" ||
      log "could not write the run's metric to $EVENTS_LOG"
  fi
  cleanup
}

now_ms() { date +%s%3N; }

# step NAME COMMAND...: runs COMMAND (a failure ends the run: errexit), logs its duration in ms.
step() {
  local name=$1 t0
  shift
  t0=$(now_ms)
  "$@"
  log "step $name: done in $(($(now_ms) - t0)) ms"
}

# blue_secret: blue's cluster secret into WORK (0600), blue's CA into SOURCE_CA, and blue's
# superuser password into SOURCE_PGPASS (libpq password file, postgres 0600: the subscriptions'
# apply workers read it through `passfile=`).
blue_secret() {
  local region pass
  region=$(printf '%s' "$UPGRADE_FROM_SECRET" | cut -d: -f4)
  set -- --region "$region"
  if [ -n "$AWS_ENDPOINT_URL" ]; then set -- "$@" --endpoint-url "$AWS_ENDPOINT_URL"; fi
  aws "$@" secretsmanager get-secret-value --secret-id "$UPGRADE_FROM_SECRET" --query SecretString --output text >"$WORK/blue.json" ||
    die "could not read blue's secret $UPGRADE_FROM_SECRET"
  pass=$(jq -r '.superuser_password // empty' "$WORK/blue.json")
  # a plain token needs no escaping in a password file (the cluster's passwords are hex)
  case "$pass" in
    "" | *[!A-Za-z0-9._~+/=-]*) die "blue's superuser_password is empty or not a plain token" ;;
  esac
  jq -r '.ca_cert_pem // empty' "$WORK/blue.json" >"$WORK/ca.pem"
  [ -s "$WORK/ca.pem" ] || die "blue's secret has no ca_cert_pem"
  install -d -m 0700 -o postgres -g postgres "$STATE_DIR"
  install -m 0644 -o postgres -g postgres "$WORK/ca.pem" "$SOURCE_CA"
  printf '*:*:*:%s:%s\n' "$SUPERUSER" "$pass" >"$WORK/pgpass"
  install -m 0600 -o postgres -g postgres "$WORK/pgpass" "$SOURCE_PGPASS"
}

# blue_rest METHOD PATH [BODY]: blue's Patroni REST API on BLUE_HOST, TLS checked with blue's CA;
# PATCH with blue's REST credentials, handed to curl as its configuration on stdin.
blue_rest() {
  local pass
  if [ "$1" = GET ]; then
    curl -sf --max-time 10 --cacert "$SOURCE_CA" "https://$BLUE_HOST:$BLUE_REST_PORT$2"
    return
  fi
  pass=$(jq -r '.restapi_password // empty' "$WORK/blue.json")
  case "$pass" in
    "" | *[!A-Za-z0-9._~+/=-]*) die "blue's restapi_password is empty or not a plain token" ;;
  esac
  printf 'user = %s:%s\n' "$PATRONI_RESTAPI_USERNAME" "$pass" |
    curl -sf -o /dev/null --max-time 10 --cacert "$SOURCE_CA" -K - -X "$1" -H 'Content-Type: application/json' \
      --data "$3" "https://$BLUE_HOST:$BLUE_REST_PORT$2"
}

# find_blue_primary: BLUE_HOST = the address whose Patroni answers 200 on GET /primary.
find_blue_primary() {
  local a
  for a in $UPGRADE_FROM_ADDRESSES; do
    if curl -sf -o /dev/null --max-time 5 --cacert "$SOURCE_CA" "https://$a:$BLUE_REST_PORT/primary"; then
      BLUE_HOST=$a
      return 0
    fi
  done
  die "no primary among blue's addresses ($UPGRADE_FROM_ADDRESSES): GET /primary answered 200 nowhere"
}

# blue_sql_at HOST DB SQL: psql (green's client) on blue's member HOST as SUPERUSER, TLS
# verify-full with blue's CA (blue's pg_hba admits green's addresses on every member: upgradeTo).
blue_sql_at() {
  HOME=$STATE_DIR PGPASSFILE=$SOURCE_PGPASS PGSSLMODE=verify-full PGSSLROOTCERT=$SOURCE_CA PGCONNECT_TIMEOUT=5 \
    "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -h "$1" -p "$BLUE_PG_PORT" -U "$SUPERUSER" -d "$2" -c "$3"
}
# blue_sql DB SQL: blue_sql_at on blue's primary.
blue_sql() {
  blue_sql_at "$BLUE_HOST" "$1" "$2"
}
# green_sql DB SQL: psql on this node's PostgreSQL through its socket, as postgres (peer).
green_sql() {
  runuser -u postgres -- "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -h "$POSTGRES_SOCKET_DIR" -p "$GREEN_PG_PORT" -d "$1" -c "$2"
}
# green_file DB OPTIONS... < SQL: psql reading SQL from stdin (a file of WORK postgres cannot open).
green_file() {
  local db=$1
  shift
  runuser -u postgres -- "$PG_BIN/psql" -X -q -h "$POSTGRES_SOCKET_DIR" -p "$GREEN_PG_PORT" -d "$db" "$@" -f -
}

# slot_name DB: blue's slot, and green's subscription, of database DB: mp_upgrade_<12 hex of md5(DB)>.
slot_name() {
  printf 'mp_upgrade_%s' "$(printf '%s' "$1" | md5sum | cut -c1-12)"
}

blue_databases() {
  blue_sql postgres "SELECT datname FROM pg_catalog.pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1"
}

# preflight: what logical replication cannot carry, per database of blue: tables without a
# primary key whose REPLICA IDENTITY is DEFAULT, or whose identity is NOTHING (UPDATE and DELETE
# fail on blue once published), unlogged tables (not replicated), large objects (not
# replicated), database names that are not plain words; and of blue as a whole: wal_level other
# than logical, too few free replication slots or WAL senders for the databases; and of green:
# too few logical replication workers for the databases. Logs each, publishes
# mp_upgrade_preflight_problems, and fails when there is any.
PREFLIGHT_PROBLEMS=0
preflight() {
  local db dbs problems=0 line found n workers
  dbs=$(blue_databases)
  n=$(grep -c . <<<"$dbs" || true)
  # blue as a whole: logical decoding, and room for one slot and walsender per database plus
  # the initial copy's (two table-sync workers at a time, each with its own slot)
  found=$(blue_sql postgres "
    SELECT format('blue''s wal_level is %s: logical decoding needs wal_level = logical (a restart of blue''s members)', current_setting('wal_level'))
     WHERE current_setting('wal_level') <> 'logical'
    UNION ALL
    SELECT format('blue has %s free replication slot(s) (max_replication_slots %s): the upgrade needs %s', f, current_setting('max_replication_slots'), $n + 2)
      FROM (SELECT current_setting('max_replication_slots')::int - count(*) AS f FROM pg_catalog.pg_replication_slots WHERE slot_name !~ '^(mp_upgrade_|pg_[0-9]+_sync_)') s
     WHERE f < $n + 2
    UNION ALL
    SELECT format('blue has %s free WAL sender(s) (max_wal_senders %s): the upgrade needs %s', f, current_setting('max_wal_senders'), $n + 2)
      FROM (SELECT current_setting('max_wal_senders')::int - count(*) AS f FROM pg_catalog.pg_stat_replication WHERE application_name !~ '^(mp_upgrade_|pg_[0-9]+_sync_)') s
     WHERE f < $n + 2")
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    log "preflight: BLOCKING: $line"
    problems=$((problems + 1))
  done <<<"$found"
  # green: a leader apply worker per subscription (database) for as long as it exists, and at
  # least one more for the initial copy's table-sync workers (with fewer, the copy never starts)
  workers=$(green_sql postgres "SHOW max_logical_replication_workers")
  if [ "$workers" -lt $((n + 1)) ]; then
    log "preflight: BLOCKING: green's max_logical_replication_workers is $workers: following $n database(s) of blue needs $((n + 1)) (an apply worker per database and one for the initial copy)"
    problems=$((problems + 1))
  fi
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    if [[ ! $db =~ ^[A-Za-z0-9_-]+$ ]]; then
      log "preflight: BLOCKING: database name \"$db\" is not a plain word (letters, digits, _ and -): not supported by the upgrade"
      problems=$((problems + 1))
      continue
    fi
    found=$(blue_sql "$db" "
      SELECT format('table %I.%I has no primary key and REPLICA IDENTITY %s: UPDATE and DELETE would fail on blue and not reach green (add a primary key, or ALTER TABLE ... REPLICA IDENTITY FULL or USING INDEX)',
                    n.nspname, c.relname, CASE c.relreplident WHEN 'n' THEN 'NOTHING' ELSE 'DEFAULT' END)
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
         AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
      UNION ALL
      SELECT format('table %I.%I is UNLOGGED: logical replication does not carry it (ALTER TABLE ... SET LOGGED)', n.nspname, c.relname)
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind = 'r' AND c.relpersistence = 'u'
      UNION ALL
      SELECT format('%s large object(s): logical replication does not carry them (move them to bytea columns)', count(*))
        FROM pg_catalog.pg_largeobject_metadata HAVING count(*) > 0
      ORDER BY 1")
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      log "preflight: BLOCKING: $db: $line"
      problems=$((problems + 1))
    done <<<"$found"
  done <<<"$dbs"
  PREFLIGHT_PROBLEMS=$problems
  emit_metric mp_upgrade_preflight_problems "$problems" "preflight of $UPGRADE_FROM_CLUSTER (PostgreSQL $UPGRADE_FROM_MAJOR): $problems blocking problem(s)"
  if [ "$problems" -gt 0 ]; then
    log "preflight: $problems blocking problem(s) on $UPGRADE_FROM_CLUSTER: not following until they are fixed"
    return 0
  fi
  log "preflight: nothing blocks the upgrade from $UPGRADE_FROM_CLUSTER (PostgreSQL $UPGRADE_FROM_MAJOR)"
}

# copy_roles: blue's roles with their SCRAM secrets (pg_dumpall --roles-only), minus the roles
# this cluster manages itself (MANAGED_ROLES); an existing role gets blue's attributes and password.
copy_roles() {
  local r filter n
  # shellcheck disable=SC2086 # one word per role
  filter=$(printf '%s\n' $MANAGED_ROLES | paste -sd '|')
  HOME=$STATE_DIR PGPASSFILE=$SOURCE_PGPASS PGSSLMODE=verify-full PGSSLROOTCERT=$SOURCE_CA PGCONNECT_TIMEOUT=5 \
    "$PG_BIN/pg_dumpall" --roles-only -h "$BLUE_HOST" -p "$BLUE_PG_PORT" -U "$SUPERUSER" -l postgres >"$WORK/roles.sql" ||
    die "pg_dumpall --roles-only on blue failed"
  # a managed role is never created, altered, commented on, granted or granted to
  grep -Ev "^(CREATE|ALTER|COMMENT ON) ROLE \"?($filter)\"?[ ;]|^GRANT .* TO \"?($filter)\"?( |;)|^GRANT \"?($filter)\"? TO " "$WORK/roles.sql" >"$WORK/roles-copy.sql" || true
  green_file postgres -v ON_ERROR_STOP=0 <"$WORK/roles-copy.sql" >/dev/null 2>"$WORK/roles.err" || true
  # only ERROR lines (psql's LINE/context lines could quote a password)
  if grep '^psql:.*ERROR:' "$WORK/roles.err" | grep -v 'already exists' | sed 's/^psql:[^E]*//' >"$WORK/roles.bad" && [ -s "$WORK/roles.bad" ]; then
    while IFS= read -r r; do log "roles: $r"; done <"$WORK/roles.bad"
    die "copying blue's roles failed"
  fi
  n=$(grep -c '^CREATE ROLE' "$WORK/roles-copy.sql" || true)
  log "roles: $n role(s) of blue copied with their passwords (managed roles kept: $MANAGED_ROLES)"
  rm -f "$WORK/roles.sql" "$WORK/roles-copy.sql"
  pooler_auth_role
}

# pooler_auth_role: POOLER_AUTH_ROLE on green, a member of green's PGBOUNCER_AUTH_ROLE (so it may
# run green's auth_query function) with the SCRAM secret of blue's PGBOUNCER_AUTH_ROLE. After the
# cutover blue's PgBouncers, re-pointed at green's endpoints, look their clients up with it: their
# userlist holds blue's auth password, which green's own PGBOUNCER_AUTH_ROLE does not have. The
# secret travels on psql's standard input, never a command line.
pooler_auth_role() {
  local secret
  secret=$(blue_sql postgres "SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = '$PGBOUNCER_AUTH_ROLE'")
  case "$secret" in
    SCRAM-SHA-256\$*) ;;
    *) die "blue's $PGBOUNCER_AUTH_ROLE has no SCRAM secret" ;;
  esac
  green_file postgres -v ON_ERROR_STOP=1 >/dev/null 2>"$WORK/pooler-auth.err" <<SQL || {
SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '$POOLER_AUTH_ROLE') AS create_role \gset
\if :create_role
CREATE ROLE $POOLER_AUTH_ROLE LOGIN;
\endif
ALTER ROLE $POOLER_AUTH_ROLE LOGIN NOSUPERUSER NOREPLICATION NOCREATEDB NOCREATEROLE PASSWORD '$secret';
GRANT $PGBOUNCER_AUTH_ROLE TO $POOLER_AUTH_ROLE;
SQL
    grep 'ERROR:' "$WORK/pooler-auth.err" | sed 's/^psql:[^E]*//' | while IFS= read -r r; do log "roles: $r"; done
    die "creating $POOLER_AUTH_ROLE on green failed"
  }
  log "roles: $POOLER_AUTH_ROLE has the secret of blue's $PGBOUNCER_AUTH_ROLE (for blue's PgBouncers after the cutover)"
}

# The job's progress lives in green's databases (replicated, so it survives a failover or the
# replacement of green's nodes, whose root volumes hold nothing of it): a database's comment.
readonly SCHEMA_MARK="managed-postgres upgrade: schema copied from" DONE_MARK="managed-postgres upgrade: cutover done from"

# db_comment DB: green's comment on database DB (empty when none).
db_comment() {
  green_sql postgres "SELECT COALESCE(pg_catalog.shobj_description(oid, 'pg_database'), '') FROM pg_catalog.pg_database WHERE datname = '$1'"
}

# copy_schema DB: blue's schema of DB into green (a new database owned by blue's owner when
# missing) and the comment SCHEMA_MARK on DB, in one transaction: once, even after a crash.
copy_schema() {
  local db=$1 owner
  if [ "$(green_sql postgres "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = '$db'")" = 0 ]; then
    owner=$(blue_sql postgres "SELECT pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(datdba)) FROM pg_catalog.pg_database WHERE datname = '$db'")
    # from template1, which holds PgBouncer's lookup function (the post-bootstrap script installs
    # it there; PgBouncer runs its auth_query in the client's database): from template0 clients
    # could not log in to the database through green's PgBouncer
    green_sql postgres "CREATE DATABASE \"$db\" OWNER $owner TEMPLATE template1"
    log "schema: created database $db (owner $owner)"
  fi
  case "$(db_comment "$db")" in "$SCHEMA_MARK"*) return 0 ;; esac
  HOME=$STATE_DIR PGPASSFILE=$SOURCE_PGPASS PGSSLMODE=verify-full PGSSLROOTCERT=$SOURCE_CA PGCONNECT_TIMEOUT=5 \
    "$PG_BIN/pg_dump" --schema-only --no-publications --no-subscriptions --exclude-schema="$EXCLUDED_SCHEMA" \
    -h "$BLUE_HOST" -p "$BLUE_PG_PORT" -U "$SUPERUSER" -d "$db" >"$WORK/schema.sql" || die "pg_dump --schema-only of $db on blue failed"
  printf '\nCOMMENT ON DATABASE "%s" IS %s;\n' "$db" "'$SCHEMA_MARK $UPGRADE_FROM_CLUSTER'" >>"$WORK/schema.sql"
  green_file "$db" -v ON_ERROR_STOP=1 --single-transaction <"$WORK/schema.sql" >/dev/null 2>"$WORK/schema.err" || {
    grep -m 5 'ERROR' "$WORK/schema.err" | while IFS= read -r line; do log "schema: $db: $line"; done
    die "restoring blue's schema of $db failed"
  }
  log "schema: $db copied from blue"
}

# permanent_slot DB: blue's logical slot of DB as a Patroni permanent slot (blue's DCS
# configuration: it survives a failover on blue, PostgreSQL 15 and 16 having no failover
# slots), then waits (SLOT_TIMEOUT s) until blue's primary has it.
permanent_slot() {
  local db=$1 sub i
  sub=$(slot_name "$db")
  if ! blue_rest GET /config | jq -e --arg s "$sub" '.slots[$s].type == "logical"' >/dev/null; then
    blue_rest PATCH /config "$(jq -n -c --arg s "$sub" --arg d "$db" '{slots: {($s): {type: "logical", database: $d, plugin: "pgoutput"}}}')" ||
      die "PATCH /config of blue (permanent slot $sub) failed"
    log "slot: $sub (database $db) added to blue's permanent slots"
  fi
  for ((i = 0; i < SLOT_TIMEOUT; i++)); do
    if [ "$(blue_sql postgres "SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name = '$sub' AND slot_type = 'logical'")" = 1 ]; then
      return 0
    fi
    sleep 1
  done
  die "blue's primary has no slot $sub $SLOT_TIMEOUT s after it became a permanent slot"
}

# blue_standbys: the addresses of blue's members a failover could promote, one a line: in blue's
# Patroni view (GET /cluster) a replica or the synchronous standby, running (Patroni 3.0) or
# streaming (later versions), without the nofailover tag.
blue_standbys() {
  blue_rest GET /cluster | jq -r '.members[] | select((.role == "replica" or .role == "sync_standby")
    and (.state == "running" or .state == "streaming") and ((.tags // {}).nofailover // false) != true) | .host'
}

# slot_on_standbys SLOT: waits (SLOT_TIMEOUT s, wall clock) until every member of blue_standbys
# holds the logical slot SLOT. Patroni copies a permanent logical slot to the replicas (the slot's
# state file read from the primary, then a restart of the replica's PostgreSQL: Patroni >= 2.1,
# slots.py copy_logical_slots) only once the primary has published the slot's position in the DCS,
# its next HA loop: up to two loops after the slot appeared on the primary. A failover in between
# promotes a member without the slot, and Patroni creates it anew on the new primary at that
# primary's current position: a subscription already streaming from the slot would skip every
# change in between (PostgreSQL moves a start position older than the slot's confirmed_flush_lsn
# forward). So no subscription is created on a slot before every failover candidate has it.
slot_on_standbys() {
  local sub=$1 end hosts host missing
  end=$(($(date +%s) + SLOT_TIMEOUT))
  while :; do
    missing=""
    if hosts=$(blue_standbys); then
      for host in $hosts; do
        if [ "$(blue_sql_at "$host" postgres "SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name = '$sub' AND slot_type = 'logical'" 2>/dev/null || true)" != 1 ]; then
          missing="$missing $host"
        fi
      done
    else
      missing=" (blue's GET /cluster failed)"
    fi
    if [ -z "$missing" ]; then return 0; fi
    if [ "$(date +%s)" -ge "$end" ]; then
      die "blue's standby(s)$missing do not hold slot $sub $SLOT_TIMEOUT s after blue's primary had it (Patroni copies permanent logical slots to its replicas): no subscription on it yet, the next run retries"
    fi
    sleep 1
  done
}

# conninfo DB: the subscription's connection to blue's primary (the password through passfile).
conninfo() {
  printf 'host=%s port=%s dbname=%s user=%s passfile=%s sslmode=verify-full sslrootcert=%s application_name=%s' \
    "$BLUE_HOST" "$BLUE_PG_PORT" "$1" "$SUPERUSER" "$SOURCE_PGPASS" "$SOURCE_CA" "$(slot_name "$1")"
}

# prepare_database DB: schema, publication and permanent slot of DB (every database's slot is
# asked for before any subscription waits for its slot on blue's standbys: Patroni copies the
# slots it sees together, one restart of each replica).
prepare_database() {
  local db=$1
  copy_schema "$db"
  if [ "$(blue_sql "$db" "SELECT count(*) FROM pg_catalog.pg_publication WHERE pubname = '$PUBLICATION'")" = 0 ]; then
    blue_sql "$db" "CREATE PUBLICATION $PUBLICATION FOR ALL TABLES" >/dev/null
    log "publication: $PUBLICATION created in $db on blue"
  fi
  permanent_slot "$db"
}

# follow_database DB: the subscription of DB (prepare_database first), created once blue's
# standbys hold its slot; a subscription that points at a former primary of blue is pointed at
# the current one.
follow_database() {
  local db=$1 sub cur
  sub=$(slot_name "$db")
  cur=$(green_sql "$db" "SELECT subconninfo FROM pg_catalog.pg_subscription WHERE subname = '$sub'")
  if [ -z "$cur" ]; then
    slot_on_standbys "$sub"
    green_sql "$db" "CREATE SUBSCRIPTION $sub CONNECTION '$(conninfo "$db")' PUBLICATION $PUBLICATION
      WITH (create_slot = false, slot_name = '$sub', copy_data = true, synchronous_commit = 'local')" >/dev/null
    log "subscription: $sub created in $db (initial copy of every table, then changes through slot $sub)"
    return 0
  fi
  if [ "$cur" != "$(conninfo "$db")" ]; then
    green_sql "$db" "ALTER SUBSCRIPTION $sub CONNECTION '$(conninfo "$db")'" >/dev/null
    log "subscription: $sub now connects to blue's primary $BLUE_HOST"
  fi
  # the apply workers flush each transaction they commit (synchronous_commit local, not the
  # default off): the position they confirm to blue is what they applied, at once, so the
  # cutover's catch-up does not wait for green's WAL writer and the workers' next wake-up
  # (the clients wait then); set on a subscription an older version created
  if [ "$(green_sql "$db" "SELECT subsynccommit FROM pg_catalog.pg_subscription WHERE subname = '$sub'")" != local ]; then
    green_sql "$db" "ALTER SUBSCRIPTION $sub SET (synchronous_commit = 'local')" >/dev/null
    log "subscription: $sub now flushes what it applies (synchronous_commit local)"
  fi
}

# recopy_stranded DB: tables of DB's subscription whose initial copy finished (state f) while
# their table-sync slot (pg_<subscription oid>_sync_<table oid>_<system id>, a slot of blue's
# primary at the time, not a permanent one) is not on blue's current primary: after a failover on
# blue during the initial copy the table-sync worker fails for ever ("replication slot ... does
# not exist") and the table never becomes ready. Each is copied again: the subscription disabled,
# the table's rows on green (the copy, nothing applied since: the apply leaves a table in state f
# alone) removed, its state set back to d (data sync: the worker drops what is left of its slot
# and origin and copies from blue's current primary), the subscription enabled.
# A missing slot does not always mean stranded: a healthy table-sync worker that finishes sets
# its state to s, drops its slot on blue and only then commits (PostgreSQL 15 to 18, tablesync.c
# process_syncing_tables_for_sync: UpdateSubscriptionRelState, ReplicationSlotDropAtPubNode,
# then the commit), so between the read of the states on green and the look for the slot on blue
# a table can finish and look stranded (seen in the upgrade system test: shop.events copied again,
# nothing stranded). The reset is therefore conditional and atomic: in one transaction the state
# goes from f to d only if it is still f (the UPDATE waits for such a worker's open transaction
# and then sees s), and the rows are removed only if that UPDATE changed the row; a table whose
# state moved on is left as it is and logged as such.
# The rows go with TRUNCATE ONLY, unless a foreign key of another table references the table
# (pg_constraint confrelid; a partition referenced through its partitioned table's key has such
# rows too; a key of the table on itself does not stop TRUNCATE): TRUNCATE refuses it whatever
# session_replication_role says (heap_truncate_check_FKs: "cannot truncate a table referenced in
# a foreign key constraint"). Its rows then go with DELETE FROM ONLY under
# session_replication_role = replica, as the apply writes: the foreign keys' triggers (ON DELETE
# CASCADE included) do not fire, the referencing tables keep their rows, and the copy brings the
# referenced rows back before the table is ready (a cutover waits for that). Triggers enabled
# ALWAYS or REPLICA fire, as for the apply; autovacuum takes the dead rows. The DELETE runs after
# LOCK TABLE ... ACCESS EXCLUSIVE (TRUNCATE's lock): a worker still writing the table (DISABLE
# does not wait for the workers to stop) commits first, and the DELETE's snapshot, taken after
# the lock, sees its rows: none survives to collide with the new copy. Setting
# session_replication_role takes a superuser: green_sql connects as postgres, green's superuser.
# ONLY: an inheritance parent's children are tables of the subscription of their own (the
# publication, FOR ALL TABLES without publish_via_partition_root, lists leaf tables, never a
# partitioned one).
recopy_stranded() {
  local db=$1 sub subid rel rels="" name how said reset
  sub=$(slot_name "$db")
  subid=$(green_sql "$db" "SELECT oid FROM pg_catalog.pg_subscription WHERE subname = '$sub'")
  [ -n "$subid" ] || return 0
  while IFS= read -r rel; do
    [ -n "$rel" ] || continue
    if [ "$(blue_sql "$db" "SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name LIKE 'pg\_$subid\_sync\_$rel\_%'")" = 0 ]; then
      rels="$rels $rel"
    fi
  done <<<"$(green_sql "$db" "SELECT srrelid FROM pg_catalog.pg_subscription_rel WHERE srsubid = $subid AND srsubstate = 'f'")"
  [ -n "$rels" ] || return 0
  green_sql "$db" "ALTER SUBSCRIPTION $sub DISABLE" >/dev/null
  for rel in $rels; do
    # regclass output: the table's name, quoted where needed
    name=$(green_sql "$db" "SELECT $rel::pg_catalog.regclass")
    if [ "$(green_sql "$db" "SELECT count(*) FROM pg_catalog.pg_constraint WHERE contype = 'f' AND confrelid = $rel AND conrelid <> $rel")" = 0 ]; then
      how="TRUNCATE ONLY $name"
      said="its rows on green truncated"
    else
      how="SET LOCAL session_replication_role = replica; LOCK TABLE ONLY $name IN ACCESS EXCLUSIVE MODE; DELETE FROM ONLY $name"
      said="its rows on green deleted (a foreign key references it: TRUNCATE would be refused; the referencing tables keep theirs)"
    fi
    # psql's \gset/\if: the rows go only if the state was still f (reset: 1), in the same transaction
    if reset=$(green_file "$db" -v ON_ERROR_STOP=1 -A -t <<EOF
BEGIN;
WITH r AS (UPDATE pg_catalog.pg_subscription_rel SET srsubstate = 'd', srsublsn = NULL
  WHERE srsubid = $subid AND srrelid = $rel AND srsubstate = 'f' RETURNING 1)
SELECT count(*) AS reset FROM r \gset
\if :reset
$how;
\endif
COMMIT;
SELECT :reset;
EOF
    ); then
      if [ "$reset" = 1 ]; then
        log "follow: $db: table $name finished its initial copy from a former primary of blue (its table-sync slot is gone there): $said, to be copied again from $BLUE_HOST"
      else
        log "follow: $db: table $name left as it is: its state had moved on from f (finished copy) when it was to be reset, so its table-sync slot was gone because its worker had finished (it drops the slot before its state s commits), not because of a failover"
      fi
    else
      log "follow: $db: table $name finished its initial copy from a former primary of blue and could not be copied again (removing its rows on green failed: psql's error above): the next run tries again"
    fi
  done
  green_sql "$db" "ALTER SUBSCRIPTION $sub ENABLE" >/dev/null
}

# lag_bytes DB: bytes of blue's WAL that green has not confirmed for DB's slot.
lag_bytes() {
  blue_sql postgres "SELECT COALESCE(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint
    FROM pg_catalog.pg_replication_slots WHERE slot_name = '$(slot_name "$1")'"
}

# copy_pending DB: tables of DB's subscription whose initial copy is not finished.
copy_pending() {
  green_sql "$1" "SELECT count(*) FROM pg_catalog.pg_subscription_rel r JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid
    WHERE s.subname = '$(slot_name "$1")' AND r.srsubstate NOT IN ('r', 's')"
}

# COLUMNS_SQL: every column of every ordinary table outside the system schemas, one a line.
readonly COLUMNS_SQL="SELECT format('%I.%I.%I %s', n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod))
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  ORDER BY 1"

# schema_drift DB: logs each column blue and green do not share in DB (DDL on blue since the
# schema copy: logical replication does not carry it, and the apply stops at a missing column);
# prints how many.
schema_drift() {
  local db=$1 line col n=0
  # sorted here: blue's and green's collations may differ
  # (run in a command substitution: no errexit there, hence the explicit exits)
  blue_sql "$db" "$COLUMNS_SQL" | sort >"$WORK/blue.columns" || exit 1
  green_sql "$db" "$COLUMNS_SQL" | sort >"$WORK/green.columns" || exit 1
  diff "$WORK/blue.columns" "$WORK/green.columns" | grep '^[<>]' >"$WORK/drift" || true
  while IFS= read -r line; do
    n=$((n + 1))
    col=$(cut -c3- <<<"$line")
    case "$line" in
      "<"*) log "schema drift: $db: blue has column $col that green lacks: make the same change on green (DDL is not replicated)" ;;
      *) log "schema drift: $db: green has column $col that blue lacks" ;;
    esac
  done <"$WORK/drift"
  echo "$n"
}

follow() {
  local db dbs lag max=0 pending=0 p drift=0 d
  copy_roles
  dbs=$(blue_databases)
  while IFS= read -r db; do
    if [ -n "$db" ]; then prepare_database "$db"; fi
  done <<<"$dbs"
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    follow_database "$db"
    recopy_stranded "$db"
    d=$(schema_drift "$db")
    if [ "$d" -gt 0 ]; then drift=$((drift + 1)); fi
    lag=$(lag_bytes "$db")
    p=$(copy_pending "$db")
    pending=$((pending + p))
    if [ "$lag" -gt "$max" ]; then max=$lag; fi
    log "follow: $db: lag $lag bytes, $p table(s) still in their initial copy"
  done <<<"$dbs"
  emit_metric mp_upgrade_lag_bytes "$max" "following $UPGRADE_FROM_CLUSTER: $max bytes behind, $pending table(s) in their initial copy"
  emit_metric mp_upgrade_schema_drift "$drift" "following $UPGRADE_FROM_CLUSTER: $drift database(s) whose tables differ between blue and green"
  FOLLOW_PENDING=$pending
  FOLLOW_DRIFT=$drift
}
FOLLOW_DRIFT=0
FOLLOW_PENDING=0

# blue_read_only on|null: default_transaction_read_only in blue's DCS configuration (Patroni
# reloads every member of blue; the primary, which got the PATCH, wakes its HA loop at once),
# then waits until a new session on blue's primary sees it.
blue_read_only() {
  local want=on body i
  if [ "$1" = on ]; then body='{"postgresql":{"parameters":{"default_transaction_read_only":"on"}}}'; else
    body='{"postgresql":{"parameters":{"default_transaction_read_only":null}}}'
    want=off
  fi
  blue_rest PATCH /config "$body" || die "PATCH /config of blue (default_transaction_read_only $want) failed"
  for ((i = 0; i < 200; i++)); do
    if [ "$(blue_sql postgres "SHOW default_transaction_read_only")" = "$want" ]; then return 0; fi
    sleep 0.1
  done
  die "blue's primary does not show default_transaction_read_only=$want 20 s after PATCH /config"
}

# drain_blue: ends blue's client sessions (except Patroni's and this one): a session that
# opened a read-write transaction before the reload could still commit into it. PgBouncers that
# PAUSEd (blue_poolers pause) hold no server connection any more; what is left here is clients
# connected to blue directly, PgBouncers in session pool mode, and PgBouncers of a blue without
# the redirection (upgradeTo.readWriteEndpoint unset).
drain_blue() {
  local n
  n=$(blue_sql postgres "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity
    WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid() AND application_name NOT LIKE 'Patroni%'")
  log "cutover: $n client session(s) of blue ended"
}

# slot_list: SLOT_LIST = the slot names of blue's databases as SQL literals ('a','b'),
# SLOT_COUNT = how many. Fails the run when blue cannot be read or lists no database.
slot_list() {
  local db dbs
  dbs=$(blue_databases) || die "cutover: cannot list blue's databases"
  [ -n "$dbs" ] || die "cutover: blue lists no database"
  SLOT_LIST=""
  SLOT_COUNT=0
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    if [ -n "$SLOT_LIST" ]; then SLOT_LIST="$SLOT_LIST,"; fi
    SLOT_LIST="$SLOT_LIST'$(slot_name "$db")'"
    SLOT_COUNT=$((SLOT_COUNT + 1))
  done <<<"$dbs"
}
SLOT_LIST=""
SLOT_COUNT=0

# wait_close_behind: before the pause (the clients do not wait yet), waits (CATCHUP_TIMEOUT s)
# until every slot of blue is at most CLOSE_BEHIND_BYTES behind blue's WAL, so what green still
# has to apply once blue is read-only is that little. Status 1 when it is not.
wait_close_behind() {
  local end
  slot_list
  end=$(($(now_ms) + CATCHUP_TIMEOUT * 1000))
  while [ "$(now_ms)" -lt "$end" ]; do
    if [ "$(blue_sql postgres "SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name IN ($SLOT_LIST)
      AND pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), confirmed_flush_lsn) <= $CLOSE_BEHIND_BYTES")" = "$SLOT_COUNT" ]; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# wait_applied: waits (CATCHUP_TIMEOUT s, wall clock) until the slot of every database of blue
# exists and confirms blue's current WAL position (one query per try: the clients wait meanwhile).
wait_applied() {
  local target end
  # blue unreachable: fail the run (blue stays read-only), never "caught up" on nothing
  target=$(blue_sql postgres "SELECT pg_catalog.pg_current_wal_lsn()") || die "cutover: cannot read blue's WAL position"
  [ -n "$target" ] || die "cutover: blue's WAL position is empty"
  slot_list
  end=$(($(now_ms) + CATCHUP_TIMEOUT * 1000))
  while [ "$(now_ms)" -lt "$end" ]; do
    if [ "$(blue_sql postgres "SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name IN ($SLOT_LIST) AND confirmed_flush_lsn >= '$target'")" = "$SLOT_COUNT" ]; then
      log "cutover: green has applied blue's WAL up to $target"
      return 0
    fi
    sleep 0.1
  done
  log "cutover: green did not apply blue's WAL up to $target within $CATCHUP_TIMEOUT s"
  return 1
}

# copy_sequences: every sequence's last value, blue to green (setval; never-used ones stay).
copy_sequences() {
  local db n dbs
  dbs=$(blue_databases) || die "cutover: cannot list blue's databases"
  [ -n "$dbs" ] || die "cutover: blue lists no database"
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    blue_sql "$db" "SELECT format('SELECT pg_catalog.setval(%L, %s, true);', format('%I.%I', schemaname, sequencename), last_value)
      FROM pg_catalog.pg_sequences WHERE last_value IS NOT NULL" >"$WORK/seq.sql"
    n=$(grep -c setval "$WORK/seq.sql" || true)
    green_file "$db" -v ON_ERROR_STOP=1 --single-transaction <"$WORK/seq.sql" >/dev/null
    log "cutover: $db: $n sequence value(s) copied"
  done <<<"$dbs"
}

# drop_subscriptions: disables and drops every subscription of the upgrade (the slot is
# detached first: blue's slot goes with its permanent-slot entry).
drop_subscriptions() {
  local db sub
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    sub=$(slot_name "$db")
    if [ "$(green_sql "$db" "SELECT count(*) FROM pg_catalog.pg_subscription WHERE subname = '$sub'")" = 1 ]; then
      runuser -u postgres -- "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$POSTGRES_SOCKET_DIR" -p "$GREEN_PG_PORT" -d "$db" \
        -c "ALTER SUBSCRIPTION $sub DISABLE" -c "ALTER SUBSCRIPTION $sub SET (slot_name = NONE)" -c "DROP SUBSCRIPTION $sub" >/dev/null
      log "cutover: subscription $sub dropped"
    fi
  done <<<"$(green_sql postgres "SELECT datname FROM pg_catalog.pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1")"
}

# drop_blue_slots: removes the permanent slots from blue's DCS configuration (one PATCH), then
# drops what is left of them on blue's primary (Patroni drops unknown slots itself; this does not
# wait for it), and blue's publications (as this session only: blue stays read-only).
drop_blue_slots() {
  local dbs db names
  dbs=$(blue_databases)
  names=$(while IFS= read -r db; do if [ -n "$db" ]; then slot_name "$db" && echo; fi; done <<<"$dbs")
  local cfg
  # without blue's configuration the permanent slots could stay (Patroni would recreate them and
  # they would hold blue's WAL): fail, the next run finishes
  cfg=$(blue_rest GET /config) || die "GET /config of blue failed (the permanent slots are still to be removed)"
  if jq -e --arg n "$names" '[.slots // {} | keys[] | select(IN(($n | split("\n"))[]))] | length > 0' >/dev/null <<<"$cfg"; then
    blue_rest PATCH /config "$(jq -n -c --arg n "$names" '{slots: ([$n | split("\n")[] | select(length > 0) | {(.): null}] | add)}')" ||
      die "PATCH /config of blue (remove the permanent slots) failed"
    log "cutover: $(tr '\n' ' ' <<<"$names")removed from blue's permanent slots"
  fi
  blue_sql postgres "SELECT count(pg_catalog.pg_drop_replication_slot(slot_name)) FROM pg_catalog.pg_replication_slots
    WHERE slot_name LIKE 'mp\_upgrade\_%' AND NOT active AND slot_name = ANY (pg_catalog.string_to_array('$(tr '\n' ' ' <<<"$names")', ' '))" >/dev/null ||
    log "cutover: slots still on blue (Patroni drops them)"
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    PGOPTIONS='-c default_transaction_read_only=off' blue_sql "$db" "DROP PUBLICATION IF EXISTS $PUBLICATION" >/dev/null
  done <<<"$dbs"
}

# blue_poolers pause|redirect|clear: the cutover's signal to blue's PgBouncer hosts, whose
# managed-postgres-upgrade-redirect agents poll blue's dynamic configuration (Patroni GET /config,
# every second, every 0.1 s while paused): key DCS_KEY = {state: pause|redirect, green, since_ms[,
# ca_pem, read_only_ms]} (PATCH merges it; null removes it). pause: each PgBouncer PAUSEs (in-flight transactions finish, the server
# connections close, clients' next queries wait); redirect: each PgBouncer takes its pool file
# pointing at green's endpoint (TLS checked with green's CA, ca_pem: a certificate, public),
# RELOADs and RESUMEs (read_only_ms, the second argument: when blue became read-only, for the
# done mark of a run that finishes this cutover after a crash); clear: each RESUMEs where it was
# (the cutover was abandoned).
blue_poolers() {
  local body
  case "$1" in
    pause)
      PAUSE_SINCE=$(now_ms)
      body=$(jq -n -c --arg k "$DCS_KEY" --arg g "$CLUSTER" --argjson t "$PAUSE_SINCE" '{($k): {state: "pause", green: $g, since_ms: $t}}')
      ;;
    redirect) body=$(jq -n -c --arg k "$DCS_KEY" --arg g "$CLUSTER" --argjson t "$(now_ms)" --rawfile ca "$CA_CERT" --argjson ro "$2" '{($k): {state: "redirect", green: $g, since_ms: $t, ca_pem: $ca, read_only_ms: $ro}}') ;;
    clear) body=$(jq -n -c --arg k "$DCS_KEY" '{($k): null}') ;;
    *) die "blue_poolers: unknown state $1" ;;
  esac
  blue_rest PATCH /config "$body" || die "PATCH /config of blue ($DCS_KEY $1) failed"
}

# wait_poolers_paused: after blue_poolers pause, waits (POOLER_PAUSE_TIMEOUT s at most) until
# blue's primary has no client session from another address than its own sockets, other than
# the superuser's (green's): every PAUSEd PgBouncer has closed its server connections. What is
# left is ended by drain_blue.
wait_poolers_paused() {
  local end n
  end=$(($(now_ms) + POOLER_PAUSE_TIMEOUT * 1000))
  while :; do
    n=$(blue_sql postgres "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend'
      AND client_addr IS NOT NULL AND usename <> '$SUPERUSER' AND pid <> pg_catalog.pg_backend_pid()")
    if [ "$n" = 0 ]; then
      log "cutover: blue's PgBouncers hold no server connection (paused)"
      return 0
    fi
    if [ "$(now_ms)" -ge "$end" ]; then
      log "cutover: $n client session(s) still on blue after $POOLER_PAUSE_TIMEOUT s (clients connected directly, session pool mode, or PgBouncers without the redirection): the drain ends them"
      return 0
    fi
    sleep 0.1
  done
}

# redirected: REDIRECTED_RO_MS = when blue became read-only (ms) if blue's PgBouncer hosts have
# been told to follow this green (DCS_KEY in state redirect naming CLUSTER), else empty. A GET
# that fails ends the run: only blue's configuration says whether the cutover is past its point of
# no return.
redirected() {
  local cfg
  cfg=$(blue_rest GET /config) || die "GET /config of blue failed"
  REDIRECTED_RO_MS=$(jq -r --arg k "$DCS_KEY" --arg g "$CLUSTER" '.[$k] | objects | select(.state == "redirect" and .green == $g) | .read_only_ms // 0' <<<"$cfg") ||
    die "blue's configuration is not JSON"
  # it goes into arithmetic and SQL: digits only (whoever can PATCH blue's configuration wrote it)
  if [ -n "$REDIRECTED_RO_MS" ] && ! [[ $REDIRECTED_RO_MS =~ ^[0-9]{1,15}$ ]]; then
    die "blue's configuration: $DCS_KEY.read_only_ms is not a number of milliseconds"
  fi
}
REDIRECTED_RO_MS=""
PAUSE_SINCE=""

# own_pause: blue's configuration still holds this run's pause (DCS_KEY in state pause with
# PAUSE_SINCE). Otherwise another run took over (green failed over mid-cutover and its new
# primary's run paused or redirected again): this one must not give blue its writes back.
own_pause() {
  blue_rest GET /config | jq -e --arg k "$DCS_KEY" --argjson t "$PAUSE_SINCE" '.[$k] | objects | .state == "pause" and .since_ms == $t' >/dev/null
}

# cutover: blue's PgBouncers paused, blue read-only and drained, green caught up, sequences and
# roles copied, blue's PgBouncers re-pointed at green, then (finish_cutover) the subscriptions and
# blue's slots dropped and the done mark on database postgres. Clients wait from the pause to the
# redirect, so nothing that can come after the redirect comes before it: blue is read-only and
# green has applied all of it, so dropping the subscriptions later changes no row. A catch-up
# that does not finish in time makes blue writable again and resumes its PgBouncers where they
# were (the cutover is retried by the next run). After the redirect it only goes forward.
cutover() {
  local t0 t_ro t_cu
  t0=$(now_ms)
  log "cutover from $UPGRADE_FROM_CLUSTER (primary $BLUE_HOST) begins"
  # nothing is paused yet: a green far behind (a load peak, a replaced node still applying)
  # catches up here, not while the clients wait
  if ! wait_close_behind; then
    emit_metric mp_upgrade_cutover_failed 1 "cutover from $UPGRADE_FROM_CLUSTER postponed: green still more than $CLOSE_BEHIND_BYTES bytes behind after $CATCHUP_TIMEOUT s; blue untouched"
    die "cutover postponed: green is more than $CLOSE_BEHIND_BYTES bytes behind blue after $CATCHUP_TIMEOUT s; blue untouched, the next run tries again"
  fi
  log "step close-behind: done in $(($(now_ms) - t0)) ms"
  step pause-poolers blue_poolers pause
  step poolers-paused wait_poolers_paused
  step read-only blue_read_only on
  t_ro=$(now_ms)
  step drain drain_blue
  t_cu=$(now_ms)
  if ! wait_applied; then
    own_pause || die "cutover: green did not catch up in $CATCHUP_TIMEOUT s, and blue's configuration no longer holds this run's pause (another run of green took over): blue left as it is"
    step writable-again blue_read_only null
    step resume-poolers blue_poolers clear
    emit_metric mp_upgrade_cutover_failed 1 "cutover from $UPGRADE_FROM_CLUSTER: green did not catch up in $CATCHUP_TIMEOUT s; blue is writable again"
    die "cutover abandoned: blue is writable again; the next run retries"
  fi
  log "step catch-up: done in $(($(now_ms) - t_cu)) ms"
  step sequences copy_sequences
  step roles copy_roles
  step redirect-poolers blue_poolers redirect "$t_ro"
  log "cutover: blue's PgBouncers told to follow green $(($(now_ms) - t_ro)) ms after blue became read-only"
  finish_cutover "$t_ro"
  log "cutover done in $(($(now_ms) - t0)) ms ($(($(now_ms) - t_ro)) ms since blue became read-only): green holds $UPGRADE_FROM_CLUSTER's data; blue's PgBouncers with the redirection now send their clients to green"
}

# finish_cutover T_RO: after the redirect (T_RO: when blue became read-only, ms): the
# subscriptions and blue's slots dropped, the done mark. Idempotent: a run after a crash here
# (main finds blue's key in state redirect) runs it again and never makes blue writable.
finish_cutover() {
  step drop-subscriptions drop_subscriptions
  step drop-blue-slots drop_blue_slots
  green_sql postgres "COMMENT ON DATABASE postgres IS '$DONE_MARK $UPGRADE_FROM_CLUSTER: blue read-only at $1 ms, done at $(now_ms) ms (Unix time)'" >/dev/null
  emit_metric mp_upgrade_cutover_seconds "$((($(now_ms) - $1 + 999) / 1000))" "cutover from $UPGRADE_FROM_CLUSTER done: blue read-only for $(($(now_ms) - $1)) ms so far"
  rm -f "$SOURCE_PGPASS"
}

main() {
  local command=run
  if [ "$#" -gt 0 ]; then command=$1; fi
  case "$command" in run | preflight) ;; *) die "usage: managed-postgres-upgrade [run|preflight]" ;; esac
  [ "$(id -u)" -eq 0 ] || die "must run as root"
  case "$(db_comment postgres)" in
    "$DONE_MARK"*)
      rm -f "$SOURCE_PGPASS"
      log "the cutover from $UPGRADE_FROM_CLUSTER is done (comment of database postgres): nothing to do"
      return 0
      ;;
  esac
  install -d -m 0700 -o postgres -g postgres "$STATE_DIR"
  exec 9>"$STATE_DIR/lock"
  flock -n 9 || die "another run holds $STATE_DIR/lock"
  WORK=$(mktemp -d /run/managed-postgres-upgrade.XXXXXX)
  trap 'run_finished $?' EXIT
  # every node: a replica's apply workers need blue's password file once it is the primary
  blue_secret
  if ! curl -sf -o /dev/null --max-time 10 --cacert "$CA_CERT" "$PATRONI_URL/primary"; then
    log "not green's primary: blue's password file and CA written, nothing else to do here"
    return 0
  fi
  find_blue_primary
  log "blue's primary is $BLUE_HOST"
  if [ "$command" = run ]; then redirected; fi
  if [ -n "$REDIRECTED_RO_MS" ]; then
    # a run that ended between the redirect and the done mark: the clients are on green already
    log "cutover from $UPGRADE_FROM_CLUSTER: blue's PgBouncers already follow green; finishing it (blue stays read-only)"
    finish_cutover "$REDIRECTED_RO_MS"
    log "cutover done: green holds $UPGRADE_FROM_CLUSTER's data"
    return 0
  fi
  step preflight preflight
  if [ "$PREFLIGHT_PROBLEMS" -gt 0 ]; then
    RUN_REPORTED=1
    exit 1
  fi
  [ "$command" = run ] || return 0
  step follow follow
  if [ "$UPGRADE_CUTOVER" != 1 ]; then return 0; fi
  if [ "$FOLLOW_DRIFT" -gt 0 ]; then
    log "cutover requested: not while blue's and green's tables differ (schema drift above)"
    RUN_REPORTED=1
    exit 1
  fi
  if [ "$FOLLOW_PENDING" -gt 0 ]; then
    log "cutover requested: waiting for the initial copy of $FOLLOW_PENDING table(s)"
    return 0
  fi
  cutover
}
