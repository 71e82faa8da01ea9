/**
 * Review of two synth outputs produced here from the constructs (the pull-request flow:
 * synthesize base and head, compare).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres, type ManagedPostgresProps } from "../../constructs/aws/managed-postgres";
import { ManagedPostgresModule } from "../../constructs/hcl-module";
import { cli } from "../support/cli";
import { readSynthOutput, renderReviewMarkdown, reviewChanges, reviewInputFromSynth, rollPlan, windowText, type Review } from "../../src/review";

const SUBNETS = ["subnet-0aaa1111", "subnet-0bbb2222", "subnet-0ccc3333"];
const BASE: ManagedPostgresProps = {
  name: "orders",
  deployment: "distributed",
  size: "M",
  storageGiB: 50,
  network: { vpcId: "vpc-0abc12345", subnetIds: SUBNETS, allowedCidrs: ["10.0.0.0/16"] },
};

let work: string;
beforeAll(() => (work = mkdtempSync(join(tmpdir(), "mp-review-synth-"))));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Synthesizes one stack with one cluster into `<work>/<label>` and returns the cdktf.out directory. */
function synth(label: string, props: ManagedPostgresProps): string {
  const outdir = join(work, label);
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "db");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  new ManagedPostgres(stack, "orders", props);
  app.synth();
  return outdir;
}

const cache = new Map<string, string>();
function dir(label: string, props: ManagedPostgresProps): string {
  if (!cache.has(label)) cache.set(label, synth(label, props));
  return cache.get(label)!;
}

function review(base: string, head: string): Review {
  return reviewChanges(reviewInputFromSynth(readSynthOutput(base), readSynthOutput(head)));
}

const base = () => dir("base", BASE);
const levels = (r: Review, rule: string) => r.risks.filter((x) => x.rule === rule).map((x) => x.level);

