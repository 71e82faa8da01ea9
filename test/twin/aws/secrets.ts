/**
 * Secrets Manager (JSON 1.1, `X-Amz-Target: secretsmanager.<Action>`), KMS (JSON 1.1,
 * `TrentService.<Action>`) and STS GetCallerIdentity of the twin.
 *
 * Secrets Manager: GetSecretValue, PutSecretValue, DescribeSecret, CreateSecret with AWS's
 * version semantics (a version's id is its ClientRequestToken, 32..64 characters; the same
 * token with the same value is an idempotent success, with another value
 * ResourceExistsException; a new version becomes AWSCURRENT, the former AWSPREVIOUS; a secret
 * without a value answers GetSecretValue with ResourceNotFoundException). Authorized on the
 * secret's ARN with its resource policy, `secretsmanager:SecretId`, `secretsmanager:VersionId`,
 * `secretsmanager:VersionStage` and resource tags; a secret encrypted with a customer-managed
 * key then needs the caller's kms:Decrypt (GetSecretValue) or kms:GenerateDataKey
 * (PutSecretValue, CreateSecret with a value) through Secrets Manager, encryption context
 * `SecretARN` and `SecretVersionId`
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html).
 * When that KMS call is refused, Secrets Manager answers AccessDeniedException "Access to KMS
 * is not allowed"; the twin appends KMS's sentence naming the action.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from "crypto";
import { resourceTagContext } from "./authorize";
import type { CallContext } from "./context";
import { AwsError } from "./errors";
import { findKey, type TwinSecret, type TwinWorld } from "./world";

/** One version of a secret. */
export interface SecretVersion {
  versionId: string;
  secretString?: string;
  secretBinary?: string;
  stages: string[];
  created: number;
}

interface SecretState {
  readonly def: TwinSecret;
  readonly created: number;
  versions: SecretVersion[];
}

export class SecretsService {
  private readonly state: SecretState[] = [];

  constructor(private readonly world: TwinWorld) {
    for (const s of world.secrets) this.add(s);
  }

  /** Registers a secret of the world (also one added after start). */
  add(def: TwinSecret): void {
    const st: SecretState = { def, created: Date.now() / 1000, versions: [] };
    this.state.push(st);
    if (def.secretString !== undefined) this.putVersion(st, { SecretString: def.secretString });
  }

  /** Versions of every secret, values left out (for assertions). */
  snapshot(): { arn: string; versions: { versionId: string; stages: string[]; length: number }[] }[] {
    return this.state.map((s) => ({
      arn: s.def.arn,
      versions: s.versions.map((v) => ({ versionId: v.versionId, stages: v.stages, length: (v.secretString ?? v.secretBinary ?? "").length })),
    }));
  }

  /** The AWSCURRENT value (SecretString) of a secret, for test code that must log in; undefined before the first version. Never print it. */
  currentString(arn: string): string | undefined {
    return this.state.find((x) => x.def.arn === arn)?.versions.find((v) => v.stages.includes("AWSCURRENT"))?.secretString;
  }

  private find(id: unknown): SecretState {
    const s = this.state.find((x) => x.def.arn === id || x.def.name === id || (typeof id === "string" && x.def.arn.startsWith(`${id}-`)));
    if (!s) throw new AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    return s;
  }

  private async authorize(ctx: CallContext, action: string, s: SecretState, extra: Record<string, string> = {}): Promise<void> {
    await ctx.authorize(`secretsmanager:${action}`, s.def.arn, {
      resourcePolicy: s.def.resourcePolicy,
      context: { "secretsmanager:SecretId": s.def.arn, ...resourceTagContext(s.def.tags, "secretsmanager"), ...extra },
    });
  }

