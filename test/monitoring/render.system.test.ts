import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  MONITORING_PATHS,
  renderBackupStatusScript,
  renderMonitoringFiles,
  } from "../../src/render/monitoring";
import { distributedNode, spec } from "../render/fixtures";
import { requirePrerequisites } from "../support/prerequisites";

describe("rendered monitoring files", () => {
  const files = renderMonitoringFiles(distributedNode(0));

  test("the units pass systemd-analyze verify", () => {
    requirePrerequisites({ commands: ["systemd-analyze"] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h6-units-"));
    try {
      for (const f of files.filter((x) => /\.(service|timer)$/.test(x.path))) fs.writeFileSync(path.join(dir, path.basename(f.path)), f.content);
      const units = ["managed-postgres-backup-status.timer", "managed-postgres-backup-status.service", "managed-postgres-cloudwatch-agent.service"];
      const r = spawnSync("systemd-analyze", ["verify", "--man=no", ...units.map((u) => path.join(dir, u))], { encoding: "utf8" });
      // Only the programs absent on this machine (the job script, the agent) may be reported.
      const problems = (r.stderr ?? "").split("\n").filter((l) => l.trim() !== "" && !/Command \/(usr\/local\/sbin|opt\/aws)\/\S+ is not executable/.test(l));
      expect(problems).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("backup status script", () => {
  const script = renderBackupStatusScript(spec());
  // Never skipped: a machine without these tools fails here (test/support/prerequisites.ts).
  beforeAll(() => requirePrerequisites({ commands: ["bash", "shellcheck", "jq"] }));

  test("is shellcheck-clean", () => {
    const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  test("writes the newest full backup's stop time from pgbackrest info, atomically", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h6-bstatus-"));
    try {
      const info = [{ name: "orders", backup: [
        { type: "full", timestamp: { start: 1700000000, stop: 1700000100 } },
        { type: "diff", timestamp: { start: 1700050000, stop: 1700050100 } },
        { type: "full", timestamp: { start: 1700086400, stop: 1700086500 } },
      ] }];
      // The fake answers only for the cluster's stanza, as the header passes it.
      fs.writeFileSync(path.join(dir, "pgbackrest"), `#!/bin/sh\n[ "$1" = --stanza=orders ] || exit 3\ncat <<'EOF'\n${JSON.stringify(info)}\nEOF\n`, { mode: 0o755 });
      const out = path.join(dir, "last.epoch");
      const body = script.split(MONITORING_PATHS.backupStatusFile).join(out);
      const r = spawnSync("bash", ["-c", body], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" });
      expect(r.status).toBe(0);
      expect(fs.readFileSync(out, "utf8")).toBe("1700086500\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("leaves the file alone when the repository has no full backup yet", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h6-bstatus-"));
    try {
      fs.writeFileSync(path.join(dir, "pgbackrest"), `#!/bin/sh\necho '[{"name":"orders","backup":[]}]'\n`, { mode: 0o755 });
      const out = path.join(dir, "last.epoch");
      const r = spawnSync("bash", ["-c", script.split(MONITORING_PATHS.backupStatusFile).join(out)], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" });
      expect(r.status).toBe(0);
      expect(fs.existsSync(out)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
