/**
 * The upgrade script's renderer (src/render/upgrade.ts), pure: its header, its refusals, its
 * systemd units. The script runs for real in upgrade.system.test.ts; shellcheck of the file in
 * scripts.system.test.ts.
 */
import { spawnSync } from "node:child_process";
import { standaloneNode, distributedNode, TOKEN_ADDRESSES } from "./fixtures";
import { cutoverFlag, renderUpgradeScript, renderUpgradeUnits, UPGRADE_MANAGED_ROLES, UPGRADE_SCRIPT, type UpgradeSource } from "../../src/render";
import { DB_ROLES, readScript, scriptBody, UPGRADE_DCS_KEY, UPGRADE_POOLER_AUTH_ROLE } from "../../src/render";
import { METRICS } from "../../src/monitoring";

const FROM: UpgradeSource = {
  cluster: "orders-blue",
  majorVersion: 15,
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-blue-abc",
  addresses: ["10.0.1.10", "10.0.2.10", "10.0.3.10"],
  cutover: false,
};

/** The value bash sees for NAME in the header of `text` (the text before the script's body). */
function headerValue(text: string, name: string): string {
  const header = text.slice(0, text.indexOf(scriptBody("node-upgrade.sh")));
  const r = spawnSync("bash", ["-c", `${header}\nprintf '%s' "$${name}"`], { encoding: "utf8" });
  expect(r.status).toBe(0);
  return r.stdout;
}

