# shellcheck shell=bash
# managed-postgres-upgrade-redirect: the blue side of a blue/green major upgrade's cutover
# (issue 15), on every host of blue that runs PgBouncer (the pooler instances of a distributed
# blue, the node of a standalone one), only when blue's `upgradeTo.readWriteEndpoint` names
# green's endpoint. Rendered by renderUpgradeRedirectScript (src/render/upgrade-redirect.ts),
# which puts the strict mode and a header of readonly values in front:
#   CLUSTER, REST_ADDRESSES (blue's members, space-separated), REST_PORT, CA_CERT (blue's CA),
#   POOLS ("rw ro" or "rw"), POOL_MODE, DCS_KEY, USERLIST, PGBOUNCER_AUTH_ROLE, POOLER_AUTH_ROLE,
#   TARGET_CA (where green's CA goes), STATE_DIR (the agent's own, which holds the attempt given up),
#   POLL_SECONDS, PAUSED_POLL_SECONDS, PAUSE_MAX_SECONDS, PAUSE_TIMEOUT,
#   and per pool (suffix _RW, _RO): PORT, RUN_DIR, CONFIG (the live pool file), UPGRADE_CONFIG (the
#   pool file pointing at green's endpoint, rendered at synth); empty for a pool the host lacks.
# Runs as the user PgBouncer runs as: PgBouncer admits that user, as `pgbouncer`, to its admin
# console over its Unix socket without a password (PgBouncer "Usage", admin console; no
# admin_users needed), and that user owns the pool files and the userlist.
#
# Every POLL_SECONDS (PAUSED_POLL_SECONDS while its pools are paused: clients wait then, and
# seeing the redirect sooner shortens their wait) it reads blue's Patroni dynamic configuration
# (GET /config, which Patroni serves without authentication, TLS checked with blue's CA) from the
# first member that answers, and acts on DCS_KEY, which green's cutover PATCHes (src/render/scripts/node-upgrade.sh,
# blue_poolers):
# - state "pause": PAUSE each pool (in-flight transactions finish, the server connections close,
#   clients stay connected and their next queries wait). Not in session pool mode (a PAUSE
#   waits for every client to disconnect): there the drain ends the sessions. A pause that lasts
#   PAUSE_MAX_SECONDS without a redirect (green died mid-cutover) is given up: RESUME, and that
#   cutover attempt (its since_ms, kept in STATE_DIR across restarts) is not paused again.
# - state "redirect": green's CA into TARGET_CA (checked: one PEM certificate), POOLER_AUTH_ROLE
#   into the userlist with PGBOUNCER_AUTH_ROLE's password (green gave that role blue's secret),
#   each pool file replaced by its UPGRADE_CONFIG_P, then RELOAD, RECONNECT (a server connection
#   still open goes once released) and RESUME. A host that boots later (a replaced pooler
#   instance) does the same at its first poll.
# - no key: RESUME what this agent paused (the cutover was abandoned; blue is writable again).
# The agent never writes to blue's configuration.
# shellcheck disable=SC2154 # header values

log() {
  printf '%s managed-postgres-upgrade-redirect: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

now_ms() { date +%s%3N; }

# pool_value NAME POOL: the header value NAME_RW or NAME_RO (POOL rw or ro).
pool_value() {
  case "$1_$2" in
    PORT_rw) printf '%s' "$PORT_RW" ;;
    PORT_ro) printf '%s' "$PORT_RO" ;;
    RUN_DIR_rw) printf '%s' "$RUN_DIR_RW" ;;
    RUN_DIR_ro) printf '%s' "$RUN_DIR_RO" ;;
    CONFIG_rw) printf '%s' "$CONFIG_RW" ;;
    CONFIG_ro) printf '%s' "$CONFIG_RO" ;;
    UPGRADE_CONFIG_rw) printf '%s' "$UPGRADE_CONFIG_RW" ;;
    UPGRADE_CONFIG_ro) printf '%s' "$UPGRADE_CONFIG_RO" ;;
    *) return 1 ;;
  esac
}

