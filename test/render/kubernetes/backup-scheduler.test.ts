/**
 * The Kubernetes full-backup scheduler (src/render/scripts/backup-scheduler.sh behind its
 * rendered header), run by /bin/sh with fake `curl`, `pgbackrest`, `date` and `sleep` on PATH:
 * what it asks Patroni, when it creates the stanza, how long it sleeps, and when it backs up.
 * Needs only a POSIX shell (every Linux machine has one), no Kubernetes and no network.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveClusterSpec } from "../../../src/cluster-spec";
import { renderBackupScheduler, type KubernetesPlacement } from "../../../src/render/kubernetes";

const placement: KubernetesPlacement = { namespace: "orders-db", clusterDomain: "cluster.local", podNetworkCidrs: ["10.0.0.0/16"], databaseLabels: {} };
/** 2026-12-02T00:30:00Z and the backup time's epoch seconds the fake `date` reports. */
const NOW = 1_796_171_400;
const TODAY_AT_BACKUP_TIME = NOW + 3 * 3600;

interface Run {
  /** One line per fake call: `curl <url>`, `pgbackrest <args>`, `sleep <s>`. */
  readonly calls: string[];
  readonly stderr: string;
  /** The first curl call's full argument list. */
  readonly firstCurlArgs: string;
}

/**
 * Runs the rendered scheduler until its `sleepsBeforeStop`-th sleep (the fake `sleep` then ends
 * the script), with Patroni answering 200 on the paths in `healthy` (after `unhealthyPolls`
 * failed /health polls) and pgBackRest exiting with `pgbackrestExit`.
 */
