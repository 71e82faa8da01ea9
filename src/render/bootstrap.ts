/**
 * The node bootstrap script, `PATHS.bootstrapScript` (`/usr/local/sbin/managed-postgres-bootstrap`):
 * bash, `set -euo pipefail`, shellcheck-clean, idempotent (safe at every boot and when
 * run again), never prints a secret (no `set -x`; secrets never on a command line).
 *
 * ## Contract (the live harness depends on it)
 *
 * `managed-postgres-bootstrap [prepare|start|finalize|all]`, default `all`; exit 0 on
 * success, non-zero with a message on stderr otherwise.
 *
 * - `prepare` — no systemctl. Database node:
 *   0. packages: every required command present, else `apt-get install` the missing
 *      Debian packages ({@link nodePackages});
 *   1. IMDSv2: `PUT <metadata>/latest/api/token` (header
 *      `X-aws-ec2-metadata-token-ttl-seconds: 21600`), then `GET
 *      /latest/meta-data/instance-id` and `/latest/meta-data/placement/availability-zone`
 *      with `X-aws-ec2-metadata-token`; `<metadata>` = `runtime.metadataEndpoint` or
 *      `http://169.254.169.254`;
 *   2. slot address: skipped when `ctx.self.address` is on an interface; else the ENI
 *      tagged `managed-postgres:cluster=<name>` + `managed-postgres:slot=<index>` is
 *      attached as device 1 (waiting while another instance still holds it), the address
 *      configured (DHCP or `ip addr add` with the prefix of IMDS
 *      `network/interfaces/macs/<mac>/subnet-ipv4-cidr-block`) and source-based routing
 *      added when the ENI is not the default-route interface;
 *   3. data volume: skipped (after an online grow) when `PATHS.dataMount` is a mountpoint;
 *      else the volume with the same tags is attached as `/dev/sdf`, its NVMe device
 *      `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol…` awaited, formatted ext4
 *      ONLY when `blkid -p` finds no filesystem and no partition table, added to
 *      /etc/fstab (by UUID, `nofail`), mounted and grown;
 *   4. secrets: `get-secret-value`; when the secret has no value yet
 *      (ResourceNotFoundException) this node generates a candidate (passwords
 *      `openssl rand -hex 32`, an EC P-256 CA valid 10 years) and offers it with
 *      `put-secret-value --client-request-token <secretClientRequestToken(name)>`; success
 *      or not, it re-reads and uses what is stored;
 *   5. TLS: `PATHS.caCert`; a key and certificate for this host (CN = member name,
 *      SAN = IP:<address>, DNS:<address> (pgBackRest 2.45 matches hosts against DNS
 *      names only), DNS:<member name>, serverAuth + clientAuth, 10 years) signed
 *      with the CA key, which only ever exists in a private directory under /run, removed
 *      on exit; kept across runs while valid for 30 more days, signed by the CA and for
 *      this address;
 *   6. secret-bearing files: `PATHS.patroniEnv` (PATRONI_SUPERUSER_PASSWORD,
 *      PATRONI_REPLICATION_PASSWORD, PATRONI_REWIND_PASSWORD, PATRONI_RESTAPI_USERNAME,
 *      PATRONI_RESTAPI_PASSWORD, PGBOUNCER_AUTH_PASSWORD; postgres 0600),
 *      `<PATHS.pgbackrestConfigIncludeDir>/secret.conf` (repo1-cipher-pass; postgres
 *      0640), `BOOT_SECRET_FILES.backupCipherPass` (postgres 0600); where PgBouncer runs,
 *      `PATHS.pgbouncerUserlist` (`"pgbouncer_auth" "<password>"`, postgres 0600) and
 *      `BOOT_SECRET_FILES.pgbouncerExporterPgpass` (postgres 0600);
 *   7. checks that every rendered configuration file (`renderNodeConfigFiles`) exists
 *      (cloud-init `write_files` put it there; the harness writes them itself).
 * - `start` — `systemctl daemon-reload`; on the first start, stop and mask
 *   `MASKED_PACKAGE_UNITS` and stop the package-started units we replace; enable
 *   `managed-postgres-bootstrap.service` (runs `prepare` at later boots); `systemctl
 *   enable --now --no-block` the daemons and timers ({@link nodeServices}); then `finalize`.
 * - `finalize` — database node: wait (up to 10 minutes) until the cluster has a leader
 *   (Patroni `GET https://<address>:8008/cluster` with the CA); on the primary, run the
 *   post-bootstrap script when `pgbouncer.get_auth(text)` is missing, then
 *   `pgbackrest --stanza=<name> stanza-create` (idempotent; retried while archive-push holds
 *   the stanza lock). Pooler: nothing.
 * - `all` — `prepare`, then `start`.
 *
 * The harness runs `prepare`, then every daemon's `execStart` as its `user`
 * ({@link nodeServices}), then `finalize`.
 *
 * Pooler instance (`renderPoolerBootstrapScript`): packages, IMDSv2 (instance-id,
 * local-ipv4), secrets (read only: waits up to 10 minutes for the first database node to
 * create them), TLS (CN/DNS `<name>-pooler`, IP = local-ipv4), userlist and exporter
 * password file, checks; `start` enables haproxy, pgbouncer@rw, pgbouncer@ro and the
 * exporters.
 *
 * ## AWS CLI calls (each with `--region <runtime.region>` and, when set, `--endpoint-url <runtime.awsEndpointUrl>`)
 * - `aws ec2 describe-network-interfaces --filters Name=tag:managed-postgres:cluster,Values=<name> Name=tag:managed-postgres:slot,Values=<index> --query 'NetworkInterfaces[0].[NetworkInterfaceId,Status,Attachment.InstanceId,MacAddress]' --output text`
 * - `aws ec2 attach-network-interface --network-interface-id <eni> --instance-id <id> --device-index 1`
 * - `aws ec2 describe-volumes --filters <same two filters> --query 'Volumes[0].[VolumeId,State,Attachments[0].InstanceId]' --output text`
 * - `aws ec2 attach-volume --volume-id <vol> --instance-id <id> --device /dev/sdf`
 * - `aws secretsmanager get-secret-value --secret-id <runtime.secretArn> --query SecretString --output text`
 *   (no value yet: the error output contains `ResourceNotFoundException`)
 * - `aws secretsmanager put-secret-value --secret-id <arn> --client-request-token <token> --secret-string file://<json>` (database nodes only)
 *
 * Terraform safety: the script never contains `${` or `%{` outside cdktf token markers
 * (see `./bootstrap/shell.ts`).
 */
