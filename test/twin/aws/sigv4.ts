/**
 * AWS Signature Version 4 checking for the twin: the expected signature is computed with
 * @smithy/signature-v4 (the AWS SDK for JavaScript's signer) from the request as received,
 * with the same signed headers, date, region and service, and compared with the one sent.
 *
 * Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 * (canonical request, string to sign), https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * (S3: `x-amz-content-sha256` required, `UNSIGNED-PAYLOAD`, streaming), and
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (presigned URLs).
 */
import { createHash } from "crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

/** Credentials the twin issued, looked up by access key id. */
export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Session token (instance role credentials always have one). */
  readonly sessionToken?: string;
  /** Expiry, epoch milliseconds. */
  readonly expiresAt: number;
}

/** A request as the server received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path exactly as sent (still percent-encoded), without the query. */
  readonly rawPath: string;
  /** Query string as sent, without `?` ("" when none). */
  readonly rawQuery: string;
  /** Headers, names lower-case (Node's `IncomingMessage.headers` joined to strings). */
  readonly headers: Readonly<Record<string, string>>;
  /** Body as received (before any aws-chunked decoding). */
  readonly body: Buffer;
}

/** Why a request failed authentication (mapped to each protocol's error code by errors.ts). */
export type AuthFailureKind =
  | "missing" // no Authorization header and no presigned query
  | "malformed" // unparsable Authorization / credential scope
  | "unknown-key" // access key id the twin never issued
  | "bad-token" // session token absent or not the one issued with the key
  | "expired" // credentials past their expiration
  | "skew" // request date more than 15 minutes from the twin's clock (or presigned URL expired)
  | "signature" // signature differs from the expected one
  | "content-sha256"; // x-amz-content-sha256 differs from the payload's SHA-256

/** The outcome of {@link verifySigV4}. */
export type SigV4Result =
  | { ok: true; credentials: IssuedCredentials; service: string; region: string; signedHeaders: string[]; payload: Buffer; presigned: boolean }
  | { ok: false; kind: AuthFailureKind; message: string; accessKeyId?: string };

/** Parsed `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`. */
export interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: string[];
  readonly signature: string;
}

