/**
 * The safety rules end to end: a stack is synthesized, its data volumes and network
 * interfaces become a Terraform state v4 or plan JSON file (as after an apply), the spec
 * changes, and synth must refuse before writing anything, or go through.
 */
import * as fs from "fs";
import * as path from "path";
import { App, S3Backend, TerraformStack, LocalBackend } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres } from "../../constructs/aws/managed-postgres";
import { SpecValidationError } from "../../src/cluster-spec";
import { SafetyRuleError } from "../../src/rules";
import { clusterProps, filesUnder, freshDir, synthCluster, writePlanFrom, writeStateFrom, SUBNETS } from "./synth-helpers";
import { configLocals } from "../../src/terraform";

const ENV = "MANAGED_POSTGRES_PRIOR_STATE";
const CTX = "managed-postgres:priorState";
beforeEach(() => delete process.env[ENV]);
afterAll(() => delete process.env[ENV]);

/** A state v4 file of a deployed distributed 40 GiB PostgreSQL 17 cluster "orders". */
const deployedDistributed = () => writeStateFrom(synthCluster(clusterProps("distributed")).json);

/** Synthesizes with `priorState` in the context; returns the outdir and the error thrown, if any. */
function synthAgainst(priorState: string, props: ReturnType<typeof clusterProps>): { outdir: string; error?: Error } {
  const outdir = freshDir();
  try {
    synthCluster(props, { outdir, context: { [CTX]: priorState } });
    return { outdir };
  } catch (e) {
    return { outdir, error: e as Error };
  }
}

describe("first deployment", () => {
  test("without prior state a cluster synthesizes", () => {
    const { outdir } = synthCluster(clusterProps("distributed"));
    expect(filesUnder(outdir)).toContain(path.join("stacks", "db", "cdk.tf.json"));
  });

  test("a prior state without this cluster's volumes is a first deployment", () => {
    const other = writeStateFrom(synthCluster(clusterProps("standalone", { name: "billing" })).json);
    expect(synthAgainst(other, clusterProps("distributed", { storageGiB: 2 })).error).toBeUndefined();
  });
});

describe("deployment model", () => {
  test("distributed → standalone is refused naming both models and restoreFrom", () => {
    const { error } = synthAgainst(deployedDistributed(), clusterProps("standalone"));
    expect(error?.message).toMatch(/MP-SAFE-MODEL.*cluster "orders".*from "distributed".*to "standalone".*restoreFrom/s);
  });

  test("a refused synth writes no file to the output directory", () => {
    const { outdir, error } = synthAgainst(deployedDistributed(), clusterProps("standalone"));
    expect(error).toBeDefined();
    expect(filesUnder(outdir)).toEqual([]);
  });

  test("standalone → distributed is refused, read from a plan JSON file", () => {
    const plan = writePlanFrom(synthCluster(clusterProps("standalone")).json);
    expect(synthAgainst(plan, clusterProps("distributed")).error?.message).toMatch(/from "standalone".*to "distributed"/s);
  });
});

describe("storage", () => {
  test("a smaller storageGiB is refused naming the deployed and requested GiB", () => {
    const { error } = synthAgainst(deployedDistributed(), clusterProps("distributed", { storageGiB: 20 }));
    expect(error?.message).toMatch(/MP-SAFE-STORAGE.*from 40 GiB.*to 20 GiB/s);
  });

  test("a smaller storageGiB is refused when the prior state is a plan JSON file", () => {
    const plan = writePlanFrom(synthCluster(clusterProps("distributed")).json);
    expect(synthAgainst(plan, clusterProps("distributed", { storageGiB: 39 })).error?.message).toMatch(/MP-SAFE-STORAGE/);
  });

  test("a larger storageGiB synthesizes", () => {
    expect(synthAgainst(deployedDistributed(), clusterProps("distributed", { storageGiB: 128 })).error).toBeUndefined();
  });
});