import { TAG_CLUSTER, TAG_SLOT, type ResolvedClusterSpec } from "../cluster-spec";
import { PORTS } from "../cluster-spec";
import { renderNodeConfigFiles, renderPoolerConfigFiles } from "./node-files";
import { PATHS } from "./paths";
import { PATRONI_POST_BOOTSTRAP_SCRIPT, PATRONI_RESTAPI_USERNAME } from "./patroni";
import { stanzaName } from "./pgbackrest";
import { DB_ROLES, POSTGRES_SOCKET_DIRECTORY } from "./postgres";
import { PGBOUNCER_AUTH_PASSWORD_ENV } from "./sql";
import { MASKED_PACKAGE_UNITS, nodeServices, poolerServices, unitsToStart } from "./systemd";
import { SECRET_FIELDS, type NodeContext, type PoolerContext } from "./types";
import { BOOTSTRAP_STATE_DIR, BOOT_SECRET_FILES, JOB_COMMANDS } from "./bootstrap/files";
import { GROW_FILESYSTEM_FUNCTION, PATRONI_SAYS_FUNCTION, backupJobFunction, logFunction, logicalDumpJobFunction } from "./bootstrap/jobs";
import { assertTerraformSafe, awsCliPrefix, secretClientRequestToken, shq } from "./bootstrap/shell";

export { secretClientRequestToken } from "./bootstrap/shell";
export { BOOTSTRAP_STATE_DIR, BOOT_SECRET_FILES, JOB_COMMANDS, SYSTEMD_UNIT_DIR, logicalDumpPrefix } from "./bootstrap/files";

/** A Debian package a node needs and the command whose presence shows it is installed. */
export interface RequiredPackage {
  /** Debian package name, e.g. `postgresql-15`. */
  readonly name: string;
  /** Command (name on PATH or absolute path) the package provides. */
  readonly command: string;
}

/** Not in every Debian 12 cloud image (curl, openssl, iproute2, e2fsprogs, util-linux are). */
const COMMON_PACKAGES: readonly RequiredPackage[] = [
  { name: "awscli", command: "aws" },
  { name: "jq", command: "jq" },
];

/**
 * Debian packages of a database node: PostgreSQL `postgresql-<major>` (Debian 12 has 15;
 * 16 and 17 come from the PGDG apt repository, which the image must configure), Patroni
 * (with python3-etcd), etcd-server, pgBackRest, the PostgreSQL exporter, the AWS CLI, jq;
 * standalone adds PgBouncer and its exporter. Base tools of Debian 12 cloud images (curl,
 * openssl, iproute2, e2fsprogs, util-linux) are assumed.
 */
