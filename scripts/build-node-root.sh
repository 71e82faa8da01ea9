#!/bin/bash
# Builds (or finds) a root filesystem of the node image for the test harness: the same
# recipe users run on an EC2 builder instance, applied in a chroot to a debootstrap root.
#   trixie (default)  Debian 13, PostgreSQL 17: image/build.sh + image/packages.txt
#   bookworm          Debian 12, PostgreSQL 15: image/bookworm/build.sh + image/bookworm/packages.txt
#
# Usage (as root): scripts/build-node-root.sh [trixie|bookworm]
# Prints the root's path as the last line of stdout; progress and durations go to stderr.
#
# Cache (outside the clone): ${MANAGED_POSTGRES_CACHE:-/var/cache/cdktf-managed-postgres}
#   debootstrap-<suite>-minbase-<key>  `debootstrap --variant=minbase <suite>` from
#                                     $DEBIAN_MIRROR (default http://deb.debian.org/debian),
#                                     repaired when python3-cryptography fails to configure
#                                     (`apt-get install python3-cffi-backend && apt-get -f install`)
#   node-root-<sha256 of the suite's recipe files, first 16 hex>
#                                     a copy of the former with the suite's recipe applied.
#                                     trixie: every file under image/ but image/bookworm/
#                                     (the key of the roots built before bookworm existed);
#                                     bookworm: image/build.sh and image/bookworm/* but *.md.
# Each is built in a temporary directory next to it and renamed into place, so a name that
# exists is complete; an existing one is reused. Concurrent runs serialize on a lock file.
# Old node-root-* directories (from earlier recipes) are left for the user to delete.
#
# Measured on the shared 2-core development machine: trixie: debootstrap 81 s, recipe 254 s
# (apt downloads and installs ~300 packages); the root takes ~1 GB.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MANAGED_POSTGRES_CACHE:-/var/cache/cdktf-managed-postgres}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=${1:-trixie}
case "$SUITE" in
  trixie) RECIPE=image/build.sh ;;
  bookworm) RECIPE=image/bookworm/build.sh ;;
  *) printf 'build-node-root: error: unknown suite %s (trixie or bookworm)\n' "$SUITE" >&2; exit 1 ;;
esac

log() { printf 'build-node-root: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and chroot)"
command -v debootstrap >/dev/null || die "needs debootstrap (apt-get install debootstrap)"
[ -d "$REPO/image" ] || die "no $REPO/image"

# The recipe as of now (a later edit cannot slip into a root named after this content),
# and its key: every file under image/, by relative path and content.
mounted=()
tmp=""
stage=$(mktemp -d /tmp/build-node-root.XXXXXX)
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  if [ -n "$tmp" ] && [ -d "$tmp" ]; then rm -rf --one-file-system "$tmp"; fi
  rm -rf "$stage"
}
trap cleanup EXIT
cp -r "$REPO/image" "$stage/image"
recipe_files() {
  case "$SUITE" in
    trixie) find image -path image/bookworm -prune -o -type f -print0 ;;
    bookworm) printf '%s\0' image/build.sh && find image/bookworm -type f ! -name '*.md' -print0 ;;
  esac
}
image_key=$(cd "$stage" && recipe_files | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
base_key=$(printf '%s\n' "$SUITE" minbase "$MIRROR" python3-cffi-backend | sha256sum | cut -c1-16)
BASE="$CACHE/debootstrap-$SUITE-minbase-$base_key"
ROOT="$CACHE/node-root-$image_key"

if [ -d "$ROOT" ]; then
  log "reusing $ROOT"
  echo "$ROOT"
  exit 0
fi

install -d -m 0755 "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9
if [ -d "$ROOT" ]; then # built by a concurrent run while we waited
  log "reusing $ROOT"
  echo "$ROOT"
  exit 0
fi

mount_chroot() {
  local dir=$1 m
  for m in proc sys dev dev/pts; do
    mkdir -p "$dir/$m"
    case "$m" in
      proc) mount -t proc proc "$dir/proc" ;;
      sys) mount -t sysfs sysfs "$dir/sys" ;;
      dev) mount --bind /dev "$dir/dev" ;;
      dev/pts) mount --bind /dev/pts "$dir/dev/pts" ;;
    esac
    mounted+=("$dir/$m")
  done
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
}
umount_chroot() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}"; done
  mounted=()
}

t_start=$(date +%s)
if [ -d "$BASE" ]; then
  log "reusing $BASE"
  t_base=0
else
  tmp=$(mktemp -d "$CACHE/.tmp-debootstrap.XXXXXX")
  chmod 0755 "$tmp"
  log "debootstrap --variant=minbase $SUITE $tmp $MIRROR (about 4.5 minutes)"
  rc=0
  debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >&2 || rc=$?
  if [ "$rc" -ne 0 ]; then
    # Known on this suite: python3-cryptography fails to configure (virtual cffi dependency).
    [ -x "$tmp/usr/bin/apt-get" ] || die "debootstrap failed ($rc) before apt was installed"
    log "debootstrap failed ($rc): repairing with python3-cffi-backend and apt-get -f install"
    mount_chroot "$tmp"
    chroot "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-cffi-backend >&2 || true
    chroot "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q >&2
    chroot "$tmp" dpkg --configure -a >&2
    umount_chroot
  fi
  [ -z "$(chroot "$tmp" dpkg --audit 2>&1)" ] || die "debootstrap root has unconfigured packages: $(chroot "$tmp" dpkg --audit 2>&1 | head -5)"
  mv -T "$tmp" "$BASE"
  tmp=""
  t_base=$(($(date +%s) - t_start))
  log "debootstrap: ${t_base} s"
fi

t_recipe_start=$(date +%s)
tmp=$(mktemp -d "$CACHE/.tmp-node-root.XXXXXX")
chmod 0755 "$tmp"
cp -a --reflink=auto "$BASE/." "$tmp/"
mount_chroot "$tmp"
rm -rf "$tmp/tmp/image"
cp -r "$stage/image" "$tmp/tmp/image"
chroot "$tmp" /bin/bash "/tmp/$RECIPE" >&2
rm -rf "$tmp/tmp/image"
umount_chroot
mv -T "$tmp" "$ROOT"
tmp=""
t_recipe=$(($(date +%s) - t_recipe_start))
log "recipe: ${t_recipe} s; total: $(($(date +%s) - t_start)) s (debootstrap ${t_base} s)"
log "size: $(du -sh --one-file-system "$ROOT" | cut -f1) in $ROOT"
echo "$ROOT"