/** Parses a SigV4 Authorization header; undefined when it is not one. */
export function parseAuthorization(value: string | undefined): ParsedAuthorization | undefined {
  if (!value) return undefined;
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(value.trim());
  if (!m) return undefined;
  const parts: Record<string, string> = {};
  for (const p of m[1]!.split(",")) {
    const i = p.indexOf("=");
    if (i > 0) parts[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  return parseScope(parts.Credential, parts.SignedHeaders, parts.Signature);
}

function parseScope(credential?: string, signedHeaders?: string, signature?: string): ParsedAuthorization | undefined {
  if (!credential || !signedHeaders || !signature) return undefined;
  const c = credential.split("/");
  if (c.length !== 5 || c[4] !== "aws4_request") return undefined;
  return { accessKeyId: c[0]!, date: c[1]!, region: c[2]!, service: c[3]!, signedHeaders: signedHeaders.split(";"), signature };
}

/**
 * Query parameters as SigV4 canonicalizes them: decoded names and values (`+` stays `+`,
 * as AWS's own clients encode a space as `%20`), repeated names as arrays.
 */
export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!rawQuery) return out;
  for (const pair of rawQuery.split("&")) {
    if (!pair) continue;
    const i = pair.indexOf("=");
    const k = decode(i < 0 ? pair : pair.slice(0, i));
    const v = i < 0 ? "" : decode(pair.slice(i + 1));
    const prior = out[k];
    out[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `20261202T092500Z` → Date. */
export function parseAmzDate(s: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? "");
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/** Maximum clock difference AWS accepts for a signed request, in milliseconds (15 minutes). */
export const MAX_SKEW_MS = 15 * 60_000;

/** The payload-hash values of `x-amz-content-sha256` that are not a SHA-256 (S3). */
export const STREAMING_PAYLOADS = [
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
  "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
] as const;

/**
 * Decodes an `aws-chunked` body (`<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0...\r\n[trailers]\r\n`):
 * the object's bytes. Chunk signatures of STREAMING-AWS4-HMAC-SHA256-PAYLOAD are not checked
 * (the seed signature, over the headers, is); trailing checksums are not verified.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * @throws Error when the framing is broken
 */
export function decodeAwsChunked(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  for (let n = 0; n < 1_000_000; n++) {
    const eol = body.indexOf("\r\n", pos);
    if (eol < 0) throw new Error("aws-chunked: missing chunk header");
    const header = body.subarray(pos, eol).toString("latin1");
    const size = parseInt(header.split(";")[0]!, 16);
    if (!Number.isFinite(size) || size < 0) throw new Error(`aws-chunked: bad chunk size '${header}'`);
    pos = eol + 2;
    if (size === 0) return Buffer.concat(out);
    if (pos + size > body.length) throw new Error("aws-chunked: truncated chunk");
    out.push(body.subarray(pos, pos + size));
    pos += size;
    if (body.subarray(pos, pos + 2).toString("latin1") !== "\r\n") throw new Error("aws-chunked: chunk not followed by CRLF");
    pos += 2;
  }
  throw new Error("aws-chunked: too many chunks");
}

/**
 * Checks the SigV4 signature of `req` (header or presigned query) against the credentials
 * `lookup` returns, at time `now`. S3 (`service` "s3") uses its own path canonicalization
 * (no double encoding) and requires `x-amz-content-sha256` (a hex SHA-256 is checked against
 * the payload). On success, `payload` is the request's content (aws-chunked decoded).
 */
export async function verifySigV4(
  req: ReceivedRequest,
  lookup: (accessKeyId: string) => IssuedCredentials | undefined,
  now: Date = new Date(),
): Promise<SigV4Result> {
  const query = parseQuery(req.rawQuery);
  const presigned = query["X-Amz-Algorithm"] !== undefined;
  const auth = presigned
    ? query["X-Amz-Algorithm"] === "AWS4-HMAC-SHA256"
      ? parseScope(str(query["X-Amz-Credential"]), str(query["X-Amz-SignedHeaders"]), str(query["X-Amz-Signature"]))
      : undefined
    : parseAuthorization(req.headers.authorization);
  if (!auth) {
    if (!presigned && !req.headers.authorization) return { ok: false, kind: "missing", message: "Request is missing Authentication Token" };
    return { ok: false, kind: "malformed", message: "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' of AWS4-HMAC-SHA256." };
  }
  const creds = lookup(auth.accessKeyId);
  if (!creds) return { ok: false, kind: "unknown-key", message: "The AWS Access Key Id you provided does not exist in our records.", accessKeyId: auth.accessKeyId };
  const token = presigned ? str(query["X-Amz-Security-Token"]) : req.headers["x-amz-security-token"];
  if (creds.sessionToken !== undefined && token !== creds.sessionToken) {
    return { ok: false, kind: "bad-token", message: "The security token included in the request is invalid.", accessKeyId: auth.accessKeyId };
  }
  if (creds.expiresAt <= now.getTime()) {
    return { ok: false, kind: "expired", message: "The security token included in the request is expired", accessKeyId: auth.accessKeyId };
  }
  const date = parseAmzDate(presigned ? str(query["X-Amz-Date"]) : req.headers["x-amz-date"]);
  if (!date || date.toISOString().slice(0, 10).replace(/-/g, "") !== auth.date) {
    return { ok: false, kind: "malformed", message: "X-Amz-Date is missing or does not match the credential scope date" };
  }
  if (presigned) {
    const expires = Number(str(query["X-Amz-Expires"]));
    if (!Number.isInteger(expires) || date.getTime() + expires * 1000 < now.getTime()) {
      return { ok: false, kind: "skew", message: "Request has expired" };
    }
  } else if (Math.abs(date.getTime() - now.getTime()) > MAX_SKEW_MS) {
    return { ok: false, kind: "skew", message: "The difference between the request time and the current time is too large." };
  }
  const s3 = auth.service === "s3";
  const sha = req.headers["x-amz-content-sha256"];
  let payload = req.body;
  if (s3 && !presigned && sha === undefined) {
    return { ok: false, kind: "malformed", message: "Missing required header for this request: x-amz-content-sha256" };
  }
  if (sha !== undefined && (STREAMING_PAYLOADS as readonly string[]).includes(sha)) {
    try {
      payload = decodeAwsChunked(req.body);
    } catch (err) {
      return { ok: false, kind: "malformed", message: String((err as Error).message) };
    }
  } else if (sha !== undefined && sha !== "UNSIGNED-PAYLOAD") {
    const actual = createHash("sha256").update(req.body).digest("hex");
    if (actual !== sha) {
      return { ok: false, kind: "content-sha256", message: "The provided 'x-amz-content-sha256' header does not match what was computed." };
    }
  }

  const signable = new Set(auth.signedHeaders);
  const headers: Record<string, string> = {};
  for (const h of auth.signedHeaders) {
    if (req.headers[h] === undefined) {
      return { ok: false, kind: "signature", message: `The request signature we calculated does not match the signature you provided: signed header '${h}' is absent` };
    }
    headers[h] = req.headers[h]!;
  }
  const signer = new SignatureV4({
    service: auth.service,
    region: auth.region,
    sha256: Sha256,
    uriEscapePath: !s3,
    applyChecksum: false,
    credentials: {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      // smithy adds (and signs) x-amz-security-token whenever a token is given: only when the client signed it
      ...(signable.has("x-amz-security-token") || (presigned && token !== undefined) ? { sessionToken: creds.sessionToken } : {}),
    },
  });
  let expected: string | undefined;
  if (presigned) {
    const q: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(query)) if (!/^X-Amz-(Algorithm|Credential|Date|Expires|SignedHeaders|Signature|Security-Token)$/.test(k)) q[k] = v;
    const signed = await signer.presign(
      // a non-buffer body makes smithy use UNSIGNED-PAYLOAD, what S3 presigned URLs sign
      { method: req.method, protocol: "https:", hostname: headers.host ?? "", path: req.rawPath, query: q, headers, body: s3 ? {} : req.body } as never,
      { signingDate: date, expiresIn: Number(str(query["X-Amz-Expires"])), unhoistableHeaders: new Set(Object.keys(headers)), signableHeaders: signable },
    );
    expected = str((signed as { query: Record<string, string> }).query["X-Amz-Signature"]);
  } else {
    const signed = await signer.sign(
      { method: req.method, protocol: "https:", hostname: headers.host ?? "", path: req.rawPath, query, headers, body: req.body } as never,
      { signingDate: date, signableHeaders: signable },
    );
    const a = parseAuthorization((signed as { headers: Record<string, string> }).headers.authorization);
    if (a && a.signedHeaders.join(";") !== auth.signedHeaders.join(";")) {
      return { ok: false, kind: "signature", message: "The request signature we calculated does not match the signature you provided." };
    }
    expected = a?.signature;
  }
  if (expected !== auth.signature) {
    return { ok: false, kind: "signature", message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.", accessKeyId: auth.accessKeyId };
  }
  return { ok: true, credentials: creds, service: auth.service, region: auth.region, signedHeaders: auth.signedHeaders, payload, presigned };
}

function str(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