export function nodePackages(spec: ResolvedClusterSpec): RequiredPackage[] {
  const pkgs: RequiredPackage[] = [
    { name: `postgresql-${spec.majorVersion}`, command: `/usr/lib/postgresql/${spec.majorVersion}/bin/postgres` },
    { name: "patroni", command: "patroni" },
    { name: "python3-etcd", command: "/usr/lib/python3/dist-packages/etcd/__init__.py" },
    { name: "etcd-server", command: "etcd" },
    { name: "pgbackrest", command: "pgbackrest" },
    { name: "prometheus-postgres-exporter", command: "prometheus-postgres-exporter" },
    ...COMMON_PACKAGES,
  ];
  if (spec.deployment === "standalone") {
    pkgs.push({ name: "pgbouncer", command: "/usr/sbin/pgbouncer" }, { name: "prometheus-pgbouncer-exporter", command: "prometheus-pgbouncer-exporter" });
  }
  return pkgs;
}

/** Debian packages of a pooler instance: HAProxy, PgBouncer, its exporter, and the common tools. */
export function poolerPackages(): RequiredPackage[] {
  return [
    { name: "haproxy", command: "/usr/sbin/haproxy" },
    { name: "pgbouncer", command: "/usr/sbin/pgbouncer" },
    { name: "prometheus-pgbouncer-exporter", command: "prometheus-pgbouncer-exporter" },
    ...COMMON_PACKAGES,
  ];
}

/** Fields of the secret generated as random passwords (everything but the CA). */
const PASSWORD_FIELDS = SECRET_FIELDS.filter((f) => f !== "ca_cert_pem" && f !== "ca_key_pem");

const HEADER_USAGE = `# Usage: managed-postgres-bootstrap [prepare|start|finalize|all] (default all), or a timer job.
# See docs/bootstrap.md. Never prints a secret; safe to run again and at every boot.`;

interface ScriptParts {
  readonly title: string;
  readonly constants: string[];
  readonly functions: string[];
  readonly prepare: string[];
  readonly finalize: string[];
  readonly units: string[];
  readonly replacedUnits: string[];
  readonly files: string[];
  /** Timer jobs: subcommand → bash function name. */
  readonly jobs: ReadonlyArray<readonly [string, string]>;
}

function constantsCommon(runtime: NodeContext["runtime"], clusterName: string): string[] {
  return [
    `readonly CLUSTER=${shq(clusterName)}`,
    `readonly SECRET_ID=${shq(runtime.secretArn)}`,
    `readonly IMDS=${shq(runtime.metadataEndpoint ?? "http://169.254.169.254")}`,
    `readonly STATE_DIR=${shq(BOOTSTRAP_STATE_DIR)}`,
    `readonly CA_CERT=${shq(PATHS.caCert)}`,
    `readonly SERVER_CERT=${shq(PATHS.serverCert)}`,
    `readonly SERVER_KEY=${shq(PATHS.serverKey)}`,
  ];
}

