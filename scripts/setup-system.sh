#!/usr/bin/env bash
# Installs what `npm run test:system` and `npm run test:live` need on Debian 12: the Debian
# packages below, then checks terraform (Debian does not package it). Idempotent: installed
# packages are left alone, and nothing is fetched when all are present. Needs root:
#   sudo npm run setup:system
# `npm test` needs none of this (Node and npm only).
set -euo pipefail

PACKAGES=(
  postgresql-15 postgresql-client-15 patroni python3-etcd etcd-server etcd-client
  pgbouncer haproxy pgbackrest cloud-init shellcheck
  prometheus-postgres-exporter prometheus-pgbouncer-exporter
  awscli jq ssl-cert iproute2 openssl ca-certificates util-linux procps e2fsprogs curl
  systemd systemd-container debootstrap nftables iputils-ping
)

if [ "$(id -u)" != 0 ]; then
  echo "setup-system: must run as root (it installs Debian packages): sudo npm run setup:system" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
  echo "setup-system: needs Debian (apt-get, dpkg-query); install these packages another way: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  [ "$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: all ${#PACKAGES[@]} Debian packages are installed"
else
  echo "setup-system: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# terraform (fmt, validate and console only: no provider is downloaded) parses the HCL output.
if ! command -v terraform >/dev/null; then
  cat >&2 <<'MSG'
setup-system: terraform is not on PATH, and Debian does not package it. Install any 1.x release:
  https://developer.hashicorp.com/terraform/install (HashiCorp's apt repository, or the zip:
  unzip terraform_<version>_linux_amd64.zip -d /usr/local/bin)
then run this again.
MSG
  exit 1
fi
terraform version | sed -n 1p  # sed reads all of it: `head` could end terraform with SIGPIPE under pipefail
echo "setup-system: ready for npm run test:system and npm run test:live"
