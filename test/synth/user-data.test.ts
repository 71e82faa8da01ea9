import { props, resources, synthCluster, type Synth } from "./helpers";
import { configLocals } from "../../src/terraform";

const s = synthCluster(props("distributed"));
const locals = configLocals(JSON.parse(s.text)) as Record<string, string>;

/** The user data text of a launch template (its `base64gzip(local.…)` argument). */
function userDataOf(synth: Synth, lt: any): string {
  const m = /^\$\{base64gzip\(local\.([^)]+)\)\}$/.exec(lt.user_data);
  if (!m) throw new Error(`user_data is not base64gzip(local.…): ${lt.user_data}`);
  return locals[m[1]];
}

test("every launch template ships cloud-config user data, gzip + base64", () => {
  for (const [, lt] of resources(s, "aws_launch_template")) expect(userDataOf(s, lt).startsWith("#cloud-config\n")).toBe(true);
});

test("each slot's user data names its own node and all three slot addresses", () => {
  const enis = Object.keys(s.resource.aws_network_interface).map((id) => `\${aws_network_interface.${id}.private_ip}`);
  for (const i of [0, 1, 2]) {
    const [, lt] = resources(s, "aws_launch_template").find(([id]) => id.startsWith(`orders_slot-${i}_`))!;
    const text = userDataOf(s, lt);
    expect(text).toContain(`orders-${i}`);
    for (const eni of enis) expect(text).toContain(eni);
  }
});

test("user data points the nodes at the cluster's bucket, key and secret (the bootstrap script, an S3 object, holds the secret ARN)", () => {
  const [, lt] = resources(s, "aws_launch_template").find(([id]) => id.startsWith("orders_slot-0_"))!;
  const text = userDataOf(s, lt);
  expect(text).toMatch(/\$\{aws_s3_bucket\.[^.]+\.bucket\}/);
  expect(text).toMatch(/\$\{aws_kms_key\.[^.]+\.arn\}/);
  const [, object] = resources(s, "aws_s3_object").find(([id]) => id.startsWith("orders_slot-0_"))!;
  const local = /^\$\{local\.([^}]+)\}$/.exec(object.content)![1]!;
  expect(locals[local]).toMatch(/\$\{aws_secretsmanager_secret\.[^.]+\.arn\}/);
});

test("each node's bootstrap script is an SSE-KMS object under config/<cluster>/, fetched by version and checked by SHA-256", () => {
  for (const i of [0, 1, 2]) {
    const [id, object] = resources(s, "aws_s3_object").find(([oid]) => oid.startsWith(`orders_slot-${i}_`))!;
    expect(object).toMatchObject({
      key: `config/orders/orders-${i}/managed-postgres-bootstrap`,
      server_side_encryption: "aws:kms",
      kms_key_id: expect.stringMatching(/^\$\{aws_kms_key\.[^.]+\.arn\}$/),
      depends_on: [expect.stringMatching(/^aws_s3_bucket_versioning\./), expect.stringMatching(/^aws_s3_bucket_server_side_encryption_configuration\./)],
    });
    const local = /^\$\{local\.([^}]+)\}$/.exec(object.content)![1]!;
    expect(locals[local]).toContain(`readonly SELF_NAME='orders-${i}'`);
    const [, lt] = resources(s, "aws_launch_template").find(([lid]) => lid.startsWith(`orders_slot-${i}_`))!;
    const text = userDataOf(s, lt);
    expect(text).toContain(`readonly VERSION_ID='\${aws_s3_object.${id}.version_id}'`);
    expect(text).toContain(`readonly SHA256='\${sha256(local.${local})}'`);
    expect(text).not.toContain("step_slot_network");
  }
});

test("the PgBouncer tier's user data routes to all three slot addresses", () => {
  const [, lt] = resources(s, "aws_launch_template").find(([id]) => id.startsWith("orders_pooler_"))!;
  const text = userDataOf(s, lt);
  for (const id of Object.keys(s.resource.aws_network_interface)) expect(text).toContain(`\${aws_network_interface.${id}.private_ip}`);
});

test("installPackagesAtBoot lists the packages for cloud-init", () => {
  const withPackages = synthCluster(props("standalone", { installPackagesAtBoot: true }));
  const all = JSON.parse(withPackages.text).locals as Record<string, string>;
  const text = Object.values(all).find((t) => typeof t === "string" && t.startsWith("#cloud-config"))!;
  expect(text).toMatch(/^packages:\n(\s+- .+\n)*\s+- postgresql-17$/m);
});