function commonFunctions(runtime: NodeContext["runtime"], packages: readonly RequiredPackage[], majorVersion?: number): string[] {
  const pkgList = packages.map((p) => `${p.name}:${p.command}`).join(" ");
  return [
    logFunction("managed-postgres-bootstrap"),
    `die() {
  log "ERROR: $*"
  exit 1
}`,
    `cleanup() {
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}`,
    `awsc() {
  ${awsCliPrefix(runtime.region, runtime.awsEndpointUrl)} "$@"
}`,
    `# retry_capture NAME ATTEMPTS PAUSE COMMAND...: stdout of the first success goes to NAME.
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
}`,
    `# write_file PATH MODE OWNER GROUP < CONTENT (atomic)
write_file() {
  local path=$1 mode=$2 owner=$3 group=$4 tmp
  [ -d "$(dirname "$path")" ] || install -d -m 0755 "$(dirname "$path")"
  tmp=$(mktemp "$path.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  chown "$owner:$group" "$tmp"
  mv -f "$tmp" "$path"
}`,
    `step_packages() {
  local entry missing=""
  for entry in ${pkgList}; do
    if ! command -v "$(cut -d: -f2 <<<"$entry")" >/dev/null 2>&1 && [ ! -e "$(cut -d: -f2 <<<"$entry")" ]; then
      missing="$missing $(cut -d: -f1 <<<"$entry")"
    fi
  done
  if [ -z "$missing" ]; then
    log "required packages present"
    return 0
  fi
  log "installing missing packages:$missing"${majorVersion !== undefined && majorVersion > 15 ? `
  log "postgresql-${majorVersion} comes from the PGDG apt repository: the image must configure it"` : ""}
  mkdir -p /etc/postgresql-common
  if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
    printf 'create_main_cluster = false\\n' >>/etc/postgresql-common/createcluster.conf
    chmod 0644 /etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -q -o Dpkg::Options::=--force-confold $missing
}`,
    `imds_token() {
  curl -sf -X PUT --max-time 5 -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS/latest/api/token"
}
imds_get() {
  curl -sf --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/latest/meta-data/$1"
}`,
    `# status 3: the secret has no value yet
read_cluster_secret() {
  local out rc=0
  out=$(awsc secretsmanager get-secret-value --secret-id "$SECRET_ID" --query SecretString --output text 2>"$WORK/aws.err") || rc=$?
  if [ "$rc" -eq 0 ]; then
    printf '%s' "$out"
    return 0
  fi
  if grep -q ResourceNotFoundException "$WORK/aws.err"; then
    return 3
  fi
  log "get-secret-value failed: $(tr '\\n' ' ' <"$WORK/aws.err" | cut -c1-200)"
  return 1
}
secret_field() {
  printf '%s' "$SECRET_JSON" | jq -r --arg f "$1" '.[$f]'
}
secret_is_complete() {
  printf '%s' "$SECRET_JSON" | jq -e '[${SECRET_FIELDS.map((f) => `.${f}`).join(", ")}] | all(type == "string" and length > 0)' >/dev/null
}`,
    `certificate_is_current() {
  [ -s "$SERVER_CERT" ] || return 1
  [ -s "$SERVER_KEY" ] || return 1
  openssl verify -CAfile "$CA_CERT" "$SERVER_CERT" >/dev/null 2>&1 || return 1
  openssl x509 -in "$SERVER_CERT" -noout -checkend 2592000 >/dev/null 2>&1 || return 1
  openssl x509 -in "$SERVER_CERT" -noout -ext subjectAltName 2>/dev/null | tr ',' '\\n' | sed 's/^ *//' |
    grep -qxF "DNS:$CERT_ADDRESS" || return 1
  [ "$(openssl x509 -in "$SERVER_CERT" -noout -pubkey)" = "$(openssl pkey -in "$SERVER_KEY" -pubout)" ] || return 1
}
step_tls() {
  install -d -m 0755 -o root -g root /etc/managed-postgres ${PATHS.tlsDir}
  getent group ssl-cert >/dev/null || groupadd --system ssl-cert
  local u
  for u in postgres etcd; do
    if id -u "$u" >/dev/null 2>&1; then usermod -a -G ssl-cert "$u"; fi
  done
  secret_field ca_cert_pem | write_file "$CA_CERT" 0644 root root
  if certificate_is_current; then
    log "TLS certificate of $CERT_NAME is current"
    return 0
  fi
  log "issuing the TLS certificate of $CERT_NAME ($CERT_ADDRESS)"
  secret_field ca_key_pem >"$WORK/ca.key"
  openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/server.key"
  openssl req -new -key "$WORK/server.key" -subj "/CN=$CERT_NAME" -out "$WORK/server.csr"
  printf '%s\\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \\
    'extendedKeyUsage=serverAuth,clientAuth' "subjectAltName=IP:$CERT_ADDRESS,DNS:$CERT_ADDRESS,DNS:$CERT_NAME" >"$WORK/server.ext"
  openssl x509 -req -in "$WORK/server.csr" -CA "$CA_CERT" -CAkey "$WORK/ca.key" -set_serial "0x$(openssl rand -hex 16)" \\
    -days 3650 -sha256 -extfile "$WORK/server.ext" -out "$WORK/server.crt" 2>/dev/null
  rm -f "$WORK/ca.key"
  write_file "$SERVER_KEY" 0640 root ssl-cert <"$WORK/server.key"
  write_file "$SERVER_CERT" 0644 root root <"$WORK/server.crt"
}`,
  ];
}

function configCheckFunction(files: readonly string[]): string {
  return `step_check_files() {
  local f missing=0
  while IFS= read -r f; do
    if [ ! -s "$f" ]; then
      log "missing $f (cloud-init write_files should have written it)"
      missing=1
    fi
  done <<'EOF'
${files.join("\n")}
EOF
  [ "$missing" -eq 0 ] || die "configuration files are missing"
}`;
}