describe("renderUpgradeScript", () => {
  const green = distributedNode(1, { name: "orders", majorVersion: 17 });

  test("the header carries blue's cluster, major, secret, addresses and the cutover switch", () => {
    const text = renderUpgradeScript(green, FROM);
    expect(headerValue(text, "UPGRADE_FROM_CLUSTER")).toBe("orders-blue");
    expect(headerValue(text, "UPGRADE_FROM_MAJOR")).toBe("15");
    expect(headerValue(text, "UPGRADE_FROM_SECRET")).toBe(FROM.secretArn);
    expect(headerValue(text, "UPGRADE_FROM_ADDRESSES")).toBe("10.0.1.10 10.0.2.10 10.0.3.10");
    expect(headerValue(text, "UPGRADE_CUTOVER")).toBe("0");
    expect(headerValue(renderUpgradeScript(green, { ...FROM, cutover: true }), "UPGRADE_CUTOVER")).toBe("1");
    expect(headerValue(text, "PG_BIN")).toBe("/usr/lib/postgresql/17/bin");
    expect(headerValue(text, "SELF_NAME")).toBe("orders-1");
    expect(headerValue(text, "PATRONI_URL")).toBe(`https://${green.self.address}:8008`);
    expect(text.startsWith("#!/bin/bash\n")).toBe(true);
    expect(text.endsWith('\nmain "$@"\n')).toBe(true);
  });

  test("the roles the cluster manages itself are never copied from blue: its DB_ROLES and the role blue's PgBouncers use at green after the cutover", () => {
    const managed = [...Object.values(DB_ROLES), UPGRADE_POOLER_AUTH_ROLE].sort();
    expect([...UPGRADE_MANAGED_ROLES].sort()).toEqual(managed);
    expect(headerValue(renderUpgradeScript(green, FROM), "MANAGED_ROLES").split(" ").sort()).toEqual(managed);
  });

  test("the cutover's signal to blue's PgBouncer hosts: the key of blue's configuration, the roles and the bound of the pause, as the agent reads them", () => {
    const text = renderUpgradeScript(green, FROM);
    expect(headerValue(text, "DCS_KEY")).toBe(UPGRADE_DCS_KEY);
    expect(headerValue(text, "POOLER_AUTH_ROLE")).toBe(UPGRADE_POOLER_AUTH_ROLE);
    expect(headerValue(text, "PGBOUNCER_AUTH_ROLE")).toBe(DB_ROLES.pgbouncerAuth);
    expect(headerValue(text, "POOLER_PAUSE_TIMEOUT")).toBe("5");
    // the pause comes before blue is read-only; the redirect as soon as green has blue's sequences
    // and roles (clients wait from the pause to the redirect); the subscriptions and blue's slots
    // go after it (finish_cutover, defined after cutover); an abandoned cutover clears the key
    const body = text.slice(text.indexOf("\ncutover() {"));
    const order = [
      "if ! wait_close_behind; then",
      "step pause-poolers blue_poolers pause",
      "step poolers-paused wait_poolers_paused",
      "step read-only blue_read_only on",
      "step sequences copy_sequences",
      "step roles copy_roles",
      'step redirect-poolers blue_poolers redirect "$t_ro"',
      "finish_cutover() {",
      "step drop-subscriptions drop_subscriptions",
      "step drop-blue-slots drop_blue_slots",
      "COMMENT ON DATABASE postgres IS '$DONE_MARK",
    ];
    const at = order.map((s) => body.indexOf(s));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(body.indexOf("step resume-poolers blue_poolers clear")).toBeGreaterThan(body.indexOf("step writable-again blue_read_only null"));
     // a run after the redirect only finishes the cutover: checked before the preflight and the follow
    const main = text.slice(text.indexOf("\nmain() {"));
    expect(main.indexOf('if [ "$command" = run ]; then redirected; fi')).toBeGreaterThan(0);
    expect(main.indexOf('finish_cutover "$REDIRECTED_RO_MS"')).toBeGreaterThan(0);
    expect(main.indexOf('finish_cutover "$REDIRECTED_RO_MS"')).toBeLessThan(main.indexOf("step preflight preflight"));
  });

  test("a token ARN and token addresses pass through verbatim (Terraform replaces them)", () => {
    const text = renderUpgradeScript(green, { ...FROM, secretArn: "${TfToken[TOKEN.99]}", addresses: TOKEN_ADDRESSES });
    expect(text).toContain("readonly UPGRADE_FROM_SECRET='${TfToken[TOKEN.99]}'");
    expect(text).toContain(`readonly UPGRADE_FROM_ADDRESSES='${TOKEN_ADDRESSES.join(" ")}'`);
  });

  test.each([
    ["the same major", { majorVersion: 17 }, /not below green's 17/],
    ["a downgrade", { majorVersion: 18 }, /not below green's 17/],
    ["no address", { addresses: [] }, /has no address/],
  ])("refuses %s", (_what, change, message) => {
    expect(() => renderUpgradeScript(green, { ...FROM, ...change })).toThrow(message);
  });

  test("UPGRADE_CUTOVER is 1 only for true or a number the construct made (Terraform's `cutover ? 1 : 0`): a boolean token left as it is writes 0, never a cutover nobody asked for", () => {
    expect(cutoverFlag(true)).toBe(1);
    expect(cutoverFlag(false)).toBe(0);
    expect(cutoverFlag(-1.8881545897087626e289)).toBe(-1.8881545897087626e289);
    expect(cutoverFlag({ resolve: () => true })).toBe(0);
    expect(cutoverFlag("${TfToken[TOKEN.7]}")).toBe(0);
    expect(headerValue(renderUpgradeScript(green, { ...FROM, cutover: { resolve: () => true } as unknown as boolean }), "UPGRADE_CUTOVER")).toBe("0");
  });

  test("the standalone node renders too (the script acts on green's primary only)", () => {
    expect(renderUpgradeScript(standaloneNode({ majorVersion: 17 }), FROM)).toContain("readonly SLOT='0'");
  });
});

describe("renderUpgradeUnits", () => {
  test("a oneshot service running the script and its timer", () => {
    const [service, timer] = renderUpgradeUnits("orders");
    expect(service!.path).toBe("/etc/systemd/system/managed-postgres-upgrade.service");
    expect(service!.content).toContain("Type=oneshot\n");
    expect(service!.content).toContain(`ExecStart=${UPGRADE_SCRIPT} run\n`);
    expect(timer!.path).toBe("/etc/systemd/system/managed-postgres-upgrade.timer");
    expect(timer!.content).toContain("OnUnitInactiveSec=60s\n");
    expect(timer!.content).toContain("WantedBy=timers.target\n");
  });
});

describe("the upgrade script's metrics", () => {
  test("are the upgrade entries of the METRICS catalog, no more, no fewer", () => {
    const emitted = [...readScript("node-upgrade.sh").matchAll(/emit_metric (mp_[a-z_]+) /g)].map((m) => m[1]).sort();
    const catalog = Object.values(METRICS).filter((m) => m.startsWith("mp_upgrade_")).sort();
    expect([...new Set(emitted)]).toEqual(catalog);
    expect(catalog).toHaveLength(6);
  });
});

/**
 * The script's follow_database with blue stubbed (bash functions replacing blue_rest,
 * blue_sql_at, green_sql, log, sleep): `CLUSTER_JSON` is blue's `GET /cluster`; host H holds the
 * slot from its `SLOT_AT_H`-th query on (unset: never; 0: the REST call fails). Prints, per
 * CREATE SUBSCRIPTION, the queries each standby had answered by then; exit status and stderr.
 */
function followWithStandbys(cluster: unknown, slotAt: Record<string, number | undefined>, clusterFails = false) {
  const text = renderUpgradeScript(distributedNode(0, { name: "orders", majorVersion: 17 }), FROM, { slotTimeoutSeconds: 2 });
  const body = text.slice(0, text.lastIndexOf('main "$@"'));
  const env = Object.fromEntries(Object.entries(slotAt).flatMap(([h, n]) => (n === undefined ? [] : [[`SLOT_AT_${h.replace(/\./g, "_")}`, String(n)]])));
  const stubs = String.raw`
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
BLUE_HOST=10.0.1.10
log() { printf '%s\n' "$*" >&2; }
sleep() { :; }
blue_rest() {
  if [ "$CLUSTER_FAILS" = 1 ]; then return 22; fi
  [ "$2" = /cluster ] && printf '%s' "$CLUSTER_JSON"
}
blue_sql_at() {
  local n v
  n=$(cat "$T/q-$1" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" >"$T/q-$1"
  v=SLOT_AT_$(printf '%s' "$1" | tr . _)
  if [ -n "$${"{"}!v:-}" ] && [ "$n" -ge "$${"{"}!v}" ]; then echo 1; else echo 0; fi
}
green_sql() {
  case "$2" in
    *subconninfo*) ;;
    "CREATE SUBSCRIPTION"*) echo "create: $(cd "$T" && grep -H . q-* | tr '\n' ' ')" >>"$T/creates" ;;
  esac
}
follow_database app
cat "$T/creates"
`;
  return spawnSync("bash", ["-c", body + stubs], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, CLUSTER_JSON: JSON.stringify(cluster), CLUSTER_FAILS: clusterFails ? "1" : "0", ...env },
  });
}

