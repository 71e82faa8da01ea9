/**
 * The twin's loop-device cleanup (test/twin/machine/host.ts): loops found by their backing
 * file's path, also after the file was deleted, and only those. Root and `losetup`; no machine boots.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requirePrerequisites } from "../../support/prerequisites";
import { detachLoopsOf, loopsOf } from "./host";

let dir: string;
const attached: string[] = [];

function attach(file: string): string {
  const r = spawnSync("losetup", ["--find", "--show", file], { encoding: "utf8" });
  expect(r.status).toBe(0);
  const loop = r.stdout.trim();
  attached.push(loop);
  return loop;
}

beforeAll(() => {
  requirePrerequisites({ root: true, commands: ["losetup"] });
  dir = mkdtempSync("/var/tmp/twin-loops-test-");
});

afterAll(() => {
  for (const loop of attached) spawnSync("losetup", ["-d", loop]);
  rmSync(dir, { recursive: true, force: true });
});

test("detachLoopsOf detaches the loops of a deleted volume file and leaves another file's loop attached", () => {
  const [a, b] = ["vol-a.img", "vol-b.img"].map((n) => join(dir, n));
  for (const f of [a, b]) writeFileSync(f, Buffer.alloc(1024 * 1024));
  const [loopA1, loopA2, loopB] = [attach(a!), attach(a!), attach(b!)];
  rmSync(a!); // as a run that removed its work directory before detaching
  expect(loopsOf(a!).sort()).toEqual([loopA1, loopA2].sort());
  expect(loopsOf(b!)).toEqual([loopB]);

  expect(detachLoopsOf(a!).sort()).toEqual([loopA1, loopA2].sort());
  expect(loopsOf(a!)).toEqual([]);
  expect(spawnSync("losetup", ["-a"], { encoding: "utf8" }).stdout).not.toContain(`${a} `);
  expect(loopsOf(b!)).toEqual([loopB]);
  expect(detachLoopsOf(join(dir, "vol"))).toEqual([]); // a prefix of a path is no match
  expect(loopsOf(b!)).toEqual([loopB]);
});
