/**
 * The Debian 13 node image (image/): the rendered files are accepted by the tools the image
 * installs, at the versions image/packages.txt pins — Patroni 4.0.7, PostgreSQL 17,
 * PgBouncer 1.24, HAProxy 3.0, pgBackRest 2.55, cloud-init 25.1.
 *
 * Needs root and the root filesystem of scripts/build-node-root.sh (debootstrap + image/build.sh;
 * cached outside the clone, built here when missing: several minutes). Every tool runs in that
 * root through the render sandbox (an overlay per simulated host on top of it, in a network
 * namespace of its own), so the cached root is never written to.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Testing } from "cdktf";
import { parse } from "yaml";
import {
  AWS_EC2_TARGET,
  PATHS,
  pgbouncerConfigPath,
  renderEtcdConfig,
  renderHaproxyConfig,
  renderPatroniConfig,
  renderPgBackRestConfig,
  renderPgBouncerConfig,
  renderPostgresParameters,
  type NodeContext,
  type PatroniOptions,
  type PgBouncerPool,
} from "../../src/render";
import { pgbouncerLogFile, pgbouncerRunDir } from "../../src/render/pgbouncer";
import { DistributedExample } from "../../examples/distributed/main";
import { StandaloneExample } from "../../examples/standalone/main";
import { distributedNode, pooler, standaloneNode, TEST_ADDRESSES } from "../render/fixtures";
import { reported, runSandbox, TEST_PATRONI_SECRETS_ENV, type SandboxFile } from "../render/sandbox";
import { requireTools, startEtcd, startPgBouncer, validatePatroniConfigs } from "../render/tools";
import { distributed as kubernetesDistributed, kubernetesPatroniYaml, kubernetesPodEnvironment } from "../kubernetes/fixtures";
import { requirePrerequisites } from "../support/prerequisites";
import { configLocals } from "../../src/terraform";

const REPO = join(__dirname, "..", "..");
const BUILD_SCRIPT = "scripts/build-node-root.sh";
/** The image's PostgreSQL: every spec here uses 17, the default and the only major in the image. */
const PG17 = { majorVersion: 17 } as const;

let root = "";

