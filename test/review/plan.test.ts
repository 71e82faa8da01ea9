import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PlanFormatError, renderReviewMarkdown, reviewChanges, reviewInputFromPlan, type Review } from "../../src/review";

/** Reviews a hand-written plan fixture (Terraform's `terraform show -json` format). */
function reviewFixture(name: string): Review {
  const plan = JSON.parse(readFileSync(join(__dirname, "fixtures", `${name}.plan.json`), "utf8"));
  return reviewChanges(reviewInputFromPlan(plan));
}

const rules = (r: Review) => r.risks.map((x) => `${x.level}:${x.rule}`);

describe("review of a Terraform plan (JSON)", () => {
  test("a data volume shrinking from 50 to 40 GiB is a high risk", () => {
    const r = reviewFixture("storage-shrink");
    expect(rules(r)).toContain("high:storage-shrink");
    expect(r.risks.find((x) => x.rule === "storage-shrink")!.message).toMatch(/from 50 to 40 GiB/);
  });

  test("update, no-op and the cluster tag come from change.actions and tags", () => {
    const r = reviewFixture("storage-shrink");
    expect(r.counts).toMatchObject({ update: 1, "no-op": 1, create: 0 });
    expect(r.clusters.map((c) => c.name)).toEqual(["orders"]);
  });

  test("changes are grouped by the managed-postgres:slot tag", () => {
    const r = reviewFixture("storage-shrink");
    const orders = r.clusters[0];
    expect(orders.changesBySlot.get("0")!.map((c) => c.action)).toEqual(["update"]);
    expect(orders.changesBySlot.get("")).toEqual([]);
  });

  test("a data volume replaced because its availability zone changes is a high risk naming the forcing attribute", () => {
    const r = reviewFixture("volume-replaced");
    const risk = r.risks.find((x) => x.rule === "data-bearing-replaced")!;
    expect(risk.level).toBe("high");
    expect(risk.message).toMatch(/slot 1 is replaced \(forced by `availability_zone`\)/);
  });

  test("delete-then-create and create-then-delete both read as replace", () => {
    const r = reviewFixture("volume-replaced");
    expect(r.counts.replace).toBe(2);
  });

  test("a replaced network interface is not flagged as data-bearing", () => {
    const r = reviewFixture("volume-replaced");
    expect(r.risks.filter((x) => x.addresses.some((a) => a.startsWith("aws_network_interface.")))).toEqual([]);
  });

  test("ingress from 0.0.0.0/0 is a high risk", () => {
    expect(rules(reviewFixture("security-relaxed"))).toContain("high:ingress-open-to-internet");
  });

  test("IMDSv2 going from required to optional is a high risk", () => {
    expect(rules(reviewFixture("security-relaxed"))).toContain("high:imdsv2-disabled");
  });

  test("turning off block_public_policy on the backup bucket is a high risk", () => {
    expect(rules(reviewFixture("security-relaxed"))).toContain("high:public-access-block-relaxed");
  });

  test("removing the backup bucket policy is a high risk", () => {
    expect(rules(reviewFixture("security-relaxed"))).toContain("high:bucket-policy-removed");
  });

  test("an internet-facing load balancer is a public-IP high risk", () => {
    expect(rules(reviewFixture("security-relaxed"))).toContain("high:public-ip");
  });

  test("untagged bucket resources join the cluster of the bucket they reference (configuration references)", () => {
    const r = reviewFixture("security-relaxed");
    expect(r.placement.get("aws_s3_bucket_policy.orders_backup_policy_4D5E6F70")?.cluster).toBe("orders");
    expect(r.clusters.map((c) => c.name)).toEqual(["orders"]);
  });

  test("adding a private CIDR is a low risk, not a high one", () => {
    const r = reviewFixture("cidr-added");
    expect(rules(r)).toEqual(["low:ingress-added"]);
    expect(r.risks[0].message).toMatch(/10\.1\.0\.0\/16/);
  });

  test("a deployment model change (tags distributed → standalone) is a high risk", () => {
    const r = reviewFixture("model-changed");
    expect(rules(r)).toContain("high:deployment-model-changed");
    expect(r.clusters[0].base!.deployment).toBe("distributed");
    expect(r.clusters[0].head!.deployment).toBe("standalone");
  });

  test("risks are sorted highest first", () => {
    const plan = JSON.parse(readFileSync(join(__dirname, "fixtures", "cidr-added.plan.json"), "utf8"));
    plan.resource_changes.push({
      address: "aws_kms_key.orders_key",
      type: "aws_kms_key",
      name: "orders_key",
      change: { actions: ["delete"], before: { tags: { "managed-postgres:cluster": "orders" } }, after: null, after_unknown: {} },
    });
    const r = reviewChanges(reviewInputFromPlan(plan));
    expect(r.risks.map((x) => x.level)).toEqual(["high", "low"]);
  });

  test("resources inside a module call join their cluster through the module's configuration references", () => {
    const r = reviewFixture("module-call");
    expect(r.placement.get("module.orders_db.aws_s3_bucket_policy.cluster_backup_policy_1B2C3D4E")?.cluster).toBe("orders");
    expect(r.risks.map((x) => `${x.level}:${x.rule}:${x.cluster}`)).toEqual(["medium:bucket-policy-changed:orders"]);
  });

  test("resources of no cluster are listed apart, without a summary or diagram", () => {
    const r = reviewFixture("module-call");
    expect(r.clusters.map((c) => c.name)).toEqual(["orders", undefined]);
    const md = renderReviewMarkdown(r);
    expect(md).toMatch(/### Resources of no cluster\n\n\*\*Changes\*\* \(1\)/);
    expect(md.match(/```mermaid/g)).toHaveLength(1);
  });

  test("a document without resource_changes is rejected with a hint to use terraform show -json", () => {
    expect(() => reviewInputFromPlan({ format_version: "1.2" })).toThrow(PlanFormatError);
    expect(() => reviewInputFromPlan({ format_version: "1.2" })).toThrow(/terraform show -json/);
  });

  test("the Markdown names each cluster, lists its risks and draws a Mermaid flowchart", () => {
    const md = renderReviewMarkdown(reviewFixture("volume-replaced"));
    expect(md).toMatch(/### Cluster `orders`/);
    expect(md).toMatch(/🔴 \*\*high\*\* `data-bearing-replaced`/);
    expect(md).toMatch(/```mermaid\nflowchart LR\n/);
    expect(md).toMatch(/class slot1 replace/);
  });

  test("the Markdown change table shows the forcing attribute first", () => {
    const md = renderReviewMarkdown(reviewFixture("volume-replaced"));
    expect(md).toMatch(/\| slot 1 \| ♻️ replace \| `aws_ebs_volume\.orders_slot-1_data_6B2C3D4E` \| `availability_zone`: eu-west-1b → eu-west-1c \*\*\(forces replacement\)\*\*/);
  });
});

describe("blue/green major upgrade (issue 15) in a plan", () => {
  /** A plan updating green's slot-0 bootstrap object from `before` to `after` cutover (its bucket tagged with the cluster). */
  function cutoverPlan(before: 0 | 1, after: 0 | 1): Review {
    const script = (cutover: number) =>
      "#!/bin/bash\nset -euo pipefail\nreadonly CLUSTER='orders-v17'\n" +
      "readonly UPGRADE_FROM_CLUSTER='orders'\nreadonly UPGRADE_FROM_MAJOR=15\n" +
      "readonly UPGRADE_FROM_SECRET='arn:aws:secretsmanager:eu-west-1:111122223333:secret:orders-AbCdEf'\n" +
      `readonly UPGRADE_FROM_ADDRESSES='10.0.1.10 10.0.2.10 10.0.3.10'\nreadonly UPGRADE_CUTOVER=${cutover}\nmain "$@"\n`;
    const bucket = { bucket: "orders-v17-backups", tags: { "managed-postgres:cluster": "orders-v17" } };
    const plan = {
      format_version: "1.2",
      terraform_version: "1.11.4",
      resource_changes: [
        { address: "aws_s3_bucket.green_backup", mode: "managed", type: "aws_s3_bucket", name: "green_backup", change: { actions: ["no-op"], before: bucket, after: bucket, after_unknown: {} } },
        {
          address: "aws_s3_object.green_slot-0_bootstrap-script",
          mode: "managed",
          type: "aws_s3_object",
          name: "green_slot-0_bootstrap-script",
          change: { actions: ["update"], before: { key: "config/orders-v17/orders-v17-0/managed-postgres-bootstrap", content: script(before) }, after: { key: "config/orders-v17/orders-v17-0/managed-postgres-bootstrap", content: script(after) }, after_unknown: { version_id: true } },
        },
      ],
      configuration: {
        root_module: { resources: [{ address: "aws_s3_object.green_slot-0_bootstrap-script", expressions: { bucket: { references: ["aws_s3_bucket.green_backup.bucket", "aws_s3_bucket.green_backup"] } } }] },
      },
    };
    return reviewChanges(reviewInputFromPlan(plan));
  }

  test("cutover false → true is a high upgrade-cutover risk of the green cluster, shown in the Markdown", () => {
    const r = cutoverPlan(0, 1);
    expect(rules(r)).toEqual(["high:upgrade-cutover"]);
    expect(r.risks[0].cluster).toBe("orders-v17");
    expect(r.risks[0].message).toMatch(/sets orders read-only.*copies the sequence values and roles, then drops the subscription.*Writes to orders itself fail from then on.*send their clients to orders-v17 as soon as the sequences and roles are copied/s);
    expect(renderReviewMarkdown(r)).toContain("`upgrade-cutover` — Cutover of the major-version upgrade orders → orders-v17");
  });

  test("a plan that leaves cutover as it is raises no upgrade risk", () => {
    expect(rules(cutoverPlan(0, 0))).toEqual([]);
    expect(rules(cutoverPlan(1, 1))).toEqual([]);
  });
});