  private async kms(ctx: CallContext, s: SecretState, action: "kms:Decrypt" | "kms:GenerateDataKey", versionId: string): Promise<void> {
    const key = findKey(this.world, s.def.kmsKeyArn);
    if (!s.def.kmsKeyArn) return; // aws/secretsmanager: the AWS managed key, usable by any principal of the account through Secrets Manager
    if (!key) throw new AwsError("KMSInvalidStateException", `The KMS key ${s.def.kmsKeyArn} does not exist`);
    await ctx.kmsOnBehalf(
      key.arn,
      action,
      "secretsmanager",
      { "kms:EncryptionContext:SecretARN": s.def.arn, "kms:EncryptionContext:SecretVersionId": versionId },
      (d) => new AwsError("AccessDeniedException", `Access to KMS is not allowed. ${d.message ?? ""}`.trim()),
    );
  }

  async handle(ctx: CallContext, action: string, req: Record<string, unknown>): Promise<unknown> {
    switch (action) {
      case "DescribeSecret": {
        const s = this.find(req.SecretId);
        await this.authorize(ctx, action, s);
        const stages: Record<string, string[]> = {};
        for (const v of s.versions) if (v.stages.length) stages[v.versionId] = v.stages;
        return {
          ARN: s.def.arn,
          Name: s.def.name,
          ...(s.def.kmsKeyArn ? { KmsKeyId: s.def.kmsKeyArn } : {}),
          CreatedDate: s.created,
          LastChangedDate: s.versions.length ? s.versions[s.versions.length - 1]!.created : s.created,
          ...(s.versions.length ? { VersionIdsToStages: stages } : {}),
          Tags: Object.entries(s.def.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
        };
      }
      case "GetSecretValue": {
        const s = this.find(req.SecretId);
        const stage = (req.VersionStage as string | undefined) ?? (req.VersionId ? undefined : "AWSCURRENT");
        await this.authorize(ctx, action, s, {
          ...(req.VersionId ? { "secretsmanager:VersionId": String(req.VersionId) } : {}),
          ...(stage ? { "secretsmanager:VersionStage": stage } : {}),
        });
        const v = s.versions.find((x) => (req.VersionId ? x.versionId === req.VersionId : true) && (stage ? x.stages.includes(stage) : true));
        if (!v) {
          throw new AwsError(
            "ResourceNotFoundException",
            `Secrets Manager can't find the specified secret value for ${req.VersionId ? `VersionId: ${String(req.VersionId)}` : `staging label: ${stage}`}`,
          );
        }
        await this.kms(ctx, s, "kms:Decrypt", v.versionId);
        return secretValueResponse(s.def.arn, s.def.name, v);
      }
      case "PutSecretValue": {
        const s = this.find(req.SecretId);
        await this.authorize(ctx, action, s);
        const token = (req.ClientRequestToken as string | undefined) ?? randomUUID();
        if (!s.versions.some((v) => v.versionId === token)) await this.kms(ctx, s, "kms:GenerateDataKey", token);
        return this.putVersion(s, { ...req, ClientRequestToken: token });
      }
      case "CreateSecret": {
        const name = String(req.Name ?? "");
        const arn = `arn:aws:secretsmanager:${this.world.region}:${this.world.accountId}:secret:${name}-${randomBytes(3).toString("base64url").slice(0, 6)}`;
        await ctx.authorize("secretsmanager:CreateSecret", arn, { context: { "secretsmanager:Name": name } });
        if (this.state.some((x) => x.def.name === name)) throw new AwsError("ResourceExistsException", `The operation failed because the secret ${name} already exists.`);
        const def: TwinSecret = { arn, name, ...(req.KmsKeyId ? { kmsKeyArn: findKey(this.world, String(req.KmsKeyId))?.arn ?? String(req.KmsKeyId) } : {}) };
        this.world.secrets.push(def);
        this.add(def);
        const s = this.find(arn);
        if (req.SecretString !== undefined || req.SecretBinary !== undefined) {
          const token = (req.ClientRequestToken as string | undefined) ?? randomUUID();
          await this.kms(ctx, s, "kms:GenerateDataKey", token);
          const v = this.putVersion(s, { ...req, ClientRequestToken: token });
          return { ARN: arn, Name: name, VersionId: v.VersionId };
        }
        return { ARN: arn, Name: name };
      }
      default:
        throw new AwsError("InvalidAction", `secretsmanager.${action} is not implemented by the twin`);
    }
  }

  private putVersion(s: SecretState, req: Record<string, unknown>): { ARN: string; Name: string; VersionId: string; VersionStages: string[] } {
    const v = putSecretVersion(s.versions, req);
    return { ARN: s.def.arn, Name: s.def.name, VersionId: v.versionId, VersionStages: v.stages };
  }
}

/**
 * KMS of the twin: DescribeKey, Encrypt, Decrypt, GenerateDataKey with a per-key AES-256-GCM
 * key (ciphertext blobs name their key), authorized with the key policy as the resource
 * policy (`kms:CallerAccount`, `kms:EncryptionContext:*`, `kms:EncryptionContextKeys`).
 */
export class KmsService {
  private readonly material = new Map<string, Buffer>();

