#!/bin/bash
# Turns a Debian 13 (trixie) system into a cdktf-managed-postgres node image: the AMI
# whose id goes to `imageId` (database nodes and PgBouncer tier instances use the same one).
#
# Usage (as root, on the builder instance or inside a chroot):
#   image/build.sh [--cloudwatch-agent <path or https URL of amazon-cloudwatch-agent.deb>]
#
# What it does (idempotent: running it again changes nothing):
#   1. `create_main_cluster = false` for postgresql-common BEFORE PostgreSQL installs (a
#      drop-in in /etc/postgresql-common/createcluster.d, read after createcluster.conf):
#      Patroni creates the cluster, the package must not create 17/main.
#   2. `apt-get install` of every `name=version` in packages.txt (next to this script),
#      with a policy-rc.d that keeps package scripts from starting daemons meanwhile.
#   3. Services: only the node bootstrap (the user data) starts them.
#      - masked (the bootstrap masks them too; they would bind our ports with package
#        defaults): postgresql.service, pgbouncer.service, prometheus-pgbouncer-exporter.service
#        (MASKED_PACKAGE_UNITS in src/render/systemd.ts);
#      - disabled, NOT masked: etcd, patroni, haproxy, prometheus-postgres-exporter. The
#        user data writes units of the same names to /etc/systemd/system; a mask is a
#        symlink there to /dev/null, which cloud-init's write_files would write through.
#   4. CloudWatch agent: Debian has no package. Given `--cloudwatch-agent`, installs AWS's
#      .deb (https://amazoncloudwatch-agent.s3.amazonaws.com/debian/amd64/latest/amazon-cloudwatch-agent.deb;
#      verify its signature first, see image/README.md) and disables its unit (the
#      bootstrap's managed-postgres-cloudwatch-agent.service starts it with our
#      configuration). Without it, the agent is absent: that unit has
#      `ConditionPathExists=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl`
#      and is skipped, so nodes run without CloudWatch metrics and logs.
#      A preset file (/etc/systemd/system-preset/00-managed-postgres.preset) says `disable` for
#      all of them: systemd's first boot (/etc/machine-id missing or "uninitialized", e.g. after
#      `cloud-init clean --machine-id`) runs `preset-all`, and Debian's presets enable every
#      unit they do not name, which enabled etcd, patroni, haproxy and the exporter at boot
#      (seen in the EC2 twin: test/twin/machine).
#   5. Writes /etc/managed-postgres/image-manifest (the installed versions), cleans apt caches.
#   6. Empties /etc/machine-id (and removes /var/lib/dbus/machine-id): each instance of the AMI
#      generates its own ID at boot instead of sharing the builder's; an empty file, unlike a
#      missing or "uninitialized" one, is no first boot (machine-id(5)).
#
# Environment: APT_MIRROR (default http://deb.debian.org/debian) is used only when the
# system has no apt sources at all (a fresh debootstrap root has them).
set -euo pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

HERE=$(cd "$(dirname "$0")" && pwd)
PACKAGES_FILE="$HERE/packages.txt"
MANIFEST=/etc/managed-postgres/image-manifest
CW_CTL=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl
MASK_UNITS="postgresql.service pgbouncer.service prometheus-pgbouncer-exporter.service"
DISABLE_UNITS="etcd.service patroni.service haproxy.service prometheus-postgres-exporter.service"

log() { printf 'image/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# write_file PATH MODE: stdin to PATH, replaced only when the content differs (idempotent).
write_file() {
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"
  chmod "$2" "$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

cw_agent=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --cloudwatch-agent) [ "$#" -ge 2 ] || die "--cloudwatch-agent needs a path or URL"; cw_agent=$2; shift 2 ;;
    -h | --help) sed -n '2,38p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "must run as root"
[ -r "$PACKAGES_FILE" ] || die "no $PACKAGES_FILE"
. /etc/os-release
[ "${VERSION_CODENAME:-}" = trixie ] || die "needs Debian 13 (trixie), found ${PRETTY_NAME:-unknown}"

# Package specs: `name=version` lines without comments.
mapfile -t specs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$PACKAGES_FILE" | grep -v '^$')
[ "${#specs[@]}" -gt 0 ] || die "$PACKAGES_FILE lists no package"

# 1. No 17/main from the package.
install -d -m 0755 /etc/postgresql-common/createcluster.d
printf '# cdktf-managed-postgres: Patroni creates the cluster.\ncreate_main_cluster = false\n' |
  write_file /etc/postgresql-common/createcluster.d/00-managed-postgres.conf 0644