describe("major version", () => {
  // 16 runs on an image of the user's own (no Debian release ships it)
  const deployed16 = () => writeStateFrom(synthCluster(clusterProps("distributed", { majorVersion: 16, imageId: "ami-0123456789abcdef0" })).json);

  test("a lower major version is refused", () => {
    expect(synthAgainst(deployed16(), clusterProps("distributed", { majorVersion: 15 })).error?.message).toMatch(/MP-SAFE-VERSION-DOWNGRADE.*from 16 .*to 15/s);
  });

  test("a higher major version without allowMajorVersionUpgrade is refused", () => {
    expect(synthAgainst(deployed16(), clusterProps("distributed", { majorVersion: 17 })).error?.message).toMatch(/MP-SAFE-VERSION-UPGRADE.*allowMajorVersionUpgrade: true/s);
  });

  test("a higher major version with allowMajorVersionUpgrade is refused, pointing to docs/UPGRADING.md", () => {
    const r = synthAgainst(deployed16(), clusterProps("distributed", { majorVersion: 17, allowMajorVersionUpgrade: true }));
    expect(r.error?.message).toMatch(/MP-SAFE-VERSION-UPGRADE.*`majorVersion` 16 .*→ 17 is refused.*allowMajorVersionUpgrade: true.*docs\/UPGRADING\.md/s);
  });
});

describe("slot placement", () => {
  test("moving slot 1 to another subnet is refused naming the slot and both subnets", () => {
    const moved = clusterProps("distributed");
    const props = { ...moved, network: { ...moved.network, subnetIds: [SUBNETS[0], "subnet-0ddd44444", SUBNETS[2]] } };
    expect(synthAgainst(deployedDistributed(), props).error?.message).toMatch(
      /MP-SAFE-SLOT-PLACEMENT.*slot 1 cannot move from subnet subnet-0bbb22222 \(availability zone eu-west-1b\) to subnet-0ddd44444/s,
    );
  });
});

describe("slot placement with subnets of the same stack", () => {
  /** A stack with its own VPC and three subnets, the cluster on them in `order`. */
  function synthOwnNetwork(order: number[], outdir: string, context: Record<string, unknown> = {}): any {
    const { Vpc } = require("@cdktf/provider-aws/lib/vpc") as typeof import("@cdktf/provider-aws/lib/vpc");
    const { Subnet } = require("@cdktf/provider-aws/lib/subnet") as typeof import("@cdktf/provider-aws/lib/subnet");
    const app = new App({ outdir, context });
    const stack = new TerraformStack(app, "db");
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    const vpc = new Vpc(stack, "vpc", { cidrBlock: "10.0.0.0/16" });
    const subnets = [0, 1, 2].map((i) => new Subnet(stack, `private-${i}`, { vpcId: vpc.id, cidrBlock: `10.0.${i}.0/24`, availabilityZone: `eu-west-1${"abc"[i]}` }));
    const base = clusterProps("distributed");
    new ManagedPostgres(stack, "orders", { ...base, network: { ...base.network, vpcId: vpc.id, subnetIds: order.map((i) => subnets[i].id) } });
    app.synth();
    return JSON.parse(fs.readFileSync(path.join(outdir, "stacks", "db", "cdk.tf.json"), "utf8"));
  }

  test("swapping two subnets of the stack's own network is refused at synth, the references resolved through the prior state", () => {
    const prior = writeStateFrom(synthOwnNetwork([0, 1, 2], freshDir()));
    const outdir = freshDir();
    expect(() => synthOwnNetwork([1, 0, 2], outdir, { [CTX]: prior })).toThrow(/MP-SAFE-SLOT-PLACEMENT.*slot 0 cannot move from subnet subnet-000000000/s);
    expect(filesUnder(outdir)).toEqual([]);
  });

  test("the same subnets in the same order synthesize", () => {
    const prior = writeStateFrom(synthOwnNetwork([0, 1, 2], freshDir()));
    expect(() => synthOwnNetwork([0, 1, 2], freshDir(), { [CTX]: prior })).not.toThrow();
  });
});

