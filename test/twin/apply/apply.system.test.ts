/**
 * The twin's apply (issue 10, part A) on synthesized stacks: the distributed and standalone
 * examples and the standalone + restoreFrom + installPackagesAtBoot fixture app are synthesized
 * here (their apps run, as `cdktf synth` runs them), then applied with the real `terraform
 * console`; small hand-written stacks exercise the failures (precondition, user data size,
 * cycle, prevent_destroy) and the template escapes.
 * System tier: needs the `terraform` binary (no provider, no network).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { HCL_MODULE_APP, TWIN_APPS, synthesizeApp } from "../apps/synth";
import { addressesInUse, applyStack, isAssignable, parseState, serializeState, TwinState } from "./index";

jest.setTimeout(300_000);

const work = mkdtempSync(join(tmpdir(), "twin-apply-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Writes a hand-written stack (cdk.tf.json) into a new directory. */
function stack(name: string, doc: Record<string, unknown>): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify({ provider: { aws: [{ region: "eu-west-1" }] }, ...doc }));
  return dir;
}

/** A copy of a synthesized stack with `edit` applied to its JSON. */
function edited(from: string, name: string, edit: (doc: any) => void): string {
  const doc = JSON.parse(readFileSync(join(from, "cdk.tf.json"), "utf8"));
  edit(doc);
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify(doc));
  return dir;
}