# 2. Packages, without starting daemons.
if ! compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null && ! compgen -G '/etc/apt/sources.list.d/*.list' >/dev/null &&
  ! grep -qs '^deb ' /etc/apt/sources.list; then
  echo "deb ${APT_MIRROR:-http://deb.debian.org/debian} trixie main" | write_file /etc/apt/sources.list 0644
fi
policy_rc=/usr/sbin/policy-rc.d
own_policy_rc=""
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\n# image/build.sh: no daemon starts while the image is built\nexit 101\n' >"$policy_rc"
  chmod 0755 "$policy_rc"
  own_policy_rc=1
fi
cleanup() { if [ -n "$own_policy_rc" ]; then rm -f "$policy_rc"; fi; }
trap cleanup EXIT

missing=()
for spec in "${specs[@]}"; do
  name=${spec%%=*} want=${spec#*=}
  have=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$name" 2>/dev/null || true)
  if [ "$have" != "ii  $want" ]; then missing+=("$spec"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${#missing[@]} of ${#specs[@]} packages: ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold "${specs[@]}"
else
  log "all ${#specs[@]} packages installed at their pinned versions"
fi
for spec in "${specs[@]}"; do
  name=${spec%%=*} want=${spec#*=}
  have=$(dpkg-query -W -f='${Version}' "$name")
  [ "$have" = "$want" ] || die "$name is $have, packages.txt pins $want"
done
[ ! -e /etc/postgresql/17/main ] || die "the package created /etc/postgresql/17/main (create_main_cluster ignored)"

# 4. CloudWatch agent (before 3: its unit is disabled below).
if [ -n "$cw_agent" ]; then
  if [ -x "$CW_CTL" ]; then
    log "CloudWatch agent already installed"
  else
    deb=$cw_agent
    case "$cw_agent" in
      https://*) deb=$(mktemp /tmp/amazon-cloudwatch-agent.XXXXXX.deb); curl -fsSL -o "$deb" "$cw_agent" ;;
    esac
    [ -r "$deb" ] || die "no CloudWatch agent package at $cw_agent"
    apt-get install -y -q "$(readlink -f "$deb")"
    [ -x "$CW_CTL" ] || die "the CloudWatch agent package did not provide $CW_CTL"
  fi
fi

# 3. Services.
# A booted builder instance stops what is running; a chroot (the harness) only disables.
systemd_running=""
if [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot; then systemd_running=1; fi
for u in $MASK_UNITS $DISABLE_UNITS amazon-cloudwatch-agent.service; do
  [ -n "$(systemctl list-unit-files --no-legend "$u" 2>/dev/null)" ] || continue
  if [ -n "$systemd_running" ]; then systemctl stop "$u" >/dev/null 2>&1 || true; fi
  systemctl disable --quiet "$u" >/dev/null 2>&1 || true
done
for u in $MASK_UNITS; do
  systemctl mask --quiet "$u"
done
for u in $DISABLE_UNITS; do
  [ "$(systemctl is-enabled "$u" 2>/dev/null || true)" = disabled ] || die "$u is not disabled"
done
install -d -m 0755 /etc/systemd/system-preset
{
  echo "# cdktf-managed-postgres (image/build.sh): only the node bootstrap starts these; a first"
  echo "# boot's preset-all must not enable them (Debian's presets enable what they do not name)."
  for u in $MASK_UNITS $DISABLE_UNITS amazon-cloudwatch-agent.service; do echo "disable $u"; done
} | write_file /etc/systemd/system-preset/00-managed-postgres.preset 0644

# 5. Manifest and cleanup.
install -d -m 0755 "$(dirname "$MANIFEST")"
{
  echo "# cdktf-managed-postgres node image: installed versions (image/packages.txt)"
  echo "debian=$(cat /etc/debian_version)"
  for spec in "${specs[@]}"; do
    echo "${spec%%=*}=$(dpkg-query -W -f='${Version}' "${spec%%=*}")"
  done
  if [ -x "$CW_CTL" ]; then
    echo "amazon-cloudwatch-agent=$(dpkg-query -W -f='${Version}' amazon-cloudwatch-agent 2>/dev/null || echo unknown)"
  else
    echo "amazon-cloudwatch-agent=absent"
  fi
} | write_file "$MANIFEST" 0644
apt-get clean

# 6. No machine ID in the image (see the header).
: >/etc/machine-id
chmod 0444 /etc/machine-id
if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then rm -f /var/lib/dbus/machine-id; fi
log "done: $MANIFEST"
