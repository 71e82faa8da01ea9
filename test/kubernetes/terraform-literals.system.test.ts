/**
 * ConfigMap text reaches the pods unchanged: Terraform reads `${…}` and `%{…}` in every string as
 * template sequences, so the construct escapes them (a shell script's `${VAR:-}`), except the cdktf
 * references. Checked with the real `terraform console` (Terraform evaluates the escaped strings back
 * to the rendered files).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveClusterSpec } from "../../src/cluster-spec";
import { terraformLiterals } from "../../constructs/kubernetes";
import { renderDatabaseConfigMapData, renderPoolerConfigMapData } from "../../src/render/kubernetes";

const placement = { namespace: "orders-db", clusterDomain: "cluster.local", podNetworkCidrs: ["10.0.0.0/16"], databaseLabels: { "app.kubernetes.io/instance": "orders" } };
const runtime = { region: "eu-west-1", backupBucket: "orders-backups-123", kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1", secretArn: "" };

/** What Terraform makes of the strings of `data` (a map in a JSON configuration's locals). */
function terraformEvaluates(data: Record<string, string>): Record<string, string> {
  const which = spawnSync("sh", ["-c", "command -v terraform"], { encoding: "utf8" });
  if (which.status !== 0) throw new Error("MISSING TOOL: terraform is required by this test");
  const dir = mkdtempSync(join(tmpdir(), "k8s-literals-"));
  writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ locals: { data } }));
  const r = spawnSync("terraform", ["console"], { cwd: dir, input: "jsonencode(local.data)\n", encoding: "utf8", timeout: 60_000, env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1" } });
  try {
    if (r.status !== 0) throw new Error(`exit ${r.status}`);
    return JSON.parse(JSON.parse(r.stdout.trim()));
  } catch (e) {
    throw new Error(`terraform console failed (${(e as Error).message}): ${r.stdout}${r.stderr}`);
  }
}

test.each(["distributed", "standalone"] as const)("%s: Terraform evaluates every escaped ConfigMap value back to the rendered file", (deployment) => {
  const spec = resolveClusterSpec({ name: "orders", deployment, size: "M", storageGiB: 20, majorVersion: 15 });
  const rendered = { ...renderDatabaseConfigMapData(spec, placement, runtime), ...renderPoolerConfigMapData(spec, placement, runtime) };
  expect(terraformEvaluates(terraformLiterals(rendered))).toEqual(rendered);
});

test("the check is not vacuous: unescaped, the post-bootstrap script does not survive Terraform", () => {
  const spec = resolveClusterSpec({ name: "orders", deployment: "standalone", size: "M", storageGiB: 20, majorVersion: 15 });
  const script = renderDatabaseConfigMapData(spec, placement, runtime)["post-bootstrap.sh"]!;
  expect(() => terraformEvaluates({ script })).toThrow(/terraform console failed/);
});