function startFunction(units: readonly string[], replaced: readonly string[]): string {
  return `step_start() {
  local u
  systemctl daemon-reload
  if [ ! -e "$STATE_DIR/package-units-replaced" ]; then
    # Package units that would bind our ports with package defaults.
    for u in ${MASKED_PACKAGE_UNITS.join(" ")}; do
      systemctl disable --now "$u" >/dev/null 2>&1 || true
      systemctl mask "$u" >/dev/null 2>&1 || true
    done
    systemctl stop 'postgresql@*' >/dev/null 2>&1 || true
    # Units we replace by name that the packages started with their defaults.
${replaced.map((u) => `    if systemctl is-active --quiet ${u}; then systemctl stop ${u}; fi\n`).join("")}    touch "$STATE_DIR/package-units-replaced"
  fi
  systemctl enable managed-postgres-bootstrap.service
  systemctl enable --now --no-block \\
    ${units.join(" \\\n    ")}
}`;
}

function jobsCase(jobs: ScriptParts["jobs"]): string {
  if (jobs.length === 0) return "";
  // Timer jobs run as their unit's user (postgres or root) and need no state directory.
  return `  case "$command" in\n${jobs.map(([sub, fn]) => `    ${sub})\n      ${fn}\n      return\n      ;;\n`).join("")}  esac\n`;
}

function assemble(p: ScriptParts): string {
  const text = `#!/bin/bash
# managed-postgres-bootstrap: ${p.title}.
# Rendered by cdktf-managed-postgres; do not edit on the node.
${HEADER_USAGE}
set -euo pipefail
umask 077
export LC_ALL=C

${p.constants.join("\n")}
WORK=""
IMDS_TOKEN=""
INSTANCE_ID=""
SECRET_JSON=""

${p.functions.join("\n\n")}

${configCheckFunction(p.files)}

${startFunction(p.units, p.replacedUnits)}

prepare() {
  install -d -m 0755 -o root -g root "$STATE_DIR"
  ${p.prepare.join("\n  ")}
  log "prepare: done"
}

finalize() {
  ${p.finalize.join("\n  ")}
}

main() {
  local command=all
  if [ "$#" -gt 0 ]; then command=$1; fi
${jobsCase(p.jobs)}  if [ "$(id -u)" -ne 0 ]; then die "must run as root"; fi
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
    *) die "usage: managed-postgres-bootstrap [prepare|start|finalize|all${p.jobs.map(([sub]) => `|${sub}`).join("")}]" ;;
  esac
}

main "$@"
`;
  return text;
}