describe("the upgrade script subscribes to a slot of blue only once every standby of blue holds it", () => {
  // Patroni copies a permanent logical slot to the replicas only after the primary published its
  // position (its next HA loop): a failover before then promotes a member without the slot and
  // Patroni creates it anew, after the changes a subscription on it would still need (found on the
  // EC2 twin: twin-upgrade's crash of blue's primary right after green subscribed)
  const member = (host: string, role: string, state: string, tags?: object) => ({ name: `orders-${host.slice(-5, -3)}`, host, role, state, ...(tags ? { tags } : {}) });
  const CLUSTER = {
    members: [
      member("10.0.1.10", "leader", "running"),
      member("10.0.2.10", "sync_standby", "running"),
      member("10.0.3.10", "replica", "streaming"),
      member("10.0.4.10", "replica", "running", { nofailover: true }),
      member("10.0.5.10", "replica", "starting"),
    ],
  };

  test("waits for the synchronous standby and the replica (running or streaming), not for a nofailover or stopped member, nor the primary", () => {
    const r = followWithStandbys(CLUSTER, { "10.0.2.10": 3, "10.0.3.10": 1 });
    expect(r.stderr).toMatch(/subscription: mp_upgrade_\w+ created in app/);
    expect(r.status).toBe(0);
    // one CREATE, after the 3rd query of the synchronous standby (the first that found the slot)
    expect(r.stdout.trim().split("\n")).toEqual(["create: q-10.0.2.10:3 q-10.0.3.10:3"]);
  });

  test("a standby that does not get the slot within SLOT_TIMEOUT: the run fails naming it, no subscription", () => {
    const r = followWithStandbys(CLUSTER, { "10.0.2.10": 1 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/ERROR: blue's standby\(s\) 10\.0\.3\.10 do not hold slot mp_upgrade_\w+ 2 s after/);
  });

  test("blue's GET /cluster failing: no subscription", () => {
    const r = followWithStandbys(CLUSTER, { "10.0.2.10": 1, "10.0.3.10": 1 }, true);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/blue's GET \/cluster failed/);
  });
});

/**
 * The script's functions up to main (CATCHUP_TIMEOUT 1 s), with blue stubbed: two databases,
 * every query answering `$BLUE_SQL_ANSWER` (2: both slots close behind); the REST API's GET answers `$T/cfg` (or,
 * without it, the last PATCH body), PATCH appends its body to `$T/patches`; blue_read_only,
 * wait_poolers_paused, drain_blue, emit_metric and sleep record or do nothing. `steps` runs after
 * them in a subshell (a `die` ends it); what it prints, then `$T/calls` and `$T/patches`, go to
 * stdout; the exit status is the subshell's.
 */
function withBlueStubbed(steps: string, cfg?: string) {
  const text = renderUpgradeScript(distributedNode(0, { name: "orders", majorVersion: 17 }), { ...FROM, cutover: true }, { catchupTimeoutSeconds: 1 });
  const body = text.slice(0, text.lastIndexOf('main "$@"'));
  const stubs = String.raw`
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
blue_databases() { printf 'app\nshop\n'; }
blue_sql() { echo "$BLUE_SQL_ANSWER"; }
if [ -n "$CFG" ]; then printf '%s' "$CFG" >"$T/cfg"; fi
log() { printf '%s\n' "$*" >&2; }
sleep() { :; }
emit_metric() { :; }
blue_rest() {
  if [ "$1" = GET ]; then if [ -f "$T/cfg" ]; then cat "$T/cfg"; else tail -n 1 "$T/patches"; fi; return; fi
  printf '%s\n' "$3" >>"$T/patches"
}
blue_read_only() { echo "read-only $1" >>"$T/calls"; }
wait_poolers_paused() { :; }
drain_blue() { :; }
`;
  return spawnSync("bash", ["-c", `${body}${stubs}\nrc=0\n(\n${steps}\n) || rc=$?\necho "--- calls"; cat "$T/calls" 2>/dev/null || true; echo "--- patches"; cat "$T/patches" 2>/dev/null || true; exit $rc`], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, CFG: cfg ?? "", BLUE_SQL_ANSWER: "2" },
  });
}

