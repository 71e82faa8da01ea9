/**
 * A minimal in-process S3 of the twin (REST-XML), enough for pgBackRest 2.55 and the AWS CLI:
 * PUT/GET/HEAD/DELETE object (GET/HEAD with `versionId`, `Range: bytes=a-b`), ListObjectsV2
 * (prefix, delimiter, max-keys, continuation-token, start-after), DeleteObjects, multipart
 * upload (create, upload part, complete, abort), HEAD bucket, GetBucketLocation. Versioned
 * buckets keep every version (a DELETE without version id adds a delete marker). Bodies are
 * files under `dataDir`.
 *
 * Authorization (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
 * the S3 action on the bucket or object ARN with the bucket policy as resource policy and the
 * condition keys s3:prefix, s3:delimiter, s3:max-keys (ListBucket), s3:versionid,
 * s3:x-amz-server-side-encryption, s3:x-amz-server-side-encryption-aws-kms-key-id (only when
 * the request carries the header, so `...IfExists` conditions behave as on AWS),
 * s3:x-amz-content-sha256, s3:signatureversion, s3:authType, s3:ResourceAccount.
 * SSE-KMS (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html):
 * PutObject and CreateMultipartUpload need the caller's kms:GenerateDataKey, GetObject and
 * CompleteMultipartUpload kms:Decrypt, through S3 (kms:ViaService) with the key policy;
 * encryption context `aws:s3:arn` = the object ARN, or the bucket ARN with an S3 Bucket Key.
 */
import { createHash, randomBytes } from "crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import type { CallContext } from "./context";
import { accessDenied, AwsError, xmlEscape } from "./errors";
import { findKey, type TwinBucket, type TwinObject, type TwinWorld } from "./world";

const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

interface ObjectVersion {
  versionId: string;
  deleteMarker: boolean;
  file?: string;
  size: number;
  etag: string;
  lastModified: Date;
  contentType: string;
  kmsKeyArn?: string;
}

interface Upload {
  bucket: string;
  key: string;
  kmsKeyArn?: string;
  contentType: string;
  parts: Map<number, { file: string; etag: string; size: number; md5: Buffer }>;
}

/** The S3 request after routing: bucket, key, method, query, headers, payload. */
export interface S3Request {
  readonly method: string;
  readonly bucket?: string;
  readonly key?: string;
  readonly query: Record<string, string | string[]>;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Buffer;
  readonly presigned: boolean;
}

export interface S3Response {
  status: number;
  headers: Record<string, string>;
  body?: Buffer | string;
}

function q(r: S3Request, name: string): string | undefined {
  const v = r.query[name];
  return Array.isArray(v) ? v[0] : v;
}

function has(r: S3Request, name: string): boolean {
  return r.query[name] !== undefined;
}

function md5(b: Buffer): Buffer {
  return createHash("md5").update(b).digest();
}

function newVersionId(): string {
  return randomBytes(24).toString("base64url").slice(0, 32);
}

export class S3Service {
  private readonly objects = new Map<string, Map<string, ObjectVersion[]>>();
  private readonly uploads = new Map<string, Upload>();
  private seq = 0;

  constructor(
    private readonly world: TwinWorld,
    private readonly dataDir: string,
  ) {
    mkdirSync(dataDir, { recursive: true });
    for (const b of world.buckets) this.addBucket(b);
  }

  /** Registers a bucket of the world and stores its initial objects. */
  addBucket(b: TwinBucket): void {
    this.objects.set(b.name, new Map());
    for (const o of b.objects ?? []) {
      const body = Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
      this.store(b, o.key, body, o.contentType ?? "binary/octet-stream", o.kmsKeyArn ?? b.defaultKmsKeyArn, o.versionId);
    }
  }

