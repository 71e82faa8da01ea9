/**
 * Day 2 of a database node, run for real: the rendered bootstrap script with real bash, its
 * `check-data-version` subcommand against fake data directories, and its `maintenance`
 * subcommand for three nodes sharing one real etcd (a single-node etcd 3.4 on loopback, its own
 * ports and data directory), with fake `aws`, `curl` (IMDS and Patroni's REST API) and
 * `patronictl` on PATH recording every call in one ordered log. An `etcdctl` wrapper drops the
 * TLS flags (the test etcd speaks plain HTTP) and calls the real etcdctl. The header values that
 * point at the machine (endpoints, files, the window, the lease) are replaced in the rendered
 * text, nothing else.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { inMaintenanceWindow, windowMinutes, WEEKDAYS, type ClusterSpec, type ResolvedClusterSpec } from "../../src/cluster-spec";
import { renderBootstrapScript } from "../../src/render/bootstrap";
import { readScript } from "../../src/render/scripts";
import { renderPatroniConfig } from "../../src/render/patroni";
import { parse as parseYaml } from "yaml";
import { distributedNode, standaloneNode } from "./fixtures";
import { requirePrerequisites } from "../support/prerequisites";
import { setHeader } from "./script-header";

let dir: string;
let etcd: ChildProcess | undefined;
let endpoint = "";

function sh(file: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync("bash", [file, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}`, FAKE: dir, ...env } });
  if (r.status === 127) throw new Error(`bash ${file} ${args.join(" ")}: status 127\n${r.stderr}`);
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}
/** The real etcdctl against the test etcd: stdout and stderr (`endpoint health` answers on stderr), trimmed. */
function etcdctl(...args: string[]): string {
  const r = spawnSync("etcdctl", [`--endpoints=${endpoint}`, ...args], { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } });
  return ((r.stdout ?? "") + (r.stderr ?? "")).trim();
}

