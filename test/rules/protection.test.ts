/**
 * Data-bearing resources are protected by default and only an explicit prop lifts the
 * protection: prevent_destroy on data volumes, KMS key, backup bucket and cluster secret, and on
 * the slots' network interfaces (their addresses are in every member's configuration);
 * a 30-day KMS deletion window; NLB deletion protection; no bucket force_destroy.
 */
import { clusterProps, synthCluster } from "./synth-helpers";

const DATA_BEARING = ["aws_ebs_volume", "aws_kms_key", "aws_s3_bucket", "aws_secretsmanager_secret", "aws_network_interface"];
const resources = (json: any, type: string) => Object.values<any>(json.resource[type] ?? {});

describe("by default", () => {
  const { json } = synthCluster(clusterProps("distributed"));

  test.each(DATA_BEARING)("every %s carries prevent_destroy", (type) => {
    const all = resources(json, type);
    expect(all.length).toBeGreaterThan(0);
    expect(all.map((r) => r.lifecycle?.prevent_destroy)).toEqual(all.map(() => true));
  });

  test("the KMS key waits 30 days before deletion", () => {
    expect(resources(json, "aws_kms_key").map((k) => k.deletion_window_in_days)).toEqual([30]);
  });

  test("the load balancer has deletion protection", () => {
    expect(resources(json, "aws_lb").map((l) => l.enable_deletion_protection)).toEqual([true]);
  });

  test("the backup bucket cannot be force-destroyed", () => {
    expect(resources(json, "aws_s3_bucket").map((b) => b.force_destroy)).toEqual([false]);
  });
});

describe("with allowDestroy: true", () => {
  const { json } = synthCluster(clusterProps("distributed", { allowDestroy: true }));

  test("prevent_destroy is lifted from the data-bearing resources", () => {
    expect(DATA_BEARING.flatMap((t) => resources(json, t).map((r) => r.lifecycle?.prevent_destroy ?? false))).not.toContain(true);
  });

  test("the KMS deletion window, NLB deletion protection and no force_destroy stay", () => {
    expect([
      resources(json, "aws_kms_key")[0].deletion_window_in_days,
      resources(json, "aws_lb")[0].enable_deletion_protection,
      resources(json, "aws_s3_bucket")[0].force_destroy,
    ]).toEqual([30, true, false]);
  });
});
