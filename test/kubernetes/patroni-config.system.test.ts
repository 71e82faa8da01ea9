/**
 * The Patroni configuration the database pods run: the synthesized ConfigMap's patroni.yml
 * with the synthesized container environment (downward-API values filled in as the kubelet
 * would, Secret references replaced by test values), checked by the real
 * `patroni --validate-config` (Patroni 3.0.2; a missing tool fails the test).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requirePrerequisites } from "../support/prerequisites";
import { distributed, kubernetesPatroniYaml as patroniYaml, kubernetesPodEnvironment, standalone, type Synthesized } from "./fixtures";

const podEnvironment = (s: Synthesized) => kubernetesPodEnvironment(s, "10.10.0.12");

function validate(yamlText: string, env: Record<string, string>): { status: number | null; output: string } {
  requirePrerequisites({ commands: ["patroni"] });
  const dir = mkdtempSync(join(tmpdir(), "k8s-patroni-"));
  const file = join(dir, "patroni.yml");
  writeFileSync(file, yamlText);
  const r = spawnSync("patroni", ["--validate-config", file], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    timeout: 60_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test("distributed: patroni --validate-config accepts the ConfigMap's patroni.yml with the pod's environment", () => {
  const s = distributed();
  expect(validate(patroniYaml(s), podEnvironment(s))).toEqual({ status: 0, output: "" });
});

test("standalone: patroni --validate-config accepts it too", () => {
  const s = standalone();
  expect(validate(patroniYaml(s), podEnvironment(s))).toEqual({ status: 0, output: "" });
});

test("without the pod's address environment the file is refused (no placeholder address is advertised)", () => {
  const s = distributed();
  const env = podEnvironment(s);
  delete env.PATRONI_POSTGRESQL_CONNECT_ADDRESS;
  const r = validate(patroniYaml(s), env);
  expect([r.status, r.output]).toEqual([1, expect.stringContaining("postgresql.connect_address")]);
});
