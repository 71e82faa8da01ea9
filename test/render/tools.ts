/** Shell snippets shared by the tool-acceptance tests. */
import { PATHS } from "../../src/render";
import { assertSystemTier, installHint } from "../support/prerequisites";

/**
 * Shell lines that fail the script (exit 97) with a message naming the Debian package when
 * one of `bins` is missing.
 * @throws Error in the unit tier: a test that runs these tools is a *.system.test.ts
 */
export function requireTools(...bins: string[]): string {
  assertSystemTier(`requireTools(${bins.join(", ")})`);
  return bins.map((b) => `command -v ${b} >/dev/null || { echo "MISSING TOOL: ${b} (${installHint([b], false).replace(/`/g, "")})" >&2; exit 97; }`).join("\n");
}

/**
 * Starts etcd in root `i` with the rendered config (background, pid in $ETCD_PID_i) and, after
 * all are started, waits (≤ 30 s) until every endpoint reports healthy over TLS.
 */
export function startEtcd(rootIndexes: readonly number[], addresses: readonly string[]): string {
  const starts = rootIndexes
    .map((i) => `chroot "$ROOT${i}" etcd --config-file ${PATHS.etcdConfig} > "$STAGE/etcd${i}.log" 2>&1 &\nETCD_PID_${i}=$!`)
    .join("\n");
  const endpoints = addresses.map((a) => `https://${a}:2379`).join(",");
  return `${starts}
ETCDCTL="chroot $ROOT0 env ETCDCTL_API=3 etcdctl --endpoints=${endpoints} --cacert=${PATHS.caCert} --cert=${PATHS.serverCert} --key=${PATHS.serverKey} --dial-timeout=2s --command-timeout=3s"
ok=0
for n in $(seq 1 60); do
  if $ETCDCTL endpoint health >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.5
done
if [ "$ok" != 1 ]; then echo "ETCD NOT HEALTHY" >&2; ${rootIndexes.map((i) => `tail -20 "$STAGE/etcd${i}.log" >&2;`).join(" ")} exit 98; fi
`;
}

/**
 * `patroni --validate-config PATHS.patroniConfig` in each root `$ROOTi` with `env`
 * (`VAR=value …`): prints `member <i>: rc=<status>` and Patroni's output, then runs
 * `perMember` (bash, `$r` = that root); the script exits 1 when any member failed.
 */
export function validatePatroniConfigs(indexes: readonly number[], env: string, perMember = ""): string {
  return `rc=0
for i in ${indexes.join(" ")}; do
  eval r=\\$ROOT$i
  out=$(chroot "$r" env ${env} patroni --validate-config ${PATHS.patroniConfig} 2>&1); s=$?
  echo "member $i: rc=$s"; [ -n "$out" ] && echo "$out"
  [ $s -ne 0 ] && rc=1
  ${perMember}
done
exit $rc
`;
}

/**
 * Starts PgBouncer as postgres in `$ROOT0` on `cfg` (creating `runDir` and /var/log/pgbouncer
 * for postgres), PID in `$PID`, output in `$STAGE/pgb.out`; waits up to 10 s until it
 * accepts TCP on `address:port`, sets `$up` and prints `listening=<0|1>`.
 */
export function startPgBouncer(cfg: string, runDir: string, address: string, port: number): string {
  return `chroot "$ROOT0" install -d -o postgres -g postgres ${runDir} /var/log/pgbouncer
chroot --userspec=postgres:postgres "$ROOT0" pgbouncer ${cfg} > "$STAGE/pgb.out" 2>&1 &
PID=$!
up=0
for n in $(seq 1 50); do
  if ! kill -0 $PID 2>/dev/null; then break; fi
  if (exec 3<>/dev/tcp/${address}/${port}) 2>/dev/null; then up=1; break; fi
  sleep 0.2
done
echo "listening=$up"`;
}
