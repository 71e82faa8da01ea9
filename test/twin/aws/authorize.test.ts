import { authorize, globalContext, resourceTagContext, withEncryptionContextEvaluated, type CallerIdentity } from "./authorize";
import { accessDenied, authError, denialSentence, errorBody, AwsError } from "./errors";
import { policyJson } from "./synthesized-world";
import { restoreSourceStatements } from "../../../src/rules/restore";

const CALLER: CallerIdentity = {
  sessionArn: "arn:aws:sts::111122223333:assumed-role/managed-postgres-orders-node/i-0a1b2c3d4e5f60001",
  roleArn: "arn:aws:iam::111122223333:role/managed-postgres-orders-node",
  roleId: "AROAEXAMPLEEXAMPLE123",
  accountId: "111122223333",
  instanceId: "i-0a1b2c3d4e5f60001",
  instanceArn: "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60001",
  instancePrivateIp: "10.42.0.101",
  vpcId: "vpc-0example",
};
const NOW = new Date("2026-12-02T10:00:00Z");
const KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const ctx = (secureTransport = true, viaAwsService = false) => globalContext(CALLER, { secureTransport, sourceIp: "10.42.0.101", region: "eu-west-1", now: NOW, viaAwsService });
const ROOT_KEY_POLICY = doc({ Sid: "AccountAdministration", Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "kms:*", Resource: "*" });

describe("request context", () => {
  test("instance role calls carry the principal, transport, source and instance keys AWS sets", () => {
    expect(ctx()).toMatchObject({
      "aws:PrincipalArn": CALLER.roleArn,
      "aws:PrincipalAccount": "111122223333",
      "aws:userid": "AROAEXAMPLEEXAMPLE123:i-0a1b2c3d4e5f60001",
      "aws:SecureTransport": "true",
      "aws:SourceIp": "10.42.0.101",
      "aws:RequestedRegion": "eu-west-1",
      "aws:CurrentTime": "2026-12-02T10:00:00Z",
      "ec2:SourceInstanceARN": CALLER.instanceArn,
      "aws:EC2InstanceSourcePrivateIPv4": "10.42.0.101",
    });
  });

  test("a service calling KMS on the caller's behalf: aws:ViaAWSService true and no aws:SourceIp", () => {
    const c = ctx(true, true);
    expect(c["aws:ViaAWSService"]).toBe("true");
    expect(c["aws:SourceIp"]).toBeUndefined();
  });

  test("resource tags become aws:ResourceTag/<key> and <service>:ResourceTag/<key>", () => {
    expect(resourceTagContext({ "managed-postgres:cluster": "orders" }, "ec2")).toEqual({
      "aws:ResourceTag/managed-postgres:cluster": "orders",
      "ec2:ResourceTag/managed-postgres:cluster": "orders",
    });
  });
});