describe("where the prior state comes from", () => {
  test("a missing prior-state file is an error naming the file, not a pass", () => {
    const missing = path.join(freshDir(), "nope.tfstate");
    const { error, outdir } = synthAgainst(missing, clusterProps("distributed"));
    expect(error?.message).toContain(missing);
    expect(filesUnder(outdir)).toEqual([]);
  });

  test("every refusal of a synth is one line of one SpecValidationError, not a thrown SafetyRuleError (as src/rules/safety.ts documents)", () => {
    const { error } = synthAgainst(deployedDistributed(), clusterProps("standalone", { storageGiB: 10 }));
    expect(error).toBeInstanceOf(SpecValidationError);
    expect(error).not.toBeInstanceOf(SafetyRuleError);
    expect((error as SpecValidationError).issues.map((i) => i.path)).toEqual(["(prior state)", "(prior state)"]);
    expect(error!.message).toMatch(/^Invalid cluster spec \(db\/orders\): 2 problems\n  - \[MP-SAFE-MODEL\][\s\S]*\n  - \[MP-SAFE-STORAGE\]/);
  });

  test("a prior-state file that is not JSON is an error naming the file", () => {
    const bad = path.join(freshDir(), "garbage.tfstate");
    fs.writeFileSync(bad, "<html>502 Bad Gateway</html>");
    expect(synthAgainst(bad, clusterProps("distributed")).error?.message).toMatch(/garbage\.tfstate: not valid JSON/);
  });

  test("the MANAGED_POSTGRES_PRIOR_STATE env var names the file", () => {
    process.env[ENV] = deployedDistributed();
    expect(() => synthCluster(clusterProps("standalone"))).toThrow(/MP-SAFE-MODEL/);
  });

  test("the stack's local-backend state file is read when nothing names a file", () => {
    const file = deployedDistributed();
    const app = new App({ outdir: freshDir() });
    const stack = new TerraformStack(app, "db");
    new LocalBackend(stack, { path: file });
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new ManagedPostgres(stack, "orders", clusterProps("distributed", { storageGiB: 10 }));
    expect(() => app.synth()).toThrow(/MP-SAFE-STORAGE/);
  });

  test("a stack without backend reads cdktf's default local state terraform.<stack>.tfstate in the synth directory", () => {
    const file = deployedDistributed();
    const cwd = process.cwd();
    const here = freshDir("mp-cwd-");
    fs.copyFileSync(file, path.join(here, "terraform.db.tfstate"));
    process.chdir(here);
    try {
      expect(() => synthCluster(clusterProps("distributed", { storageGiB: 10 }))).toThrow(/MP-SAFE-STORAGE/);
    } finally {
      process.chdir(cwd);
    }
  });

  test("a relative local-backend path is read from the stack's working directory", () => {
    const outdir = freshDir();
    fs.mkdirSync(path.join(outdir, "stacks", "db"), { recursive: true });
    fs.copyFileSync(deployedDistributed(), path.join(outdir, "stacks", "db", "terraform.db.tfstate"));
    const app = new App({ outdir });
    const stack = new TerraformStack(app, "db");
    new LocalBackend(stack, { path: "terraform.db.tfstate" });
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new ManagedPostgres(stack, "orders", clusterProps("distributed", { storageGiB: 10 }));
    expect(() => app.synth()).toThrow(/MP-SAFE-STORAGE/);
  });

  test("the annotations name the prior state read and what it holds", () => {
    const outdir = freshDir();
    synthCluster(clusterProps("distributed", { storageGiB: 64 }), { outdir, context: { [CTX]: deployedDistributed() } });
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, "manifest.json"), "utf8"));
    expect(manifest.stacks.db.annotations.map((a: any) => a.message).join("\n")).toMatch(/prior state .*prior\.tfstate \(context\): deployed distributed, 40 GiB, PostgreSQL 17, 3 slot/);
  });

  test("a remote backend without a prior state warns that nothing was compared", () => {
    const outdir = freshDir();
    const app = new App({ outdir });
    const stack = new TerraformStack(app, "db");
    new S3Backend(stack, { bucket: "tf-state", key: "db.tfstate", region: "eu-west-1" });
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new ManagedPostgres(stack, "orders", clusterProps("distributed"));
    app.synth();
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, "manifest.json"), "utf8"));
    expect(manifest.stacks.db.annotations.map((a: any) => a.message).join("\n")).toMatch(/remote backend and no prior state/);
  });
});

