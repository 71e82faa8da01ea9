/**
 * The twin's AWS API with the real AWS CLI and the distributed example's synthesized
 * policies: credentials only from IMDSv2, every request SigV4-checked and authorized with
 * the role's identity policies and the resource's policy (bucket, key, secret).
 */
import { execFile, execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { request as httpRequest } from "http";
import { request as httpsRequest } from "https";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { createCa, issueCertificate } from "../../live/harness/tls";
import { nodeRoot } from "../machine/index";
import { requirePrerequisites } from "../../support/prerequisites";
import { startTwinAws, twinServiceNames, type HotplugEvent, type TwinAws } from "./index";
import { worldFromStack, type SynthesizedWorld } from "./synthesized-world";

const ROOT = resolve(__dirname, "../../..");
const ADDRESS = `127.0.${10 + (process.pid % 200)}.${2 + (process.pid % 250)}`;
const NODE_ID = "i-0a1b2c3d4e5f60001";
const POOLER_ID = "i-0a1b2c3d4e5f60002";
const OTHER_ID = "i-0a1b2c3d4e5f60003";
const SECRET_TOKEN = "0123456789abcdef0123456789abcdef";

let dir: string;
let fx: SynthesizedWorld;
let twin: TwinAws;
let caFile: string;
const hotplug: HotplugEvent[] = [];

/** Runs the AWS CLI as the instance behind `imds` (its IMDS endpoint); never throws. */
function aws(imds: string, args: string[], opts: { http?: boolean; env?: Record<string, string>; input?: string } = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  const endpoint = opts.http ? `http://${twin.endpoints.apiHttp[0]}` : `https://${twin.endpoints.api[0]}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, "no-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${imds}/`,
    AWS_CA_BUNDLE: caFile,
    AWS_DEFAULT_REGION: fx.world.region,
    AWS_MAX_ATTEMPTS: "1",
    ...opts.env,
  };
  return new Promise((done) => {
    const child = execFile("aws", ["--endpoint-url", endpoint, "--output", "json", ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

function imdsOf(instanceId: string): string {
  const i = [NODE_ID, POOLER_ID, OTHER_ID].indexOf(instanceId);
  return twin.endpoints.imds[i]!;
}

function imdsGet(imds: string, path: string, token?: string, method = "GET", headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const [host, port] = imds.split(":");
  return new Promise((done, fail) => {
    const req = httpRequest({ host, port: Number(port), path, method, headers: { ...headers, ...(token ? { "x-aws-ec2-metadata-token": token } : {}) } }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", fail);
    req.end();
  });
}

async function instanceCredentials(instanceId: string): Promise<{ AccessKeyId: string; SecretAccessKey: string; Token: string; Expiration: string }> {
  const imds = imdsOf(instanceId);
  const token = (await imdsGet(imds, "/latest/api/token", undefined, "PUT", { "x-aws-ec2-metadata-token-ttl-seconds": "60" })).body;
  const role = (await imdsGet(imds, "/latest/meta-data/iam/security-credentials/", token)).body;
  return JSON.parse((await imdsGet(imds, `/latest/meta-data/iam/security-credentials/${role}`, token)).body);
}

function policyWithout(roleArn: string, sid: string): string[] {
  return Object.values(fx.rolePolicies[roleArn]!).map((doc) => JSON.stringify({ ...doc, Statement: doc.Statement.filter((s) => s.Sid !== sid) }));
}

function originalPolicies(roleArn: string): string[] {
  return Object.values(fx.rolePolicies[roleArn]!).map((doc) => JSON.stringify(doc));
}

beforeAll(async () => {
  requirePrerequisites({ commands: ["aws", "openssl"] });
  dir = mkdtempSync(join(tmpdir(), "twin-aws-"));
  execFileSync("node", ["--conditions=cdktf-managed-postgres-source", "-r", "sucrase/register", "main.ts"], {
    cwd: join(ROOT, "examples/distributed"),
    env: { ...process.env, CDKTF_OUTDIR: join(dir, "synth"), CHECKPOINT_DISABLE: "1" },
    stdio: "ignore",
  });
  fx = worldFromStack(JSON.parse(readFileSync(join(dir, "synth/stacks/distributed/cdk.tf.json"), "utf8")));
  const w = fx.world;
  const s0 = fx.slots[0]!;
  const instance = (id: string, ip: string, profile: string | undefined, tags: Record<string, string>, asg?: string) => ({
    id,
    privateIp: ip,
    mac: `0e:aa:00:00:00:${id.slice(-2)}`,
    subnetId: `subnet-0slot0`,
    subnetCidr: s0.subnetCidr,
    vpcId: `vpc-0twin`,
    availabilityZone: s0.zone,
    ...(profile ? { instanceProfileArn: profile } : {}),
    tags,
    ...(asg ? { autoScalingGroupName: asg } : {}),
    state: "running" as const,
  });
  const cluster = { "managed-postgres:cluster": fx.clusterName };
  w.instances.push(
    instance(NODE_ID, "10.42.0.101", fx.nodeProfileArn, { ...cluster, "managed-postgres:slot": "0", Name: `${fx.clusterName}-0` }, s0.asgName),
    instance(POOLER_ID, "10.42.0.102", fx.poolerProfileArn, { ...cluster, Name: `${fx.clusterName}-pooler` }),
    instance(OTHER_ID, "10.42.0.103", fx.nodeProfileArn, { "managed-postgres:cluster": "another-cluster" }),
  );
  const ca = await createCa(join(dir, "ca"), "twin test CA");
  caFile = join(dir, "ca.crt");
  writeFileSync(caFile, ca.certPem);
  // the address as a DNS name too: pgBackRest checks repo1-storage-host against DNS names only (the nodes use the public names)
  const tls = await issueCertificate(join(dir, "tls"), ca, "twin-aws", [ADDRESS], [...twinServiceNames(w.region), ADDRESS]);
  twin = await startTwinAws({
    world: w,
    tls,
    api: [{ host: ADDRESS, port: 0 }],
    apiHttp: [{ host: ADDRESS, port: 0 }],
    imds: [NODE_ID, POOLER_ID, OTHER_ID].map((instanceId) => ({ host: ADDRESS, port: 0, instanceId })),
    dataDir: join(dir, "s3"),
    hotplug: { attach: (e) => void hotplug.push(e) },
  });
}, 120_000);

afterAll(async () => {
  await twin?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("IMDSv2", () => {
  test("a GET without a session token is refused with 401 (http_tokens = required)", async () => {
    expect((await imdsGet(imdsOf(NODE_ID), "/latest/meta-data/instance-id")).status).toBe(401);
  });

  test("with a token, the instance's own metadata and its role's temporary credentials (ASIA…, session token, expiration)", async () => {
    const imds = imdsOf(NODE_ID);
    const token = (await imdsGet(imds, "/latest/api/token", undefined, "PUT", { "x-aws-ec2-metadata-token-ttl-seconds": "21600" })).body;
    expect((await imdsGet(imds, "/latest/meta-data/instance-id", token)).body).toBe(NODE_ID);
    expect((await imdsGet(imds, "/latest/meta-data/placement/availability-zone", token)).body).toBe(fx.slots[0]!.zone);
    const mac = (await imdsGet(imds, "/latest/meta-data/mac", token)).body;
    expect((await imdsGet(imds, `/latest/meta-data/network/interfaces/macs/${mac}/subnet-ipv4-cidr-block`, token)).body).toBe(fx.slots[0]!.subnetCidr);
    const c = await instanceCredentials(NODE_ID);
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(c.Token.length).toBeGreaterThan(100);
    expect(Date.parse(c.Expiration)).toBeGreaterThan(Date.now() + 5 * 3600_000);
  });

  test("a token request longer than 6 hours or without a TTL is refused with 400", async () => {
    const imds = imdsOf(NODE_ID);
    expect((await imdsGet(imds, "/latest/api/token", undefined, "PUT", { "x-aws-ec2-metadata-token-ttl-seconds": "21601" })).status).toBe(400);
    expect((await imdsGet(imds, "/latest/api/token", undefined, "PUT")).status).toBe(400);
  });
});

describe("calls the synthesized node policy allows", () => {
  test("sts get-caller-identity names the assumed-role session of the instance", async () => {
    const r = await aws(imdsOf(NODE_ID), ["sts", "get-caller-identity"]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout).Arn).toBe(`arn:aws:sts::111122223333:assumed-role/managed-postgres-${fx.clusterName}-node/${NODE_ID}`);
  });

  test("describe-network-interfaces with the slot's tag filters finds exactly the slot ENI (statement DescribeSlotResources)", async () => {
    const r = await aws(imdsOf(NODE_ID), [
      "ec2", "describe-network-interfaces", "--filters",
      `Name=tag:managed-postgres:cluster,Values=${fx.clusterName}`, "Name=tag:managed-postgres:slot,Values=0",
      "Name=tag:managed-postgres:slot-resource,Values=network-interface",
    ]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout).NetworkInterfaces.map((e: { NetworkInterfaceId: string }) => e.NetworkInterfaceId)).toEqual([fx.slots[0]!.eniId]);
    const d = twin.decisions.filter((x) => x.action === "ec2:DescribeNetworkInterfaces").pop()!;
    expect(d).toMatchObject({ result: "Allowed", statements: ["DescribeSlotResources"] });
  });

  test("attach-volume of the slot volume to the node: attaching, the hotplug callback, then attached; a second instance gets VolumeInUse", async () => {
    const vol = fx.slots[0]!.volumeId;
    const r = await aws(imdsOf(NODE_ID), ["ec2", "attach-volume", "--volume-id", vol, "--instance-id", NODE_ID, "--device", "/dev/sdf"]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout).State).toBe("attaching");
    expect(hotplug).toContainEqual(expect.objectContaining({ kind: "volume", resourceId: vol, instanceId: NODE_ID, device: "/dev/sdf" }));
    const kms = twin.decisions.filter((d) => d.action === "kms:CreateGrant").pop()!;
    expect(kms).toMatchObject({ result: "Allowed", via: `ec2.${fx.world.region}.amazonaws.com` });
    const d = await aws(imdsOf(NODE_ID), ["ec2", "describe-volumes", "--volume-ids", vol]);
    expect(JSON.parse(d.stdout).Volumes[0].Attachments[0]).toMatchObject({ InstanceId: NODE_ID, State: "attached" });
    // attached already: attaching it again (any device) is VolumeInUse
    const other = await aws(imdsOf(NODE_ID), ["ec2", "attach-volume", "--volume-id", vol, "--instance-id", NODE_ID, "--device", "/dev/sdg"]);
    expect(other.stderr).toContain("VolumeInUse");
  });

  test("put-secret-value then get-secret-value of the cluster secret (kms:GenerateDataKey and kms:Decrypt through Secrets Manager)", async () => {
    const token = SECRET_TOKEN;
    const put = await aws(imdsOf(NODE_ID), ["secretsmanager", "put-secret-value", "--secret-id", fx.secretArn, "--client-request-token", token, "--secret-string", '{"a":"b"}']);
    expect(put.stderr).toBe("");
    const get = await aws(imdsOf(NODE_ID), ["secretsmanager", "get-secret-value", "--secret-id", fx.secretArn, "--query", "SecretString", "--output", "text"]);
    expect(get.stdout.trim()).toBe('{"a":"b"}');
    const via = twin.decisions.filter((d) => d.via === `secretsmanager.${fx.world.region}.amazonaws.com`).map((d) => `${d.action}:${d.result}`);
    expect(via).toEqual(expect.arrayContaining(["kms:GenerateDataKey:Allowed", "kms:Decrypt:Allowed"]));
  });

  test("s3api get-object --version-id of the slot's bootstrap object (s3:GetObjectVersion, kms:Decrypt through S3)", async () => {
    const obj = fx.bootstrapObjects[0]!;
    const out = join(dir, "bootstrap");
    const r = await aws(imdsOf(NODE_ID), ["s3api", "get-object", "--bucket", fx.bucket, "--key", obj.key, "--version-id", obj.versionId, out]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ VersionId: obj.versionId, ServerSideEncryption: "aws:kms", SSEKMSKeyId: fx.keyArn });
    expect(readFileSync(out, "utf8")).toContain(obj.key);
  });

  test("s3 cp of a logical dump with SSE-KMS under <cluster>/ and list-objects-v2 with prefix and delimiter", async () => {
    const key = `${fx.clusterName}/logical/postgres/20261202T000000Z.dump.enc`;
    const cp = await aws(imdsOf(NODE_ID), ["s3", "cp", "-", `s3://${fx.bucket}/${key}`, "--sse", "aws:kms", "--sse-kms-key-id", fx.keyArn, "--only-show-errors"], { input: "dump bytes\n" });
    expect(cp.stderr).toBe("");
    expect(twin.s3.read(fx.bucket, key)?.toString()).toBe("dump bytes\n");
    const ls = await aws(imdsOf(NODE_ID), ["s3api", "list-objects-v2", "--bucket", fx.bucket, "--prefix", `${fx.clusterName}/`, "--delimiter", "/"]);
    expect(ls.stderr).toBe("");
    expect(JSON.parse(ls.stdout).CommonPrefixes).toEqual([{ Prefix: `${fx.clusterName}/logical/` }]);
  });
});

describe("instances launched from a launch template", () => {
  test("the launch-created primary ENI and root volume carry the template's tags, never match the slot filters, and go with the instance", async () => {
    const s1 = fx.slots[1]!;
    const id = "i-0a1b2c3d4e5f60011";
    twin.launchInstance({
      id,
      privateIp: "10.42.16.101",
      mac: "0e:aa:00:00:01:11",
      subnetId: "subnet-0slot1",
      subnetCidr: s1.subnetCidr,
      vpcId: "vpc-0twin",
      availabilityZone: s1.zone,
      instanceProfileArn: fx.nodeProfileArn,
      autoScalingGroupName: s1.asgName,
      tagSpecifications: fx.launchTagSpecifications["1"]!,
      rootVolume: { sizeGiB: 8, kmsKeyArn: fx.keyArn },
    });
    const slotFilters = [`Name=tag:managed-postgres:cluster,Values=${fx.clusterName}`, "Name=tag:managed-postgres:slot,Values=1"];
    const enis = await aws(imdsOf(NODE_ID), ["ec2", "describe-network-interfaces", "--filters", ...slotFilters, "Name=tag:managed-postgres:slot-resource,Values=network-interface", "--query", "NetworkInterfaces[].NetworkInterfaceId", "--output", "text"]);
    expect(enis.stdout.trim()).toBe(s1.eniId);
    const vols = await aws(imdsOf(NODE_ID), ["ec2", "describe-volumes", "--filters", ...slotFilters, "Name=tag:managed-postgres:slot-resource,Values=data-volume", "--query", "Volumes[].VolumeId", "--output", "text"]);
    expect(vols.stdout.trim()).toBe(s1.volumeId);
    const root = await aws(imdsOf(NODE_ID), ["ec2", "describe-volumes", "--filters", `Name=attachment.instance-id,Values=${id}`, "--query", "Volumes[].[VolumeId,Tags[?Key=='managed-postgres:launch-resource']|[0].Value,Attachments[0].Device]", "--output", "text"]);
    expect(root.stdout.trim().split(/\s+/)).toEqual([`vol-${id.slice(2)}`, "root-volume", "/dev/xvda"]);
    // EC2 documents no order; the twin lists the newest first, so `[0]` of several matches is the launch-created one
    const first = await aws(imdsOf(NODE_ID), ["ec2", "describe-volumes", "--query", "Volumes[0].VolumeId", "--output", "text"]);
    expect(first.stdout.trim()).toBe(`vol-${id.slice(2)}`);
    const firstEni = await aws(imdsOf(NODE_ID), ["ec2", "describe-network-interfaces", "--query", "NetworkInterfaces[0].NetworkInterfaceId", "--output", "text"]);
    expect(firstEni.stdout.trim()).toBe(`eni-${id.slice(2)}`);
    await twin.terminateInstance(id);
    const state = await aws(imdsOf(NODE_ID), ["ec2", "describe-instances", "--instance-ids", id, "--query", "Reservations[].Instances[].State.Name", "--output", "text"]);
    expect(state.stdout.trim()).toBe("terminated");
    expect(fx.world.volumes.some((v) => v.id === `vol-${id.slice(2)}`)).toBe(false);
    expect(fx.world.networkInterfaces.some((e) => e.id === `eni-${id.slice(2)}`)).toBe(false);
  });
});

describe("Auto Scaling: the calls of the rolling maintenance (node-maintenance.sh)", () => {
  const launchInto = (slot: number, id: string, version: string) => {
    const s = fx.slots[slot]!;
    const inst = twin.launchInstance({
      id,
      privateIp: `10.42.${slot * 16}.1${id.slice(-2)}`,
      mac: `0e:aa:00:00:0${slot}:${id.slice(-2)}`,
      subnetId: `subnet-0slot${slot}`,
      subnetCidr: s.subnetCidr,
      vpcId: "vpc-0twin",
      availabilityZone: s.zone,
      instanceProfileArn: fx.nodeProfileArn,
      autoScalingGroupName: s.asgName,
      tagSpecifications: fx.launchTagSpecifications[String(slot)]!.map((t) =>
        t.resourceType === "instance" ? { ...t, tags: { ...t.tags, "aws:autoscaling:groupName": s.asgName, "aws:ec2launchtemplate:id": `lt-0slot${slot}`, "aws:ec2launchtemplate:version": version } } : t,
      ),
    });
    return inst;
  };
  const group = (slot: number) => fx.world.autoScalingGroups.find((g) => g.name === fx.slots[slot]!.asgName)!;

  beforeAll(() => {
    for (const slot of [0, 1, 2]) {
      Object.assign(group(slot), { minSize: 1, maxSize: 1, desiredCapacity: 1, subnetIds: [`subnet-0slot${slot}`], availabilityZones: [fx.slots[slot]!.zone] });
      group(slot).launchTemplate = { id: `lt-0slot${slot}`, name: `managed-postgres-${fx.clusterName}-${slot}`, version: "2" };
    }
  });

  test("describe-auto-scaling-groups: the group's LaunchTemplate.Version (what the node compares with its aws:ec2launchtemplate:version tag) and its instances, allowed on * by DescribeSlotGroups", async () => {
    launchInto(1, "i-0a1b2c3d4e5f60021", "1");
    const r = await aws(imdsOf(NODE_ID), ["autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", fx.slots[1]!.asgName]);
    expect(r.stderr).toBe("");
    const g = JSON.parse(r.stdout).AutoScalingGroups[0];
    expect(g).toMatchObject({
      AutoScalingGroupName: fx.slots[1]!.asgName,
      LaunchTemplate: { LaunchTemplateId: "lt-0slot1", LaunchTemplateName: `managed-postgres-${fx.clusterName}-1`, Version: "2" },
      MinSize: 1,
      MaxSize: 1,
      DesiredCapacity: 1,
      AvailabilityZones: [fx.slots[1]!.zone],
      VPCZoneIdentifier: "subnet-0slot1",
    });
    expect(g.Instances).toEqual([
      expect.objectContaining({ InstanceId: "i-0a1b2c3d4e5f60021", LifecycleState: "InService", HealthStatus: "Healthy", LaunchTemplate: expect.objectContaining({ LaunchTemplateId: "lt-0slot1", Version: "1" }) }),
    ]);
    expect(g.Tags).toContainEqual(expect.objectContaining({ Key: "managed-postgres:cluster", Value: fx.clusterName, ResourceType: "auto-scaling-group" }));
    // the exact query of node-maintenance.sh
    const v = await aws(imdsOf(NODE_ID), ["autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", fx.slots[1]!.asgName, "--query", "AutoScalingGroups[0].LaunchTemplate.Version", "--output", "text"]);
    expect(v.stdout.trim()).toBe("2");
    expect(twin.decisions.filter((d) => d.action === "autoscaling:DescribeAutoScalingGroups").pop()).toMatchObject({ result: "Allowed", resource: "*", statements: ["DescribeSlotGroups"] });
    // an unknown name is left out, not an error (AWS); a tag filter selects the cluster's groups
    const none = await aws(imdsOf(NODE_ID), ["autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "no-such-group"]);
    expect(JSON.parse(none.stdout).AutoScalingGroups).toEqual([]);
    const tagged = await aws(imdsOf(NODE_ID), ["autoscaling", "describe-auto-scaling-groups", "--filters", `Name=tag:managed-postgres:slot,Values=2`, "--query", "AutoScalingGroups[].AutoScalingGroupName", "--output", "text"]);
    expect(tagged.stdout.trim()).toBe(fx.slots[2]!.asgName);
    // the pooler role has no autoscaling:DescribeAutoScalingGroups
    const pooler = await aws(imdsOf(POOLER_ID), ["autoscaling", "describe-auto-scaling-groups"]);
    expect(pooler.stderr).toContain("AccessDenied");
    expect(pooler.stderr).toContain("autoscaling:DescribeAutoScalingGroups on resource: *");
  });

  test("terminate-instance-in-auto-scaling-group --no-should-decrement-desired-capacity: an InProgress activity, the instance terminated, a replacement asked for (ReplaceOwnInstanceInSlotGroup on the group ARN with autoscaling:ResourceTag)", async () => {
    const id = "i-0a1b2c3d4e5f60022";
    launchInto(2, id, "1");
    const r = await aws(imdsOf(NODE_ID), ["autoscaling", "terminate-instance-in-auto-scaling-group", "--instance-id", id, "--no-should-decrement-desired-capacity"]);
    expect(r.stderr).toBe("");
    const activity = JSON.parse(r.stdout).Activity;
    expect(activity).toMatchObject({ StatusCode: "InProgress", Progress: 0, Description: `Terminating EC2 instance: ${id}`, AutoScalingGroupName: fx.slots[2]!.asgName });
    expect(activity.Cause).toContain(`instance ${id} was taken out of service in response to a user request`);
    expect(twin.scaleIns.pop()).toMatchObject({ instanceId: id, group: fx.slots[2]!.asgName, decrement: false, activityId: activity.ActivityId });
    const d = twin.decisions.filter((x) => x.action === "autoscaling:TerminateInstanceInAutoScalingGroup").pop()!;
    expect(d).toMatchObject({ result: "Allowed", statements: ["ReplaceOwnInstanceInSlotGroup"] });
    expect(d.resource).toBe(`arn:aws:autoscaling:${fx.world.region}:111122223333:autoScalingGroup:00000000-0000-4000-8000-000000000000:autoScalingGroupName/${fx.slots[2]!.asgName}`);
    expect(group(2).desiredCapacity).toBe(1);
    // without a TwinCluster the twin's default: EC2 terminates the instance at once
    for (let i = 0; i < 50 && fx.world.instances.find((x) => x.id === id)!.state !== "terminated"; i++) await new Promise((ok) => setTimeout(ok, 20));
    expect(fx.world.instances.find((x) => x.id === id)!.state).toBe("terminated");
    // a terminated instance is no group member any more
    const again = await aws(imdsOf(NODE_ID), ["autoscaling", "terminate-instance-in-auto-scaling-group", "--instance-id", id, "--no-should-decrement-desired-capacity"]);
    expect(again.stderr).toContain(`ValidationError`);
    expect(again.stderr).toContain(`No managed instance found for instance ID: ${id}`);
  });

  test("--should-decrement-desired-capacity at the minimum size → ValidationError; a group of another cluster (autoscaling:ResourceTag condition) and a policy without the statement → AccessDenied", async () => {
    const id = "i-0a1b2c3d4e5f60023";
    launchInto(2, id, "1");
    const dec = await aws(imdsOf(NODE_ID), ["autoscaling", "terminate-instance-in-auto-scaling-group", "--instance-id", id, "--should-decrement-desired-capacity"]);
    expect(dec.stderr).toContain("ValidationError");
    expect(dec.stderr).toContain("Terminating instance without replacement will violate group's min size constraint");
    const args = ["autoscaling", "terminate-instance-in-auto-scaling-group", "--instance-id", id, "--no-should-decrement-desired-capacity"];
    const g = group(2);
    const tags = g.tags;
    try {
      (g as { tags?: Record<string, string> }).tags = { ...tags, "managed-postgres:cluster": "another-cluster" };
      const r = await aws(imdsOf(NODE_ID), args);
      expect(r.stderr).toContain("AccessDenied");
      expect(r.stderr).toContain(`autoscaling:TerminateInstanceInAutoScalingGroup on resource: ${twin.decisions[twin.decisions.length - 1]!.resource}`);
    } finally {
      (g as { tags?: Record<string, string> }).tags = tags;
    }
    try {
      twin.setRolePolicies(fx.nodeRoleArn, policyWithout(fx.nodeRoleArn, "ReplaceOwnInstanceInSlotGroup"));
      const r = await aws(imdsOf(NODE_ID), args);
      expect(r.stderr).toContain("because no identity-based policy allows the autoscaling:TerminateInstanceInAutoScalingGroup action");
    } finally {
      twin.setRolePolicies(fx.nodeRoleArn, originalPolicies(fx.nodeRoleArn));
    }
    expect(fx.world.instances.find((x) => x.id === id)!.state).toBe("running");
    expect(twin.scaleIns.some((e) => e.instanceId === id)).toBe(false);
  });
});

describe("refusals as AWS words them", () => {
  test("a call the role's policies do not allow: the pooler's put-secret-value → AccessDeniedException naming secretsmanager:PutSecretValue", async () => {
    const r = await aws(imdsOf(POOLER_ID), ["secretsmanager", "put-secret-value", "--secret-id", fx.secretArn, "--secret-string", "x"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("AccessDeniedException");
    expect(r.stderr).toContain(
      `is not authorized to perform: secretsmanager:PutSecretValue on resource: ${fx.secretArn} because no identity-based policy allows the secretsmanager:PutSecretValue action`,
    );
  });

  test("attach-network-interface to an instance of another cluster → UnauthorizedOperation naming ec2:AttachNetworkInterface (aws:ResourceTag condition)", async () => {
    const r = await aws(imdsOf(NODE_ID), ["ec2", "attach-network-interface", "--network-interface-id", fx.slots[0]!.eniId, "--instance-id", OTHER_ID, "--device-index", "1"]);
    expect(r.stderr).toContain("UnauthorizedOperation");
    expect(r.stderr).toContain(`is not authorized to perform: ec2:AttachNetworkInterface on resource: arn:aws:ec2:${fx.world.region}:111122223333:instance/${OTHER_ID}`);
  });

  test("get-object outside the role's prefixes → AccessDenied naming s3:GetObject", async () => {
    const r = await aws(imdsOf(NODE_ID), ["s3api", "get-object", "--bucket", fx.bucket, "--key", "other-cluster/backup.info", join(dir, "x")]);
    expect(r.stderr).toContain("AccessDenied");
    expect(r.stderr).toContain(`s3:GetObject on resource: arn:aws:s3:::${fx.bucket}/other-cluster/backup.info`);
  });

  test("a tampered signature → SignatureDoesNotMatch (S3, STS), AuthFailure (EC2), InvalidSignatureException (Secrets Manager)", async () => {
    const c = await instanceCredentials(NODE_ID);
    const env = { AWS_ACCESS_KEY_ID: c.AccessKeyId, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey.replace(/^./, (x) => (x === "A" ? "B" : "A")), AWS_SESSION_TOKEN: c.Token };
    const none = "127.0.0.1:9"; // no IMDS: the static credentials are the only ones
    expect((await aws(none, ["s3api", "list-objects-v2", "--bucket", fx.bucket], { env })).stderr).toContain("SignatureDoesNotMatch");
    expect((await aws(none, ["sts", "get-caller-identity"], { env })).stderr).toContain("SignatureDoesNotMatch");
    expect((await aws(none, ["ec2", "describe-volumes"], { env })).stderr).toContain("AuthFailure");
    expect((await aws(none, ["secretsmanager", "get-secret-value", "--secret-id", fx.secretArn], { env })).stderr).toContain("InvalidSignatureException");
    const good = { ...env, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey };
    expect((await aws(none, ["sts", "get-caller-identity"], { env: good })).status).toBe(0);
    const noToken = { AWS_ACCESS_KEY_ID: c.AccessKeyId, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey };
    expect((await aws(none, ["s3api", "list-objects-v2", "--bucket", fx.bucket], { env: noToken })).stderr).toContain("InvalidToken");
  });

  test("GetSecretValue needs kms:Decrypt on the CMK: the pooler reading its secret without it in its policy and in the key policy → AccessDeniedException naming kms:Decrypt", async () => {
    const pooler = fx.poolerRoleArn!;
    const key = fx.world.kmsKeys[0]!;
    const keyPolicy = key.policy;
    // a value as the database nodes publish it (Terraform creates the secret empty)
    expect((await aws(imdsOf(NODE_ID), ["secretsmanager", "put-secret-value", "--secret-id", fx.poolerSecretArn!, "--secret-string", '{"pgbouncer_auth_password":"x"}'])).stderr).toBe("");
    try {
      // the key policy names the pooler role itself: removing the IAM statement alone changes nothing
      twin.setRolePolicies(pooler, policyWithout(pooler, "ClusterKeyThroughSecretsManagerForPoolerSecret"));
      expect((await aws(imdsOf(POOLER_ID), ["secretsmanager", "get-secret-value", "--secret-id", fx.poolerSecretArn!])).stderr).toBe("");
      const doc = JSON.parse(keyPolicy) as { Statement: { Sid?: string }[] };
      key.policy = JSON.stringify({ ...doc, Statement: doc.Statement.filter((s) => s.Sid !== "PoolerInstancesThroughSecretsManager") });
      const r = await aws(imdsOf(POOLER_ID), ["secretsmanager", "get-secret-value", "--secret-id", fx.poolerSecretArn!]);
      expect(r.stderr).toContain("AccessDeniedException");
      expect(r.stderr).toContain("Access to KMS is not allowed");
      expect(r.stderr).toContain(`kms:Decrypt on resource: ${fx.keyArn}`);
    } finally {
      key.policy = keyPolicy;
      twin.setRolePolicies(pooler, originalPolicies(pooler));
    }
  });

  test("the bucket policy's aws:SecureTransport deny refuses the same get-object over plain HTTP (explicit deny in a resource-based policy)", async () => {
    const obj = fx.bootstrapObjects[0]!;
    const r = await aws(imdsOf(NODE_ID), ["s3api", "get-object", "--bucket", fx.bucket, "--key", obj.key, "--version-id", obj.versionId, join(dir, "y")], { http: true });
    expect(r.stderr).toContain("AccessDenied");
    expect(r.stderr).toContain("with an explicit deny in a resource-based policy");
    const d = twin.decisions.filter((x) => x.action === "s3:GetObjectVersion").pop()!;
    expect(d).toMatchObject({ result: "ExplicitlyDenied", statements: ["DenyInsecureTransport"] });
  });

  test("a statement removed from the node policy: the call it allowed is now denied (ReadBootstrapObjects → s3:GetObjectVersion)", async () => {
    const obj = fx.bootstrapObjects[0]!;
    const args = ["s3api", "get-object", "--bucket", fx.bucket, "--key", obj.key, "--version-id", obj.versionId, join(dir, "z")];
    try {
      twin.setRolePolicies(fx.nodeRoleArn, policyWithout(fx.nodeRoleArn, "ReadBootstrapObjects"));
      const r = await aws(imdsOf(NODE_ID), args);
      expect(r.stderr).toContain(`s3:GetObjectVersion on resource: arn:aws:s3:::${fx.bucket}/${obj.key} because no identity-based policy allows the s3:GetObjectVersion action`);
    } finally {
      twin.setRolePolicies(fx.nodeRoleArn, originalPolicies(fx.nodeRoleArn));
    }
    expect((await aws(imdsOf(NODE_ID), args)).status).toBe(0);
  });
});

describe("SSM Parameter Store: the CA certificate parameter as the nodes publish it", () => {
  const param = () => fx.world.parameters.find((p) => p.name.endsWith("/ca-certificate"))!;
  const getValue = (id: string, name: string) => aws(imdsOf(id), ["ssm", "get-parameter", "--name", name]);

  test("get-parameter of the Terraform-written value (version 1), put-parameter --overwrite of a PEM file (version 2), get-parameter by name and by ARN", async () => {
    const name = param().name;
    const arn = `arn:aws:ssm:${fx.world.region}:${fx.world.accountId}:parameter/${name.slice(1)}`;
    const first = JSON.parse((await getValue(NODE_ID, name)).stdout) as { Parameter: Record<string, unknown> };
    expect(first.Parameter).toMatchObject({ Name: name, Type: "String", Value: param().value, Version: 1, ARN: arn });
    const pem = join(dir, "cluster-ca.crt");
    writeFileSync(pem, readFileSync(caFile, "utf8"));
    const put = await aws(imdsOf(NODE_ID), ["ssm", "put-parameter", "--name", name, "--type", "String", "--overwrite", "--value", `file://${pem}`]);
    expect(put.stderr).toBe("");
    expect(JSON.parse(put.stdout)).toEqual({ Version: 2, Tier: "Standard" });
    const text = await aws(imdsOf(NODE_ID), ["ssm", "get-parameter", "--name", arn, "--query", "Parameter.Value", "--output", "text"]);
    expect(text.stdout.trim()).toBe(readFileSync(caFile, "utf8").trim());
    expect(JSON.parse((await getValue(NODE_ID, name)).stdout).Parameter.Version).toBe(2);
    expect(twin.decisions.filter((d) => d.action === "ssm:PutParameter").pop()).toMatchObject({ result: "Allowed", resource: arn });
  });

  test("put-parameter of an existing name without --overwrite → ParameterAlreadyExists; the version stays", async () => {
    const name = param().name;
    const before = twin.ssm.read(name)!.version;
    const r = await aws(imdsOf(NODE_ID), ["ssm", "put-parameter", "--name", name, "--type", "String", "--value", "other"]);
    expect(r.stderr).toContain("ParameterAlreadyExists");
    expect(twin.ssm.read(name)!.version).toBe(before);
  });

  test("a name the node policy does not allow → AccessDeniedException naming ssm:PutParameter; the pooler may not write the cluster's parameter either", async () => {
    const other = param().name.replace(`/${fx.clusterName}/`, "/another-cluster/");
    const r = await aws(imdsOf(NODE_ID), ["ssm", "put-parameter", "--name", other, "--type", "String", "--overwrite", "--value", "x"]);
    expect(r.stderr).toContain("AccessDeniedException");
    expect(r.stderr).toContain(`is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:${fx.world.region}:${fx.world.accountId}:parameter${other}`);
    expect(twin.ssm.read(other)).toBeUndefined();
    const pooler = await aws(imdsOf(POOLER_ID), ["ssm", "put-parameter", "--name", param().name, "--type", "String", "--overwrite", "--value", "x"]);
    expect(pooler.stderr).toContain("ssm:PutParameter");
    expect(pooler.stderr).toContain("because no identity-based policy allows the ssm:PutParameter action");
  });

  test("an allowed name that does not exist → ParameterNotFound (a policy allowing ssm:GetParameter on it added for the test)", async () => {
    const missing = param().name.replace(/ca-certificate$/, "no-such-parameter");
    const extra = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "ssm:GetParameter", Resource: `arn:aws:ssm:${fx.world.region}:${fx.world.accountId}:parameter${missing}` }] });
    expect((await getValue(NODE_ID, missing)).stderr).toContain("AccessDeniedException");
    try {
      twin.setRolePolicies(fx.nodeRoleArn, [...originalPolicies(fx.nodeRoleArn), extra]);
      expect((await getValue(NODE_ID, missing)).stderr).toContain("ParameterNotFound");
    } finally {
      twin.setRolePolicies(fx.nodeRoleArn, originalPolicies(fx.nodeRoleArn));
    }
  });
});

describe("pgBackRest's S3 client", () => {
  /** pgbackrest with the node's IMDS credentials, the real config's host-style endpoint, connecting to the twin. */
  function pgbackrest(args: string[], input?: Buffer, creds?: { AccessKeyId: string; SecretAccessKey: string; Token: string }): Promise<{ status: number; stdout: Buffer; stderr: string }> {
    const [host, port] = twin.endpoints.api[0]!.split(":");
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      PGBACKREST_REPO1_S3_KEY: creds!.AccessKeyId,
      PGBACKREST_REPO1_S3_KEY_SECRET: creds!.SecretAccessKey,
      PGBACKREST_REPO1_S3_TOKEN: creds!.Token,
    };
    const opts = [
      "--config", join(dir, "no-pgbackrest.conf"), "--log-level-console", "warn", "--log-level-file", "off", "--io-timeout", "5",
      "--repo1-type", "s3", "--repo1-s3-bucket", fx.bucket, "--repo1-s3-endpoint", `s3.${fx.world.region}.amazonaws.com`, "--repo1-s3-region", fx.world.region,
      "--repo1-s3-uri-style", "host", "--repo1-storage-host", host!, "--repo1-storage-port", port!, "--repo1-storage-ca-file", caFile,
      "--repo1-path", `/${fx.clusterName}`, "--repo1-s3-key-type", "shared", "--repo1-s3-kms-key-id", fx.keyArn,
    ];
    return new Promise((done) => {
      const child = execFile("pgbackrest", [...opts, ...args], { env, encoding: "buffer", maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
        done({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: stdout as Buffer, stderr: stderr.toString() });
      });
      child.stdin!.on("error", () => undefined); // pgbackrest may exit before reading
      child.stdin!.end(input ?? Buffer.alloc(0));
    });
  }

  const repoKey = (name: string) => `${fx.clusterName}/archive/test/${name}`;

  test("repo-put (one PutObject, SSE-KMS with the cluster key), repo-ls, repo-get and repo-rm under the cluster's prefix, host-style", async () => {
    requirePrerequisites({ commands: ["pgbackrest"] });
    writeFileSync(join(dir, "no-pgbackrest.conf"), "");
    const c = await instanceCredentials(NODE_ID);
    const small = Buffer.alloc(1024 * 1024 + 17, 3);
    const put = await pgbackrest(["repo-put", "archive/test/small.bin"], small, c);
    expect(put.status).toBe(0);
    expect(twin.s3.read(fx.bucket, repoKey("small.bin"))?.equals(small)).toBe(true);
    const ls = await pgbackrest(["repo-ls", "archive/test"], undefined, c);
    expect(ls.stdout.toString().trim()).toBe("small.bin");
    const get = await pgbackrest(["repo-get", "archive/test/small.bin"], undefined, c);
    expect(get.stdout.equals(small)).toBe(true);
    expect((await pgbackrest(["repo-rm", "archive/test/small.bin"], undefined, c)).status).toBe(0);
    expect(twin.s3.read(fx.bucket, repoKey("small.bin"))).toBeUndefined();
    const put1 = twin.decisions.filter((d) => d.action === "s3:PutObject" && d.resource.endsWith(repoKey("small.bin"))).pop()!;
    expect(put1).toMatchObject({ result: "Allowed", statements: ["BackupBucketObjects"] });
    expect(put1.context).toMatchObject({ "s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": fx.keyArn });
  });

  // Issue 10 defect, fixed: a Deny with StringNotEqualsIfExists matches a request WITHOUT the
  // header ("If the key is not present, evaluate the condition element as true", IAM User Guide,
  // condition operators, ...IfExists). UploadPart and CompleteMultipartUpload are s3:PutObject
  // requests that never carry SSE headers, so the bucket policy refused every multipart upload
  // (pgBackRest above repo1-storage-upload-chunk-size, 5 MiB by default; `aws s3 cp -` of a dump
  // above 8 MiB). The statements now deny only a present, different header (StringNotEquals + Null false).
  test("the synthesized bucket policy lets pgBackRest's multipart upload through, and still refuses another KMS key", async () => {
    requirePrerequisites({ commands: ["pgbackrest"] });
    writeFileSync(join(dir, "no-pgbackrest.conf"), "");
    const c = await instanceCredentials(NODE_ID);
    const big = Buffer.alloc(6 * 1024 * 1024 + 123, 7);
    const put = await pgbackrest(["repo-put", "archive/test/big.bin"], big, c);
    expect(put.status).toBe(0);
    const part = twin.decisions.filter((d) => d.action === "s3:PutObject" && d.resource.endsWith(repoKey("big.bin"))).pop()!;
    expect(part.result).toBe("Allowed");
    expect(twin.s3.read(fx.bucket, repoKey("big.bin"))?.equals(big)).toBe(true);
    expect((await pgbackrest(["repo-get", "archive/test/big.bin"], undefined, c)).stdout.equals(big)).toBe(true);
    const wrongKey = await aws(imdsOf(NODE_ID), ["s3", "cp", "-", `s3://${fx.bucket}/${fx.clusterName}/x`, "--sse", "aws:kms", "--sse-kms-key-id", fx.keyArn.replace(/.$/, "0")], { input: "x" });
    expect(wrongKey.stderr).toContain("with an explicit deny in a resource-based policy");
    const wrongEncryption = await aws(imdsOf(NODE_ID), ["s3", "cp", "-", `s3://${fx.bucket}/${fx.clusterName}/y`, "--sse", "AES256"], { input: "y" });
    expect(wrongEncryption.stderr).toContain("with an explicit deny in a resource-based policy");
  });
});

describe("the AWS CLI v2 of the Debian 13 node root", () => {
  /**
   * Runs `script` (bash) in a throw-away overlay of the node root (this network namespace, so
   * the twin on loopback is reachable) with the node's IMDS endpoint and the twin's CA;
   * `aws` there is the CLI the nodes run (2.23, flexible checksums: aws-chunked uploads).
   */
  async function inNodeRoot(script: string, input = ""): Promise<{ status: number; stdout: string; stderr: string }> {
    const root = nodeRoot();
    const t = mkdtempSync(join(tmpdir(), "twin-aws-root-"));
    try {
      const env = [
        `AWS_EC2_METADATA_SERVICE_ENDPOINT=http://${imdsOf(NODE_ID)}/`, "AWS_CA_BUNDLE=/tmp/twin-ca.crt", `AWS_DEFAULT_REGION=${fx.world.region}`,
        "AWS_MAX_ATTEMPTS=1", `AWS_ENDPOINT_URL=https://${twin.endpoints.api[0]}`, "HOME=/root", "PATH=/usr/bin:/bin",
      ].map((e) => `'${e}'`).join(" ");
      // asynchronous: the twin answers from this process's event loop
      return await new Promise((done) => {
        const child = execFile("unshare", ["-m", "--propagation", "private", "bash", "-c", [
        "set -e",
        `mkdir -p ${t}/up ${t}/work ${t}/m`,
        `mount -t overlay overlay -o lowerdir=${root},upperdir=${t}/up,workdir=${t}/work ${t}/m`,
        `mount -t proc proc ${t}/m/proc`,
        `cp ${caFile} ${t}/m/tmp/twin-ca.crt`,
        `set +e; chroot ${t}/m env -i ${env} bash -c "$1"; rc=$?`,
        `umount ${t}/m/proc; umount ${t}/m; exit $rc`,
      ].join("\n"), "node-root", script], { encoding: "utf8", timeout: 120_000 }, (err, stdout, stderr) => {
          done({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
        child.stdin!.end(input);
      });
    } finally {
      rmSync(t, { recursive: true, force: true });
    }
  }

  test("s3 cp of a stream (aws-chunked, trailing checksum), s3api get-object --version-id, get-secret-value and describe-volumes as the node runs them", async () => {
    requirePrerequisites({ commands: ["unshare", "chroot"], root: true });
    const obj = fx.bootstrapObjects[0]!;
    const key = `${fx.clusterName}/logical/postgres/v2.dump.enc`;
    const caParameter = fx.world.parameters[0]!.name;
    const r = await inNodeRoot(
      [
        "set -e",
        "aws --version",
        `aws s3 cp - s3://${fx.bucket}/${key} --sse aws:kms --sse-kms-key-id ${fx.keyArn} --only-show-errors`,
        `aws s3api get-object --bucket ${fx.bucket} --key ${obj.key} --version-id ${obj.versionId} /tmp/bootstrap >/dev/null`,
        "head -c 200 /tmp/bootstrap; echo",
        // the same token and value as the first node's: an idempotent success whether or not it is stored already
        `aws secretsmanager put-secret-value --secret-id ${fx.secretArn} --client-request-token ${SECRET_TOKEN} --secret-string '{"a":"b"}' >/dev/null`,
        `aws secretsmanager get-secret-value --secret-id ${fx.secretArn} --query VersionId --output text`,
        `aws ec2 describe-volumes --filters Name=tag:managed-postgres:cluster,Values=${fx.clusterName} Name=tag:managed-postgres:slot,Values=0 --query 'Volumes[].VolumeId' --output text`,
        // step_publish_ca's calls
        `aws ssm put-parameter --name ${caParameter} --type String --overwrite --value file:///tmp/twin-ca.crt >/dev/null`,
        `[ "$(aws ssm get-parameter --name ${caParameter} --query Parameter.Value --output text)" = "$(cat /tmp/twin-ca.crt)" ]`,
      ].join("\n"),
      "dump bytes from the CLI v2\n",
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^aws-cli\/2\./);
    expect(twin.s3.read(fx.bucket, key)?.toString()).toBe("dump bytes from the CLI v2\n");
    expect(r.stdout).toContain(obj.key);
    expect(r.stdout).toContain(fx.slots[0]!.volumeId);
    expect(r.stdout).toContain(SECRET_TOKEN);
    expect(twin.ssm.read(caParameter)?.value).toBe(readFileSync(caFile, "utf8"));
    const put = twin.decisions.filter((d) => d.action === "s3:PutObject" && d.resource.endsWith(key)).pop()!;
    expect(put.context["s3:x-amz-content-sha256"]).toBe("STREAMING-UNSIGNED-PAYLOAD-TRAILER");
  });
});

describe("endpoints by Host name", () => {
  test("a virtual-hosted-style S3 request to <bucket>.s3.<region>.amazonaws.com, TLS verified against the twin's CA for that name", async () => {
    const c = await instanceCredentials(NODE_ID);
    const obj = fx.bootstrapObjects[0]!;
    const hostname = `${fx.bucket}.s3.${fx.world.region}.amazonaws.com`;
    const signer = new SignatureV4({ service: "s3", region: fx.world.region, sha256: Sha256, uriEscapePath: false, credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token } });
    const path = `/${obj.key.split("/").map(encodeURIComponent).join("/")}`;
    const signed = await signer.sign({ method: "GET", protocol: "https:", hostname, path, query: { versionId: obj.versionId }, headers: { host: hostname, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } } as never);
    const [host, port] = twin.endpoints.api[0]!.split(":");
    const res = await new Promise<{ status: number; body: string }>((done, fail) => {
      const req = httpsRequest(
        { host, port: Number(port), servername: hostname, ca: readFileSync(caFile), method: "GET", path: `${path}?versionId=${obj.versionId}`, headers: (signed as unknown as { headers: Record<string, string> }).headers },
        (r) => {
          let body = "";
          r.on("data", (x: Buffer) => (body += x.toString()));
          r.on("end", () => done({ status: r.statusCode ?? 0, body }));
        },
      );
      req.on("error", fail);
      req.end();
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain(obj.key);
  });
});
