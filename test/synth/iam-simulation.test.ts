/**
 * The instance roles' synthesized policies, evaluated as AWS would (@cloud-copilot/iam-simulate):
 * a node takes only its own slot's ENI and volume, and attaches them only to node instances.
 */
import { props, synthCluster } from "./helpers";
import { ACCOUNT, decide, fakeRef, REGION, rolePolicies } from "./iam-simulate";

const s = synthCluster(props("distributed"));
const node = rolePolicies(s, /node-role/);
const nodeProfile = fakeRef(s, "aws_iam_instance_profile", /node-role/, "arn");
const poolerProfile = fakeRef(s, "aws_iam_instance_profile", /pooler-role/, "arn");
const ec2 = (r: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${r}`;
const eni = (slot: number) => ec2(`network-interface/${fakeRef(s, "aws_network_interface", new RegExp(`slot-${slot}_`), "id")}`);
const volume = (slot: number) => ec2(`volume/${fakeRef(s, "aws_ebs_volume", new RegExp(`slot-${slot}_`), "id")}`);
const instance = ec2("instance/i-0123456789abcdef0");
/** A request of an instance whose primary interface is in slot `from`'s subnet (10.0.<slot>.0/24). */
const fromSlot = (from: number, extra: Record<string, string> = {}) => ({
  "aws:Ec2InstanceSourcePrivateIPv4": `10.0.${from}.25`,
  "aws:ResourceTag/managed-postgres:cluster": "orders",
  ...extra,
});

describe("node role: slot resources", () => {
  test.each([
    ["ec2:AttachNetworkInterface", eni],
    ["ec2:DetachNetworkInterface", eni],
    ["ec2:AttachVolume", volume],
    ["ec2:DetachVolume", volume],
  ])("%s: a node in slot 1's subnet may use slot 1's resource, not slot 0's or 2's", async (action, resource) => {
    expect(await decide(node, { action, resource: resource(1), context: fromSlot(1) })).toBe("Allowed");
    expect(await decide(node, { action, resource: resource(0), context: fromSlot(1) })).toBe("ImplicitlyDenied");
    expect(await decide(node, { action, resource: resource(2), context: fromSlot(1) })).toBe("ImplicitlyDenied");
  });

  test("without EC2 instance credentials (no source address), nothing is attached", async () => {
    expect(await decide(node, { action: "ec2:AttachVolume", resource: volume(0), context: { "aws:ResourceTag/managed-postgres:cluster": "orders" } })).toBe("ImplicitlyDenied");
  });

  test("attaching targets only instances launched with the node instance profile", async () => {
    for (const action of ["ec2:AttachVolume", "ec2:AttachNetworkInterface"]) {
      expect(await decide(node, { action, resource: instance, context: fromSlot(0, { "ec2:InstanceProfile": nodeProfile }) })).toBe("Allowed");
      expect(await decide(node, { action, resource: instance, context: fromSlot(0, { "ec2:InstanceProfile": poolerProfile }) })).toBe("ImplicitlyDenied");
      expect(
        await decide(node, { action, resource: instance, context: { "ec2:InstanceProfile": nodeProfile, "aws:ResourceTag/managed-postgres:cluster": "other" } }),
      ).toBe("ImplicitlyDenied");
    }
  });

  test("detaching (a holder being replaced) is limited to the cluster's instances", async () => {
    expect(await decide(node, { action: "ec2:DetachVolume", resource: instance, context: { "aws:ResourceTag/managed-postgres:cluster": "orders" } })).toBe("Allowed");
    expect(await decide(node, { action: "ec2:DetachVolume", resource: instance, context: { "aws:ResourceTag/managed-postgres:cluster": "other" } })).toBe("ImplicitlyDenied");
  });
});

describe("pooler role: its own secret only", () => {
  const pooler = rolePolicies(s, /pooler-role/);
  const clusterSecret = fakeRef(s, "aws_secretsmanager_secret", /^orders_secret_[0-9A-F]{8}$/, "arn");
  const poolerSecret = fakeRef(s, "aws_secretsmanager_secret", /pooler-secret/, "arn");
  const key = fakeRef(s, "aws_kms_key", /encryption/, "arn");

  test("no statement of the pooler role names the cluster secret", () => {
    const text = JSON.stringify(pooler);
    expect(text).toContain(poolerSecret);
    expect(text).not.toContain(clusterSecret);
  });

  test("reads its own secret and cannot read the cluster secret", async () => {
    expect(await decide(pooler, { action: "secretsmanager:GetSecretValue", resource: poolerSecret })).toBe("Allowed");
    expect(await decide(pooler, { action: "secretsmanager:GetSecretValue", resource: clusterSecret })).toBe("ImplicitlyDenied");
    expect(await decide(pooler, { action: "secretsmanager:PutSecretValue", resource: poolerSecret })).toBe("ImplicitlyDenied");
  });

  // iam-simulate 0.1 drops kms:EncryptionContext:<key> from requests (reported as an ignored
  // context key), so this statement is checked as written rather than evaluated.
  test("decrypts with the cluster key only through Secrets Manager and only for its own secret", () => {
    const decrypt = (pooler[0]!.policy.Statement as any[]).concat(...pooler.slice(1).map((p) => p.policy.Statement as any[])).filter((st) => st.Action.includes("kms:Decrypt"));
    expect(decrypt).toHaveLength(1);
    expect(decrypt[0]).toMatchObject({
      Action: ["kms:Decrypt"],
      Resource: [key],
      Condition: { StringEquals: { "kms:ViaService": [`secretsmanager.${REGION}.amazonaws.com`], "kms:EncryptionContext:SecretARN": [poolerSecret] } },
    });
  });

  test("the nodes write the pooler secret and publish the CA certificate", async () => {
    const parameter = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/managed-postgres/orders/ca-certificate`;
    for (const action of ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]) {
      expect(await decide(node, { action, resource: poolerSecret })).toBe("Allowed");
    }
    for (const action of ["ssm:GetParameter", "ssm:PutParameter"]) expect(await decide(node, { action, resource: parameter })).toBe("Allowed");
    expect(await decide(pooler, { action: "ssm:PutParameter", resource: parameter })).toBe("ImplicitlyDenied");
  });
});