describe("end of support", () => {
  const annotations = (outdir: string) =>
    JSON.parse(fs.readFileSync(path.join(outdir, "manifest.json"), "utf8")).stacks.db.annotations as { level: string; message: string }[];

  test("within 180 days of the end of support synth warns", () => {
    const { outdir } = synthCluster(clusterProps("distributed", { majorVersion: 15, now: "2027-06-01" }));
    expect(annotations(outdir).find((a) => a.level === "@cdktf/warn")?.message).toMatch(/PostgreSQL 15 reaches end of support on 2027-11-11/);
  });

  test("after the end of support synth refuses and writes nothing", () => {
    const outdir = freshDir();
    expect(() => synthCluster(clusterProps("distributed", { majorVersion: 15, now: "2027-12-01" }), { outdir })).toThrow(/MP-SAFE-END-OF-SUPPORT/);
    expect(filesUnder(outdir)).toEqual([]);
  });

  test("the clock comes from the managed-postgres:now context key", () => {
    const { now: _now, ...props } = clusterProps("distributed", { majorVersion: 15 });
    expect(() => synthCluster(props, { context: { "managed-postgres:now": "2028-01-01" } })).toThrow(/reached end of support on 2027-11-11/);
  });
});

describe("restoreFrom", () => {
  const restoreFrom = {
    backupBucket: "cms-backups-0a1b2c",
    stanza: "cms",
    target: "2026-11-20T10:00:00Z",
    secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:managed-postgres/cms-AbCdEf",
    backupKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
  };

  test("an invalid target is refused naming restoreFrom.target", () => {
    const props = clusterProps("distributed", { restoreFrom: { ...restoreFrom, target: "20 Nov 2026" } });
    let error: unknown;
    try {
      synthCluster(props);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecValidationError);
    expect((error as SpecValidationError).issues.map((i) => i.path)).toEqual(["restoreFrom.target"]);
  });

  test("the nodes' user data bootstraps Patroni with a pgBackRest restore from the source", () => {
    const { json } = synthCluster(clusterProps("distributed", { restoreFrom }));
    const userData = Object.values<any>(configLocals(json)).filter((v) => typeof v === "string" && v.startsWith("#cloud-config"));
    const nodes = userData.filter((u) => u.includes("/etc/patroni/"));
    expect(nodes.length).toBe(3);
    for (const u of nodes) {
      expect(u).toContain("pgbackrest_restore");
      expect(u).toContain("--config=/etc/pgbackrest/restore-source.conf");
      expect(u).toContain("path: /etc/pgbackrest/restore-source.conf.template");
      expect(u).toContain("ExecStartPre=+/usr/local/sbin/managed-postgres-restore-source-pass");
    }
  });

  test("without restoreFrom the nodes bootstrap with initdb", () => {
    const { json } = synthCluster(clusterProps("distributed"));
    const userData = Object.values<any>(configLocals(json)).filter((v) => typeof v === "string" && v.startsWith("#cloud-config"));
    expect(userData.some((u) => u.includes("pgbackrest_restore"))).toBe(false);
  });

  test("the node role may read the source bucket's stanza prefix and nothing more of it", () => {
    const { json } = synthCluster(clusterProps("distributed", { restoreFrom }));
    const docs = Object.values<any>(json.data.aws_iam_policy_document);
    const restoreDoc = docs.find((d) => d.statement?.some((s: any) => s.sid === "RestoreSourceBackupsRead"));
    const read = restoreDoc.statement.find((s: any) => s.sid === "RestoreSourceBackupsRead");
    expect(read.actions).toEqual(["s3:GetObject"]);
    expect(read.resources).toHaveLength(1);
    expect(read.resources[0]).toMatch(/^arn:\$\{data\.aws_partition\.[^}]+\.partition\}:s3:::cms-backups-0a1b2c\/cms\/\*$/);
  });
});
