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
import { renderUpgradeScript } from "../../src/render/upgrade";
import { DEFAULT_MONITORING_THRESHOLDS, clusterAlarms } from "../../src/monitoring";
import { UPGRADE_ALARM_KEYS, UPGRADE_FROM } from "./helpers";

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

describe("the alarms of a green cluster (upgradeFrom)", () => {
  test("read exactly the namespace, metric names, dimension and value the rendered upgrade script of green's node publishes", () => {
    requirePrerequisites({ commands: ["bash", "jq"] });
    const alarms = clusterAlarms(spec({ name: "orders-v17", majorVersion: 17, upgradeFrom: UPGRADE_FROM }), DEFAULT_MONITORING_THRESHOLDS);
    const byKey = Object.fromEntries(alarms.map((a) => [a.key, a]));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-upgrade-alarms-"));
    try {
      const node = distributedNode(0, { name: "orders-v17", majorVersion: 17, upgradeFrom: UPGRADE_FROM });
      const from = { cluster: "orders", majorVersion: 15, secretArn: UPGRADE_FROM.secretArn, addresses: UPGRADE_FROM.nodeAddresses, cutover: false };
      const text = renderUpgradeScript(node, from, { eventsLog: path.join(dir, "events.log") });
      const definitions = text.slice(0, text.lastIndexOf('main "$@"'));
      const upgradeDefs = UPGRADE_ALARM_KEYS.map((k) => byKey[k]);
      const calls = upgradeDefs.map((a) => `emit_metric ${a.metricName} 7 "test"`).join("\n");
      const r = spawnSync("bash", ["-c", `${definitions}\n${calls}`], { encoding: "utf8", timeout: 20_000 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const lines = fs.readFileSync(path.join(dir, "events.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(lines).toHaveLength(upgradeDefs.length);
      upgradeDefs.forEach((a, i) => {
        const line = lines[i];
        const directive = line._aws.CloudWatchMetrics[0];
        expect(directive.Namespace).toBe(a.namespace);
        expect(directive.Metrics).toEqual([{ Name: a.metricName }]);
        // the alarm's dimension set is one the line publishes, with the values the alarm names
        expect(directive.Dimensions).toContainEqual(Object.keys(a.dimensions));
        for (const [k, v] of Object.entries(a.dimensions)) expect(line[k]).toBe(v);
        expect(line[a.metricName]).toBe(7);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

});