describe("authorization with iam-simulate", () => {
  test("an identity statement allows; its sid is recorded", async () => {
    const d = await authorize({
      caller: CALLER,
      identityPolicies: [doc({ Sid: "ClusterSecretReadWrite", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:managed-postgres/orders-AbCdEf" })],
      action: "secretsmanager:GetSecretValue",
      resource: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:managed-postgres/orders-AbCdEf",
      resourceAccount: "111122223333",
      context: ctx(),
    });
    expect(d).toMatchObject({ result: "Allowed", statements: ["ClusterSecretReadWrite"] });
  });

  test("nothing allows: 'because no identity-based policy allows the <action> action'", async () => {
    const d = await authorize({ caller: CALLER, identityPolicies: [], action: "ec2:AttachVolume", resource: "arn:aws:ec2:eu-west-1:111122223333:volume/vol-1", resourceAccount: "111122223333", context: ctx() });
    expect(d.result).toBe("ImplicitlyDenied");
    expect(d.message).toBe(`User: ${CALLER.sessionArn} is not authorized to perform: ec2:AttachVolume on resource: arn:aws:ec2:eu-west-1:111122223333:volume/vol-1 because no identity-based policy allows the ec2:AttachVolume action`);
  });

  test("a bucket policy's aws:SecureTransport deny wins over the identity allow on plain HTTP only", async () => {
    const bucketPolicy = doc({ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } });
    const req = (secure: boolean) => ({
      caller: CALLER,
      identityPolicies: [doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" })],
      action: "s3:GetObject",
      resource: "arn:aws:s3:::b/k",
      resourceAccount: "111122223333",
      resourcePolicy: bucketPolicy,
      context: ctx(secure),
    });
    expect((await authorize(req(true))).result).toBe("Allowed");
    const d = await authorize(req(false));
    expect(d).toMatchObject({ result: "ExplicitlyDenied", statements: ["DenyInsecureTransport"], reason: { kind: "explicit-deny", in: "resource" } });
    expect(d.message).toMatch(/with an explicit deny in a resource-based policy$/);
  });

  test("KMS: the identity policy's kms:ViaService condition is evaluated; the key policy must delegate to IAM (root) or name the role", async () => {
    const identity = [doc({ Effect: "Allow", Action: "kms:Decrypt", Resource: KEY, Condition: { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } } })];
    const base = { caller: CALLER, identityPolicies: identity, action: "kms:Decrypt", resource: KEY, resourceAccount: "111122223333" };
    const via = (s: string) => ({ ...ctx(true, true), "kms:ViaService": s });
    expect((await authorize({ ...base, resourcePolicy: ROOT_KEY_POLICY, context: via("secretsmanager.eu-west-1.amazonaws.com") })).result).toBe("Allowed");
    expect((await authorize({ ...base, resourcePolicy: ROOT_KEY_POLICY, context: via("s3.eu-west-1.amazonaws.com") })).result).toBe("ImplicitlyDenied");
    const noDelegation = doc({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:role/someone-else" }, Action: "kms:*", Resource: "*" });
    const d = await authorize({ ...base, resourcePolicy: noDelegation, context: via("secretsmanager.eu-west-1.amazonaws.com") });
    expect(d).toMatchObject({ result: "ImplicitlyDenied", reason: { kind: "no-resource-allow" } });
    expect(d.message).toMatch(/because no resource-based policy allows the kms:Decrypt action$/);
  });

  test("context keys the simulator does not know are left out and reported, not fatal", async () => {
    const d = await authorize({ caller: CALLER, identityPolicies: [doc({ Effect: "Allow", Action: "sts:GetCallerIdentity", Resource: "*" })], action: "sts:GetCallerIdentity", resource: "*", resourceAccount: "111122223333", context: { ...ctx(), "made-up:Key": "x" } });
    expect(d.result).toBe("Allowed");
    expect(d.unknownContextKeys).toEqual(["made-up:Key"]);
  });
});

describe("error shapes", () => {
  test("EC2: UnauthorizedOperation with AWS's sentence and an encoded message, in <Response><Errors>", () => {
    const e = accessDenied("ec2", denialSentence("arn:p", "ec2:AttachVolume", "arn:r", { kind: "no-identity-allow" }), { x: 1 });
    expect(e).toMatchObject({ code: "UnauthorizedOperation", status: 403 });
    expect(e.message).toMatch(/^You are not authorized to perform this operation\. User: arn:p is not authorized to perform: ec2:AttachVolume on resource: arn:r because no identity-based policy allows the ec2:AttachVolume action\. Encoded authorization failure message: /);
    expect(errorBody("ec2", e, "req-1").body).toMatch(/<Response><Errors><Error><Code>UnauthorizedOperation<\/Code><Message>You are not authorized.*<\/Message><\/Error><\/Errors><RequestID>req-1<\/RequestID><\/Response>$/);
  });

  test("S3: AccessDenied (403) as <Error> XML with the resource; JSON: AccessDeniedException with x-amzn-errortype", () => {
    const s3 = errorBody("s3", accessDenied("s3", "User: u is not authorized"), "r", "/b/k");
    expect(s3.body).toContain("<Error><Code>AccessDenied</Code><Message>User: u is not authorized</Message><Resource>/b/k</Resource><RequestId>r</RequestId></Error>");
    const json = errorBody("json", accessDenied("json", "User: u"), "r");
    expect(JSON.parse(json.body)).toEqual({ __type: "AccessDeniedException", message: "User: u" });
    expect(json.headers["x-amzn-errortype"]).toBe("AccessDeniedException");
  });

  test("authentication failures use each service's code", () => {
    expect(authError("s3", "signature", "m").code).toBe("SignatureDoesNotMatch");
    expect(authError("query", "signature", "m").code).toBe("SignatureDoesNotMatch");
    expect(authError("ec2", "signature", "m")).toMatchObject({ code: "AuthFailure", message: "AWS was not able to validate the provided access credentials" });
    expect(authError("json", "signature", "m").code).toBe("InvalidSignatureException");
    expect(authError("json", "unknown-key", "m")).toMatchObject({ code: "UnrecognizedClientException", message: "The security token included in the request is invalid." });
    expect(authError("query", "unknown-key", "m").code).toBe("InvalidClientTokenId");
    expect(authError("s3", "expired", "m").code).toBe("ExpiredToken");
    expect(authError("json", "expired", "m").code).toBe("ExpiredTokenException");
    expect(authError("s3", "bad-token", "m").code).toBe("InvalidToken");
    expect(new AwsError("X", "y").status).toBe(400);
  });
});

describe("restoreFrom's statements (src/rules/restore.ts) under evaluation", () => {
  const SOURCE_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const restore = {
    backupBucket: "orders-backups-20260101",
    stanza: "orders",
    target: "latest",
    secretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:managed-postgres/orders-AbCdEf",
  };
  const identity = (backupKmsKeyArn?: string) => [
    policyJson(restoreSourceStatements({ ...restore, ...(backupKmsKeyArn ? { backupKmsKeyArn } : {}) }, "aws", "eu-west-1") as never, (s) => s),
  ];
  const decrypt = (policies: string[]) =>
    authorize({
      caller: CALLER,
      identityPolicies: policies,
      action: "kms:Decrypt",
      resource: SOURCE_KEY,
      resourceAccount: "111122223333",
      resourcePolicy: ROOT_KEY_POLICY,
      context: { ...ctx(true, true), "kms:ViaService": "s3.eu-west-1.amazonaws.com" },
    });

  test("pgBackRest's listing of the source repository (repo1-path /<stanza>) is allowed by the s3:prefix condition", async () => {
    const list = (prefix: string) =>
      authorize({ caller: CALLER, identityPolicies: identity(SOURCE_KEY), action: "s3:ListBucket", resource: `arn:aws:s3:::${restore.backupBucket}`, resourceAccount: "111122223333", context: { ...ctx(), "s3:prefix": prefix, "s3:delimiter": "/" } });
    expect((await list("orders/archive/orders/")).result).toBe("Allowed");
    expect((await list("orders/backup/orders/")).result).toBe("Allowed");
    expect((await list("other/")).result).toBe("ImplicitlyDenied");
  });

  test("the source key's kms:Decrypt through S3 is allowed by its key ARN, and by nothing when backupKmsKeyArn is absent or an alias ARN (KMS authorizes the key ARN)", async () => {
    expect((await decrypt(identity(SOURCE_KEY))).result).toBe("Allowed");
    expect((await decrypt(identity())).result).toBe("ImplicitlyDenied");
    expect((await decrypt(identity("arn:aws:kms:eu-west-1:111122223333:alias/managed-postgres/orders"))).result).toBe("ImplicitlyDenied");
  });
});

describe("kms:EncryptionContext conditions (evaluated by the twin: iam-simulate drops those keys)", () => {
  const arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:managed-postgres/orders/pooler-2o996f";
  const policy = {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ThroughSecretsManagerForOneSecret",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: "*",
        Condition: { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com", "kms:EncryptionContext:SecretARN": arn } },
      },
    ],
  };
  const statement = (context: Record<string, string>) => (withEncryptionContextEvaluated(policy, context).Statement as { Condition?: Record<string, Record<string, string>> }[])[0];

  test("a condition that holds is removed; the other keys stay for the simulator", () => {
    expect(statement({ "kms:EncryptionContext:SecretARN": arn }).Condition).toEqual({ StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } });
  });

  test("another secret's ARN, or no encryption context, keeps the condition: the statement fails closed", () => {
    expect(statement({ "kms:EncryptionContext:SecretARN": arn.replace("pooler", "other") }).Condition!.StringEquals["kms:EncryptionContext:SecretARN"]).toBe(arn);
    expect(statement({}).Condition!.StringEquals["kms:EncryptionContext:SecretARN"]).toBe(arn);
  });

  test("StringLike wildcards match as IAM's do; regular-expression characters in the pattern are literal", () => {
    const like = { Statement: [{ Effect: "Allow", Condition: { StringLike: { "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::bucket.x/*" } } }] };
    const held = (v: string) => (withEncryptionContextEvaluated(like, { "kms:EncryptionContext:aws:s3:arn": v }).Statement as { Condition?: unknown }[])[0].Condition === undefined;
    expect(held("arn:aws:s3:::bucket.x/a/b")).toBe(true);
    expect(held("arn:aws:s3:::bucketXx/a")).toBe(false);
  });
});
