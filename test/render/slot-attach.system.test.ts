/**
 * How a database node takes its slot's ENI and data volume (`attach_slot` of
 * src/render/scripts/node-bootstrap.sh, run for real in bash against a fake `aws` that models
 * EC2's Describe results, attachments and Auto Scaling's SetInstanceHealth):
 * - exactly one object must match the slot's tag filters: a launch-created root volume or
 *   primary interface carrying the slot tags (two matches), or no match, is refused (issue 10,
 *   defect 1);
 * - an instance being replaced still holds the slot: the new node waits, force-detaches only
 *   from a terminated or long shutting-down holder, and when it still cannot take the slot it
 *   marks itself Unhealthy so Auto Scaling replaces it (issue 10, defect 4).
 * `sleep` is a no-op shell function here (the polls are counted, not timed). Needs bash.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderBootstrapScript } from "../../src/render/bootstrap";
import { distributedNode } from "./fixtures";
import { requirePrerequisites } from "../support/prerequisites";

const SELF = "i-0new0000000000001";
const OLD = "i-0old0000000000001";

let dir: string;
beforeAll(() => requirePrerequisites({ commands: ["bash", "awk", "grep"] }));
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mp-slot-attach-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The fake world: what Describe returns and how the holder behaves. */
interface World {
  /** Objects matching the slot filters (the slot's own one first). @default 1 */
  readonly matches?: number;
  /** Instance holding the slot resource at the start. @default none (available) */
  readonly holder?: string;
  /** EC2 state of the holder (describe-instances). @default "running" */
  readonly holderState?: string;
  /** The holder's attachment clears by itself after this many Describe calls. @default never */
  readonly clearsAfter?: number;
}

/**
 * A fake `aws` (after `--region`/`--endpoint-url`): describe-volumes / describe-network-interfaces
 * answer in the script's `--query` text shape, attach/detach/describe-instances/set-instance-health
 * change or read the state files; every call goes to `state/argv.log`.
 */
function fakeAws(world: World): { bin: string; state: string } {
  const bin = join(dir, "bin");
  const state = join(dir, "state");
  spawnSync("mkdir", ["-p", bin, state]);
  writeFileSync(join(state, "holder"), world.holder ?? "");
  writeFileSync(join(state, "polls"), "0");
  writeFileSync(
    join(bin, "aws"),
    `#!/bin/bash
set -eu
S=${JSON.stringify(state)}
printf '%s\\n' "$*" >>"$S/argv.log"
holder=$(cat "$S/holder")
case "$*" in
  *"ec2 describe-volumes "*|*"ec2 describe-network-interfaces "*)
    polls=$(( $(cat "$S/polls") + 1 )); echo "$polls" >"$S/polls"
    if [ -n "$holder" ] && [ "$holder" != ${JSON.stringify(SELF)} ] && [ "$polls" -gt ${world.clearsAfter ?? 1_000_000} ]; then holder=""; : >"$S/holder"; fi
    if [ -n "$holder" ]; then st=in-use; h=$holder; a=attached; else st=available; h=None; a=None; fi
    case "$*" in
      *describe-volumes*)
        [ ${world.matches ?? 1} -lt 1 ] || printf 'vol-0slot\\t%s\\t%s\\t%s\\n' "$st" "$h" "$a"
        # the instance's root volume, when it carries the slot tags too
        [ ${world.matches ?? 1} -lt 2 ] || printf 'vol-0root\\tin-use\\t%s\\tattached\\n' ${JSON.stringify(SELF)} ;;
      *)
        if [ "$a" = attached ]; then a=eni-attach-0old; fi
        [ ${world.matches ?? 1} -lt 1 ] || printf 'eni-0slot\\t%s\\t%s\\t%s\\t0A:00:00:00:00:01\\n' "$st" "$h" "$a"
        [ ${world.matches ?? 1} -lt 2 ] || printf 'eni-0primary\\tin-use\\t%s\\teni-attach-0prim\\t0A:00:00:00:00:09\\n' ${JSON.stringify(SELF)} ;;
    esac ;;
  *"ec2 describe-instances --instance-ids "*)
    printf '%s\\n' ${JSON.stringify(world.holderState ?? "running")} ;;
  *"ec2 attach-volume --volume-id vol-0slot --instance-id "*|*"ec2 attach-network-interface --network-interface-id eni-0slot --instance-id "*)
    if [ -n "$holder" ]; then echo "An error occurred (VolumeInUse) when calling the AttachVolume operation: in use by $holder" >&2; exit 254; fi
    printf '%s' ${JSON.stringify(SELF)} >"$S/holder" ;;
  *"ec2 detach-volume --volume-id vol-0slot --instance-id "*" --force"*|*"ec2 detach-network-interface --attachment-id eni-attach-0old --force"*)
    : >"$S/holder" ;;
  *"autoscaling set-instance-health --instance-id "${JSON.stringify(SELF)}" --health-status Unhealthy --no-should-respect-grace-period"*)
    touch "$S/unhealthy" ;;
  *) echo "fake aws: unexpected $*" >&2; exit 255 ;;
esac
`,
    { mode: 0o755 },
  );
  return { bin, state };
}