# admin POOL COMMAND [COMMAND2]: the command(s), in order, on POOL's PgBouncer admin console in
# one session (one psql: the clients wait while the redirect runs); the first that fails ends it
# (status non-zero). Bounded by PAUSE_TIMEOUT (PAUSE waits for in-flight transactions).
admin() {
  local host port
  host=$(pool_value RUN_DIR "$1")
  port=$(pool_value PORT "$1")
  shift
  if [ "$#" -eq 2 ]; then set -- -c "$1" -c "$2"; else set -- -c "$1"; fi
  timeout "$PAUSE_TIMEOUT" psql -X -q -At -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U pgbouncer -d pgbouncer "$@" >/dev/null 2>&1
}

# dcs_config: blue's dynamic configuration (JSON) from the first member that answers.
dcs_config() {
  local a
  for a in $REST_ADDRESSES; do
    if curl -sf --max-time 3 --cacert "$CA_CERT" "https://$a:$REST_PORT/config"; then return 0; fi
  done
  return 1
}

# redirected: every pool file is the one pointing at green, green's CA is in place and the
# userlist has POOLER_AUTH_ROLE (the bootstrap rewrites the userlist at every boot: a rebooted
# host must add it again).
redirected() {
  local p
  [ -s "$TARGET_CA" ] || return 1
  grep -q "^\"$POOLER_AUTH_ROLE\" " "$USERLIST" || return 1
  for p in $POOLS; do
    cmp -s "$(pool_value CONFIG "$p")" "$(pool_value UPGRADE_CONFIG "$p")" || return 1
  done
}

pause_all() {
  local p t0
  for p in $POOLS; do
    t0=$(now_ms)
    # a PAUSE not finished in PAUSE_TIMEOUT stays in effect (PgBouncer's pause mode outlives the
    # admin connection that asked for it) and completes when the transactions in flight end
    if admin "$p" PAUSE; then log "pool $p paused in $(($(now_ms) - t0)) ms"; else log "pool $p: PAUSE not finished after $PAUSE_TIMEOUT s (a transaction in flight): it completes when that transaction ends (on blue's primary the cutover's drain ends it)"; fi
  done
}

resume_all() {
  local p
  for p in $POOLS; do
    # RESUME of a pool that is not paused fails harmlessly
    if admin "$p" RESUME; then log "pool $p resumed ($1)"; fi
  done
}

# redirect STATE_JSON: the pools to green's endpoint (see the header). Status 1, with the pools
# left paused if they were, when a step fails (errexit does not apply: it runs as a condition):
# the caller tries again. Each pool RESUMEs as soon as it has RELOADed its new file (the pools are
# separate PgBouncer processes; rw comes first in POOLS).
redirect() {
  local p t0 work pass
  t0=$(now_ms)
  work=$(mktemp -d) || return 1
  if ! jq -j '.ca_pem | strings' <<<"$1" >"$work/ca.pem" || [ "$(grep -c 'BEGIN CERTIFICATE' "$work/ca.pem")" != 1 ] || ! openssl x509 -in "$work/ca.pem" -noout 2>/dev/null; then
    rm -rf "$work"
    log "ERROR: the redirect carries no valid CA certificate of green: the pools stay where they are"
    return 1
  fi
  if ! cat "$work/ca.pem" >"$TARGET_CA"; then
    rm -rf "$work"
    log "ERROR: cannot write green's CA to $TARGET_CA: the pools stay where they are"
    return 1
  fi
  rm -rf "$work"
  if ! grep -q "^\"$POOLER_AUTH_ROLE\" " "$USERLIST"; then
    pass=$(sed -n "s/^\"$PGBOUNCER_AUTH_ROLE\" \"\(.*\)\"$/\1/p" "$USERLIST")
    if [ -z "$pass" ]; then
      log "ERROR: no password of $PGBOUNCER_AUTH_ROLE in $USERLIST: the pools stay where they are"
      return 1
    fi
    if ! printf '"%s" "%s"\n' "$POOLER_AUTH_ROLE" "$pass" >>"$USERLIST"; then
      log "ERROR: cannot add $POOLER_AUTH_ROLE to $USERLIST: the pools stay where they are"
      return 1
    fi
  fi
  for p in $POOLS; do
    if ! cat "$(pool_value UPGRADE_CONFIG "$p")" >"$(pool_value CONFIG "$p")"; then
      log "ERROR: cannot write pool $p's file: the pools stay where they are"
      return 1
    fi
    # PAUSE closed the server connections; RECONNECT closes one opened since, once released
    if ! admin "$p" RELOAD RECONNECT; then
      if ! admin "$p" RELOAD; then
        log "ERROR: pool $p: RELOAD failed: it stays where it is"
        return 1
      fi
      log "pool $p: RECONNECT failed"
    fi
    # RESUME of a pool that is not paused (session pool mode, a restarted agent) fails harmlessly
    if admin "$p" RESUME; then log "pool $p resumed (now on green's endpoint)"; fi
  done
  log "the pools ($POOLS) of $CLUSTER point at green in $(($(now_ms) - t0)) ms"
}