beforeAll(() => {
  requirePrerequisites({ root: true, commands: ["debootstrap", "chroot", "unshare", "ip", "openssl"] });
  const r = spawnSync(join(REPO, BUILD_SCRIPT), [], { encoding: "utf8", timeout: 40 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  const path = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !path.startsWith("/")) {
    throw new Error(
      `${BUILD_SCRIPT} could not build or find the Debian 13 node root (status ${r.status}${r.error ? `, ${r.error.message}` : ""}). ` +
        `Run it as root to see why (it needs debootstrap and http://deb.debian.org/debian). Last output:\n${(r.stderr ?? "").slice(-3000)}`,
    );
  }
  root = path;
}, 45 * 60_000);

/** `name=version` lines of image/packages.txt. */
function pinnedPackages(): Map<string, string> {
  const text = readFileSync(join(REPO, "image", "packages.txt"), "utf8");
  const pins = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const eq = line.indexOf("=");
    pins.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return pins;
}

/** Runs a script in the sandbox with the node root as every simulated host's lower layer. */
function inImage(opts: { roots: readonly (readonly SandboxFile[])[]; script: string; addresses?: readonly string[]; tls?: boolean; timeoutSec?: number }) {
  return runSandbox({ addresses: opts.addresses ?? [], tls: opts.tls ?? true, lowerRoot: root, roots: opts.roots, script: opts.script, timeoutSec: opts.timeoutSec ?? 120 });
}

describe("the node root is what image/packages.txt pins", () => {
  test("every pinned package is installed at its pinned version", () => {
    const pins = pinnedPackages();
    expect(pins.size).toBeGreaterThan(20);
    const r = spawnSync("chroot", [root, "dpkg-query", "-W", "-f", "${Package}=${Version}\\n", ...pins.keys()], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const installed = new Map(r.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
    expect(Object.fromEntries(installed)).toEqual(Object.fromEntries(pins));
  });

  test("the tools report the versions proven here", () => {
    const r = spawnSync(
      "chroot",
      [root, "bash", "-c", "patroni --version; /usr/lib/postgresql/17/bin/postgres --version; pgbouncer --version | head -1; haproxy -v | head -1; pgbackrest version; etcd --version | head -1; cloud-init --version 2>&1"],
      { encoding: "utf8" },
    );
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^patroni 4\.0\.7$/m);
    expect(out).toMatch(/postgres \(PostgreSQL\) 17\.12/);
    expect(out).toMatch(/PgBouncer 1\.24\.1/);
    expect(out).toMatch(/HAProxy version 3\.0\.11/);
    expect(out).toMatch(/pgBackRest 2\.55\.1/);
    expect(out).toMatch(/etcd Version: 3\.5\.16/);
    expect(out).toMatch(/cloud-init 25\.1\.4/);
  });

  test("the package created no cluster; its units are masked or disabled as image/build.sh says", () => {
    const r = spawnSync(
      "chroot",
      [root, "bash", "-c", "ls /etc/postgresql 2>/dev/null | wc -l; for u in postgresql pgbouncer prometheus-pgbouncer-exporter etcd patroni haproxy prometheus-postgres-exporter; do echo \"$u: $(systemctl is-enabled $u.service 2>/dev/null)\"; done; grep amazon-cloudwatch-agent /etc/managed-postgres/image-manifest"],
      { encoding: "utf8" },
    );
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("0");
    expect(lines.slice(1, 8)).toEqual([
      "postgresql: masked",
      "pgbouncer: masked",
      "prometheus-pgbouncer-exporter: masked",
      "etcd: disabled",
      "patroni: disabled",
      "haproxy: disabled",
      "prometheus-postgres-exporter: disabled",
    ]);
    expect(lines[8]).toBe("amazon-cloudwatch-agent=absent");
  });
});

/**
 * Prints, for a patroni.yml, what Patroni 4 does with its `bootstrap.dcs` timing: the
 * effective ttl/loop_wait/retry_timeout after `Config.set_dynamic_configuration` (the same
 * call a starting Patroni makes) and every warning it logged (`warning: …`).
 */
const TIMING_PY = `
import logging, sys, yaml
from patroni.config import Config
class Keep(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING: print("warning: " + record.getMessage())
logging.getLogger().addHandler(Keep())
with open(sys.argv[1]) as f: dcs = yaml.safe_load(f)["bootstrap"]["dcs"]
c = Config(sys.argv[1], validator=None)
c.set_dynamic_configuration(dcs)
print("timing: %s %s %s" % (c["ttl"], c["loop_wait"], c["retry_timeout"]))
`;

/** The `member <i>: rc=<status>` lines of {@link validatePatroniConfigs}. */
function memberResults(stdout: string): string[] {
  return stdout.split("\n").filter((l) => /^member \d+: rc=\d+$/.test(l));
}

/** `patroni --validate-config` and the timing probe on each config (root i = member i). */
function patroni(configs: { ctx: NodeContext; options?: PatroniOptions }[], etcd: boolean) {
  const addresses = configs.length === 1 && configs[0]!.ctx.members.length === 1 ? [TEST_ADDRESSES[0]] : [...TEST_ADDRESSES];
  const indexes = configs.map((_, i) => i);
  return inImage({
    addresses,
    timeoutSec: 180,
    roots: configs.map(({ ctx, options }) => [
      { path: PATHS.patroniConfig, content: renderPatroniConfig(ctx, options) },
      { path: PATHS.etcdConfig, content: renderEtcdConfig(ctx) },
      { path: "/tmp/timing.py", content: TIMING_PY },
    ]),
    script: `${requireTools("patroni", "etcd", "etcdctl")}
${etcd ? startEtcd(indexes, addresses) : ""}
${validatePatroniConfigs(indexes, TEST_PATRONI_SECRETS_ENV, `chroot "$r" env ${TEST_PATRONI_SECRETS_ENV} python3 /tmp/timing.py ${PATHS.patroniConfig} 2>&1`)}`,
  });
}

describe("Patroni 4.0.7 accepts every rendered patroni.yml and keeps its timing", () => {
  test("distributed: every member (each primary-capable), with etcd 3.5 reachable", () => {
    const r = patroni([0, 1, 2].map((i) => ({ ctx: distributedNode(i, PG17) })), true);
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(memberResults(r.stdout)).toEqual(["member 0: rc=0", "member 1: rc=0", "member 2: rc=0"]);
    expect(reported(r.stdout, "timing")).toEqual(["20 8 5", "20 8 5", "20 8 5"]);
    expect(reported(r.stdout, "warning")).toEqual([]);
    expect(r.status).toBe(0);
  });

  test("standalone", () => {
    const r = patroni([{ ctx: standaloneNode(PG17) }], true);
    expect(memberResults(r.stdout)).toEqual(["member 0: rc=0"]);
    expect(reported(r.stdout, "timing")).toEqual(["20 8 5"]);
    expect(reported(r.stdout, "warning")).toEqual([]);
  });

  test("a restore (PITR) configuration", () => {
    const r = patroni(
      [0, 1, 2].map((i) => ({ ctx: distributedNode(i, { ...PG17, name: "orders-v2" }), options: { restore: { stanza: "orders", target: "2026-11-20 10:00:00+00" } } })),
      true,
    );
    expect(memberResults(r.stdout)).toEqual(["member 0: rc=0", "member 1: rc=0", "member 2: rc=0"]);
    expect(reported(r.stdout, "warning")).toEqual([]);
  });

  test("the Kubernetes DCS variant of the renderer", () => {
    const r = patroni(
      [{ ctx: distributedNode(0, PG17), options: { target: { ...AWS_EC2_TARGET, dcs: { kind: "kubernetes", namespace: "db", labels: { app: "orders" }, useEndpoints: true, podIp: TEST_ADDRESSES[0] } } } }],
      false,
    );
    expect(memberResults(r.stdout)).toEqual(["member 0: rc=0"]);
    expect(reported(r.stdout, "timing")).toEqual(["20 8 5"]);
    expect(reported(r.stdout, "warning")).toEqual([]);
  });

  test("the Kubernetes construct's ConfigMap, with the pod's environment", () => {
    const s = kubernetesDistributed();
    const yamlText = kubernetesPatroniYaml(s).replace(/\/usr\/lib\/postgresql\/\d+\/bin/g, "/usr/lib/postgresql/17/bin");
    const env = Object.entries(kubernetesPodEnvironment(s, TEST_ADDRESSES[1]))
      .map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'`)
      .join(" ");
    const r = inImage({
      addresses: [TEST_ADDRESSES[1]],
      roots: [[{ path: "/tmp/patroni.yml", content: yamlText }, { path: "/tmp/timing.py", content: TIMING_PY }]],
      script: `out=$(chroot "$ROOT0" env -i PATH=/usr/bin:/bin ${env} patroni --validate-config /tmp/patroni.yml 2>&1); echo "member 0: rc=$?"; [ -n "$out" ] && echo "$out"
chroot "$ROOT0" env -i PATH=/usr/bin:/bin ${env} python3 /tmp/timing.py /tmp/patroni.yml 2>&1`,
    });
    expect(memberResults(r.stdout)).toEqual(["member 0: rc=0"]);
    expect(reported(r.stdout, "timing")).toEqual(["20 8 5"]);
    expect(reported(r.stdout, "warning")).toEqual([]);
  });

  test("the probe is not vacuous: Patroni 4 raises ttl 10 to 20 and says so", () => {
    const text = renderPatroniConfig(standaloneNode(PG17)).replace(/^(\s+)ttl: 20$/m, "$1ttl: 10");
    const r = inImage({
      roots: [[{ path: "/tmp/patroni.yml", content: text }, { path: "/tmp/timing.py", content: TIMING_PY }]],
      script: `chroot "$ROOT0" env ${TEST_PATRONI_SECRETS_ENV} python3 /tmp/timing.py /tmp/patroni.yml 2>&1`,
    });
    expect(reported(r.stdout, "timing")).toEqual(["20 8 5"]);
    expect(reported(r.stdout, "warning")).toEqual(["ttl=10 can't be smaller than 20, adjusting..."]);
  });
});

/** Starts PgBouncer 1.24 as postgres on a rendered pool file; reports whether it listened and its log. */
function pgbouncer(content: string, pool: PgBouncerPool, port: number) {
  const cfg = pgbouncerConfigPath(pool);
  return inImage({
    addresses: [TEST_ADDRESSES[0]],
    roots: [
      [
        { path: cfg, content, mode: "0640", owner: "postgres:postgres" },
        { path: PATHS.pgbouncerUserlist, content: '"pgbouncer_auth" "not-a-real-secret"\n', mode: "0600", owner: "postgres:postgres" },
      ],
    ],
    script: `${requireTools("openssl")}
${startPgBouncer(cfg, pgbouncerRunDir(pool), TEST_ADDRESSES[0], port)}
if [ $up = 1 ]; then
  echo Q | timeout 5 openssl s_client -starttls postgres -connect ${TEST_ADDRESSES[0]}:${port} -tls1_3 -CAfile "$ROOT0${PATHS.caCert}" 2>&1 | grep -E "^New" | sed 's/^/tls13: /'
  kill -TERM $PID; wait $PID
else
  wait $PID
fi
echo "--- log"; cat "$ROOT0${pgbouncerLogFile(pool)}" 2>/dev/null; cat "$STAGE/pgb.out"
`,
  });
}

describe("PgBouncer 1.24 runs the rendered files", () => {
  test.each([
    ["distributed rw", () => renderPgBouncerConfig(pooler(PG17), "rw"), "rw", 6432],
    ["distributed ro", () => renderPgBouncerConfig(pooler(PG17), "ro"), "ro", 6433],
    ["standalone rw", () => renderPgBouncerConfig(standaloneNode(PG17), "rw"), "rw", 6432],
  ] as const)("%s: starts, serves TLS 1.3, logs no configuration warning", (_name, render, pool, port) => {
    const r = pgbouncer(render(), pool, port);
    expect(r.stdout).toContain("listening=1");
    expect(reported(r.stdout, "tls13")).toEqual([expect.stringMatching(/^New, TLSv1\.3/)]);
    const log = r.stdout.split("--- log")[1]!;
    expect(log).toContain("process up: PgBouncer 1.24.1");
    expect(log.split("\n").filter((l) => /WARNING|ERROR|FATAL/.test(l))).toEqual([]);
  });

  test("the check is not vacuous: an unknown setting stops PgBouncer 1.24", () => {
    const r = pgbouncer(renderPgBouncerConfig(pooler(PG17), "rw").replace("[pgbouncer]\n", "[pgbouncer]\nnot_a_pgbouncer_setting = 1\n"), "rw", 6432);
    expect(r.stdout).toContain("listening=0");
    expect(r.stdout).toMatch(/unknown parameter.*not_a_pgbouncer_setting/i);
  });
});

describe("HAProxy 3.0 and pgBackRest 2.55 accept the rendered files", () => {
  test("haproxy -c: valid, no warning", () => {
    const r = inImage({
      roots: [[{ path: PATHS.haproxyConfig, content: renderHaproxyConfig(pooler(PG17)) }]],
      // HAProxy 3.0 prints "Configuration file is valid" only with -V.
      script: `chroot "$ROOT0" haproxy -c -V -f ${PATHS.haproxyConfig} 2>&1; echo "rc: $?"`,
    });
    expect(r.stdout).toContain("Configuration file is valid");
    expect(r.stdout).not.toMatch(/\[(WARNING|ALERT)\]/);
    expect(reported(r.stdout, "rc")).toEqual(["0"]);
  });

  test.each([
    ["distributed", () => renderPgBackRestConfig(distributedNode(0, PG17))],
    ["standalone", () => renderPgBackRestConfig(standaloneNode(PG17))],
  ])("%s: pgbackrest parses every option and only fails on the unreachable repository", (_n, render) => {
    const run = (content: string) =>
      inImage({
        roots: [[{ path: PATHS.pgbackrestConfig, content }, { path: `${PATHS.pgbackrestConfigIncludeDir}/secret.conf`, content: "[global]\nrepo1-cipher-pass=test-only-pass\n" }]],
        script: `chroot "$ROOT0" pgbackrest --stanza=orders --log-level-console=warn --log-level-file=off --io-timeout=1 --db-timeout=1 --protocol-timeout=2 backup 2>&1; echo "rc: $?"`,
      });
    const r = run(render());
    expect(r.stdout).not.toContain("invalid option");
    expect(r.stdout).not.toContain("is not allowed");
    expect(reported(r.stdout, "rc")).toEqual(["49"]);
    const bad = run(render().replace("[global]\n", "[global]\nrepo1-not-an-option=1\n"));
    expect(bad.stdout).toContain("configuration file contains invalid option 'repo1-not-an-option'");
  });
});

describe("PostgreSQL 17 starts with the rendered parameters", () => {
  test.each([
    ["distributed", distributedNode(0, PG17)],
    ["standalone", standaloneNode(PG17)],
  ])("%s: initdb + pg_ctl as postgres, every parameter applied, none in error", (_n, ctx) => {
    const params = renderPostgresParameters(ctx.spec);
    const conf = Object.entries(params)
      .map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`)
      .join("\n");
    const bin = "/usr/lib/postgresql/17/bin";
    const r = inImage({
      roots: [[{ path: "/tmp/rendered.conf", content: `${conf}\n` }]],
      timeoutSec: 180,
      script: `R="$ROOT0"
chroot "$R" install -d -o postgres -g postgres /run/postgresql /var/log/postgresql /tmp/pg
chroot --userspec=postgres:postgres "$R" ${bin}/initdb -D /tmp/pg/data --data-checksums --encoding=UTF8 --locale=C.UTF-8 >/dev/null 2>&1 || { echo "initdb: failed"; exit 1; }
cat "$R/tmp/rendered.conf" >> "$R/tmp/pg/data/postgresql.conf"
chroot --userspec=postgres:postgres "$R" ${bin}/pg_ctl -D /tmp/pg/data -w -t 60 -l /tmp/pg/server.log start >/dev/null 2>&1; echo "start: $?"
q() { chroot --userspec=postgres:postgres "$R" /usr/bin/psql -X -A -t -h /run/postgresql -d postgres -c "$1" 2>&1; }
echo "version: $(q 'SHOW server_version')"
echo "errors: $(q 'SELECT count(*) FROM pg_file_settings WHERE error IS NOT NULL')"
echo "pending: $(q 'SELECT count(*) FROM pg_settings WHERE pending_restart')"
q "SELECT name || '=' || setting FROM pg_settings WHERE name IN ('ssl_min_protocol_version','shared_preload_libraries','wal_level','archive_mode','max_connections')" | sed 's/^/setting: /'
chroot --userspec=postgres:postgres "$R" ${bin}/pg_ctl -D /tmp/pg/data -m fast -w stop >/dev/null 2>&1; echo "stop: $?"
cat "$R/tmp/pg/server.log" 2>/dev/null | sed 's/^/log: /'
`,
    });
    expect(reported(r.stdout, "start")).toEqual(["0"]);
    expect(reported(r.stdout, "version")[0]).toMatch(/^17\.12/);
    expect(reported(r.stdout, "errors")).toEqual(["0"]);
    expect(reported(r.stdout, "pending")).toEqual(["0"]);
    expect(reported(r.stdout, "setting").sort()).toEqual(
      [
        `archive_mode=${params.archive_mode}`,
        `max_connections=${params.max_connections}`,
        `shared_preload_libraries=${params.shared_preload_libraries}`,
        `ssl_min_protocol_version=${params.ssl_min_protocol_version}`,
        `wal_level=${params.wal_level}`,
      ].sort(),
    );
    expect(reported(r.stdout, "stop")).toEqual(["0"]);
  });
});

describe("cloud-init 25.1 accepts the user data of every example", () => {
  /** Every launch template's user data text (`base64gzip(local.<name>)`) of a synthesized example. */
  function userData(stack: any): [string, string][] {
    const json = JSON.parse(Testing.synth(stack));
    return Object.entries<any>(json.resource.aws_launch_template).map(([id, lt]) => {
      const m = /^\$\{base64gzip\(local\.([^)]+)\)\}$/.exec(lt.user_data);
      if (!m) throw new Error(`${id}: user_data is not base64gzip(local.…)`);
      return [id, configLocals(json)[m[1]!] as string];
    });
  }

  test.each([
    ["distributed", () => new DistributedExample(Testing.app(), "distributed"), 4],
    ["standalone", () => new StandaloneExample(Testing.app(), "standalone"), 1],
  ] as const)("examples/%s: cloud-init schema -c, for each launch template", (_name, build, count) => {
    const docs = userData(build());
    expect(docs).toHaveLength(count);
    for (const [, text] of docs) expect(parse(text)).toBeTruthy();
    const r = inImage({
      tls: false,
      roots: [docs.map(([id, text], i) => ({ path: `/tmp/user-data-${i}`, content: text, mode: "0600" }))],
      script: docs.map(([id], i) => `out=$(chroot "$ROOT0" cloud-init schema -c /tmp/user-data-${i} 2>&1); echo "result: ${id} rc=$? $(echo "$out" | tr '\\n' ' ')"`).join("\n"),
    });
    const results = reported(r.stdout, "result");
    expect(results).toHaveLength(count);
    for (const line of results) expect(line).toMatch(/ rc=0 Valid schema/);
  });
});