describe("the cutover's point of no return: blue's PgBouncers redirected to green", () => {
  const key = (v: unknown) => JSON.stringify({ loop_wait: 10, [UPGRADE_DCS_KEY]: v });
  const redirect = (extra: object = {}) => key({ state: "redirect", green: "orders", since_ms: 7, ca_pem: "-", read_only_ms: 1700000000123, ...extra });

  test.each([
    ["redirected to this green", redirect(), "1700000000123"],
    ["redirected by an older script (no read_only_ms)", redirect({ read_only_ms: undefined }), "0"],
    ["redirected to another green", redirect({ green: "orders-other" }), ""],
    ["paused", key({ state: "pause", green: "orders", since_ms: 7 }), ""],
    ["no key", JSON.stringify({ loop_wait: 10 }), ""],
    ["a key that is not an object", key("redirect"), ""],
  ])("a run finds blue %s: REDIRECTED_RO_MS=%p", (_what, cfg, ro) => {
    const r = withBlueStubbed('redirected; echo "ro=$REDIRECTED_RO_MS"', cfg);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(`ro=${ro}`);
  });

  test.each([["1+x[$(touch $T/pwned)]"], ["1; DROP TABLE x"], [-5], [1.5]])("a read_only_ms of %p ends the run before it reaches arithmetic or SQL", (hostile) => {
    const r = withBlueStubbed('redirected; echo "ro=$REDIRECTED_RO_MS"; ls "$T"', redirect({ read_only_ms: hostile }));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERROR: blue's configuration: managed_postgres_upgrade\.read_only_ms is not a number of milliseconds/);
    expect(r.stdout).not.toContain("pwned");
  });

  test("blue's configuration not readable: the run fails (it cannot tell whether the clients are on green)", () => {
    const r = withBlueStubbed("blue_rest() { return 22; }; redirected; echo reached");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERROR: GET \/config of blue failed/);
    expect(r.stdout).not.toContain("reached");
  });

  // a green failover mid-cutover: the new primary's run paused (or redirected) again while this
  // one waited for the catch-up; this one must not make blue writable
  const abandon = 'wait_applied() { return 1; }; cutover; echo "not reached"';
  test("a catch-up that times out under this run's own pause: blue writable again, the pause cleared", () => {
    const r = withBlueStubbed(abandon);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cutover abandoned: blue is writable again/);
    const [calls, patches] = r.stdout.split("--- patches\n");
    expect(calls).toContain("read-only on\nread-only null\n");
    expect(
      patches!
        .trim()
        .split("\n")
        .map((l) => Object.keys(JSON.parse(l)[UPGRADE_DCS_KEY] ?? { cleared: 1 })),
    ).toEqual([["state", "green", "since_ms"], ["cleared"]]);
  });

  test("green too far behind before the pause: the run ends, blue untouched (no PATCH, not read-only)", () => {
    const r = withBlueStubbed('BLUE_SQL_ANSWER=1; cutover; echo "not reached"');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERROR: cutover postponed: green is more than 262144 bytes behind blue after 1 s; blue untouched/);
    expect(r.stdout).toBe("--- calls\n--- patches\n");
  });

  test.each([
    ["redirected", redirect()],
    ["paused by another run", key({ state: "pause", green: "orders", since_ms: 1 })],
  ])("a catch-up that times out after another run %s: blue stays read-only, the key stays", (_what, cfg) => {
    const r = withBlueStubbed(abandon, cfg);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/blue's configuration no longer holds this run's pause \(another run of green took over\): blue left as it is/);
    expect(r.stdout).toContain("--- calls\nread-only on\n--- patches\n");
    expect(r.stdout.split("--- patches\n")[1]!.trim().split("\n")).toHaveLength(1);
  });
});