function nodeSecretFunctions(ctx: NodeContext): string[] {
  return [
    `offer_cluster_secret() {
  local d="$WORK/candidate"
  rm -rf "$d"
  mkdir -m 0700 "$d"
  local f
  for f in ${PASSWORD_FIELDS.join(" ")}; do
    openssl rand -hex 32 | tr -d '\\n' >"$d/$f"
  done
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/ca_key_pem"
  openssl req -x509 -new -key "$d/ca_key_pem" -sha256 -days 3650 -subj "/CN=$CLUSTER managed-postgres CA" \\
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out "$d/ca_cert_pem"
  for f in ${SECRET_FIELDS.join(" ")}; do
    jq -n --arg k "$f" --rawfile v "$d/$f" '{($k): $v}'
  done | jq -s add >"$d/secret.json"
  if awsc secretsmanager put-secret-value --secret-id "$SECRET_ID" --client-request-token "$CLIENT_REQUEST_TOKEN" \\
    --secret-string "file://$d/secret.json" >/dev/null 2>"$WORK/aws.err"; then
    log "stored this node's candidate as the cluster secret"
  else
    log "put-secret-value did not store this node's candidate: $(tr '\\n' ' ' <"$WORK/aws.err" | cut -c1-200)"
  fi
  rm -rf "$d"
}
step_secrets() {
  local i rc
  for ((i = 1; i <= 30; i++)); do
    rc=0
    SECRET_JSON=$(read_cluster_secret) || rc=$?
    if [ "$rc" -eq 0 ]; then break; fi
    if [ "$rc" -eq 3 ]; then
      log "the cluster secret has no value yet: offering a candidate"
      offer_cluster_secret
      continue
    fi
    sleep 10
  done
  [ "$rc" -eq 0 ] || die "could not read the cluster secret $SECRET_ID"
  secret_is_complete || die "the cluster secret $SECRET_ID lacks fields (expected: ${SECRET_FIELDS.join(", ")})"
  log "cluster secret read"
}`,
    `slot_interface() {
  ip -o -4 addr show | awk -v a="$SELF_ADDRESS" '{split($4, p, "/"); if (p[1] == a) {print $2; exit}}'
}
# replies from the slot address leave through the slot ENI
ensure_source_routing() {
  local iface def net gw
  iface=$(slot_interface)
  def=$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}')
  if [ -z "$def" ] || [ "$iface" = "$def" ]; then return 0; fi
  net=$(ip -4 route show dev "$iface" proto kernel scope link |
    awk -v a="$SELF_ADDRESS" '{for (i = 1; i < NF; i++) if ($i == "src" && $(i + 1) == a) {print $1; exit}}')
  if [ -z "$net" ]; then
    log "no connected route for $SELF_ADDRESS on $iface: source routing not configured"
    return 0
  fi
  gw=$(awk -F'[./]' '{printf "%d.%d.%d.%d", $1, $2, $3, $4 + 1}' <<<"$net")
  ip route replace "$net" dev "$iface" src "$SELF_ADDRESS" table "$ROUTE_TABLE"
  ip route replace default via "$gw" dev "$iface" table "$ROUTE_TABLE"
  if ! ip rule show | grep -q "from $SELF_ADDRESS lookup $ROUTE_TABLE"; then
    ip rule add from "$SELF_ADDRESS" lookup "$ROUTE_TABLE" priority "$ROUTE_TABLE"
  fi
}
# attach_slot eni|volume: waits (up to 10 minutes) until the slot's ENI or volume is attached
# to this instance, attaching it once available; sets SLOT_ID (and SLOT_MAC for the ENI).
attach_slot() {
  local kind=$1 desc id state attached mac i
  for ((i = 1; i <= 60; i++)); do
    if [ "$kind" = eni ]; then
      desc=$(awsc ec2 describe-network-interfaces --filters "$FILTER_CLUSTER" "$FILTER_SLOT" \\
        --query 'NetworkInterfaces[0].[NetworkInterfaceId,Status,Attachment.InstanceId,MacAddress]' --output text) || desc=""
    else
      desc=$(awsc ec2 describe-volumes --filters "$FILTER_CLUSTER" "$FILTER_SLOT" \\
        --query 'Volumes[0].[VolumeId,State,Attachments[0].InstanceId]' --output text) || desc=""
    fi
    id="" state="" attached="" mac=""
    read -r id state attached mac <<<"$desc" || true
    if [ "$attached" = "$INSTANCE_ID" ]; then
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
    log "slot $kind '$id' is '$state' (attached to '$attached'): waiting"
    sleep 10
  done
  die "the slot $kind of $SELF_NAME could not be attached"
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
    iface=$(ip -o link show | awk -v m="$mac" 'index($0, "link/ether " m " ") {sub(":$", "", $2); sub("@.*", "", $2); print $2; exit}')
    if [ -n "$iface" ]; then break; fi
    sleep 2
  done
  [ -n "$iface" ] || die "no network interface with MAC $mac appeared"
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
}`,
    FORMAT_IF_BLANK_FUNCTION,
    GROW_FILESYSTEM_FUNCTION,
    `step_data_volume() {
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
  [ -n "$dev" ] || die "the device of $vol did not appear ($by_id)"
  format_if_blank "$dev"
  uuid=$(blkid -o value -s UUID "$dev")
  line="UUID=$uuid $DATA_MOUNT ext4 defaults,nofail,noatime,x-systemd.device-timeout=30s 0 2"
  if ! grep -qxF "$line" /etc/fstab; then
    awk -v m="$DATA_MOUNT" '$2 != m' /etc/fstab >/etc/fstab.managed-postgres
    printf '%s\\n' "$line" >>/etc/fstab.managed-postgres
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
  install -d -m 0700 -o etcd -g etcd ${PATHS.etcdDataDir}
  install -d -m 0700 -o postgres -g postgres ${PATHS.dataMount}/pgdata
  install -d -m 0750 -o postgres -g postgres ${PATHS.pgbackrestSpool}
  for d in /var/log/pgbackrest /var/log/postgresql ${POSTGRES_SOCKET_DIRECTORY} ${PATHS.pgbackrestConfigIncludeDir}; do
    if [ ! -d "$d" ]; then install -d -m 0750 -o postgres -g postgres "$d"; fi
  done
}`,
  ];
}

/**
 * Bash function `format_if_blank DEVICE`: creates an ext4 filesystem (label
 * `mpg-data`) on DEVICE only when `blkid -p` (low-level probe, no cache) finds neither a
 * filesystem nor a partition table (exit status 2); refuses (exits) on any other blkid
 * error and when the device holds something other than ext4. Never formats a volume with
 * data.
 */
export const FORMAT_IF_BLANK_FUNCTION = `format_if_blank() {
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
}`;

