/**
 * A re-apply of a changed stack as the running nodes see it (issue 12): the standalone
 * example applied by the twin, one instance of its slot group launched from version 1, then
 * the stack changed (another instance type, as a size change makes it) and applied again
 * over the first state. What the node's maintenance agent reads with the real AWS CLI:
 * `describe-auto-scaling-groups` now says version 2 while the instance still carries the
 * `aws:ec2launchtemplate:version` tag 1 (nothing touched it), and the changed bootstrap
 * object is there as a new version.
 * System tier: needs `terraform` (the apply) and the AWS CLI; listens on loopback only.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCa, issueCertificate } from "../live/harness/tls";
import { requirePrerequisites } from "../support/prerequisites";
import { TWIN_APPS, synthesizeApp } from "./apps/synth";
import { applyStack, type TwinState } from "./apply";
import { startTwinAws, twinServiceNames, type TwinAws, type TwinWorld } from "./aws";
import { reapplyWorld, worldFromState } from "./world-from-state";

jest.setTimeout(300_000);

const ADDRESS = `127.0.${30 + (process.pid % 200)}.${2 + (process.pid % 250)}`;
const INSTANCE = "i-0a1b2c3d4e5f60031";
let dir: string;
let first: TwinState;
let world: TwinWorld;
let twin: TwinAws;
let caFile: string;
let stackDir: string;

function aws(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, "no-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${twin.endpoints.imds[0]}/`,
    AWS_CA_BUNDLE: caFile,
    AWS_DEFAULT_REGION: world.region,
    AWS_MAX_ATTEMPTS: "1",
  };
  return new Promise((done) => {
    execFile("aws", ["--endpoint-url", `https://${twin.endpoints.api[0]}`, "--output", "json", ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  requirePrerequisites({ commands: ["aws", "openssl", "terraform"] });
  dir = mkdtempSync(join(tmpdir(), "twin-reapply-"));
  stackDir = synthesizeApp(TWIN_APPS.standalone, join(dir, "synth")).standalone!;
  first = await applyStack(stackDir);
  world = worldFromState(first);
  const group = first.ofType("aws_autoscaling_group")[0]!;
  const lt = first.ofType("aws_launch_template")[0]!;
  const eni = world.networkInterfaces[0]!;
  const ip = lt.attributes.iam_instance_profile as { arn: string } | { arn: string }[];
  const profile = (Array.isArray(ip) ? ip[0]! : ip).arn;
  world.instances.push({
    id: INSTANCE,
    privateIp: eni.privateIp.replace(/\.\d+$/, ".77"),
    mac: "0e:aa:00:00:00:31",
    subnetId: eni.subnetId,
    subnetCidr: eni.subnetCidr,
    vpcId: eni.vpcId,
    availabilityZone: eni.availabilityZone,
    instanceProfileArn: profile,
    autoScalingGroupName: String(group.attributes.name),
    tags: { "aws:autoscaling:groupName": String(group.attributes.name), "aws:ec2launchtemplate:id": String(lt.attributes.id), "aws:ec2launchtemplate:version": "1" },
    state: "running",
  });
  const ca = await createCa(join(dir, "ca"), "twin reapply test CA");
  caFile = join(dir, "ca.crt");
  writeFileSync(caFile, ca.certPem);
  const tls = await issueCertificate(join(dir, "tls"), ca, "twin-aws", [ADDRESS], [...twinServiceNames(world.region), ADDRESS]);
  twin = await startTwinAws({ world, tls, api: [{ host: ADDRESS, port: 0 }], imds: [{ host: ADDRESS, port: 0, instanceId: INSTANCE }], dataDir: join(dir, "s3") });
});

afterAll(async () => {
  await twin?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a changed launch template: the group's LaunchTemplate.Version becomes 2, the running instance keeps its version-1 tag, the bootstrap object gets a new version", async () => {
  const group = first.ofType("aws_autoscaling_group")[0]!;
  const name = String(group.attributes.name);
  const query = ["autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", name, "--query", "AutoScalingGroups[0].LaunchTemplate", "--output", "json"];
  const lt = first.ofType("aws_launch_template")[0]!;
  const before = await aws(query);
  expect(before.stderr).toBe("");
  expect(JSON.parse(before.stdout)).toEqual({ LaunchTemplateId: lt.attributes.id, LaunchTemplateName: lt.attributes.name, Version: "1" });

  // the change a size M → L makes to the template, and a changed bootstrap object
  const doc = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
  const [ltName] = Object.keys(doc.resource.aws_launch_template);
  doc.resource.aws_launch_template[ltName].instance_type = "r7g.large";
  const [objName] = Object.keys(doc.resource.aws_s3_object);
  doc.resource.aws_s3_object[objName].content_type = "text/plain";
  const changedDir = join(dir, "changed");
  mkdirSync(changedDir, { recursive: true });
  writeFileSync(join(changedDir, "cdk.tf.json"), JSON.stringify(doc));
  const next = await applyStack(changedDir, undefined, first);
  const changed = reapplyWorld(world, first, next, twin);
  expect(changed).toEqual(expect.arrayContaining([lt.address, group.address, next.ofType("aws_s3_object")[0]!.address]));

  const after = await aws(query);
  expect(JSON.parse(after.stdout)).toEqual({ LaunchTemplateId: lt.attributes.id, LaunchTemplateName: lt.attributes.name, Version: "2" });
  // what node-maintenance.sh compares it with: the tag EC2 put on the instance at launch, unchanged
  const tags = await aws(["ec2", "describe-instances", "--instance-ids", INSTANCE, "--query", "Reservations[0].Instances[0].Tags"]);
  expect(JSON.parse(tags.stdout)).toContainEqual({ Key: "aws:ec2launchtemplate:version", Value: "1" });
  const members = await aws(["autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", name, "--query", "AutoScalingGroups[0].Instances[].[InstanceId,LaunchTemplate.Version,LifecycleState]", "--output", "text"]);
  expect(members.stdout.trim().split(/\s+/)).toEqual([INSTANCE, "1", "InService"]);

  const obj = next.ofType("aws_s3_object")[0]!;
  expect(obj.attributes.version_id).not.toBe(first.ofType("aws_s3_object")[0]!.attributes.version_id);
  expect(twin.s3.read(String(obj.attributes.bucket), String(obj.attributes.key), String(obj.attributes.version_id))?.toString()).toBe(String(obj.attributes.content));
  // the previous version stays readable (a versioned bucket), as the running node fetched it
  const old = first.ofType("aws_s3_object")[0]!;
  expect(twin.s3.read(String(old.attributes.bucket), String(old.attributes.key), String(old.attributes.version_id))).toBeDefined();

});

test("a data volume grown in place (ModifyVolume): same id, describe-volumes reports the new size, only the volume changed; a smaller one throws", async () => {
  const doc = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
  const [volName] = Object.keys(doc.resource.aws_ebs_volume);
  const vol = first.ofType("aws_ebs_volume")[0]!;
  expect(vol.attributes.size).toBe(20);
  const write = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "cdk.tf.json"), JSON.stringify(doc));
    return d;
  };
  doc.resource.aws_ebs_volume[volName].size = 30;
  const grown = await applyStack(write("grown"), undefined, first);
  expect(grown.get(vol.address).attributes.id).toBe(vol.attributes.id);
  expect(reapplyWorld(world, first, grown, twin)).toEqual([vol.address]);
  const size = await aws(["ec2", "describe-volumes", "--volume-ids", String(vol.attributes.id), "--query", "Volumes[0].Size"]);
  expect(size.stderr).toBe("");
  expect(JSON.parse(size.stdout)).toBe(30);

  // the plan refuses a smaller volume (precondition MP-SAFE-STORAGE); a state that has one anyway is not modelled
  const resources = grown.resources.map((r) => (r.address === vol.address ? { ...r, attributes: { ...r.attributes, size: 10 } } : r));
  const shrunk = { ...grown, resources, ofType: (type: string) => resources.filter((r) => r.type === type), get: (a: string) => resources.find((r) => r.address === a)! } as TwinState;
  expect(() => reapplyWorld(world, grown, shrunk, twin)).toThrow(`reapply: ${vol.address} (${String(vol.attributes.id)}) shrank from 30 to 10 GiB (EBS volumes only grow)`);
});
