/**
 * systemd units: `systemd-analyze verify` (systemd 252) accepts every unit without a
 * warning, calendars parse with `systemd-analyze calendar`, and each deployment model gets
 * the right services. A missing systemd-analyze fails the test.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import {
  fullBackupCalendar,
  PATHS,
  renderPoolerSystemdUnits,
  renderSystemdUnits,
  UPGRADE_REDIRECT_SCRIPT,
  utcCalendar,
  } from "../../src/render";
import { distributedNode, pooler, standaloneNode} from "./fixtures";

/** A blue cluster's upgradeTo naming green's endpoint: its PgBouncer hosts get the redirect agent's unit. */
const REDIRECT = { nodeAddresses: ["10.0.1.20"], readWriteEndpoint: "10.0.1.20", readWritePort: 6432 };
import { requirePrerequisites } from "../support/prerequisites";

function run(cmd: string, args: string[], cwd?: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

function requireTool(tool: string): void {
  requirePrerequisites({ commands: [tool] });
}

describe("systemd-analyze verify", () => {
  let dir: string;
  beforeAll(() => requireTool("systemd-analyze"));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "mp-systemd-test-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ["distributed node", () => renderSystemdUnits(distributedNode(0))],
    ["standalone node", () => renderSystemdUnits(standaloneNode())],
    ["pooler instance", () => renderPoolerSystemdUnits(pooler())],
    ["pooler instance of a blue whose endpoints follow green (upgradeTo.readWriteEndpoint)", () => renderPoolerSystemdUnits(pooler({ upgradeTo: REDIRECT }))],
    ["standalone blue node whose endpoint follows green", () => renderSystemdUnits(standaloneNode({ upgradeTo: REDIRECT }))],
  ])("every unit of a %s verifies without a warning", (_name, render) => {
    const files = render();
    // The bootstrap script exists only on a node (cloud-init writes it): point the units at an
    // executable stand-in in the temporary directory; everything else is verified as rendered.
    const script = join(dir, "managed-postgres-bootstrap");
    writeFileSync(script, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    // so does the upgrade's redirect agent (rendered only with upgradeTo.readWriteEndpoint)
    const agent = join(dir, "managed-postgres-upgrade-redirect");
    writeFileSync(agent, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    for (const f of files) writeFileSync(join(dir, basename(f.path)), f.content.split(PATHS.bootstrapScript).join(script).split(UPGRADE_REDIRECT_SCRIPT).join(agent));
    const r = run("systemd-analyze", ["verify", "--man=no", ...files.map((f) => `./${basename(f.path)}`)], dir);
    expect((r.stdout + r.stderr).trim()).toBe("");
    expect(r.status).toBe(0);
  });

  test("verify does report an invalid directive (the check above can fail)", () => {
    writeFileSync(join(dir, "bad.service"), "[Service]\nExecStart=/bin/true\nProtectSystem=sometimes\n");
    const r = run("systemd-analyze", ["verify", "--man=no", "./bad.service"], dir);
    expect(r.stderr).toContain("Failed to parse protect system value");
  });

  test.each([
    ["01:00", fullBackupCalendar("01:00")],
    ["23:45", fullBackupCalendar("23:45")],
    ["Sun *-*-* 03:00:00", utcCalendar("Sun *-*-* 03:00:00")],
    ["daily", utcCalendar("daily")],
  ])("the calendar of %s parses and is in UTC", (_in, calendar) => {
    const r = run("systemd-analyze", ["calendar", calendar]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Normalized form: .* UTC/);
  });
});