  /**
   * Stores `o` as the bucket's newest version of its key, with the version id Terraform
   * recorded (`aws_s3_object.version_id`): what a re-apply that updates an object writes.
   * @throws Error when the bucket is not the world's
   */
  writeObject(bucket: string, o: TwinObject): void {
    const b = this.world.buckets.find((x) => x.name === bucket);
    if (!b || !this.objects.has(bucket)) throw new Error(`no bucket ${bucket} in the twin's world`);
    if (this.version(bucket, o.key, o.versionId) && o.versionId) return;
    this.store(b, o.key, Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body), o.contentType ?? "binary/octet-stream", o.kmsKeyArn ?? b.defaultKmsKeyArn, o.versionId);
  }

  /** The current body of an object, undefined when absent (assertions). */
  read(bucket: string, key: string, versionId?: string): Buffer | undefined {
    const v = this.version(bucket, key, versionId);
    return v && !v.deleteMarker && v.file ? readFileSync(v.file) : undefined;
  }

  /**
   * The current objects of a bucket (keys whose newest version is not a delete marker), sorted
   * by key, with the SSE-KMS key each was stored under (undefined: SSE-S3). For assertions and
   * for carrying a bucket into another twin ({@link TwinObject}s with {@link read}).
   * @throws AwsError NoSuchBucket for a bucket the twin does not hold
   */
  list(bucket: string, prefix = ""): { key: string; size: number; versionId: string; contentType: string; kmsKeyArn?: string }[] {
    const map = this.objects.get(this.bucket(bucket).name)!;
    return [...map.entries()]
      .filter(([k, versions]) => k.startsWith(prefix) && versions.length > 0 && !versions[versions.length - 1]!.deleteMarker)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, versions]) => {
        const v = versions[versions.length - 1]!;
        return { key, size: v.size, versionId: v.versionId, contentType: v.contentType, ...(v.kmsKeyArn ? { kmsKeyArn: v.kmsKeyArn } : {}) };
      });
  }

  private bucket(name: string | undefined): TwinBucket {
    const b = this.world.buckets.find((x) => x.name === name);
    if (!b) throw new AwsError("NoSuchBucket", "The specified bucket does not exist", 404);
    return b;
  }

  private version(bucket: string, key: string, versionId?: string): ObjectVersion | undefined {
    const list = this.objects.get(bucket)?.get(key) ?? [];
    return versionId ? list.find((v) => v.versionId === versionId) : list[list.length - 1];
  }

  private store(b: TwinBucket, key: string, body: Buffer, contentType: string, kmsKeyArn: string | undefined, versionId?: string, etag?: string): ObjectVersion {
    const file = join(this.dataDir, `${++this.seq}.bin`);
    writeFileSync(file, body);
    const v: ObjectVersion = {
      versionId: b.versioning ? (versionId ?? newVersionId()) : "null",
      deleteMarker: false,
      file,
      size: body.length,
      etag: etag ?? `"${md5(body).toString("hex")}"`,
      lastModified: new Date(),
      contentType,
      kmsKeyArn,
    };
    const map = this.objects.get(b.name)!;
    const list = map.get(key) ?? [];
    if (!b.versioning) for (const old of list.splice(0)) if (old.file) rmSync(old.file, { force: true });
    list.push(v);
    map.set(key, list);
    return v;
  }

  private bucketArn(b: TwinBucket): string {
    return `arn:aws:s3:::${b.name}`;
  }

  private baseContext(r: S3Request): Record<string, string> {
    const ctx: Record<string, string> = {
      "s3:signatureversion": "AWS4-HMAC-SHA256",
      "s3:authType": r.presigned ? "REST-QUERY-STRING" : "REST-HEADER",
      "s3:ResourceAccount": this.world.accountId,
    };
    if (r.headers["x-amz-content-sha256"]) ctx["s3:x-amz-content-sha256"] = r.headers["x-amz-content-sha256"];
    return ctx;
  }

  private async authorize(ctx: CallContext, r: S3Request, b: TwinBucket, action: string, resource: string, extra: Record<string, string> = {}): Promise<void> {
    await ctx.authorize(action, resource, { resourcePolicy: b.policy, context: { ...this.baseContext(r), ...extra } });
  }

  private async kms(ctx: CallContext, b: TwinBucket, key: string, kmsKeyArn: string | undefined, action: "kms:Decrypt" | "kms:GenerateDataKey"): Promise<void> {
    if (!kmsKeyArn) return;
    const k = findKey(this.world, kmsKeyArn);
    if (!k) throw new AwsError("KMS.NotFoundException", `Invalid keyId ${kmsKeyArn}`, 400);
    const context = b.bucketKeyEnabled ? this.bucketArn(b) : `${this.bucketArn(b)}/${key}`;
    await ctx.kmsOnBehalf(k.arn, action, "s3", { "kms:EncryptionContext:aws:s3:arn": context }, (d) => accessDenied("s3", d.message ?? "", d));
  }

  /** The SSE condition keys of a write: only the headers the request carries. */
  private sseContext(r: S3Request): Record<string, string> {
    const context: Record<string, string> = {};
    const alg = r.headers["x-amz-server-side-encryption"];
    const keyHeader = r.headers["x-amz-server-side-encryption-aws-kms-key-id"];
    if (alg !== undefined) context["s3:x-amz-server-side-encryption"] = alg;
    if (keyHeader !== undefined) context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = keyHeader;
    return context;
  }

  /** The KMS key of a write (after authorization): the requested key or the bucket default; none for SSE-S3. */
  private sseKey(r: S3Request, b: TwinBucket): { kmsKeyArn?: string } {
    const alg = r.headers["x-amz-server-side-encryption"];
    const keyHeader = r.headers["x-amz-server-side-encryption-aws-kms-key-id"];
    if (alg !== undefined && alg !== "aws:kms" && alg !== "AES256") throw new AwsError("InvalidArgument", "The encryption method specified is not supported");
    if (alg === "AES256") return {};
    if (keyHeader !== undefined && alg !== "aws:kms") throw new AwsError("InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms");
    const requested = keyHeader ?? b.defaultKmsKeyArn;
    if (requested === undefined) return {}; // SSE-S3, or aws:kms with the aws/s3 managed key: not modelled (no key policy)
    const key = findKey(this.world, requested);
    if (!key) throw new AwsError("KMS.NotFoundException", `Invalid keyId ${requested}`);
    return { kmsKeyArn: key.arn };
  }

  private sseHeaders(v: { kmsKeyArn?: string }, b: TwinBucket): Record<string, string> {
    if (!v.kmsKeyArn) return { "x-amz-server-side-encryption": "AES256" };
    return {
      "x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-aws-kms-key-id": v.kmsKeyArn,
      ...(b.bucketKeyEnabled ? { "x-amz-server-side-encryption-bucket-key-enabled": "true" } : {}),
    };
  }

  private checkMd5(r: S3Request): void {
    const sent = r.headers["content-md5"];
    if (sent !== undefined && sent !== md5(r.payload).toString("base64")) {
      throw new AwsError("BadDigest", "The Content-MD5 you specified did not match what we received.");
    }
  }

  async handle(ctx: CallContext, r: S3Request): Promise<S3Response> {
    if (!r.bucket) throw new AwsError("NotImplemented", "ListBuckets is not implemented by the twin", 501);
    const b = this.bucket(r.bucket);
    const bucketArn = this.bucketArn(b);
    if (!r.key) return this.bucketOperation(ctx, r, b, bucketArn);
    const key = r.key;
    const objectArn = `${bucketArn}/${key}`;
    const versionId = q(r, "versionId");
    const vctx: Record<string, string> = versionId ? { "s3:versionid": versionId } : {};
    const m = r.method;
    if ((m === "GET" || m === "HEAD") && !has(r, "uploadId")) {
      await this.authorize(ctx, r, b, versionId ? "s3:GetObjectVersion" : "s3:GetObject", objectArn, vctx);
      const v = this.version(b.name, key, versionId);
      if (!v || (v.deleteMarker && !versionId)) {
        throw versionId && !v ? new AwsError("NoSuchVersion", "The specified version does not exist.", 404) : new AwsError("NoSuchKey", "The specified key does not exist.", 404);
      }
      if (v.deleteMarker) throw new AwsError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405);
      if (m === "GET") await this.kms(ctx, b, key, v.kmsKeyArn, "kms:Decrypt");
      const headers: Record<string, string> = {
        etag: v.etag,
        "last-modified": v.lastModified.toUTCString(),
        "content-type": v.contentType,
        "accept-ranges": "bytes",
        ...(b.versioning ? { "x-amz-version-id": v.versionId } : {}),
        ...this.sseHeaders(v, b),
      };
      const range = /^bytes=(\d+)-(\d*)$/.exec(r.headers.range ?? "");
      if (m === "HEAD") return { status: 200, headers: { ...headers, "content-length": String(v.size) } };
      const body = readFileSync(v.file!);
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Math.min(Number(range[2]), v.size - 1) : v.size - 1;
        if (start >= v.size) throw new AwsError("InvalidRange", "The requested range is not satisfiable", 416);
        return { status: 206, headers: { ...headers, "content-range": `bytes ${start}-${end}/${v.size}` }, body: body.subarray(start, end + 1) };
      }
      return { status: 200, headers, body };
    }
    if (m === "PUT" && has(r, "uploadId")) {
      const up = this.upload(q(r, "uploadId"), b.name, key);
      await this.authorize(ctx, r, b, "s3:PutObject", objectArn);
      this.checkMd5(r);
      const n = Number(q(r, "partNumber"));
      if (!Number.isInteger(n) || n < 1 || n > 10000) throw new AwsError("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
      const file = join(this.dataDir, `${++this.seq}.part`);
      writeFileSync(file, r.payload);
      const digest = md5(r.payload);
      up.parts.set(n, { file, etag: `"${digest.toString("hex")}"`, size: r.payload.length, md5: digest });
      return { status: 200, headers: { etag: `"${digest.toString("hex")}"`, ...this.sseHeaders(up, b) } };
    }
    if (m === "PUT") {
      if (r.headers["x-amz-copy-source"]) throw new AwsError("NotImplemented", "CopyObject is not implemented by the twin", 501);
      await this.authorize(ctx, r, b, "s3:PutObject", objectArn, this.sseContext(r));
      const sse = this.sseKey(r, b);
      this.checkMd5(r);
      await this.kms(ctx, b, key, sse.kmsKeyArn, "kms:GenerateDataKey");
      const v = this.store(b, key, r.payload, r.headers["content-type"] ?? "binary/octet-stream", sse.kmsKeyArn);
      return { status: 200, headers: { etag: v.etag, ...(b.versioning ? { "x-amz-version-id": v.versionId } : {}), ...this.sseHeaders(v, b) } };
    }
    if (m === "POST" && has(r, "uploads")) {
      await this.authorize(ctx, r, b, "s3:PutObject", objectArn, this.sseContext(r));
      const sse = this.sseKey(r, b);
      await this.kms(ctx, b, key, sse.kmsKeyArn, "kms:GenerateDataKey");
      const id = randomBytes(32).toString("base64url");
      this.uploads.set(id, { bucket: b.name, key, kmsKeyArn: sse.kmsKeyArn, contentType: r.headers["content-type"] ?? "binary/octet-stream", parts: new Map() });
      return {
        status: 200,
        headers: { "content-type": "application/xml", ...this.sseHeaders(sse, b) },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult xmlns="${S3_NS}"><Bucket>${xmlEscape(b.name)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
      };
    }
    if (m === "POST" && has(r, "uploadId")) {
      const id = q(r, "uploadId")!;
      const up = this.upload(id, b.name, key);
      await this.authorize(ctx, r, b, "s3:PutObject", objectArn);
      await this.kms(ctx, b, key, up.kmsKeyArn, "kms:Decrypt");
      const text = r.payload.toString("utf8");
      const wanted = [...text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((x) => ({
        n: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(x[1]!)?.[1]),
        etag: /<ETag>([\s\S]*?)<\/ETag>/.exec(x[1]!)?.[1]?.replace(/&quot;/g, '"'),
      }));
      if (!wanted.length) throw new AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
      const bodies: Buffer[] = [];
      const digests: Buffer[] = [];
      let prior = 0;
      for (const w of wanted) {
        const p = up.parts.get(w.n);
        if (!p || (w.etag && w.etag.replace(/"/g, "") !== p.etag.replace(/"/g, ""))) throw new AwsError("InvalidPart", "One or more of the specified parts could not be found.");
        if (w.n <= prior) throw new AwsError("InvalidPartOrder", "The list of parts was not in ascending order.");
        prior = w.n;
        bodies.push(readFileSync(p.file));
        digests.push(p.md5);
      }
      const etag = `"${md5(Buffer.concat(digests)).toString("hex")}-${wanted.length}"`;
      const v = this.store(b, key, Buffer.concat(bodies), up.contentType, up.kmsKeyArn, undefined, etag);
      for (const p of up.parts.values()) rmSync(p.file, { force: true });
      this.uploads.delete(id);
      return {
        status: 200,
        headers: { "content-type": "application/xml", ...(b.versioning ? { "x-amz-version-id": v.versionId } : {}), ...this.sseHeaders(v, b) },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult xmlns="${S3_NS}"><Location>https://${b.name}.s3.${this.world.region}.amazonaws.com/${xmlEscape(key)}</Location><Bucket>${xmlEscape(b.name)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>${xmlEscape(etag)}</ETag></CompleteMultipartUploadResult>`,
      };
    }
    if (m === "DELETE" && has(r, "uploadId")) {
      const id = q(r, "uploadId")!;
      const up = this.upload(id, b.name, key);
      await this.authorize(ctx, r, b, "s3:AbortMultipartUpload", objectArn);
      for (const p of up.parts.values()) rmSync(p.file, { force: true });
      this.uploads.delete(id);
      return { status: 204, headers: {} };
    }
    if (m === "DELETE") {
      await this.authorize(ctx, r, b, versionId ? "s3:DeleteObjectVersion" : "s3:DeleteObject", objectArn, vctx);
      return { status: 204, headers: this.deleteObject(b, key, versionId) };
    }
    throw new AwsError("NotImplemented", `${m} on an object with ${Object.keys(r.query).join(",")} is not implemented by the twin`, 501);
  }

  private upload(id: string | undefined, bucket: string, key: string): Upload {
    const up = id ? this.uploads.get(id) : undefined;
    if (!up || up.bucket !== bucket || up.key !== key) {
      throw new AwsError("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", 404);
    }
    return up;
  }

  private deleteObject(b: TwinBucket, key: string, versionId?: string): Record<string, string> {
    const map = this.objects.get(b.name)!;
    const list = map.get(key) ?? [];
    if (versionId) {
      const i = list.findIndex((v) => v.versionId === versionId);
      if (i >= 0) {
        const [v] = list.splice(i, 1);
        if (v!.file) rmSync(v!.file, { force: true });
        return { "x-amz-version-id": versionId, ...(v!.deleteMarker ? { "x-amz-delete-marker": "true" } : {}) };
      }
      return { "x-amz-version-id": versionId };
    }
    if (!b.versioning) {
      for (const v of list) if (v.file) rmSync(v.file, { force: true });
      map.delete(key);
      return {};
    }
    const marker: ObjectVersion = { versionId: newVersionId(), deleteMarker: true, size: 0, etag: "", lastModified: new Date(), contentType: "" };
    list.push(marker);
    map.set(key, list);
    return { "x-amz-delete-marker": "true", "x-amz-version-id": marker.versionId };
  }

  private async bucketOperation(ctx: CallContext, r: S3Request, b: TwinBucket, bucketArn: string): Promise<S3Response> {
    if (r.method === "HEAD") {
      await this.authorize(ctx, r, b, "s3:ListBucket", bucketArn);
      return { status: 200, headers: { "x-amz-bucket-region": this.world.region } };
    }
    if (r.method === "GET" && has(r, "location")) {
      await this.authorize(ctx, r, b, "s3:GetBucketLocation", bucketArn);
      return { status: 200, headers: { "content-type": "application/xml" }, body: `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_NS}">${this.world.region === "us-east-1" ? "" : this.world.region}</LocationConstraint>` };
    }
    if (r.method === "GET" && q(r, "list-type") === "2") {
      const prefix = q(r, "prefix") ?? "";
      const delimiter = q(r, "delimiter");
      const maxKeys = Math.min(Number(q(r, "max-keys") ?? 1000), 1000);
      await this.authorize(ctx, r, b, "s3:ListBucket", bucketArn, {
        "s3:prefix": prefix,
        ...(delimiter !== undefined ? { "s3:delimiter": delimiter } : {}),
        "s3:max-keys": String(maxKeys),
      });
      return { status: 200, headers: { "content-type": "application/xml" }, body: this.listV2(r, b, prefix, delimiter, maxKeys) };
    }
    if (r.method === "POST" && has(r, "delete")) {
      this.checkMd5(r);
      const text = r.payload.toString("utf8");
      const quiet = /<Quiet>true<\/Quiet>/.test(text);
      const out: string[] = [];
      for (const x of text.matchAll(/<Object>([\s\S]*?)<\/Object>/g)) {
        const key = unxml(/<Key>([\s\S]*?)<\/Key>/.exec(x[1]!)?.[1] ?? "");
        const versionId = /<VersionId>([\s\S]*?)<\/VersionId>/.exec(x[1]!)?.[1];
        try {
          await this.authorize(ctx, r, b, versionId ? "s3:DeleteObjectVersion" : "s3:DeleteObject", `${bucketArn}/${key}`, versionId ? { "s3:versionid": versionId } : {});
          this.deleteObject(b, key, versionId);
          if (!quiet) out.push(`<Deleted><Key>${xmlEscape(key)}</Key>${versionId ? `<VersionId>${versionId}</VersionId>` : ""}</Deleted>`);
        } catch (err) {
          const e = err instanceof AwsError ? err : new AwsError("InternalError", String(err), 500);
          out.push(`<Error><Key>${xmlEscape(key)}</Key><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error>`);
        }
      }
      return { status: 200, headers: { "content-type": "application/xml" }, body: `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="${S3_NS}">${out.join("")}</DeleteResult>` };
    }
    throw new AwsError("NotImplemented", `${r.method} on a bucket with ${Object.keys(r.query).join(",") || "no query"} is not implemented by the twin`, 501);
  }

  private listV2(r: S3Request, b: TwinBucket, prefix: string, delimiter: string | undefined, maxKeys: number): string {
    const token = q(r, "continuation-token");
    const after = token ? Buffer.from(token, "base64url").toString("utf8") : (q(r, "start-after") ?? "");
    const keys = [...this.objects.get(b.name)!.entries()]
      .filter(([k, list]) => k.startsWith(prefix) && list.length && !list[list.length - 1]!.deleteMarker)
      .map(([k]) => k)
      .sort();
    const contents: string[] = [];
    const prefixes: string[] = [];
    let last = "";
    let truncated = false;
    for (const k of keys) {
      if (k <= after) continue;
      let entry = k;
      if (delimiter) {
        const i = k.indexOf(delimiter, prefix.length);
        if (i >= 0) entry = k.slice(0, i + delimiter.length);
      }
      if (entry !== k && (prefixes.includes(entry) || entry <= after)) continue;
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (entry !== k) {
        prefixes.push(entry);
        last = entry + "\uffff";
      } else {
        const v = this.version(b.name, k)!;
        contents.push(`<Contents><Key>${xmlEscape(k)}</Key><LastModified>${v.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(v.etag)}</ETag><Size>${v.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`);
        last = k;
      }
    }
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="${S3_NS}"><Name>${xmlEscape(b.name)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
      (delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : "") +
      `<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + prefixes.length}</KeyCount><IsTruncated>${truncated}</IsTruncated>` +
      (token ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : "") +
      (truncated ? `<NextContinuationToken>${Buffer.from(last).toString("base64url")}</NextContinuationToken>` : "") +
      contents.join("") +
      prefixes.map((p) => `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`).join("") +
      `</ListBucketResult>`
    );
  }
}

function unxml(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}