function nodeWriteSecretFiles(ctx: NodeContext, pgbouncerHere: boolean): string {
  const lines = [
    `step_secret_files() {
  local su repl rewind rest pgb cipher
  su=$(secret_field superuser_password)
  repl=$(secret_field replication_password)
  rewind=$(secret_field rewind_password)
  rest=$(secret_field restapi_password)
  pgb=$(secret_field pgbouncer_auth_password)
  cipher=$(secret_field backup_cipher_pass)
  printf '%s\\n' "PATRONI_SUPERUSER_PASSWORD=$su" "PATRONI_REPLICATION_PASSWORD=$repl" "PATRONI_REWIND_PASSWORD=$rewind" \\
    "PATRONI_RESTAPI_USERNAME=${PATRONI_RESTAPI_USERNAME}" "PATRONI_RESTAPI_PASSWORD=$rest" "${PGBOUNCER_AUTH_PASSWORD_ENV}=$pgb" |
    write_file ${PATHS.patroniEnv} 0600 postgres postgres
  printf '%s\\n' '[global]' "repo1-cipher-pass=$cipher" | write_file ${PATHS.pgbackrestConfigIncludeDir}/secret.conf 0640 postgres postgres
  printf '%s\\n' "$cipher" | write_file ${BOOT_SECRET_FILES.backupCipherPass} 0600 postgres postgres`,
  ];
  if (pgbouncerHere) lines.push(pgbouncerSecretLines());
  lines.push(`  log "secret files written"
}`);
  void ctx;
  return lines.join("\n");
}

function pgbouncerSecretLines(): string {
  return `  printf '"%s" "%s"\\n' ${DB_ROLES.pgbouncerAuth} "$pgb" | write_file ${PATHS.pgbouncerUserlist} 0600 postgres postgres
  printf '*:*:pgbouncer:%s:%s\\n' ${DB_ROLES.pgbouncerAuth} "$pgb" | write_file ${BOOT_SECRET_FILES.pgbouncerExporterPgpass} 0600 postgres postgres`;
}

function nodeFinalizeFunctions(ctx: NodeContext): string {
  return `patroni_cluster_leader() {
  curl -sf --max-time 5 --cacert "$CA_CERT" "$PATRONI_URL/cluster" | jq -r '.members[] | select(.role == "leader") | .name'
}
finalize_primary() {
  local has_auth pgb
  log "this node is the primary: PgBouncer auth function and pgBackRest stanza"
  has_auth=$(runuser -u postgres -- psql -X -A -t -q -h ${POSTGRES_SOCKET_DIRECTORY} -d postgres \\
    -c "SELECT to_regprocedure('pgbouncer.get_auth(text)') IS NOT NULL")
  if [ "$has_auth" != t ]; then
    log "pgbouncer.get_auth is missing: running the post-bootstrap script"
    pgb=$(sed -n 's/^${PGBOUNCER_AUTH_PASSWORD_ENV}=//p' ${PATHS.patroniEnv})
    ${PGBOUNCER_AUTH_PASSWORD_ENV}=$pgb runuser -u postgres -- ${PATRONI_POST_BOOTSTRAP_SCRIPT} "host=${POSTGRES_SOCKET_DIRECTORY} dbname=postgres"
  fi
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
}`;
}

/**
 * The bootstrap script of a database node (see the module documentation for the
 * contract). Deterministic; addresses, ARNs and the region are used verbatim (they may be
 * cdktf tokens). Pure.
 * @throws Error if the rendered text would contain a Terraform template sequence (a bug)
 */