  constructor(private readonly world: TwinWorld) {}

  private keyBytes(arn: string): Buffer {
    let k = this.material.get(arn);
    if (!k) {
      k = createHash("sha256").update(`twin-kms:${arn}:${randomBytes(16).toString("hex")}`).digest();
      this.material.set(arn, k);
    }
    return k;
  }

  async handle(ctx: CallContext, action: string, req: Record<string, unknown>): Promise<unknown> {
    const encryptionContext = (req.EncryptionContext as Record<string, string> | undefined) ?? {};
    const ecKeys: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(encryptionContext)) ecKeys[`kms:EncryptionContext:${k}`] = v;
    if (Object.keys(encryptionContext).length) ecKeys["kms:EncryptionContextKeys"] = Object.keys(encryptionContext);
    const aad = Buffer.from(JSON.stringify(Object.entries(encryptionContext).sort()));
    let keyId = req.KeyId as string | undefined;
    let blob: Buffer | undefined;
    if (action === "Decrypt") {
      blob = Buffer.from(String(req.CiphertextBlob ?? ""), "base64");
      const len = blob.readUInt16BE(0);
      keyId = blob.subarray(2, 2 + len).toString("utf8");
    }
    const key = findKey(this.world, keyId);
    if (!key) throw new AwsError("NotFoundException", `Key '${keyId}' does not exist`);
    await ctx.authorize(`kms:${action}`, key.arn, { resourcePolicy: key.policy, context: { "kms:CallerAccount": ctx.caller.accountId, ...ecKeys, ...resourceTagContext(key.tags) } });
    const k = this.keyBytes(key.arn);
    const seal = (plain: Buffer): string => {
      const iv = randomBytes(12);
      const c = createCipheriv("aes-256-gcm", k, iv).setAAD(aad);
      const body = Buffer.concat([c.update(plain), c.final()]);
      const id = Buffer.from(key.arn);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(id.length);
      return Buffer.concat([len, id, iv, c.getAuthTag(), body]).toString("base64");
    };
    switch (action) {
      case "DescribeKey":
        return { KeyMetadata: { KeyId: key.arn.split("/").pop(), Arn: key.arn, AWSAccountId: this.world.accountId, Enabled: true, KeyState: "Enabled", KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT", KeyManager: "CUSTOMER", Origin: "AWS_KMS" } };
      case "Encrypt":
        return { KeyId: key.arn, CiphertextBlob: seal(Buffer.from(String(req.Plaintext ?? ""), "base64")), EncryptionAlgorithm: "SYMMETRIC_DEFAULT" };
      case "GenerateDataKey": {
        const plain = randomBytes(Number(req.NumberOfBytes ?? 32));
        return { KeyId: key.arn, Plaintext: plain.toString("base64"), CiphertextBlob: seal(plain) };
      }
      case "Decrypt": {
        const b = blob!;
        const off = 2 + b.readUInt16BE(0);
        try {
          const d = createDecipheriv("aes-256-gcm", k, b.subarray(off, off + 12)).setAAD(aad);
          d.setAuthTag(b.subarray(off + 12, off + 28));
          const plain = Buffer.concat([d.update(b.subarray(off + 28)), d.final()]);
          return { KeyId: key.arn, Plaintext: plain.toString("base64"), EncryptionAlgorithm: "SYMMETRIC_DEFAULT" };
        } catch {
          throw new AwsError("InvalidCiphertextException", "");
        }
      }
      default:
        throw new AwsError("UnsupportedOperationException", `kms:${action} is not implemented by the twin`);
    }
  }
}

/** STS GetCallerIdentity (needs no permission: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html). */
export function getCallerIdentity(ctx: CallContext, action: string): string {
  if (action !== "GetCallerIdentity") throw new AwsError("InvalidAction", `sts:${action} is not implemented by the twin`);
  return (
    `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
    `<Arn>${ctx.caller.sessionArn}</Arn><UserId>${ctx.caller.roleId}:${ctx.caller.instanceId}</UserId><Account>${ctx.caller.accountId}</Account>` +
    `</GetCallerIdentityResult><ResponseMetadata><RequestId>${ctx.requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
  );
}

/**
 * PutSecretValue's version semantics on `versions` (mutated): the version id is the
 * ClientRequestToken (32..64 characters, default a UUID); the same token with the same value
 * is an idempotent success, with another value ResourceExistsException; the new version gets
 * `VersionStages` (default AWSCURRENT), moving each stage off the version that had it (the
 * former AWSCURRENT becomes AWSPREVIOUS).
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
 * @returns the stored (or identical existing) version
 * @throws AwsError ValidationException, InvalidParameterException, ResourceExistsException
 */
export function putSecretVersion(versions: SecretVersion[], req: Record<string, unknown>): SecretVersion {
  const token = (req.ClientRequestToken as string | undefined) ?? randomUUID();
  if (token.length < 32 || token.length > 64) {
    throw new AwsError("ValidationException", `ClientRequestToken must be 32 to 64 characters long. Got ${token.length}`);
  }
  const secretString = req.SecretString as string | undefined;
  const secretBinary = req.SecretBinary as string | undefined;
  if ((secretString === undefined) === (secretBinary === undefined)) {
    throw new AwsError("InvalidParameterException", "You must provide either SecretString or SecretBinary.");
  }
  const existing = versions.find((v) => v.versionId === token);
  if (existing) {
    if (existing.secretString === secretString && existing.secretBinary === secretBinary) return existing;
    throw new AwsError(
      "ResourceExistsException",
      "You can't modify an existing version, you can only create a new version. A version with this ClientRequestToken already exists with a different value.",
    );
  }
  const stages = (req.VersionStages as string[] | undefined) ?? ["AWSCURRENT"];
  for (const st of stages) {
    for (const v of versions) {
      if (!v.stages.includes(st)) continue;
      v.stages = v.stages.filter((x) => x !== st);
      if (st === "AWSCURRENT") {
        for (const w of versions) w.stages = w.stages.filter((x) => x !== "AWSPREVIOUS");
        v.stages.push("AWSPREVIOUS");
      }
    }
  }
  const v: SecretVersion = { versionId: token, secretString, secretBinary, stages: [...stages], created: Date.now() / 1000 };
  versions.push(v);
  return v;
}

/** GetSecretValue's response for version `v` of secret `arn` / `name`. */
export function secretValueResponse(arn: string, name: string, v: SecretVersion): Record<string, unknown> {
  return {
    ARN: arn,
    Name: name,
    VersionId: v.versionId,
    ...(v.secretString !== undefined ? { SecretString: v.secretString } : {}),
    ...(v.secretBinary !== undefined ? { SecretBinary: v.secretBinary } : {}),
    VersionStages: v.stages,
    CreatedDate: v.created,
  };
}
