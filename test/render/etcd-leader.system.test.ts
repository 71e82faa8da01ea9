/**
 * The `etcd-leader` subcommand of a distributed node's bootstrap script, run for real: a real
 * three-member etcd cluster on loopback (one address per member, plain HTTP), the rendered script
 * with its header's etcd endpoints pointing there, a fake `curl` answering Patroni's
 * `GET /primary` for the node named in $FAKE/primary, and an `etcdctl` wrapper that drops the TLS
 * flags. The etcd leadership must leave the node that is both the Patroni primary and the etcd
 * leader, and stay put in every other case.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderBootstrapScript } from "../../src/render/bootstrap";
import { distributedNode } from "./fixtures";
import { requirePrerequisites } from "../support/prerequisites";
import { setHeader } from "./script-header";

const ADDRESSES = ["127.0.0.11", "127.0.0.12", "127.0.0.13"];
let dir: string;
let port = 0;
const etcds: ChildProcess[] = [];
const names = () => distributedNode(0, {}, ADDRESSES).members.map((m) => m.name);
const url = (i: number, p = port) => `http://${ADDRESSES[i]}:${p}`;

/** The real etcdctl against member `i`. */
function etcdctl(i: number, ...args: string[]): string {
  const r = spawnSync("etcdctl", [`--endpoints=${url(i)}`, "--dial-timeout=2s", "--command-timeout=2s", ...args], { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" }, timeout: 20_000 });
  return ((r.stdout ?? "") + (r.stderr ?? "")).trim();
}
/** Index of the member that is etcd leader, asked of every member. */
function etcdLeader(): number {
  for (let i = 0; i < 3; i++) {
    const status = etcdctl(i, "endpoint", "status");
    if (status.split(", ")[4] === "true") return i;
  }
  return -1;
}
async function waitFor<T>(what: string, f: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
/** Runs `etcd-leader` as node `i`, the Patroni primary being node `primary`; its stderr. */
function runJob(i: number, primary: number): string {
  writeFileSync(join(dir, "primary"), names()[primary]!);
  const script = join(dir, `bootstrap-${i}.sh`);
  writeFileSync(
    script,
    setHeader(renderBootstrapScript(distributedNode(i, {}, ADDRESSES)), {
      ETCD_ENDPOINTS: ADDRESSES.map((_, j) => url(j)).join(","),
    }),
  );
  const r = spawnSync("bash", [script, "etcd-leader"], { encoding: "utf8", timeout: 60_000, env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}`, FAKE: dir, NODE: names()[i]! } });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.anything() });
  return r.stderr;
}

beforeAll(async () => {
  requirePrerequisites({ commands: ["bash", "etcd", "etcdctl"] });
  dir = mkdtempSync(join(tmpdir(), "mp-etcd-leader-"));
  mkdirSync(join(dir, "bin"));
  port = 26000 + Math.floor(Math.random() * 2000);
  const cluster = names().map((n, i) => `${n}=${url(i, port + 1)}`).join(",");
  names().forEach((n, i) => {
    etcds.push(
      spawn(
        "etcd",
        [
          `--name=${n}`,
          `--data-dir=${dir}/etcd-${i}`,
          `--listen-client-urls=${url(i)}`,
          `--advertise-client-urls=${url(i)}`,
          `--listen-peer-urls=${url(i, port + 1)}`,
          `--initial-advertise-peer-urls=${url(i, port + 1)}`,
          `--initial-cluster=${cluster}`,
          "--initial-cluster-token=etcd-leader-test",
        ],
        { stdio: "ignore" },
      ),
    );
  });
  await waitFor("an etcd leader", () => (etcdLeader() >= 0 ? true : undefined), 30_000);
  const bin = (name: string, body: string) => {
    writeFileSync(join(dir, "bin", name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(dir, "bin", name), 0o755);
  };
  // Patroni's health endpoint: 200 (status 0) on /primary only for the node named in $FAKE/primary
  bin("curl", `case "\${@: -1}" in */primary) [ "$NODE" = "$(cat "$FAKE/primary")" ] ;; *) exit 22 ;; esac`);
  bin("etcdctl", `args=()
for a in "$@"; do case "$a" in --cacert=*|--cert=*|--key=*) ;; --endpoints=*) args+=("\${a//https:/http:}") ;; *) args+=("$a") ;; esac; done
exec /usr/bin/etcdctl "\${args[@]}"`);
}, 60_000);

afterAll(() => {
  for (const e of etcds) if (e.pid && e.exitCode === null) process.kill(e.pid);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the primary that is also the etcd leader hands the etcd leadership to another member", async () => {
  const leader = etcdLeader();
  const log = runJob(leader, leader);
  expect(log).toContain(`etcd-leader: the primary ${names()[leader]} was the etcd leader; etcd leadership moved to`);
  const after = await waitFor("the new etcd leader", () => { const l = etcdLeader(); return l >= 0 ? l : undefined; }, 10_000);
  expect(after).not.toBe(leader);
  expect(log).toContain(`moved to ${names()[after]}`);
});

test("nothing moves when the primary is not the etcd leader, or the etcd leader is not the primary", () => {
  const leader = etcdLeader();
  const other = (leader + 1) % 3;
  expect(runJob(other, other)).toBe("");
  expect(runJob(leader, other)).toBe("");
  expect(etcdLeader()).toBe(leader);
});

test("a member whose etcd does not answer is skipped: the leadership goes to the one that answers", async () => {
  const leader = etcdLeader();
  // one member frozen (SIGSTOP): the leader keeps its quorum with the other one
  const others = [0, 1, 2].filter((i) => i !== leader);
  const stopped = etcds[others[0]!]!;
  stopped.kill("SIGSTOP");
  try {
    // the member list still names both; the frozen one fails `endpoint health`
    const log = runJob(leader, leader);
    const after = await waitFor("an etcd leader", () => { const l = etcdLeader(); return l >= 0 ? l : undefined; }, 15_000);
    expect(after).toBe(others[1]);
    expect(log).toContain(`moved to ${names()[others[1]!]}`);
  } finally {
    stopped.kill("SIGCONT");
  }
});