export function renderBootstrapScript(ctx: NodeContext): string {
  const { spec, self, runtime } = ctx;
  const standalone = spec.deployment === "standalone";
  const services = nodeServices(ctx);
  const files = renderNodeConfigFiles(ctx).map((f) => f.path);
  const text = assemble({
    title: `database node ${self.name} (cluster ${spec.name}, ${spec.deployment}, slot ${self.slotIndex})`,
    constants: [
      ...constantsCommon(runtime, spec.name),
      `readonly SELF_NAME=${shq(self.name)}`,
      `readonly SELF_ADDRESS=${shq(self.address)}`,
      `readonly CERT_NAME="$SELF_NAME"`,
      `readonly CERT_ADDRESS="$SELF_ADDRESS"`,
      `readonly FILTER_CLUSTER=${shq(`Name=tag:${TAG_CLUSTER},Values=${spec.name}`)}`,
      `readonly FILTER_SLOT=${shq(`Name=tag:${TAG_SLOT},Values=${self.slotIndex}`)}`,
      `SLOT_ID=""`,
      `SLOT_MAC=""`,
      `readonly CLIENT_REQUEST_TOKEN=${shq(secretClientRequestToken(spec.name))}`,
      `readonly DATA_MOUNT=${shq(PATHS.dataMount)}`,
      `readonly ROUTE_TABLE=${1001 + self.slotIndex}`,
      `readonly PATRONI_URL=${shq(`https://${self.address}:${PORTS.patroniRest}`)}`,
      `readonly STANZA=${shq(stanzaName(spec))}`,
    ],
    functions: [
      ...commonFunctions(runtime, nodePackages(spec), spec.majorVersion),
      `step_imds() {
  retry_capture IMDS_TOKEN 30 2 imds_token || die "IMDSv2: no token from $IMDS"
  retry_capture INSTANCE_ID 10 2 imds_get instance-id || die "IMDSv2: no instance-id"
  local zone
  retry_capture zone 10 2 imds_get placement/availability-zone || die "IMDSv2: no availability zone"
  log "instance $INSTANCE_ID in $zone is $SELF_NAME"
}`,
      ...nodeSecretFunctions(ctx),
      nodeWriteSecretFiles(ctx, standalone),
      nodeFinalizeFunctions(ctx),
      PATRONI_SAYS_FUNCTION,
      backupJobFunction(ctx),
      logicalDumpJobFunction(ctx),
    ],
    prepare: [
      "step_packages",
      "step_imds",
      "step_slot_network",
      "step_data_volume",
      "step_directories",
      "step_secrets",
      "step_tls",
      "step_secret_files",
      "step_check_files",
    ],
    finalize: ["step_finalize"],
    units: unitsToStart(services),
    replacedUnits: ["etcd.service", "patroni.service", "prometheus-postgres-exporter.service"],
    files,
    jobs: [
      [JOB_COMMANDS.fullBackup, "job_backup"],
      [JOB_COMMANDS.logicalDump, "job_logical_dump"],
      [JOB_COMMANDS.growFilesystem, "grow_data_filesystem"],
    ],
  });
  return assertTerraformSafe(text, PATHS.bootstrapScript);
}

/**
 * The bootstrap script of a pooler instance (see the module documentation). Pure.
 * @throws Error if the cluster is standalone (it has no pooler tier)
 */
export function renderPoolerBootstrapScript(ctx: PoolerContext): string {
  const { spec, runtime } = ctx;
  const services = poolerServices(ctx);
  const files = renderPoolerConfigFiles(ctx).map((f) => f.path);
  const text = assemble({
    title: `PgBouncer tier instance of cluster ${spec.name}`,
    constants: [...constantsCommon(runtime, spec.name), `readonly CERT_NAME="$CLUSTER-pooler"`, `CERT_ADDRESS=""`],
    functions: [
      ...commonFunctions(runtime, poolerPackages()),
      `step_imds() {
  retry_capture IMDS_TOKEN 30 2 imds_token || die "IMDSv2: no token from $IMDS"
  retry_capture INSTANCE_ID 10 2 imds_get instance-id || die "IMDSv2: no instance-id"
  retry_capture CERT_ADDRESS 10 2 imds_get local-ipv4 || die "IMDSv2: no local-ipv4"
  log "pooler instance $INSTANCE_ID at $CERT_ADDRESS"
}`,
      `# Read only: the first database node creates the secret; wait for it (up to 10 minutes).
step_secrets() {
  local i rc
  for ((i = 1; i <= 60; i++)); do
    rc=0
    SECRET_JSON=$(read_cluster_secret) || rc=$?
    if [ "$rc" -eq 0 ]; then break; fi
    if [ "$rc" -eq 3 ]; then log "the cluster secret has no value yet: waiting for the database nodes"; fi
    sleep 10
  done
  [ "$rc" -eq 0 ] || die "could not read the cluster secret $SECRET_ID"
  secret_is_complete || die "the cluster secret $SECRET_ID lacks fields (expected: ${SECRET_FIELDS.join(", ")})"
  log "cluster secret read"
}`,
      `step_secret_files() {
  local pgb
  pgb=$(secret_field pgbouncer_auth_password)
  install -d -m 0755 -o root -g root /etc/managed-postgres
${pgbouncerSecretLines()}
  log "secret files written"
}`,
    ],
    prepare: ["step_packages", "step_imds", "step_secrets", "step_tls", "step_secret_files", "step_check_files"],
    finalize: [`log "pooler: nothing to finalize"`],
    units: unitsToStart(services),
    replacedUnits: ["haproxy.service"],
    files,
    jobs: [],
  });
  return assertTerraformSafe(text, PATHS.bootstrapScript);
}