# main: the loop (see the header). What it knows of the pools lives in this process; a restarted
# agent (Restart=always) finds it again at its first read: a redirect is done again (each step
# is idempotent: the files, RELOAD, RESUME), and without a key it RESUMEs the pools in case the
# agent it replaces had paused them (RESUME of a pool that is not paused fails harmlessly).
main() {
  local cfg fields state since green paused=0 paused_at=0 paused_since="" given_up="" done=0 first=1 retry=0
  # the attempt given up survives a restart of the agent (systemd restarts it)
  if [ -f "$STATE_DIR/given-up" ]; then given_up=$(cat "$STATE_DIR/given-up"); fi
  log "watching $DCS_KEY in the dynamic configuration of $CLUSTER (GET /config on $REST_ADDRESSES) every $POLL_SECONDS s ($PAUSED_POLL_SECONDS s while paused)"
  while :; do
    # the key's state, attempt (since_ms) and green's name, whatever blue's configuration holds
    # (not JSON, the key not an object: no key); green's name is logged, so only [A-Za-z0-9._-]
    if cfg=$(dcs_config) && fields=$(jq -r --arg k "$DCS_KEY" '(.[$k] | if type == "object" then . else {} end) | [.state // "none", .since_ms // 0, .green // "?"] | map(tostring) | @tsv' <<<"$cfg" 2>/dev/null); then
      IFS=$'\t' read -r state since green <<<"$fields"
      green=$(printf '%s' "$green" | tr -c 'A-Za-z0-9._-' '?')
      retry=0
      case "$state" in
        pause)
          if [ "$done" = 1 ] || [ "$since" = "$given_up" ]; then
            :
          elif [ "$paused" = 1 ] && [ "$since" = "$paused_since" ]; then
            if [ $(($(date +%s) - paused_at)) -ge "$PAUSE_MAX_SECONDS" ]; then
              log "no redirect $PAUSE_MAX_SECONDS s after the pause: giving up this cutover attempt"
              resume_all "cutover attempt given up"
              paused=0
              given_up=$since
              printf '%s\n' "$since" >"$STATE_DIR/given-up"
            fi
          else
            if [ "$paused" = 1 ]; then
              log "cutover to $green: a new attempt ($since) while the pools are paused: they stay paused"
            elif [ "$POOL_MODE" = session ]; then
              log "cutover to $green begins: session pool mode, no PAUSE (it would wait for every client to disconnect)"
            else
              log "cutover to $green begins: pausing the pools"
              pause_all
            fi
            paused=1
            paused_at=$(date +%s)
            paused_since=$since
          fi
          ;;
        redirect)
          if [ "$done" = 0 ] || ! redirected; then
            if redirect "$(jq -c --arg k "$DCS_KEY" '.[$k]' <<<"$cfg" || true)"; then
              done=1
              paused=0
            else
              # tried again every POLL_SECONDS; paused pools are resumed where they point after PAUSE_MAX_SECONDS
              retry=1
              if [ "$paused" = 1 ] && [ $(($(date +%s) - paused_at)) -ge "$PAUSE_MAX_SECONDS" ]; then
                log "the redirect still fails $PAUSE_MAX_SECONDS s after the pause: resuming the pools where they point"
                resume_all "redirect failing"
                paused=0
              fi
            fi
          fi
          ;;
        *)
          if [ "$paused" = 1 ] || [ "$first" = 1 ]; then
            resume_all "the cutover was called off"
            paused=0
          fi
          ;;
      esac
      first=0
    fi
    if [ "$paused" = 1 ] && [ "$retry" = 0 ]; then sleep "$PAUSED_POLL_SECONDS"; else sleep "$POLL_SECONDS"; fi
  done
}