/** Every `${` left in any resolved attribute or output, with where. */
function unresolved(state: TwinState): string[] {
  const found: string[] = [];
  for (const r of state.resources) {
    JSON.stringify(r.attributes).replace(/\$\{.{0,40}/g, (m) => (found.push(`${r.address}: ${m}`), m));
  }
  JSON.stringify(state.outputs).replace(/\$\{.{0,40}/g, (m) => (found.push(`outputs: ${m}`), m));
  return found;
}

/** The cloud-config EC2 hands the instance: base64 → gunzip. */
function userDataText(state: TwinState, address: string): string {
  const b = Buffer.from(state.get(address).attributes.user_data as string, "base64");
  expect(b.length).toBeLessThanOrEqual(16_384);
  return gunzipSync(b).toString("utf8");
}

/** Checks what every synthesized database stack must satisfy after apply. */
function checkDatabaseStack(state: TwinState): void {
  expect(unresolved(state)).toEqual([]);
  expect(state.region).toBe("eu-west-1");
  expect(state.accountId).toBe("111122223333");

  // Slot user data: the cloud-config fetches the bootstrap object whose content has the SHA-256 it expects.
  const slotTemplates = state.ofType("aws_launch_template").filter((t) => /slot-\d+_launch-template/.test(t.name));
  expect(slotTemplates.length).toBeGreaterThan(0);
  for (const lt of slotTemplates) {
    expect(lt.attributes.id).toMatch(/^lt-[0-9a-f]{17}$/);
    expect(lt.attributes.latest_version).toBe(1);
    const text = userDataText(state, lt.address);
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const bucket = /readonly BUCKET='([^']+)'/.exec(text)![1];
    const key = /readonly KEY='([^']+)'/.exec(text)![1];
    const versionId = /readonly VERSION_ID='([^']*)'/.exec(text)![1];
    const sha = /readonly SHA256='([0-9a-f]{64})'/.exec(text)![1];
    const object = state.ofType("aws_s3_object").find((o) => o.attributes.bucket === bucket && o.attributes.key === key);
    expect(object).toBeDefined();
    expect(createHash("sha256").update(object!.attributes.content as string).digest("hex")).toBe(sha);
    // The bucket's versioning is applied first (depends_on), so the object has a version id, and the user data pins it.
    expect(object!.attributes.version_id).toMatch(/^.{32}$/);
    expect(versionId).toBe(object!.attributes.version_id);
    const bucketResource = state.ofType("aws_s3_bucket").find((b) => b.attributes.bucket === bucket)!;
    expect(bucketResource.attributes.bucket_regional_domain_name).toBe(`${bucket}.s3.eu-west-1.amazonaws.com`);
  }

  // Slot addresses: inside their subnets (not reserved), all addresses of the twin distinct.
  const subnets = new Map([...state.ofType("aws_subnet").map((s) => s.attributes), ...state.account.subnets].map((s) => [s.id as string, s.cidr_block as string]));
  const all: string[] = [];
  for (const eni of state.ofType("aws_network_interface")) {
    const cidr = subnets.get(eni.attributes.subnet_id as string)!;
    expect(isAssignable(cidr, eni.attributes.private_ip as string)).toBe(true);
    expect(eni.attributes.mac_address).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    all.push(eni.attributes.private_ip as string);
  }
  for (const r of state.resources) for (const i of (r.computed.twin_interfaces ?? []) as { private_ip: string; subnet_id: string }[]) {
    expect(isAssignable(subnets.get(i.subnet_id)!, i.private_ip)).toBe(true);
    all.push(i.private_ip);
  }
  expect(new Set(all).size).toBe(all.length);

  // Policies: the provider's JSON; the node role's inline policy names the secret's ARN.
  // the cluster secret (a distributed cluster also has the PgBouncer tier's own, `<name>/pooler`)
  const secret = state.ofType("aws_secretsmanager_secret").find((x) => !String(x.attributes.name).endsWith("/pooler"))!;
  expect(secret.attributes.arn).toMatch(/^arn:aws:secretsmanager:eu-west-1:111122223333:secret:managed-postgres\/[a-z0-9/-]+-[A-Za-z0-9]{6}$/);
  const nodePolicy = state.ofType("aws_iam_role_policy").find((p) => p.attributes.name === "node-permissions")!;
  const doc = JSON.parse(nodePolicy.attributes.policy as string);
  expect(doc.Version).toBe("2012-10-17");
  const secretStatement = doc.Statement.find((s: { Sid: string }) => s.Sid === "ClusterSecretReadWrite");
  expect(secretStatement.Resource).toBe(secret.attributes.arn);
  expect(secretStatement.Action).toEqual(["secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue"]);
  const key = state.ofType("aws_kms_key")[0];
  expect(key.attributes.arn).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${key.attributes.key_id}`);
  expect(JSON.parse(key.attributes.policy as string).Statement[0].Principal).toEqual({ AWS: "arn:aws:iam::111122223333:root" });

  // Every data source and resource is AWS-shaped where it is referenced.
  for (const sg of state.ofType("aws_security_group")) expect(sg.attributes.id).toMatch(/^sg-[0-9a-f]{17}$/);
  for (const v of state.ofType("aws_ebs_volume")) expect(v.attributes.availability_zone).toMatch(/^eu-west-1[abc]$/);
}

describe("applyStack on the synthesized apps", () => {
  const synthesized: Record<string, string> = {};
  const states: Record<string, TwinState> = {};

  beforeAll(() => {
    for (const [app, dir] of Object.entries(TWIN_APPS)) Object.assign(synthesized, synthesizeApp(dir, join(work, `synth-${app}`)));
  });

  test.each(["distributed", "standalone", "restore-standalone"])("%s: applies in dependency order with every reference resolved", async (name) => {
    const state = await applyStack(synthesized[name]);
    states[name] = state;
    // Measured on the 2-core machine (console runs dominate); printed for the report.
    console.log(`twin apply ${name}: ${state.resources.length} resources/data sources, ${state.stats.levels} levels, ${state.stats.consoleRuns} console runs, ${state.stats.totalMillis} ms`);
    // The target is < 15 s on an idle machine (4 to 8 s measured for distributed, 16 s with six other agents busy); the bound leaves room for load.
    expect(state.stats.totalMillis).toBeLessThan(60_000);
    checkDatabaseStack(state);
    // Creation order: each resource after what it references (the VPC before its subnets, the bucket before its objects).
    const order = state.resources.map((r) => r.address);
    const vpc = order.findIndex((a) => a.startsWith("aws_vpc."));
    expect(vpc).toBeLessThan(order.findIndex((a) => a.startsWith("aws_subnet.")));
    expect(order.findIndex((a) => a.startsWith("aws_s3_bucket_versioning."))).toBeLessThan(order.findIndex((a) => a.startsWith("aws_s3_object.")));
  });

  test("distributed: endpoints are the load balancer's DNS name; three slots in three zones", () => {
    const state = states.distributed;
    const lb = state.ofType("aws_lb")[0];
    expect(lb.attributes.dns_name).toMatch(/^mp-orders-[0-9a-f]{16}\.elb\.eu-west-1\.amazonaws\.com$/);
    expect(state.outputs.orders_read_write_endpoint).toBe(lb.attributes.dns_name);
    const zones = state.ofType("aws_ebs_volume").map((v) => v.attributes.availability_zone);
    expect(new Set(zones)).toEqual(new Set(["eu-west-1a", "eu-west-1b", "eu-west-1c"]));
    expect(state.get("data.aws_availability_zones.network_zones_2241F3F0").attributes.zone_ids).toEqual(["euw1-az1", "euw1-az2", "euw1-az3"]);
  });

  test("standalone: the endpoint output is the slot's address", () => {
    const state = states.standalone;
    const eni = state.ofType("aws_network_interface")[0];
    expect(state.outputs.cms_read_write_endpoint).toBe(eni.attributes.private_ip);
  });

  test("restore-standalone: the restore and the package list are in the user data, under EC2's limit", () => {
    const state = states["restore-standalone"];
    const lt = state.ofType("aws_launch_template").find((t) => /slot-0/.test(t.name))!;
    const text = userDataText(state, lt.address);
    expect(text).toMatch(/\npackages:\n {2}- postgresql-17\n/);
    expect(text).toContain("pgbackrest_restore");
    const policy = state.ofType("aws_iam_role_policy").map((p) => p.attributes.policy as string).join("\n");
    expect(policy).toContain("arn:aws:secretsmanager:eu-west-1:111122223333:secret:managed-postgres/orders-AbCdEf");
  });

  test("re-apply: unchanged resources keep their ids; a changed launch template gets version 2 and the group follows", async () => {
    // The prior state may come from another process.
    const first = parseState(serializeState(states.standalone));
    expect(first.get(states.standalone.resources[0].address)).toEqual(states.standalone.resources[0]);
    const same = await applyStack(synthesized.standalone, undefined, first);
    for (const r of first.resources) expect(same.get(r.address).attributes.id).toBe(r.attributes.id);
    expect(same.ofType("aws_launch_template")[0].attributes.latest_version).toBe(1);

    const dir = edited(synthesized.standalone, "standalone-changed-template", (doc) => {
      const [name] = Object.keys(doc.resource.aws_launch_template);
      doc.resource.aws_launch_template[name].description += " (changed)";
    });
    const second = await applyStack(dir, undefined, first);
    const lt = second.ofType("aws_launch_template")[0];
    expect(lt.attributes.id).toBe(first.ofType("aws_launch_template")[0].attributes.id);
    expect(lt.attributes.latest_version).toBe(2);
    expect(lt.attributes.default_version).toBe(2); // update_default_version = true
    expect((second.ofType("aws_autoscaling_group")[0].attributes.launch_template as { version: unknown }).version).toBe(2);
  });

  test("re-apply: a failing precondition fails the apply naming the resource (the deployed volume is larger than storageGiB)", async () => {
    const first = states.standalone;
    const dir = edited(synthesized.standalone, "standalone-shrink", (doc) => {
      const [local] = Object.keys(doc.locals).filter((k) => k.includes("requested-placement"));
      doc.locals[local].storage_gib = 10;
      const [vol] = Object.keys(doc.resource.aws_ebs_volume);
      doc.resource.aws_ebs_volume[vol].size = 10;
    });
    const volume = first.ofType("aws_ebs_volume")[0].address;
    await expect(applyStack(dir, undefined, first)).rejects.toThrow(new RegExp(`^${volume.replace(/[.[\]]/g, "\\$&")}: Resource precondition failed: Cluster "cms", slot 0: the deployed data volume is larger`));
    // On a first apply there is no deployed volume: the same JSON applies.
    await expect(applyStack(dir)).resolves.toBeDefined();
  });

  test("re-apply: the plan-time guard reads the slot's data volume only, not the root volume a launch tagged per tag_specifications", async () => {
    const first = states.standalone;
    const lt = first.ofType("aws_launch_template")[0];
    const spec = (lt.attributes.tag_specifications as { resource_type: string; tags: Record<string, string> }[]).find((t) => t.resource_type === "volume")!;
    const dataVolume = first.ofType("aws_ebs_volume")[0];
    // The root volume an instance of the slot's group launched with (launch template: 16 GiB, tagged as tag_specifications says).
    const root = { id: "vol-0aaaaaaaaaaaaaaaa", availability_zone: dataVolume.attributes.availability_zone as string, size: 16, tags: spec.tags };
    const again = await applyStack(synthesized.standalone, { volumes: [root] }, first);
    const ids = again.ofType("aws_ebs_volumes")[0].attributes.ids;
    expect(ids).toEqual([dataVolume.attributes.id]);
    expect(again.ofType("aws_ebs_volume").filter((r) => r.mode === "data").map((r) => r.address)).toEqual([`data.aws_ebs_volume.${again.ofType("aws_ebs_volume").find((r) => r.mode === "data")!.name}["${String(dataVolume.attributes.id)}"]`]);
    // Every address in use is distinct and known to an instance launch.
    const used = addressesInUse(again);
    expect([...used.values()].reduce((n, s) => n + s.size, 0)).toBeGreaterThanOrEqual(1 + 6); // the slot ENI + six interface endpoints
  });

  test("re-apply: removing a prevent_destroy resource, or replacing one, fails the apply", async () => {
    const first = states.standalone;
    const volume = first.ofType("aws_ebs_volume")[0];
    const gone = edited(synthesized.standalone, "standalone-no-volume", (doc) => {
      delete doc.resource.aws_ebs_volume[volume.name];
      // What referenced it now names a literal volume id.
      const text = JSON.stringify(doc).split(`\${aws_ebs_volume.${volume.name}.id}`).join("vol-0123456789abcdef0");
      Object.assign(doc, JSON.parse(text));
      for (const t of Object.keys(doc.resource)) {
        for (const r of Object.values(doc.resource[t]) as { depends_on?: string[] }[]) r.depends_on = r.depends_on?.filter((d) => d !== volume.address);
      }
    });
    await expect(applyStack(gone, undefined, first)).rejects.toThrow(`${volume.address}: Instance cannot be destroyed`);
    const moved = edited(synthesized.standalone, "standalone-unencrypted", (doc) => {
      doc.resource.aws_ebs_volume[volume.name].encrypted = false;
    });
    await expect(applyStack(moved, undefined, first)).rejects.toThrow(/Instance cannot be destroyed.*replaced: encrypted changed/);
  });
});

describe("applyStack on the HCL module stacks (input variables, pre-existing VPC and subnets)", () => {
  const vpc = { id: "vpc-0abc12345def67890", cidr_block: "10.0.0.0/16" };
  const account = {
    region: "eu-west-1",
    vpcs: [vpc],
    subnets: ["a", "b", "c"].map((z, i) => ({ id: `subnet-0${z.repeat(4)}111122223333`, vpc_id: vpc.id, cidr_block: `10.0.${i * 16}.0/20`, availability_zone: `eu-west-1${z}` })),
  };
  const inputs = (subnets: number, cidrs: string[]) => ({ variables: { vpc_id: vpc.id, subnet_ids: account.subnets.slice(0, subnets).map((x) => x.id), allowed_cidrs: cidrs, storage_gib: 50 } });
  let stacks: Record<string, string> = {};
  beforeAll(() => {
    stacks = synthesizeApp(HCL_MODULE_APP, join(work, "synth-hcl-module"));
  });

  test("orders-db (distributed) and reports-db (standalone) apply with the module's inputs", async () => {
    const orders = await applyStack(stacks["orders-db"], account, undefined, inputs(3, ["10.0.0.0/16"]));
    checkDatabaseStack(orders);
    expect(orders.ofType("aws_network_interface").map((e) => e.attributes.subnet_id).sort()).toEqual(account.subnets.map((x) => x.id).sort());
    const reports = await applyStack(stacks["reports-db"], account, undefined, inputs(1, ["10.0.0.0/16"]));
    checkDatabaseStack(reports);
    expect(reports.ofType("aws_ebs_volume")[0].attributes.size).toBe(50);
  });

  test("a variable's validation fails the apply naming the variable; a missing required variable too", async () => {
    await expect(applyStack(stacks["reports-db"], account, undefined, inputs(1, ["0.0.0.0/0"]))).rejects.toThrow(/^var\.allowed_cidrs: Invalid value for variable: Every entry of `allowed_cidrs` must be a valid IPv4 CIDR with a prefix of \/8 or longer/);
    await expect(applyStack(stacks["reports-db"], account)).rejects.toThrow(/^var\.\w+: No value for required variable/);
  });
});

describe("applyStack on hand-written stacks", () => {
  test("user data over 16,384 decoded bytes is refused like CreateLaunchTemplate; 16,384 is accepted", async () => {
    const lt = (n: number) =>
      stack(`user-data-${n}`, {
        locals: { text: "a".repeat(n) },
        resource: { aws_launch_template: { node: { name: "node", user_data: "${base64encode(local.text)}" } } },
      });
    const ok = await applyStack(lt(16_384));
    expect(Buffer.from(ok.get("aws_launch_template.node").attributes.user_data as string, "base64").length).toBe(16_384);
    await expect(applyStack(lt(16_385))).rejects.toThrow(/^aws_launch_template\.node: creating EC2 Launch Template \(node\): InvalidUserData\.Malformed: User data is limited to 16384 bytes/);
  });

  test("a failing precondition and a failing postcondition name the resource and carry the error message", async () => {
    const pre = stack("pre", {
      resource: {
        aws_vpc: { v: { cidr_block: "10.9.0.0/16" } },
        aws_subnet: {
          s: {
            vpc_id: "${aws_vpc.v.id}",
            cidr_block: "${cidrsubnet(aws_vpc.v.cidr_block, 8, 300 - 299)}",
            availability_zone: "eu-west-1a",
            lifecycle: { precondition: [{ condition: "${startswith(aws_vpc.v.id, \"subnet-\")}", error_message: "VPC ${aws_vpc.v.cidr_block} is not a subnet" }] },
          },
        },
      },
    });
    await expect(applyStack(pre)).rejects.toThrow("aws_subnet.s: Resource precondition failed: VPC 10.9.0.0/16 is not a subnet");
    const post = stack("post", {
      resource: { aws_vpc: { v: { cidr_block: "10.9.0.0/16", lifecycle: { postcondition: [{ condition: "${startswith(self.arn, \"arn:aws:ec2:us-east-1:\")}", error_message: "wrong region: ${self.arn}" }] } } } },
    });
    await expect(applyStack(post)).rejects.toThrow(/^aws_vpc\.v: Resource postcondition failed: wrong region: arn:aws:ec2:eu-west-1:111122223333:vpc\/vpc-[0-9a-f]{17}$/);
  });

  test("a dependency cycle is reported with its members", async () => {
    const dir = stack("cycle", {
      resource: {
        aws_security_group: { a: { description: "${aws_security_group.b.id}" }, b: { description: "${aws_security_group.c.id}" }, c: { description: "x", depends_on: ["aws_security_group.a"] } },
        aws_vpc: { v: { cidr_block: "10.0.0.0/16" } },
      },
    });
    await expect(applyStack(dir)).rejects.toThrow("Cycle: aws_security_group.a, aws_security_group.b, aws_security_group.c");
  });

  test("escapes: $${ is literal and becomes ${ once; a resolved value carrying ${ is never evaluated again", async () => {
    const dir = stack("escapes", {
      locals: { braces: '${jsonencode({ a = "}", b = "${"{"}" })}', literal: "$${aws_vpc.v.id} %%{ if x } 100% $" },
      resource: {
        aws_vpc: { v: { cidr_block: "10.1.0.0/16", tags: { Literal: "${local.literal}", "k$${x}": "$${y}" } } },
        aws_security_group: { g: { vpc_id: "${aws_vpc.v.id}", description: "${aws_vpc.v.tags.Literal}|${local.braces}|${aws_vpc.v.tags[\"k$${x}\"]}" } },
      },
      output: { literal: { value: "${aws_security_group.g.description}" } },
    });
    const state = await applyStack(dir);
    const vpc = state.get("aws_vpc.v").attributes;
    expect(vpc.tags).toEqual({ Literal: "${aws_vpc.v.id} %{ if x } 100% $", "k${x}": "${y}" });
    expect(vpc.tags_all).toEqual(vpc.tags);
    const expected = '${aws_vpc.v.id} %{ if x } 100% $|{"a":"}","b":"{"}|${y}';
    expect(state.get("aws_security_group.g").attributes.description).toBe(expected);
    expect(state.outputs.literal).toBe(expected);
    // The security group was created after the VPC it references.
    expect(state.resources.map((r) => r.address)).toEqual(["aws_vpc.v", "aws_security_group.g"]);
  });

  test("for_each over a data source's ids and count: instances with their keys, each.value and count.index resolved", async () => {
    const volume = { id: "vol-0123456789abcdef0", availability_zone: "eu-west-1b", size: 30, tags: { cluster: "c", slot: "1" } };
    const dir = stack("for-each", {
      data: {
        aws_ebs_volumes: { ids: { filter: [{ name: "tag:cluster", values: ["c"] }] } },
        aws_ebs_volume: { each: { for_each: "${toset(data.aws_ebs_volumes.ids.ids)}", filter: [{ name: "volume-id", values: ["${each.value}"] }] } },
      },
      resource: { aws_sns_topic: { t: { count: "${length(data.aws_ebs_volume.each)}", name: "topic-${count.index}-${data.aws_ebs_volume.each[\"vol-0123456789abcdef0\"].size}" } } },
      output: { sizes: { value: "${[for v in data.aws_ebs_volume.each : v.size]}" } },
    });
    const state = await applyStack(dir, { volumes: [volume, { ...volume, id: "vol-0fffffffffffffff0", tags: { cluster: "other" } }] });
    expect(state.get('data.aws_ebs_volume.each["vol-0123456789abcdef0"]').attributes.availability_zone).toBe("eu-west-1b");
    expect(state.get("aws_sns_topic.t[0]").attributes.arn).toBe("arn:aws:sns:eu-west-1:111122223333:topic-0-30");
    expect(state.outputs.sizes).toEqual([30]);
    expect(() => state.get("aws_sns_topic.t[1]")).toThrow(/has no resource aws_sns_topic\.t\[1\]/);
  });

  test("an expression Terraform cannot evaluate fails naming the resource, with Terraform's message", async () => {
    const dir = stack("bad-expression", { resource: { aws_vpc: { v: { cidr_block: "${cidrsubnet(\"10.0.0.0/16\", 20, 0)}" } } } });
    await expect(applyStack(dir)).rejects.toThrow(/^aws_vpc\.v: Terraform could not evaluate it:\n[\s\S]*Call to function "cidrsubnet" failed: insufficient address space/);
  });
});