function run(opts: { deployment: "standalone" | "distributed"; healthy: string[]; unhealthyPolls?: number; pgbackrestExit?: number; sleepsBeforeStop: number; now?: number }): Run {
  const spec = resolveClusterSpec({ name: "orders", deployment: opts.deployment, size: "M", storageGiB: 20, majorVersion: 17, backup: { fullBackupTime: "03:30" } });
  const dir = mkdtempSync(join(tmpdir(), "backup-scheduler-"));
  try {
    const log = join(dir, "calls.log");
    const fake = (name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(dir, name), 0o755);
    };
    writeFileSync(join(dir, "health-polls"), "0");
    fake(
      "curl",
      `url=""; for a in "$@"; do url="$a"; done
echo "curl $url" >> ${log}
echo "$*" >> ${dir}/curl-args
path="/\${url#https://*/}"
case "$path" in
  /health) n=$(cat ${dir}/health-polls); echo $((n + 1)) > ${dir}/health-polls; [ "$n" -ge ${opts.unhealthyPolls ?? 0} ] || exit 22 ;;
esac
for ok in ${opts.healthy.join(" ")}; do [ "$path" = "$ok" ] && exit 0; done
exit 22`,
    );
    fake("pgbackrest", `echo "pgbackrest $*" >> ${log}; exit ${opts.pgbackrestExit ?? 0}`);
    fake("date", `case "$*" in *today*) echo ${TODAY_AT_BACKUP_TIME} ;; *) echo ${opts.now ?? NOW} ;; esac`);
    fake(
      "sleep",
      `echo "sleep $1" >> ${log}
n=$(grep -c '^sleep' ${log}); [ "$n" -ge ${opts.sleepsBeforeStop} ] && kill -TERM $PPID
exit 0`,
    );
    const script = join(dir, "backup-scheduler.sh");
    writeFileSync(script, renderBackupScheduler(spec, placement));
    const r = spawnSync("/bin/sh", [script], { env: { PATH: `${dir}:/usr/bin:/bin`, POD_NAME: "orders-1" }, encoding: "utf8", timeout: 20_000 });
    if (r.error) throw r.error;
    return { calls: readFileSync(log, "utf8").trim().split("\n"), stderr: r.stderr, firstCurlArgs: readFileSync(join(dir, "curl-args"), "utf8").split("\n")[0]! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("Kubernetes backup scheduler", () => {
  test("asks this pod's own Patroni, by its DNS name in the members Service, with the cluster CA", () => {
    const { calls, firstCurlArgs } = run({ deployment: "distributed", healthy: ["/health"], sleepsBeforeStop: 1 });
    expect(calls[0]).toMatch(/^curl https:\/\/orders-1\.orders-members\.orders-db\.svc\.cluster\.local:8008\/health$/);
    expect(firstCurlArgs).toContain("--cacert /etc/managed-postgres/tls/ca.crt");
    expect(firstCurlArgs).toContain("--fail");
  });

  test("polls /health every 10 s until Patroni answers, before anything else", () => {
    const { calls } = run({ deployment: "distributed", healthy: ["/health"], unhealthyPolls: 2, sleepsBeforeStop: 3 });
    expect(calls.slice(0, 5).map((c) => c.replace(/https:\/\/[^/]+/, ""))).toEqual(["curl /health", "sleep 10", "curl /health", "sleep 10", "curl /health"]);
  });

  test("the primary creates the stanza at start; a replica does not", () => {
    expect(run({ deployment: "distributed", healthy: ["/health", "/primary"], sleepsBeforeStop: 1 }).calls).toContain("pgbackrest --stanza=orders stanza-create");
    expect(run({ deployment: "distributed", healthy: ["/health", "/sync"], sleepsBeforeStop: 1 }).calls.filter((c) => c.startsWith("pgbackrest"))).toEqual([]);
  });

  test("sleeps until today's backup time when it is still ahead, else until tomorrow's", () => {
    const ahead = run({ deployment: "distributed", healthy: ["/health"], sleepsBeforeStop: 1 });
    expect(ahead.calls.filter((c) => c.startsWith("sleep"))).toEqual([`sleep ${TODAY_AT_BACKUP_TIME - NOW}`]);
    const past = run({ deployment: "distributed", healthy: ["/health"], sleepsBeforeStop: 1, now: TODAY_AT_BACKUP_TIME + 60 });
    expect(past.calls.filter((c) => c.startsWith("sleep"))).toEqual([`sleep ${86400 - 60}`]);
  });

  test("distributed: the synchronous standby (/sync = 200) takes the full backup, after stanza-create", () => {
    const { calls } = run({ deployment: "distributed", healthy: ["/health", "/sync"], sleepsBeforeStop: 2 });
    const afterSleep = calls.slice(calls.findIndex((c) => c.startsWith("sleep")) + 1, -1);
    expect(afterSleep.map((c) => c.replace(/https:\/\/[^/]+/, ""))).toEqual([
      "curl /sync",
      "pgbackrest --stanza=orders stanza-create",
      "pgbackrest --stanza=orders --type=full backup",
    ]);
    expect(calls).toContain("pgbackrest --stanza=orders --type=full backup");
  });

  test("distributed: a pod that is not the synchronous standby never backs up", () => {
    const { calls } = run({ deployment: "distributed", healthy: ["/health", "/primary"], sleepsBeforeStop: 3 });
    expect(calls.filter((c) => c.includes("--type=full"))).toEqual([]);
  });

  test("standalone: the primary is the backup runner", () => {
    const { calls } = run({ deployment: "standalone", healthy: ["/health", "/primary"], sleepsBeforeStop: 2 });
    expect(calls.filter((c) => c.startsWith("curl")).map((c) => c.replace(/https:\/\/[^/]+/, ""))).toContain("curl /primary");
    expect(calls).toContain("pgbackrest --stanza=orders --type=full backup");
    expect(calls.some((c) => c.endsWith("/sync"))).toBe(false);
  });

  test("a failed backup is reported on stderr and the loop goes on to the next day", () => {
    const r = run({ deployment: "distributed", healthy: ["/health", "/sync"], pgbackrestExit: 1, sleepsBeforeStop: 2 });
    expect(r.stderr).toContain("backup-scheduler: backup failed");
    expect(r.calls.filter((c) => c.startsWith("sleep"))).toHaveLength(2);
  });

  test("the per-cluster values are a readonly header, quoted: the script body is the repository's file", () => {
    const spec = resolveClusterSpec({ name: "orders", deployment: "distributed", size: "M", storageGiB: 20, majorVersion: 17, backup: { fullBackupTime: "03:30" } });
    const text = renderBackupScheduler(spec, placement);
    expect(text.startsWith("#!/bin/sh\n")).toBe(true);
    expect(text).toContain("readonly STANZA='orders'\n");
    expect(text).toContain("readonly FULL_BACKUP_TIME='03:30'\n");
    expect(text).toContain("readonly RUNNER_CHECK='/sync'\n");
    expect(text).not.toMatch(/\$\{/);
  });
});