beforeAll(async () => {
  requirePrerequisites({ commands: ["bash", "jq", "etcd", "etcdctl", "sha256sum", "python3"] });
  dir = mkdtempSync(join(tmpdir(), "mp-maintenance-"));
  mkdirSync(join(dir, "bin"));
  const port = 24000 + Math.floor(Math.random() * 2000);
  endpoint = `http://127.0.0.1:${port}`;
  etcd = spawn(
    "etcd",
    [
      `--data-dir=${dir}/etcd`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${port + 1}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${port + 1}`,
      `--initial-cluster=default=http://127.0.0.1:${port + 1}`,
    ],
    { stdio: "ignore" },
  );
  for (let i = 0; i < 60 && !etcdctl("endpoint", "health").includes("is healthy"); i++) await new Promise((r) => setTimeout(r, 250));
  expect(etcdctl("endpoint", "health")).toContain("is healthy");
  const bin = (name: string, body: string) => {
    writeFileSync(join(dir, "bin", name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(dir, "bin", name), 0o755);
  };
  // Every fake appends "<node> <command> <args>" to $FAKE/calls (one ordered log for all nodes).
  bin("curl", `echo "$NODE curl $*" >> "$FAKE/calls"
url=\${@: -1}
case "$url" in
  */latest/api/token) echo token ;;
  */latest/meta-data/instance-id) echo "i-$NODE" ;;
  */patroni) cat "$FAKE/patroni-$NODE.json" ;;
  */cluster) cat "$FAKE/cluster.json" ;;
  */config)
    if [[ " $* " == *" -X PATCH "* ]]; then
      # Patroni's PATCH /config: a deep merge into the dynamic configuration; the credentials come on stdin
      prev=""; for a in "$@"; do [ "$prev" = --data ] && body=$a; prev=$a; done
      cat > "$FAKE/patch-stdin"
      echo "$body" >> "$FAKE/patches"
      jq -c --argjson p "$body" '. * $p' "$FAKE/config.json" > "$FAKE/config.json.new" && mv "$FAKE/config.json.new" "$FAKE/config.json"
    else
      cat "$FAKE/config.json"
    fi ;;
  *) exit 22 ;;
esac`);
  bin("aws", `echo "$NODE aws $*" >> "$FAKE/calls"
case "$*" in
  *describe-instances*) printf '[{"Key":"aws:ec2launchtemplate:id","Value":"lt-1"},{"Key":"aws:ec2launchtemplate:version","Value":"%s"},{"Key":"aws:autoscaling:groupName","Value":"orders-%s"}]\\n' "$(cat "$FAKE/running-$NODE")" "$NODE" ;;
  *describe-auto-scaling-groups*) cat "$FAKE/desired" ;;
  *terminate-instance-in-auto-scaling-group*) echo '{}' ;;
  *) exit 1 ;;
esac`);
  // patronictl reload acts as Patroni does with the file's tags (unless $FAKE/frozen exists): the
  // member shows them in GET /cluster, and a member tagged nosync loses the synchronous standby
  // role to the first other streaming replica without nosync (none left: no sync_standby).
  bin("patronictl", `echo "$NODE patronictl $* (PATRONI_RESTAPI_PASSWORD set: $([ -n "$PATRONI_RESTAPI_PASSWORD" ] && echo yes || echo no))" >> "$FAKE/calls"
[ "$3" = reload ] && [ ! -e "$FAKE/frozen" ] || exit 0
tags=$(python3 -c 'import json, sys, yaml; print(json.dumps((yaml.safe_load(open(sys.argv[1])) or {}).get("tags") or {}))' "$2")
jq -c --arg n "$NODE" --argjson t "$tags" '.members |= map(if .name == $n then (if $t == {} then del(.tags) else .tags = $t end) else . end)
  | if any(.members[]; .name == $n and .role == "sync_standby" and .tags.nosync == true) then
      ([.members[] | select(.name != $n and .role == "replica" and .state == "streaming" and (.tags.nosync // false) != true) | .name] | first) as $next
      | .members |= map(if .name == $n then .role = "replica" elif .name == $next then .role = "sync_standby" else . end)
    else . end' "$FAKE/cluster.json" > "$FAKE/cluster.json.new" && mv "$FAKE/cluster.json.new" "$FAKE/cluster.json"`);
  bin("etcdctl", `args=()
for a in "$@"; do case "$a" in --cacert=*|--cert=*|--key=*|--endpoints=*) ;; *) args+=("$a") ;; esac; done
exec /usr/bin/etcdctl --endpoints=${endpoint} "\${args[@]}"`);
  writeFileSync(join(dir, "patroni.env"), "PATRONI_RESTAPI_USERNAME=patroni\nPATRONI_RESTAPI_PASSWORD=secret-not-on-command-line\n");
  writeFileSync(join(dir, "config-a"), "a = 1\n");
}, 60_000);

afterAll(() => {
  if (etcd?.pid) process.kill(etcd.pid);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("check-data-version (ExecStartPre of patroni.service)", () => {
  let root: string;
  let script: string;
  beforeEach(() => {
    root = mkdtempSync(join(dir, "pgdata-"));
    script = join(root, "bootstrap.sh");
    writeFileSync(
      script,
      setHeader(renderBootstrapScript(standaloneNode({ majorVersion: 17 })), {
        PGDATA: `${root}/17`,
        PGDATA_ROOT: root,
        EVENTS_LOG: `${root}/events.log`,
        CONFIG_DIGEST_FILE: `${root}/run/config.sha256`,
        CONFIG_FILES: join(dir, "config-a"),
      }),
    );
  });
  const events = () => readFileSync(join(root, "events.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));

  test("a PostgreSQL 16 data directory on a PostgreSQL 17 node: refused with one clear line and mp_data_version_mismatch 1", () => {
    mkdirSync(join(root, "16"));
    writeFileSync(join(root, "16", "PG_VERSION"), "16\n");
    const r = sh(script, ["check-data-version"], { NODE: "orders-0" });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/REFUSING to start PostgreSQL 17: .*\/16 holds a PostgreSQL 16 data directory \(PG_VERSION\)\. Keep majorVersion 16 for cluster orders, or move to 17 through a new cluster .*docs\/UPGRADING\.md, "Major versions"/);
    const [e] = events();
    expect(e).toMatchObject({ Cluster: "orders", Slot: "0", mp_data_version_mismatch: 1 });
    expect(e._aws.CloudWatchMetrics[0]).toEqual({ Namespace: "ManagedPostgres", Dimensions: [["Cluster"], ["Cluster", "Slot"]], Metrics: [{ Name: "mp_data_version_mismatch" }] });
    expect(existsSync(join(root, "run", "config.sha256"))).toBe(false);
  });

  test("PGDATA itself holding another major's PG_VERSION is refused too", () => {
    mkdirSync(join(root, "17"));
    writeFileSync(join(root, "17", "PG_VERSION"), "15\n");
    const r = sh(script, ["check-data-version"], { NODE: "orders-0" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\/17 holds a PostgreSQL 15 data directory/);
  });

  test("its own major (or an empty volume) starts: status 0, metric 0, the configuration digest recorded", () => {
    expect(sh(script, ["check-data-version"], { NODE: "orders-0" }).status).toBe(0);
    mkdirSync(join(root, "17"));
    writeFileSync(join(root, "17", "PG_VERSION"), "17\n");
    const r = sh(script, ["check-data-version"], { NODE: "orders-0" });
    expect(r.status).toBe(0);
    expect(events().map((e) => e.mp_data_version_mismatch)).toEqual([0, 0]);
    expect(readFileSync(join(root, "run", "config.sha256"), "utf8").trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("in_window in bash agrees with inMaintenanceWindow (UTC, week wrap)", () => {
  test("for 300 random instants and windows", () => {
    const samples = fc.sample(
      fc.record({
        at: fc.integer({ min: Date.UTC(2020, 0, 1) / 1000, max: Date.UTC(2040, 0, 1) / 1000 }),
        day: fc.constantFrom(...WEEKDAYS),
        start: fc.integer({ min: 0, max: 1439 }),
        duration: fc.integer({ min: 30, max: 480 }),
      }),
      { numRuns: 300, seed: 12 },
    );
    const windows = samples.map((s) => ({ day: s.day, startTime: `${String(Math.floor(s.start / 60)).padStart(2, "0")}:${String(s.start % 60).padStart(2, "0")}`, durationMinutes: s.duration }) as ResolvedClusterSpec["maintenanceWindow"]);
    const input = samples.map((s, i) => { const m = windowMinutes(windows[i]!); return `${s.at} ${m.isoDay} ${m.startMinute} ${m.durationMinutes}`; }).join("\n");
    const file = join(dir, "window.sh");
    writeFileSync(file, `${readScript("node-maintenance.sh")}\nwhile read -r at MW_DAY MW_START_MINUTE MW_DURATION; do if in_window "$at"; then echo 1; else echo 0; fi; done\n`);
    const r = spawnSync("bash", [file], { input: input + "\n", encoding: "utf8", env: { ...process.env, TZ: "Pacific/Chatham" } });
    expect(r.stderr).toBe("");
    const expected = samples.map((s, i) => (inMaintenanceWindow(windows[i]!, new Date(s.at * 1000)) ? "1" : "0"));
    expect(r.stdout.trim().split("\n")).toEqual(expected);
  });
});

describe("maintenance: three nodes, one real etcd", () => {
  const NODES = ["orders-0", "orders-1", "orders-2"];
  let scripts: Record<string, string>;
  let prefix = "";
  let n = 0;

  /** A cluster as Patroni's GET /cluster shows it; `leader` leads, `sync` is the synchronous standby. */
  function setCluster(leader: string, sync: string, overrides: Record<string, object> = {}) {
    const members = NODES.map((name) => ({
      name,
      role: name === leader ? "leader" : name === sync ? "sync_standby" : "replica",
      state: name === leader ? "running" : "streaming",
      ...(name === leader ? {} : { lag: 0 }),
      ...overrides[name],
    }));
    writeFileSync(join(dir, "cluster.json"), JSON.stringify({ members }));
    for (const name of NODES) writeFileSync(join(dir, `patroni-${name}.json`), JSON.stringify({ role: name === leader ? "master" : "replica", state: "running" }));
  }
  function setVersions(desired: string, running: Record<string, string>) {
    writeFileSync(join(dir, "desired"), `${desired}\n`);
    for (const [name, v] of Object.entries(running)) writeFileSync(join(dir, `running-${name}`), v);
  }
  /** The bootstrap.dcs section of the rendered patroni.yml: what Patroni stores in the DCS when it creates the cluster. */
  let renderedDcs: { loop_wait: number; postgresql: { parameters: Record<string, string> } } & Record<string, unknown>;
  /** The spec overrides of the last render (a replaced node renders with them too). */
  let overrides: Partial<ClusterSpec> = {};
  function render(extra: Record<string, string | number> = {}, specOverrides: Partial<ClusterSpec> = {}) {
    overrides = specOverrides;
    n++;
    prefix = `/test-${n}`;
    writeFileSync(join(dir, "calls"), "");
    rmSync(join(dir, "patches"), { force: true });
    rmSync(join(dir, "frozen"), { force: true });
    const yml = renderPatroniConfig(distributedNode(0, overrides));
    for (const name of NODES) writeFileSync(join(dir, `patroni-${n}-${name}.yml`), yml);
    renderedDcs = parseYaml(yml).bootstrap.dcs;
    writeFileSync(join(dir, "config.json"), JSON.stringify(renderedDcs));
    scripts = {};
    for (const [i, name] of NODES.entries()) {
      const file = join(dir, `bootstrap-${n}-${name}.sh`);
      writeFileSync(
        file,
        setHeader(renderBootstrapScript(distributedNode(i, overrides)), {
          ETCD_ENDPOINTS: endpoint,
          DCS_PREFIX: prefix,
          EVENTS_LOG: join(dir, `events-${n}-${name}.log`),
          CONFIG_DIGEST_FILE: join(dir, `digest-${n}-${name}`),
          MAINTENANCE_NEED_FILE: join(dir, `need-${n}-${name}`),
          CONFIG_FILES: join(dir, "config-a"),
          PATRONI_ENV: join(dir, "patroni.env"),
          PATRONI_CONFIG: join(dir, `patroni-${n}-${name}.yml`),
          DEPART_WAIT_SECONDS: 4,
          DEPART_DRAIN_SECONDS: 0,
          BACKUP_STATUS_FILE: join(dir, `backup-status-${n}`),
          APPLY_IMMEDIATELY: "yes",
          ...extra,
        }),
      );
      scripts[name] = file;
    }
  }
  function run(name: string): string {
    const r = sh(scripts[name]!, ["maintenance"], { NODE: name });
    expect(r.status).toBe(0);
    return r.stderr;
  }
  /** A patronictl call as the fake records it (node's own patroni.yml, credentials in the environment). */
  const ctl = (name: string, args: string) => `${name} patronictl -c ${dir}/patroni-${n}-${name}.yml ${args} (PATRONI_RESTAPI_PASSWORD set: yes)`;
  /** The node's slot now runs an instance of version 2, which rendered a fresh patroni.yml. */
  function replaced(name: string) {
    writeFileSync(join(dir, `patroni-${n}-${name}.yml`), renderPatroniConfig(distributedNode(0, overrides)));
    setVersions("2", { [name]: "2" });
    const cluster = JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8")) as { members: { name: string; tags?: object }[] };
    for (const m of cluster.members) if (m.name === name) delete m.tags;
    writeFileSync(join(dir, "cluster.json"), JSON.stringify(cluster));
  }
  const actions = () =>
    readFileSync(join(dir, "calls"), "utf8")
      .split("\n")
      .filter((l) => /terminate-instance|patronictl/.test(l))
      .map((l) => l.replace(/ --region \S+/, ""));
  const events = (name: string) => {
    const f = join(dir, `events-${n}-${name}.log`);
    return existsSync(f) ? readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l)) : [];
  };

  test("a new launch template version rolls the replicas first, one at a time, then the primary after a switchover to the synchronous standby; each replica departs (tags, reload) before it goes", () => {
    render();
    setCluster("orders-0", "orders-1");
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });

    expect(run("orders-0")).toMatch(/primary orders-0 waits for the replicas first: orders-1:not reported since the change orders-2:not reported since the change$/m);
    const log1 = run("orders-1");
    expect(log1).toMatch(/orders-1 took the roll lock for replace \(launch template version 1, group orders-orders-1 wants 2\)/);
    expect(log1).toMatch(/orders-1 departs before its replace: tags nosync and noloadbalance set \(synchronous standby now orders-1; candidates orders-2\)/);
    expect(log1).toMatch(/orders-1 left: orders-2 is the synchronous standby/);
    expect(run("orders-2")).toMatch(/replace of orders-2 pending .*: orders-1 is rolling/);
    expect(actions()).toEqual([ctl("orders-1", "reload orders orders-1 --force"), "orders-1 aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-orders-1 --no-should-decrement-desired-capacity"]);

    // Auto Scaling launched the replacement from version 2 (a fresh patroni.yml); it rejoined (same member name, same slot).
    replaced("orders-1");
    setCluster("orders-0", "orders-2");
    expect(run("orders-1")).toMatch(/orders-1 is done; roll lock released/);
    expect(run("orders-0")).toMatch(/primary orders-0 waits for the replicas first: orders-2:replace/);
    expect(run("orders-2")).toMatch(/orders-2 departs before its replace: tags nosync and noloadbalance set \(synchronous standby now orders-2; candidates orders-1\)/);
    replaced("orders-2");
    setCluster("orders-0", "orders-1");
    run("orders-2");

    expect(run("orders-0")).toMatch(/switching over from orders-0 to the synchronous standby orders-1 before the replace/);
    // right after the switchover the former primary is still rejoining: it waits
    setCluster("orders-1", "orders-2", { "orders-0": { state: "starting" } });
    expect(run("orders-0")).toMatch(/roll paused, replace of orders-0 waits: cluster not healthy: member orders-0 is starting/);
    // back as the synchronous standby: it departs as a replica
    setCluster("orders-1", "orders-0");
    expect(run("orders-0")).toMatch(/orders-0 left: orders-2 is the synchronous standby/);
    replaced("orders-0");
    expect(run("orders-0")).toMatch(/roll lock released/);

    expect(actions()).toEqual([
      ctl("orders-1", "reload orders orders-1 --force"),
      "orders-1 aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-orders-1 --no-should-decrement-desired-capacity",
      ctl("orders-2", "reload orders orders-2 --force"),
      "orders-2 aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-orders-2 --no-should-decrement-desired-capacity",
      ctl("orders-0", "switchover --leader orders-0 --candidate orders-1 --force orders"),
      ctl("orders-0", "reload orders orders-0 --force"),
      "orders-0 aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-orders-0 --no-should-decrement-desired-capacity",
    ]);
    expect(readFileSync(join(dir, "calls"), "utf8")).not.toContain("secret-not-on-command-line");
    expect(etcdctl("get", "--print-value-only", `${prefix}/lock`)).toBe("");
    for (const name of NODES) expect(events(name).filter((e) => e.mp_maintenance_node_replaced === 1)).toHaveLength(1);
    for (const name of NODES) expect(events(name).filter((e) => e.mp_maintenance_node_departed === 1)).toHaveLength(1);
    expect(events("orders-0").some((e) => e.mp_maintenance_switchover === 1)).toBe(true);
  });

  test("issue 12, bench:roll: a primary whose timer runs first after a change does not take the replicas' old none for done; it switches over only after both replicas reported and rolled", () => {
    render();
    setCluster("orders-0", "orders-1");
    setVersions("1", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    for (const name of NODES) expect(run(name)).toBe(""); // nothing differs: every state key says none
    for (const name of NODES) expect(etcdctl("get", "--print-value-only", `${prefix}/state/${name}`)).toBe("none");
    expect(existsSync(join(dir, `need-${n}-orders-0`))).toBe(false);

    // the change: version 2; the primary's timer fires first, the replicas' keys still hold their old none
    setVersions("2", {});
    expect(run("orders-0")).toMatch(/primary orders-0 waits for the replicas first: orders-1:not reported since the change orders-2:not reported since the change$/m);
    const need = readFileSync(join(dir, `need-${n}-orders-0`), "utf8");
    expect(need).toMatch(/^replace launch template version 1, group orders-orders-0 wants 2 \d+\n$/);
    expect(run("orders-0")).toMatch(/waits for the replicas first: orders-1:not reported since the change orders-2:not reported since the change$/m);
    expect(readFileSync(join(dir, `need-${n}-orders-0`), "utf8")).toBe(need); // first-seen revision kept
    expect(actions()).toEqual([]);

    expect(run("orders-1")).toMatch(/orders-1 took the roll lock for replace/);
    expect(run("orders-0")).toMatch(/replace of orders-0 pending .*: orders-1 is rolling/);
    expect(run("orders-2")).toMatch(/replace of orders-2 pending .*: orders-1 is rolling/);
    replaced("orders-1");
    expect(run("orders-1")).toMatch(/orders-1 is done; roll lock released/);
    expect(run("orders-0")).toMatch(/waits for the replicas first: orders-2:replace$/m);
    expect(run("orders-2")).toMatch(/orders-2 took the roll lock for replace/);
    replaced("orders-2");
    setCluster("orders-0", "orders-1");
    expect(run("orders-2")).toMatch(/orders-2 is done; roll lock released/);
    expect(actions().some((l) => l.startsWith("orders-0"))).toBe(false);

    expect(run("orders-0")).toMatch(/switching over from orders-0 to the synchronous standby orders-1 before the replace/);
    expect(actions()).toEqual([
      ctl("orders-1", "reload orders orders-1 --force"),
      "orders-1 aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-orders-1 --no-should-decrement-desired-capacity",
      ctl("orders-2", "reload orders orders-2 --force"),
      "orders-2 aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-orders-2 --no-should-decrement-desired-capacity",
      ctl("orders-0", "switchover --leader orders-0 --candidate orders-1 --force orders"),
    ]);
  });

  test("a pending restart everywhere: the primary running first waits for the replicas' restarts, and a need that goes away resets its record", () => {
    render();
    setCluster("orders-0", "orders-1");
    setVersions("1", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    for (const name of NODES) run(name);
    const pending = (name: string, yes: boolean) =>
      writeFileSync(join(dir, `patroni-${name}.json`), JSON.stringify({ role: name === "orders-0" ? "master" : "replica", state: "running", ...(yes ? { pending_restart: true } : {}) }));
    for (const name of NODES) pending(name, true);
    expect(run("orders-0")).toMatch(/primary orders-0 waits for the replicas first: orders-1:not reported since the change orders-2:not reported since the change$/m);
    expect(readFileSync(join(dir, `need-${n}-orders-0`), "utf8")).toMatch(/^restart Patroni reports pending_restart \d+\n$/);
    expect(run("orders-2")).toMatch(/restarting PostgreSQL on orders-2 through Patroni/);
    pending("orders-2", false);
    expect(run("orders-2")).toMatch(/roll lock released/);
    expect(run("orders-0")).toMatch(/waits for the replicas first: orders-1:not reported since the change$/m);
    expect(run("orders-1")).toMatch(/restarting PostgreSQL on orders-1 through Patroni/);
    pending("orders-1", false);
    expect(run("orders-1")).toMatch(/roll lock released/);
    // each replica departs (tags, reload), restarts, and comes back (tags removed, reload)
    expect(actions()).toEqual(
      ["orders-2", "orders-1"].flatMap((m) => [ctl(m, `reload orders ${m} --force`), ctl(m, `restart orders ${m} --force`), ctl(m, `reload orders ${m} --force`)]),
    );
    for (const m of ["orders-1", "orders-2"]) expect(readFileSync(join(dir, `patroni-${n}-${m}.yml`), "utf8")).toBe(renderPatroniConfig(distributedNode(0)));
    // orders-1's departure before its restart gave the synchronous standby role to orders-2
    expect(run("orders-0")).toMatch(/switching over from orders-0 to the synchronous standby orders-2 before the restart/);
    // the primary's need goes away (say the parameter was reverted): its record is removed
    pending("orders-0", false);
    writeFileSync(join(dir, "calls"), "");
    expect(run("orders-0")).not.toMatch(/switching over/);
    expect(existsSync(join(dir, `need-${n}-orders-0`))).toBe(false);
  });

  test("issue 12: the synchronous standby does not leave while no other streaming replica could take its role (never below a synchronous standby)", () => {
    render();
    setCluster("orders-0", "orders-1", { "orders-2": { tags: { nosync: true } } });
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    const log = run("orders-1");
    expect(log).toMatch(/orders-1 took the roll lock for replace/);
    expect(log).toMatch(/orders-1 waits before its replace: no other streaming replica could take the synchronous standby role \(the roll never goes below a synchronous standby\)$/m);
    expect(actions()).toEqual([]);
    expect(readFileSync(join(dir, `patroni-${n}-orders-1.yml`), "utf8")).toBe(renderPatroniConfig(distributedNode(0)));
    // the other replica can take it again: the next run departs and goes
    setCluster("orders-0", "orders-1");
    expect(run("orders-1")).toMatch(/orders-1 left: orders-2 is the synchronous standby/);
    expect(actions()).toEqual([ctl("orders-1", "reload orders orders-1 --force"), "orders-1 aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-orders-1 --no-should-decrement-desired-capacity"]);
  });

  test("issue 12: a departure Patroni has not acted on within DEPART_WAIT_SECONDS keeps its tags and goes on at the next run, without a second reload", () => {
    render();
    setCluster("orders-0", "orders-1");
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    writeFileSync(join(dir, "frozen"), "");
    const t0 = Date.now();
    expect(run("orders-1")).toMatch(/orders-1 waits before its replace: after 4 s Patroni does not yet show its departure tags and another synchronous standby: retrying next run$/m);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4000);
    expect(actions()).toEqual([ctl("orders-1", "reload orders orders-1 --force")]);
    const yml = readFileSync(join(dir, `patroni-${n}-orders-1.yml`), "utf8");
    expect(yml.endsWith("\n# managed-postgres-maintenance: departing\ntags:\n  nosync: true\n  noloadbalance: true\n")).toBe(true);
    expect(parseYaml(yml).tags).toEqual({ nosync: true, noloadbalance: true });
    // Patroni acted meanwhile: orders-1 shows its tags, orders-2 is the synchronous standby
    setCluster("orders-0", "orders-2", { "orders-1": { tags: { nosync: true, noloadbalance: true } } });
    expect(run("orders-1")).toMatch(/orders-1 left: orders-2 is the synchronous standby/);
    expect(actions()).toEqual([ctl("orders-1", "reload orders orders-1 --force"), "orders-1 aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-orders-1 --no-should-decrement-desired-capacity"]);
  }, 30_000);

  test("issue 12: departure tags are no configuration change (digest), and a need that goes away removes them: the file is as rendered again", () => {
    const file = join(dir, `patroni-${n + 1}-orders-2.yml`);
    render({ CONFIG_FILES: file });
    expect(sh(scripts["orders-2"]!, ["check-data-version"], { NODE: "orders-2" }).status).toBe(0);
    const digest = readFileSync(join(dir, `digest-${n}-orders-2`), "utf8");
    setCluster("orders-0", "orders-1");
    setVersions("1", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    writeFileSync(join(dir, "patroni-orders-2.json"), JSON.stringify({ role: "replica", state: "running", pending_restart: true }));
    writeFileSync(join(dir, "frozen"), "");
    expect(run("orders-2")).toMatch(/orders-2 departs before its restart: tags nosync and noloadbalance set \(synchronous standby now orders-1; candidates orders-1\)/);
    expect(parseYaml(readFileSync(file, "utf8")).tags).toEqual({ nosync: true, noloadbalance: true });
    // the parameter was reverted before the restart: nothing to do, and no reload need from the tags
    writeFileSync(join(dir, "patroni-orders-2.json"), JSON.stringify({ role: "replica", state: "running" }));
    const log = run("orders-2");
    expect(log).toMatch(/orders-2 is back: departure tags \(nosync, noloadbalance\) removed/);
    expect(log).toMatch(/orders-2 is done; roll lock released/);
    expect(log).not.toMatch(/digest changed|reloading orders-2/);
    expect(readFileSync(file, "utf8")).toBe(renderPatroniConfig(distributedNode(0)));
    expect(sh(scripts["orders-2"]!, ["check-data-version"], { NODE: "orders-2" }).status).toBe(0);
    expect(readFileSync(join(dir, `digest-${n}-orders-2`), "utf8")).toBe(digest);
    expect(actions()).toEqual([ctl("orders-2", "reload orders orders-2 --force"), ctl("orders-2", "reload orders orders-2 --force")]);
    expect(actions().some((l) => l.includes(" restart "))).toBe(false);
  }, 30_000);

  test.each([
    ["a member that is not streaming", { "orders-2": { state: "stopped" } }, /cluster not healthy: member orders-2 is stopped/],
    ["a replica lagging above the limit", { "orders-2": { lag: 50_000_000 } }, /cluster not healthy: member orders-2 lags 50000000 bytes \(limit 1048576\)/],
    ["no synchronous standby", { "orders-1": { role: "replica" } }, /cluster not healthy: no synchronous standby/],
  ])("an unhealthy cluster (%s) pauses the roll with the reason, and nothing happens", (_what, overrides, reason) => {
    render();
    setCluster("orders-0", "orders-1", overrides);
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    expect(run("orders-1")).toMatch(reason);
    expect(actions()).toEqual([]);
    expect(etcdctl("get", "--print-value-only", `${prefix}/lock`)).toBe("");
    expect(events("orders-1").some((e) => e.mp_maintenance_paused === 1)).toBe(true);
  });

  test("a failed backup (the newest full backup older than the alarm's 26 h) pauses the roll", () => {
    render();
    writeFileSync(join(dir, `backup-status-${n}`), `${Math.floor(Date.now() / 1000) - 30 * 3600}\n`);
    setCluster("orders-0", "orders-1");
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    expect(run("orders-2")).toMatch(/cluster not healthy: the newest full backup is 30 h old \(limit 26 h\): a backup failed/);
    expect(actions()).toEqual([]);
  });

  test("outside the maintenance window nothing happens; inside it the roll starts", () => {
    const now = new Date();
    const isoDay = ((now.getUTCDay() + 6) % 7) + 1;
    const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
    // two days ahead: outside
    render({ APPLY_IMMEDIATELY: "no", MW_DAY: ((isoDay + 1) % 7) + 1, MW_START_MINUTE: minute, MW_DURATION: 30 });
    setCluster("orders-0", "orders-1");
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    expect(run("orders-1")).toMatch(/replace of orders-1 pending \(launch template version 1, group orders-orders-1 wants 2\): waiting for the maintenance window/);
    expect(actions()).toEqual([]);
    // started 10 minutes ago (wrapping over the week), 60 minutes long: inside
    const start = (isoDay - 1) * 1440 + minute - 10 + 10080;
    render({ APPLY_IMMEDIATELY: "no", MW_DAY: Math.floor((start % 10080) / 1440) + 1, MW_START_MINUTE: start % 1440, MW_DURATION: 60 });
    expect(run("orders-1")).toMatch(/orders-1 took the roll lock for replace/);
    expect(actions()).toHaveLength(2); // its departure's reload, the terminate
  });

  // Found on the EC2 twin (issue 15: a standalone green's cutover is a launch template change):
  // the standalone node waited at every run for "another streaming replica" to take a
  // synchronous standby role it does not have, so a standalone cluster never rolled.
  test("a standalone cluster's only node is replaced at once: nothing to hand over, no departure tags", () => {
    render();
    const file = join(dir, `bootstrap-${n}-standalone.sh`);
    writeFileSync(
      file,
      setHeader(renderBootstrapScript(standaloneNode({ name: "orders" })), {
        ETCD_ENDPOINTS: endpoint,
        DCS_PREFIX: prefix,
        EVENTS_LOG: join(dir, `events-${n}-orders-0.log`),
        CONFIG_DIGEST_FILE: join(dir, `digest-${n}-orders-0`),
        MAINTENANCE_NEED_FILE: join(dir, `need-${n}-orders-0`),
        CONFIG_FILES: join(dir, "config-a"),
        PATRONI_ENV: join(dir, "patroni.env"),
        PATRONI_CONFIG: join(dir, `patroni-${n}-orders-0.yml`),
        BACKUP_STATUS_FILE: join(dir, `backup-status-${n}`),
        APPLY_IMMEDIATELY: "yes",
      }),
    );
    writeFileSync(join(dir, "cluster.json"), JSON.stringify({ members: [{ name: "orders-0", role: "leader", state: "running" }] }));
    writeFileSync(join(dir, "patroni-orders-0.json"), JSON.stringify({ role: "master", state: "running" }));
    setVersions("2", { "orders-0": "1" });
    const r = sh(file, ["maintenance"], { NODE: "orders-0" });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/orders-0 took the roll lock for replace/);
    expect(r.stderr).toMatch(/orders-0 is the cluster's only member: nothing to hand over before its replace/);
    expect(r.stderr).not.toMatch(/waits before its replace/);
    expect(actions()).toEqual(["orders-0 aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-orders-0 --no-should-decrement-desired-capacity"]);
  });

  test("the pause key stops the roll and says so", () => {
    render();
    setCluster("orders-0", "orders-1");
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    etcdctl("put", `${prefix}/pause`, "incident 42");
    expect(run("orders-1")).toMatch(new RegExp(`paused \\(${prefix}/pause = incident 42\\): replace of orders-1 waits`));
    expect(actions()).toEqual([]);
    etcdctl("del", `${prefix}/pause`);
    expect(run("orders-1")).toMatch(/took the roll lock/);
  });

  test("a holder that dies mid-roll frees the lock when its lease expires, and the next node proceeds", async () => {
    render({ ROLL_LOCK_TTL: 3 });
    setCluster("orders-0", "orders-1");
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    run("orders-1"); // takes the lock and hands itself to its group; it never comes back
    expect(run("orders-2")).toMatch(/orders-1 is rolling/);
    await new Promise((r) => setTimeout(r, 6000));
    expect(etcdctl("get", "--print-value-only", `${prefix}/lock`)).toBe("");
    setCluster("orders-0", "orders-1"); // orders-1's replacement is back
    expect(run("orders-2")).toMatch(/orders-2 took the roll lock for replace/);
    expect(actions().filter((l) => l.includes("terminate-instance")).map((l) => l.split(" ")[0])).toEqual(["orders-1", "orders-2"]);
  }, 30_000);

  /** GET /cluster without `name` (its member key expired: the instance is gone). */
  function withoutMember(name: string) {
    const cluster = JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8")) as { members: { name: string }[] };
    writeFileSync(join(dir, "cluster.json"), JSON.stringify({ members: cluster.members.filter((m) => m.name !== name) }));
  }

  test("issue 12: a member missing from the cluster pauses the roll, naming it, and nothing happens", () => {
    render();
    setCluster("orders-0", "orders-1");
    withoutMember("orders-2");
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    expect(run("orders-1")).toMatch(/roll paused, replace of orders-1 waits: cluster not healthy: member orders-2 is missing$/m);
    expect(actions()).toEqual([]);
    expect(etcdctl("get", "--print-value-only", `${prefix}/lock`)).toBe("");
    expect(events("orders-1").filter((e) => e.mp_maintenance_paused === 1).map((e) => e.event)).toEqual(["cluster not healthy: member orders-2 is missing"]);
  });

  test("issue 12: a lock holder killed mid-roll (restarted, not yet released): the others name it missing and wait; its replacement (same member name, no pending restart) releases the lock, and the roll goes on", () => {
    render();
    setCluster("orders-0", "orders-1");
    setVersions("1", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    const pending = (name: string, yes: boolean) =>
      writeFileSync(join(dir, `patroni-${name}.json`), JSON.stringify({ role: name === "orders-0" ? "master" : "replica", state: "running", ...(yes ? { pending_restart: true } : {}) }));
    for (const name of NODES) pending(name, true);
    expect(run("orders-1")).toMatch(/restarting PostgreSQL on orders-1 through Patroni/);
    expect(etcdctl("get", "--print-value-only", `${prefix}/lock`)).toMatch(/^orders-1 [0-9a-f]+ restart$/);
    // the instance fails: Patroni's member key expires
    withoutMember("orders-1");
    expect(run("orders-2")).toMatch(/restart of orders-2 pending \(Patroni reports pending_restart\): orders-1 holds the roll lock, cluster not healthy: member orders-1 is missing$/m);
    expect(run("orders-0")).toMatch(/restart of orders-0 pending \(Patroni reports pending_restart\): orders-1 holds the roll lock, cluster not healthy: member orders-1 is missing$/m);
    // Auto Scaling's replacement joins as orders-1: a fresh patroni.yml, PostgreSQL started with the new value
    replaced("orders-1");
    setVersions("1", { "orders-1": "1" });
    pending("orders-1", false);
    setCluster("orders-0", "orders-2", { "orders-1": { state: "starting" } });
    for (const name of ["orders-0", "orders-2"]) pending(name, true);
    expect(run("orders-1")).toMatch(/orders-1 holds the roll lock, waiting until the cluster is healthy: member orders-1 is starting$/m);
    expect(run("orders-2")).toMatch(/orders-1 holds the roll lock, cluster not healthy: member orders-1 is starting$/m);
    setCluster("orders-0", "orders-2");
    for (const name of ["orders-0", "orders-2"]) pending(name, true);
    expect(run("orders-1")).toMatch(/orders-1 is done; roll lock released/);
    expect(run("orders-2")).toMatch(/orders-2 took the roll lock for restart/);
    // the dead instance's restart call, then orders-2's: none by the replacement, none by the primary yet
    expect(actions().filter((l) => / restart /.test(l))).toEqual([ctl("orders-1", "restart orders orders-1 --force"), ctl("orders-2", "restart orders orders-2 --force")]);
  }, 30_000);

  test("a pending restart goes through Patroni's restart of this member, then the lock is released", () => {
    render();
    setCluster("orders-0", "orders-1");
    setVersions("1", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    writeFileSync(join(dir, "patroni-orders-2.json"), JSON.stringify({ role: "replica", state: "running", pending_restart: true }));
    expect(run("orders-2")).toMatch(/restarting PostgreSQL on orders-2 through Patroni \(Patroni reports pending_restart\)/);
    writeFileSync(join(dir, "patroni-orders-2.json"), JSON.stringify({ role: "replica", state: "running" }));
    expect(run("orders-2")).toMatch(/roll lock released/);
    expect(actions()).toEqual([ctl("orders-2", "reload orders orders-2 --force"), ctl("orders-2", "restart orders orders-2 --force"), ctl("orders-2", "reload orders orders-2 --force")]);
    appendFileSync(join(dir, "calls"), "");
  });
  test("issue 12: a size change reaches Patroni's dynamic configuration: the first node on its group's version PATCHes what differs, once; nodes on the older version do not", () => {
    render();
    setCluster("orders-0", "orders-1");
    // a cluster created at size S with the older timing; the WAL limits the primary set, and an
    // operator's setting, are not in the rendered file
    const have = JSON.parse(JSON.stringify(renderedDcs));
    have.loop_wait = 2;
    have.postgresql.parameters.max_connections = "50";
    have.postgresql.parameters.max_wal_size = "1024MB";
    have.postgresql.parameters.max_locks_per_transaction = 128;
    writeFileSync(join(dir, "config.json"), JSON.stringify(have));
    expect(renderedDcs.loop_wait).not.toBe(2);
    expect(renderedDcs.postgresql.parameters.max_connections).not.toBe("50");
    setVersions("2", { "orders-0": "1", "orders-1": "2", "orders-2": "1" });

    for (const name of ["orders-0", "orders-2"]) expect(run(name)).not.toMatch(/dynamic configuration/);
    expect(existsSync(join(dir, "patches"))).toBe(false);

    const expected = { loop_wait: renderedDcs.loop_wait, postgresql: { parameters: { max_connections: renderedDcs.postgresql.parameters.max_connections } } };
    expect(run("orders-1")).toContain(`Patroni's dynamic configuration set to what ${dir}/patroni-${n}-orders-1.yml renders: ${JSON.stringify(expected)}`);
    expect(readFileSync(join(dir, "patches"), "utf8").trim().split("\n").map((l) => JSON.parse(l))).toEqual([expected]);
    expect(readFileSync(join(dir, "patch-stdin"), "utf8")).toBe("user = patroni:secret-not-on-command-line\n");
    expect(readFileSync(join(dir, "calls"), "utf8")).not.toContain("secret-not-on-command-line");
    const after = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(after.postgresql.parameters).toMatchObject({ max_wal_size: "1024MB", max_locks_per_transaction: 128, max_connections: expected.postgresql.parameters.max_connections });
    expect(events("orders-1").filter((e) => e.mp_dcs_configuration_set === 1).map((e) => JSON.parse(e.event))).toEqual([expected]);

    // the next run finds nothing to change
    expect(run("orders-1")).not.toMatch(/dynamic configuration/);
    expect(readFileSync(join(dir, "patches"), "utf8").trim().split("\n")).toHaveLength(1);
  });

  test("a smaller size: decreases a standby must match are held back with the reason (the primary would have to restart first); the rest is applied", () => {
    render();
    setCluster("orders-0", "orders-1");
    setVersions("1", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    const have = JSON.parse(JSON.stringify(renderedDcs));
    have.loop_wait = 2;
    have.postgresql.parameters.max_connections = "5000";
    have.postgresql.parameters.max_wal_senders = 20;
    writeFileSync(join(dir, "config.json"), JSON.stringify(have));
    const { max_connections: connections, max_wal_senders: senders } = renderedDcs.postgresql.parameters;
    const log = run("orders-2");
    expect(log).toContain(`not lowering max_connections 5000 -> ${connections}, max_wal_senders 20 -> ${senders} in Patroni's dynamic configuration: a decrease must restart the primary before the replicas`);
    expect(readFileSync(join(dir, "patches"), "utf8").trim().split("\n").map((l) => JSON.parse(l))).toEqual([{ loop_wait: renderedDcs.loop_wait }]);
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).postgresql.parameters).toMatchObject({ max_connections: "5000", max_wal_senders: 20 });
    expect(events("orders-2").filter((e) => e.mp_dcs_configuration_held === 1).map((e) => JSON.parse(e.event))).toEqual([
      { max_connections: { from: "5000", to: connections }, max_wal_senders: { from: "20", to: senders } },
    ]);
  });

  test("issue 15: upgradeTo on a running blue: the first node on the new version PATCHes wal_level logical into Patroni's dynamic configuration, once; each member's pending_restart is then a restart", () => {
    const upgradeTo = { nodeAddresses: ["10.20.0.21", "10.20.0.22", "10.20.0.23"] };
    render({}, { upgradeTo });
    setCluster("orders-0", "orders-1");
    // blue was created without upgradeTo: its dynamic configuration is what that rendered
    const running = parseYaml(renderPatroniConfig(distributedNode(0))).bootstrap.dcs;
    expect(running.postgresql.parameters.wal_level).toBe("replica");
    writeFileSync(join(dir, "config.json"), JSON.stringify(running));
    setVersions("2", { "orders-0": "1", "orders-1": "2", "orders-2": "1" });
    for (const name of ["orders-0", "orders-2"]) expect(run(name)).not.toMatch(/dynamic configuration/);
    const expected = { postgresql: { parameters: { wal_level: "logical" } } };
    expect(run("orders-1")).toContain(`Patroni's dynamic configuration set to what ${dir}/patroni-${n}-orders-1.yml renders: ${JSON.stringify(expected)}`);
    expect(readFileSync(join(dir, "patches"), "utf8").trim().split("\n").map((l) => JSON.parse(l))).toEqual([expected]);
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))).toEqual({ ...running, postgresql: { ...running.postgresql, parameters: { ...running.postgresql.parameters, wal_level: "logical" } } });
    // Patroni flags pending_restart on the member replaced first (it started before the PATCH): a restart
    setVersions("2", { "orders-0": "2", "orders-1": "2", "orders-2": "2" });
    writeFileSync(join(dir, "patroni-orders-1.json"), JSON.stringify({ role: "replica", state: "running", pending_restart: true }));
    writeFileSync(join(dir, "calls"), "");
    // orders-2 (a replica on the older version) took the roll lock to be replaced: orders-1 waits its turn
    expect(run("orders-1")).toMatch(/restart of orders-1 pending \(Patroni reports pending_restart\): orders-2 is rolling/);
    expect(readFileSync(join(dir, `need-${n}-orders-1`), "utf8")).toMatch(/^restart Patroni reports pending_restart \d+\n$/);
    etcdctl("del", `${prefix}/lock`); // orders-2's replacement is done, it is back without its departure tags
    setCluster("orders-0", "orders-1");
    writeFileSync(join(dir, "patroni-orders-1.json"), JSON.stringify({ role: "replica", state: "running", pending_restart: true }));
    expect(run("orders-1")).toMatch(/restarting PostgreSQL on orders-1 through Patroni \(Patroni reports pending_restart\)/);
    expect(actions()).toContainEqual(ctl("orders-1", "restart orders orders-1 --force"));
    expect(readFileSync(join(dir, "patches"), "utf8").trim().split("\n")).toHaveLength(1);
  });

  test("issue 15: upgradeTo removed from blue: wal_level replica is PATCHed back (another restart of every member)", () => {
    render();
    setCluster("orders-0", "orders-1");
    const running = parseYaml(renderPatroniConfig(distributedNode(0, { upgradeTo: { nodeAddresses: ["10.20.0.21"] } }))).bootstrap.dcs;
    writeFileSync(join(dir, "config.json"), JSON.stringify(running));
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "2" });
    const expected = { postgresql: { parameters: { wal_level: "replica" } } };
    expect(run("orders-2")).toContain(`renders: ${JSON.stringify(expected)}`);
    expect(readFileSync(join(dir, "patches"), "utf8").trim().split("\n").map((l) => JSON.parse(l))).toEqual([expected]);
  });

  test("issue 15: upgradeTo removed while Patroni still keeps the upgrade's logical slot: wal_level stays logical (held, with the reason) until the slot is gone, the rest is applied", () => {
    render();
    setCluster("orders-0", "orders-1");
    const running = parseYaml(renderPatroniConfig(distributedNode(0, { upgradeTo: { nodeAddresses: ["10.20.0.21"] } }))).bootstrap.dcs;
    const slot = { type: "logical", database: "shop", plugin: "pgoutput" };
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...running, loop_wait: 2, slots: { mp_upgrade_0123456789ab: slot, orders_keep: { type: "physical" } } }));
    setVersions("2", { "orders-0": "1", "orders-1": "1", "orders-2": "2" });
    const log = run("orders-2");
    expect(log).toContain(
      "not lowering wal_level logical -> replica (logical slots mp_upgrade_0123456789ab) in Patroni's dynamic configuration: PostgreSQL does not start with a logical slot and wal_level below logical",
    );
    expect(log).not.toMatch(/a decrease must restart the primary/);
    expect(readFileSync(join(dir, "patches"), "utf8").trim().split("\n").map((l) => JSON.parse(l))).toEqual([{ loop_wait: renderedDcs.loop_wait }]);
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).postgresql.parameters.wal_level).toBe("logical");
    expect(events("orders-2").filter((e) => e.mp_dcs_configuration_held === 1).map((e) => JSON.parse(e.event))).toEqual([
      { wal_level: { from: "logical", to: "replica", slots: ["mp_upgrade_0123456789ab"] } },
    ]);
    // the slot removed from Patroni's configuration (the cutover, or the rollback's edit-config): replica goes through
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, slots: { orders_keep: { type: "physical" } } }));
    expect(run("orders-2")).toContain(`renders: ${JSON.stringify({ postgresql: { parameters: { wal_level: "replica" } } })}`);
  });

  test("Patroni's configuration unreadable: one line, nothing changed, the roll goes on", () => {
    render();
    setCluster("orders-0", "orders-1");
    setVersions("1", { "orders-0": "1", "orders-1": "1", "orders-2": "1" });
    rmSync(join(dir, "config.json"));
    expect(run("orders-2")).toMatch(/ maintenance: Patroni's dynamic configuration or .*patroni-\d+-orders-2\.yml unreadable: dynamic configuration left as it is$/m);
    expect(existsSync(join(dir, "patches"))).toBe(false);
  });
});