/** Sources the node script (without `main "$@"`) and runs `attach_slot KIND` with the fake aws. */
function attach(kind: "volume" | "eni", world: World) {
  const { bin, state } = fakeAws(world);
  const script = renderBootstrapScript(distributedNode(0, {}, ["10.0.1.10", "10.0.2.10", "10.0.3.10"]));
  const lines = script.trimEnd().split("\n");
  expect(lines[lines.length - 1]).toBe('main "$@"');
  writeFileSync(join(dir, "lib.sh"), lines.slice(0, -1).join("\n") + "\n");
  const driver = `source ${JSON.stringify(join(dir, "lib.sh"))}
sleep() { :; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
INSTANCE_ID=${SELF}
attach_slot ${kind}
echo "SLOT_ID=$SLOT_ID SLOT_MAC=$SLOT_MAC"
`;
  const r = spawnSync("bash", ["-c", driver], { encoding: "utf8", timeout: 60_000, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  const log = existsSync(join(state, "argv.log")) ? readFileSync(join(state, "argv.log"), "utf8") : "";
  const count = (re: RegExp) => log.split("\n").filter((l) => re.test(l)).length;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, log, count, unhealthy: existsSync(join(state, "unhealthy")) };
}

describe("exactly one object must match the slot's filters (defect 1)", () => {
  test("the describe calls filter on the cluster, the slot and the slot-resource tag", () => {
    const v = attach("volume", {});
    expect(v.status).toBe(0);
    expect(v.log).toContain(
      "ec2 describe-volumes --filters Name=tag:managed-postgres:cluster,Values=orders Name=tag:managed-postgres:slot,Values=0 Name=tag:managed-postgres:slot-resource,Values=data-volume ",
    );
    const e = attach("eni", {});
    expect(e.status).toBe(0);
    expect(e.stdout).toContain("SLOT_ID=eni-0slot SLOT_MAC=0a:00:00:00:00:01");
    expect(e.log).toContain("Name=tag:managed-postgres:slot-resource,Values=network-interface ");
  });

  test.each([["volume" as const], ["eni" as const]])("two matching %s objects (the launch-created one tagged too): refused, nothing attached", (kind) => {
    const r = attach(kind, { matches: 2 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`ERROR: 2 objects match the slot ${kind} filters .*expected exactly 1`));
    expect(r.count(/ attach-/)).toBe(0);
    expect(r.stdout).not.toContain("SLOT_ID=");
  });

  test("no matching volume: refused", () => {
    const r = attach("volume", { matches: 0 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("ERROR: 0 objects match the slot volume filters");
  });
});

describe("an instance being replaced still holds the slot (defect 4)", () => {
  test("the old instance releases the volume after 5 polls: the node waits, then attaches it without forcing", () => {
    const r = attach("volume", { holder: OLD, holderState: "shutting-down", clearsAfter: 5 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("SLOT_ID=vol-0slot");
    expect(r.stderr).toContain(`slot volume vol-0slot is in-use, held by ${OLD} (shutting-down): waiting`);
    expect(r.count(/detach-volume/)).toBe(0);
    expect(r.count(/attach-volume/)).toBe(1);
    expect(r.unhealthy).toBe(false);
  });

  test("a holder that is shutting down and never lets go is force-detached after 12 polls, then the volume is attached", () => {
    const r = attach("volume", { holder: OLD, holderState: "shutting-down" });
    expect(r.status).toBe(0);
    expect(r.count(/ec2 describe-volumes/)).toBe(13 + 2);
    expect(r.count(new RegExp(`detach-volume --volume-id vol-0slot --instance-id ${OLD} --force`))).toBe(1);
    expect(r.unhealthy).toBe(false);
  });

  test("a terminated holder's stale ENI attachment is force-detached at once", () => {
    const r = attach("eni", { holder: OLD, holderState: "terminated" });
    expect(r.status).toBe(0);
    expect(r.count(/detach-network-interface --attachment-id eni-attach-0old --force/)).toBe(1);
    expect(r.count(/ec2 describe-network-interfaces/)).toBe(3);
    expect(r.stdout).toContain("SLOT_ID=eni-0slot");
  });

  test("a running holder that never lets go: never forced; after 60 polls the node marks itself Unhealthy and exits non-zero", () => {
    const r = attach("volume", { holder: OLD, holderState: "running" });
    expect(r.status).not.toBe(0);
    expect(r.count(/ec2 describe-volumes/)).toBe(60);
    expect(r.count(/detach-volume/)).toBe(0);
    expect(r.unhealthy).toBe(true);
    expect(r.stderr).toContain("marking instance i-0new0000000000001 unhealthy so that Auto Scaling replaces it");
    expect(r.stderr).toContain("ERROR: the slot volume of orders-0 could not be attached in 600 s");
    expect(r.stdout).not.toContain("SLOT_ID=");
  });
});
