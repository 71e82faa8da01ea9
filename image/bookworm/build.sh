#!/bin/bash
# Turns a Debian 12 (bookworm) system into a cdktf-managed-postgres node image for
# PostgreSQL 15 (`majorVersion: 15`; the library's default AMI for 15 is Debian 12's).
#
# Usage (as root, on the builder instance or inside a chroot):
#   image/bookworm/build.sh [--cloudwatch-agent <path or https URL of amazon-cloudwatch-agent.deb>]
#
# It is image/build.sh (read its header: what it does, step by step) with four values of
# Debian 12 instead of Debian 13: the release it accepts (bookworm), the package list
# (image/bookworm/packages.txt), the apt suite it writes when the system has no sources,
# and the cluster directory the package must not create (15/main). image/build.sh is run
# from a temporary copy with exactly those lines replaced (each replacement is checked to
# match once, so an edit of image/build.sh that moves them fails here instead of building
# a Debian 13 image). image/build.sh itself is left as it is: its bytes name the harness's
# cached Debian 13 root (scripts/build-node-root.sh).
#
# Before that, the locale (below) and apt sources: Debian 12's security fixes (postgresql-15 15.20, openssl,
# haproxy, ca-certificates, jq of packages.txt) are in bookworm-security, which Debian's
# cloud images list and a fresh debootstrap root does not: added when no source names it
# (APT_MIRROR, default http://deb.debian.org/debian; APT_SECURITY_MIRROR, default
# http://deb.debian.org/debian-security).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
BASE_SCRIPT="$HERE/../build.sh"
log() { printf 'image/bookworm/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"
[ -r "$BASE_SCRIPT" ] || die "no $BASE_SCRIPT (run this from the image/ directory of the repository)"
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || die "needs Debian 12 (bookworm), found ${PRETTY_NAME:-unknown}"

mirror=${APT_MIRROR:-http://deb.debian.org/debian}
security=${APT_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
if ! grep -qsr 'bookworm-security' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  log "adding bookworm-updates and bookworm-security to the apt sources"
  {
    grep -qsr '^deb .* bookworm main\|^Suites:.*bookworm' /etc/apt/sources.list /etc/apt/sources.list.d/ || echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    echo "deb $security bookworm-security main"
  } >/etc/apt/sources.list.d/managed-postgres-bookworm.list
fi

# Locale: cloud-init 22.4 sets en_US.UTF-8 when /etc/default/locale names no LANG, and Debian's
# locale-gen ignores the locale it is given (https://github.com/canonical/cloud-init/issues/4195):
# update-locale then fails, the locale module fails and `cloud-init status` says error on every
# boot. C.UTF-8 is built into glibc (no generation) and is cloud-init's Debian default since 23.4
# (https://github.com/canonical/cloud-init/pull/4503; Debian 13's 25.1 has it).
if ! grep -qs '^LANG=' /etc/default/locale; then
  log "LANG=C.UTF-8 in /etc/default/locale"
  echo 'LANG=C.UTF-8' >>/etc/default/locale
fi

# replace FILE OLD NEW: OLD (a fixed string) must occur exactly once in FILE.
replace() {
  local n
  n=$(grep -cF -- "$2" "$1" || true)
  [ "$n" = 1 ] || die "image/build.sh: expected one line with '$2', found $n"
  OLD=$2 NEW=$3 perl -0pi -e 's/\Q$ENV{OLD}\E/$ENV{NEW}/' "$1"
}
script=$(mktemp /tmp/managed-postgres-build.XXXXXX.sh)
trap 'rm -f "$script"' EXIT
cp "$BASE_SCRIPT" "$script"
replace "$script" 'PACKAGES_FILE="$HERE/packages.txt"' "PACKAGES_FILE=\"$HERE/packages.txt\""
replace "$script" '[ "${VERSION_CODENAME:-}" = trixie ] || die "needs Debian 13 (trixie)' '[ "${VERSION_CODENAME:-}" = bookworm ] || die "needs Debian 12 (bookworm)'
replace "$script" '} trixie main" | write_file' '} bookworm main" | write_file'
replace "$script" '[ ! -e /etc/postgresql/17/main ] || die "the package created /etc/postgresql/17/main' '[ ! -e /etc/postgresql/15/main ] || die "the package created /etc/postgresql/15/main'
/bin/bash "$script" "$@"