describe("review of base and head synth outputs", () => {
  test("identical synth outputs have no change and no risk", () => {
    const r = review(base(), dir("same", BASE));
    expect(r.counts).toMatchObject({ create: 0, update: 0, replace: 0, destroy: 0 });
    expect(r.risks).toEqual([]);
  });

  test("the cluster summary reads model, size, storage, version and the NLB endpoints from the synthesized resources", () => {
    const s = review(base(), base()).clusters.find((c) => c.name === "orders")!.head!;
    expect(s).toMatchObject({ deployment: "distributed", size: "M", instanceType: "m7g.large", storageGiB: "50", majorVersion: "17", loadBalancer: true });
    expect(s.slots.map((x) => x.slot)).toEqual(["0", "1", "2"]);
    expect(s.endpoints.join(" ")).toMatch(/read-write :5432.*read-only :5433/);
  });

  test("creating a cluster raises no high or medium risk: the construct's defaults are secure (IMDSv2, encryption, internal NLB, private ingress)", () => {
    const outdir = join(work, "empty");
    const app = new App({ outdir });
    new AwsProvider(new TerraformStack(app, "db"), "aws", { region: "eu-west-1" });
    app.synth();
    const r = review(outdir, base());
    expect(r.counts.create).toBeGreaterThan(20);
    expect(r.risks.filter((x) => x.level !== "low").map((x) => `${x.rule}: ${x.addresses.join(", ")}`)).toEqual([]);
  });

  test("storage 50 → 40 GiB flags a high storage-shrink risk on each data volume", () => {
    const r = review(base(), dir("shrink", { ...BASE, storageGiB: 40 }));
    expect(levels(r, "storage-shrink")).toEqual(["high", "high", "high"]);
    expect(r.clusters[0].changesBySlot.get("1")!.map((c) => `${c.type}:${c.action}`)).toContain("aws_ebs_volume:update");
  });

  test("storage 50 → 60 GiB is a low risk only", () => {
    const r = review(base(), dir("grow", { ...BASE, storageGiB: 60 }));
    expect(new Set(r.risks.map((x) => `${x.level}:${x.rule}`))).toEqual(new Set(["low:storage-grow"]));
  });

  test("distributed → standalone flags a high deployment-model risk", () => {
    const r = review(base(), dir("standalone", { ...BASE, deployment: "standalone", network: { ...BASE.network, subnetIds: [SUBNETS[0]] } }));
    expect(levels(r, "deployment-model-changed")).toEqual(["high"]);
    expect(r.clusters[0].base!.deployment).toBe("distributed");
    expect(r.clusters[0].head!.deployment).toBe("standalone");
  });

  test("distributed → standalone destroys the data volumes of slots 1 and 2 (high)", () => {
    const r = review(base(), dir("standalone", { ...BASE, deployment: "standalone", network: { ...BASE.network, subnetIds: [SUBNETS[0]] } }));
    const destroyed = r.risks.filter((x) => x.rule === "data-bearing-destroyed");
    expect(destroyed.map((x) => r.placement.get(x.addresses[0])?.slot).sort()).toEqual(["1", "2"]);
  });

  test("adding an allowed CIDR is not a high risk", () => {
    const r = review(base(), dir("cidr", { ...BASE, network: { ...BASE.network, allowedCidrs: ["10.0.0.0/16", "10.1.0.0/16"] } }));
    expect(r.risks.filter((x) => x.level === "high")).toEqual([]);
    expect(levels(r, "ingress-added")).toEqual(["low"]);
  });

  test("moving slot 1 to another subnet replaces its network interface (subnet_id forces replacement)", () => {
    const r = review(base(), dir("subnet", { ...BASE, network: { ...BASE.network, subnetIds: [SUBNETS[0], "subnet-0ddd4444", SUBNETS[2]] } }));
    const eni = r.clusters[0].changesBySlot.get("1")!.find((c) => c.type === "aws_network_interface")!;
    expect(eni.action).toBe("replace");
    expect(eni.replaceBecause).toEqual(["subnet_id"]);
  });

  test("a change of the rendered node configuration shows as an update of the launch templates that read it", () => {
    const r = review(base(), dir("pool", { ...BASE, pooler: { defaultPoolSize: 40 } }));
    const updated = r.clusters.flatMap((c) => [...c.changesBySlot.values()].flat()).filter((c) => c.action === "update" && c.type === "aws_launch_template");
    expect(updated.length).toBeGreaterThan(0);
    expect(updated.every((c) => c.attributes.some((a) => a.path.startsWith("local.")))).toBe(true);
  });

  test("the Markdown of a shrink names the cluster, the risk and draws each slot", () => {
    const md = renderReviewMarkdown(review(base(), dir("shrink", { ...BASE, storageGiB: 40 })));
    expect(md).toMatch(/### Cluster `orders`/);
    expect(md).toMatch(/\| Storage \| 50 GiB \| 40 GiB ⚠️ \|/);
    expect(md).toMatch(/storage-shrink/);
    expect(md.match(/\[\("PostgreSQL \+ Patroni \+ etcd/g)).toHaveLength(3);
  });

  test("the CLI reviews the two cdktf.out directories and exits 3 with --fail-on high on a shrink", () => {
    const r = cli("review", "--base", base(), "--head", dir("shrink", { ...BASE, storageGiB: 40 }), "--fail-on", "high");
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/storage-shrink/);
  });
});

describe("rolling maintenance (issue 12): which changes roll nodes, how many, when", () => {
  const orders = (r: Review) => r.clusters.find((c) => c.name === "orders")!;

  test("a size change replaces the three database nodes, in the default window (Sunday 02:00–03:00 UTC)", () => {
    const r = review(base(), dir("roll-size", { ...BASE, size: "L" }));
    const p = orders(r).rolls!;
    expect(p.replacedNodes.map((x) => x.slot)).toEqual(["0", "1", "2"]);
    for (const x of p.replacedNodes) expect(x.because).toContain("instance type m7g.large → r7g.large");
    expect(p.storageGrowth).toEqual([]);
    expect(p.timing).toEqual({ kind: "window", isoDay: 7, startMinute: 120, durationMinutes: 60 });
    const md = renderReviewMarkdown(r);
    expect(md).toContain("**Rolling maintenance**");
    expect(md).toMatch(/♻️ \*\*3 database nodes replaced\*\*, one at a time \(replicas first, the primary after a switchover\), in the maintenance window, sun 02:00–03:00 UTC — slot 0: instance type m7g\.large → r7g\.large/);
  });

  test("applyImmediately says at once; a window wrapping past midnight names both days", () => {
    const now = orders(review(base(), dir("roll-now", { ...BASE, size: "L", applyImmediately: true }))).rolls!;
    expect(now.timing).toEqual({ kind: "immediately" });
    const late = orders(review(base(), dir("roll-late", { ...BASE, size: "L", maintenanceWindow: { day: "sat", startTime: "23:30", durationMinutes: 90 } }))).rolls!;
    expect(late.timing).toEqual({ kind: "window", isoDay: 6, startMinute: 1410, durationMinutes: 90 });
    expect(windowText(late.timing as Extract<typeof late.timing, { kind: "window" }>)).toBe("sat 23:30–sun 01:00 UTC");
  });

  test("storage growth 50 → 80 GiB is in place on every node and rolls no node: every launch template and its user data stay byte-identical (issue 12)", () => {
    const head = dir("roll-storage", { ...BASE, storageGiB: 80 });
    const r = review(base(), head);
    const p = orders(r).rolls!;
    expect(p.storageGrowth).toEqual([
      { slot: "0", from: "50", to: "80" },
      { slot: "1", from: "50", to: "80" },
      { slot: "2", from: "50", to: "80" },
    ]);
    expect(p.replacedNodes).toEqual([]);
    expect(p.poolerTemplateChanged).toBe(false);
    const md = renderReviewMarkdown(r);
    expect(md).toContain("📈 **storage grows in place** on 3 nodes (50 → 80 GiB)");
    expect(md).not.toContain("replaced**");
    // The synthesized JSON of both: only the volumes' size and the plan-time guard's requested size differ.
    const a = readSynthOutput(base())[0]!.config as Record<string, any>;
    const b = readSynthOutput(head)[0]!.config as Record<string, any>;
    const differences: string[] = [];
    const walk = (x: unknown, y: unknown, path: string) => {
      if (x !== null && y !== null && typeof x === "object" && typeof y === "object") {
        for (const k of new Set([...Object.keys(x), ...Object.keys(y as object)])) walk((x as any)[k], (y as any)[k], `${path}/${k}`);
      } else if (x !== y) differences.push(`${path}: ${JSON.stringify(x)} → ${JSON.stringify(y)}`);
    };
    walk(a, b, "");
    expect(differences.map((d) => d.replace(/_[0-9A-F]{8}\//g, "/"))).toEqual([
      "/locals/orders_requested-placement/storage_gib: 50 → 80",
      "/resource/aws_ebs_volume/orders_slot-0_data-volume/size: 50 → 80",
      "/resource/aws_ebs_volume/orders_slot-1_data-volume/size: 50 → 80",
      "/resource/aws_ebs_volume/orders_slot-2_data-volume/size: 50 → 80",
    ]);
    const userData = (j: Record<string, any>) => Object.entries(j.locals).filter(([k]) => k.includes("user-data"));
    expect(userData(a).length).toBeGreaterThanOrEqual(4); // three slots and the PgBouncer tier
    expect(userData(b)).toEqual(userData(a));
    expect(JSON.stringify(b.resource.aws_launch_template)).toBe(JSON.stringify(a.resource.aws_launch_template));
  });

  test("no change, and a new cluster, roll nothing", () => {
    expect(orders(review(base(), base())).rolls).toBeUndefined();
    expect(rollPlan([], new Map(), [])).toBeUndefined();
  });

  test("values from the plan are escaped in the roll lines", () => {
    const p = rollPlan(
      [
        {
          address: "aws_launch_template.x",
          type: "aws_launch_template",
          name: "x",
          action: "update",
          attributes: [{ path: "instance_type", before: "m7g.large", after: "<img src=x>|evil\n- item" }],
          replaceBecause: [],
        },
      ],
      new Map([["aws_launch_template.x", { cluster: "orders", slot: "0" }]]),
      [],
    )!;
    const md = renderReviewMarkdown({
      source: "plan",
      clusters: [{ name: "orders", base: { endpoints: [], slots: [], loadBalancer: false, ingressSources: [], backupBucket: false } as any, changesBySlot: new Map(), risks: [], rolls: p }],
      risks: [],
      placement: new Map(),
      counts: { create: 0, update: 1, replace: 0, destroy: 0, "no-op": 0 },
    });
    const line = md.split("\n").find((l) => l.includes("replaced"))!;
    expect(line).toContain("\\<img src=x\\>\\|evil");
    expect(line.replace(/\\</g, "")).not.toContain("<img");
    expect(md.split("\n").filter((l) => l.startsWith("- item"))).toEqual([]);
    expect(line).toContain("in the cluster's maintenance window (its setting is not in this change)");
  });
});

describe("blue/green major upgrade (issue 15): upgradeFrom", () => {
  const UPGRADE_FROM = {
    clusterName: "legacy",
    majorVersion: 15 as const,
    secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:managed-postgres/legacy-AbCdEf",
    nodeAddresses: ["10.0.1.10", "10.0.2.10", "10.0.3.10"],
    securityGroupId: "sg-0abc12345",
  };
  const green = (cutover: boolean) => ({ ...BASE, upgradeFrom: { ...UPGRADE_FROM, cutover } });
  const risk = (r: Review, rule: string) => r.risks.find((x) => x.rule === rule);
  const orders = (r: Review) => r.clusters.find((c) => c.name === "orders")!;

  test("upgradeFrom.cutover false → true is a high cutover risk naming blue read-only, the write gap and what rollback is", () => {
    const r = review(dir("green-follow", green(false)), dir("green-cutover", green(true)));
    const cut = risk(r, "upgrade-cutover")!;
    expect(cut).toMatchObject({ level: "high", cluster: "orders" });
    expect(cut.message).toMatch(/Cutover of the major-version upgrade legacy → orders \(`upgradeFrom\.cutover` false → true\)/);
    expect(cut.message).toMatch(/sets legacy read-only/);
    expect(cut.message).toMatch(/write gap lasts until the clients write to orders's read-write endpoint/);
    expect(cut.message).toMatch(/pauses legacy's PgBouncers, sets legacy read-only/);
    expect(cut.message).toMatch(/If legacy's `upgradeTo\.readWriteEndpoint` names orders's endpoint, legacy's PgBouncers send their clients to orders as soon as the sequences and roles are copied/);
    expect(cut.message).toMatch(/way back is a logical dump of orders into a new cluster of the old version/);
    expect(levels(r, "upgrade-started")).toEqual([]);
    expect(cut.message).toMatch(/rolled in orders's maintenance window, or at once with `applyImmediately`/);
    // the flip changes each node's bootstrap and upgrade scripts (their S3 objects), nothing of blue
    const changed = [...orders(r).changesBySlot.values()].flat().map((c) => `${c.action} ${c.address.replace(/_[0-9A-F]{8}$/, "")}`);
    expect(changed.sort()).toEqual(
      [0, 1, 2].flatMap((i) => [`update aws_s3_object.orders_slot-${i}_bootstrap-script`, `update aws_s3_object.orders_slot-${i}_upgrade-script`]).sort(),
    );
    const md = renderReviewMarkdown(r);
    expect(md).toMatch(/\*\*high\*\* `upgrade-cutover` — Cutover of the major-version upgrade legacy → orders/);
  });

  test("a green cluster that starts following blue is a medium risk naming the slot's WAL and the rollback", () => {
    const other = { ...BASE, name: "other" };
    const r = review(dir("other-only", other), dir("green-created", green(false)));
    const start = risk(r, "upgrade-started")!;
    expect(start).toMatchObject({ level: "medium", cluster: "orders" });
    expect(start.message).toMatch(/logical replication slot, which keeps legacy's WAL/);
    expect(start.message).toMatch(/Rollback before the cutover: delete orders, then drop the slot and publication it left on legacy/);
    expect(levels(r, "upgrade-cutover")).toEqual([]);
  });

  test("a green HCL module (cutover a Terraform variable, resolved only in the plan) shows upgrade-started in a synth diff, and no cutover", () => {
    const outdir = join(work, "green-module");
    const app = new App({ outdir });
    new ManagedPostgresModule(app, "db", { name: "orders", deployment: "distributed", size: "M", majorVersion: 17, upgradeFrom: true });
    app.synth();
    const r = review(dir("other-only", { ...BASE, name: "other" }), outdir);
    expect(risk(r, "upgrade-started")).toMatchObject({ level: "medium", cluster: "orders" });
    expect(levels(r, "upgrade-cutover")).toEqual([]);
  });

  test("no change of cutover (true → true, false → false) raises nothing", () => {
    expect(review(dir("green-cutover", green(true)), dir("green-cutover", green(true))).risks).toEqual([]);
    expect(review(dir("green-follow", green(false)), dir("green-follow", green(false))).risks).toEqual([]);
  });
});

describe("blue/green major upgrade (issue 15): upgradeTo on blue", () => {
  const upgradeTo = { nodeAddresses: ["10.0.1.20", "10.0.2.20", "10.0.3.20"] };
  const restart = (r: Review) => r.risks.filter((x) => x.rule === "upgrade-blue-restart");

  test("adding upgradeTo to a deployed cluster is a medium risk: wal_level replica → logical restarts every member, one switchover, in the window", () => {
    const r = review(base(), dir("blue-admits", { ...BASE, upgradeTo }));
    const [risk, ...more] = restart(r);
    expect(more).toEqual([]);
    expect(risk).toMatchObject({ level: "medium", cluster: "orders" });
    expect(risk!.message).toMatch(/^orders admits a green cluster \(`upgradeTo`\): its `wal_level` goes replica → logical, which PostgreSQL applies only at a restart, so every member of orders restarts/);
    expect(risk!.message).toMatch(/replicas first, then one switchover of the primary/);
    expect(risk!.message).toMatch(/, in its maintenance window \([a-z]{3} \d\d:\d\d–\d\d:\d\d UTC\)\./);
    expect(renderReviewMarkdown(r)).toMatch(/\*\*medium\*\* `upgrade-blue-restart` — orders admits a green cluster/);
  });

  test("with applyImmediately the restart is at once; a standalone blue is down while its node is replaced", () => {
    const now = review(dir("immediate", { ...BASE, applyImmediately: true }), dir("blue-admits-now", { ...BASE, applyImmediately: true, upgradeTo }));
    expect(restart(now)[0]!.message).toMatch(/, at once \(`applyImmediately`\)\./);
    const single = { ...BASE, deployment: "standalone" as const, network: { ...BASE.network, subnetIds: SUBNETS.slice(0, 1) } };
    const alone = review(dir("standalone", single), dir("standalone-admits", { ...single, upgradeTo }));
    expect(restart(alone)[0]!.message).toMatch(/orders is down while its only node is replaced/);
  });

  test("removing upgradeTo is the same restart back to replica, and says that no logical slot may be left", () => {
    const r = review(dir("blue-admits", { ...BASE, upgradeTo }), base());
    const [risk] = restart(r);
    expect(risk!.message).toMatch(/^`upgradeTo` is removed from orders: its `wal_level` goes logical → replica/);
    expect(risk!.message).toMatch(/no logical replication slot may be left on orders/);
  });

  test("a new cluster with upgradeTo, or a change of its green addresses only, restarts nothing", () => {
    const outdir = join(work, "empty-blue");
    const app = new App({ outdir });
    new AwsProvider(new TerraformStack(app, "db"), "aws", { region: "eu-west-1" });
    app.synth();
    expect(restart(review(outdir, dir("blue-admits", { ...BASE, upgradeTo })))).toEqual([]);
    expect(restart(review(dir("blue-admits", { ...BASE, upgradeTo }), dir("blue-admits-2", { ...BASE, upgradeTo: { nodeAddresses: ["10.0.1.21"] } })))).toEqual([]);
  });
});
