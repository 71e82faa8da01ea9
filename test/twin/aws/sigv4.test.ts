import { createHash } from "crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { decodeAwsChunked, parseAuthorization, parseQuery, verifySigV4, type IssuedCredentials, type ReceivedRequest } from "./sigv4";

const NOW = new Date("2026-12-02T10:00:00Z");
const CREDS: IssuedCredentials = {
  accessKeyId: "ASIAEXAMPLEEXAMPLE12",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  sessionToken: "session-token-of-the-instance",
  expiresAt: NOW.getTime() + 3600_000,
};
const lookup = (id: string) => (id === CREDS.accessKeyId ? CREDS : undefined);

/** Signs like an AWS SDK and returns the request as the twin's server would receive it. */
async function signed(
  over: { service?: string; method?: string; path?: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string; date?: Date; creds?: IssuedCredentials } = {},
): Promise<ReceivedRequest> {
  const service = over.service ?? "secretsmanager";
  const host = `${service}.eu-west-1.amazonaws.com`;
  const c = over.creds ?? CREDS;
  const signer = new SignatureV4({ service, region: "eu-west-1", sha256: Sha256, uriEscapePath: service !== "s3", applyChecksum: service === "s3", credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken } });
  const body = over.body ?? "";
  const req = await signer.sign(
    { method: over.method ?? "POST", protocol: "https:", hostname: host, path: over.path ?? "/", query: over.query ?? {}, headers: { host, ...over.headers }, body } as never,
    { signingDate: over.date ?? NOW },
  );
  const r = req as unknown as { headers: Record<string, string>; query: Record<string, string>; path: string; method: string };
  const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const rawQuery = Object.entries(r.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  return { method: r.method, rawPath: r.path, rawQuery, headers, body: Buffer.from(body) };
}

describe("SigV4 checking", () => {
  test("a request signed with the issued credentials verifies", async () => {
    const r = await verifySigV4(await signed({ body: '{"SecretId":"x"}' }), lookup, NOW);
    expect(r).toMatchObject({ ok: true, service: "secretsmanager", region: "eu-west-1" });
  });

  test("a changed body, header value or secret key is a signature mismatch", async () => {
    const req = await signed({ body: '{"SecretId":"x"}' });
    expect(await verifySigV4({ ...req, body: Buffer.from('{"SecretId":"y"}') }, lookup, NOW)).toMatchObject({ ok: false, kind: "signature" });
    expect(await verifySigV4({ ...req, headers: { ...req.headers, host: "kms.eu-west-1.amazonaws.com" } }, lookup, NOW)).toMatchObject({ ok: false, kind: "signature" });
    const forged = await signed({ creds: { ...CREDS, secretAccessKey: "not-the-secret" } });
    expect(await verifySigV4(forged, lookup, NOW)).toMatchObject({ ok: false, kind: "signature" });
  });

  test("an unknown access key, a missing or wrong session token, and expired credentials are told apart", async () => {
    expect(await verifySigV4(await signed({ creds: { ...CREDS, accessKeyId: "ASIANOTISSUED0000000" } }), lookup, NOW)).toMatchObject({ ok: false, kind: "unknown-key" });
    const req = await signed();
    const { "x-amz-security-token": _t, ...noToken } = req.headers;
    expect(await verifySigV4({ ...req, headers: noToken }, lookup, NOW)).toMatchObject({ ok: false, kind: "bad-token" });
    expect(await verifySigV4(req, (id) => ({ ...lookup(id)!, expiresAt: NOW.getTime() - 1 }), NOW)).toMatchObject({ ok: false, kind: "expired" });
  });

  test("a request dated more than 15 minutes from the twin's clock is refused", async () => {
    const req = await signed({ date: new Date(NOW.getTime() - 16 * 60_000) });
    expect(await verifySigV4(req, lookup, NOW)).toMatchObject({ ok: false, kind: "skew" });
  });

  test("no Authorization header is 'missing'; a non-SigV4 one is 'malformed'", async () => {
    const req = await signed();
    const { authorization: _a, ...rest } = req.headers;
    expect(await verifySigV4({ ...req, headers: rest }, lookup, NOW)).toMatchObject({ ok: false, kind: "missing" });
    expect(await verifySigV4({ ...req, headers: { ...rest, authorization: "AWS AKID:sig" } }, lookup, NOW)).toMatchObject({ ok: false, kind: "malformed" });
  });

  test("S3: the path is not double-encoded, x-amz-content-sha256 is required and a hex hash must match the payload", async () => {
    const body = "object bytes";
    const sha = createHash("sha256").update(body).digest("hex");
    const req = await signed({ service: "s3", method: "PUT", path: "/bucket/a%20key/x", headers: { "x-amz-content-sha256": sha }, body });
    expect(await verifySigV4(req, lookup, NOW)).toMatchObject({ ok: true, service: "s3" });
    expect(await verifySigV4({ ...req, body: Buffer.from("other bytes!") }, lookup, NOW)).toMatchObject({ ok: false, kind: "content-sha256" });
    const unsigned = await signed({ service: "s3", method: "GET", path: "/bucket/k", query: { versionId: "v1" }, headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } });
    expect(await verifySigV4(unsigned, lookup, NOW)).toMatchObject({ ok: true });
    const { "x-amz-content-sha256": _s, ...noSha } = unsigned.headers;
    expect(await verifySigV4({ ...unsigned, headers: noSha }, lookup, NOW)).toMatchObject({ ok: false, kind: "malformed" });
  });

  test("S3 presigned URLs (query-string authentication, UNSIGNED-PAYLOAD) verify, and not once expired", async () => {
    // a non-buffer body makes smithy sign UNSIGNED-PAYLOAD, as the SDKs' S3 presigners do
    const signer = new SignatureV4({ service: "s3", region: "eu-west-1", sha256: Sha256, uriEscapePath: false, credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey: CREDS.secretAccessKey, sessionToken: CREDS.sessionToken } });
    const host = "bucket.s3.eu-west-1.amazonaws.com";
    const p = (await signer.presign({ method: "GET", protocol: "https:", hostname: host, path: "/k", query: {}, headers: { host }, body: {} } as never, { signingDate: NOW, expiresIn: 300 })) as unknown as { query: Record<string, string> };
    const rawQuery = Object.entries(p.query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
    const req: ReceivedRequest = { method: "GET", rawPath: "/k", rawQuery, headers: { host }, body: Buffer.alloc(0) };
    expect(await verifySigV4(req, lookup, NOW)).toMatchObject({ ok: true, presigned: true });
    expect(await verifySigV4(req, lookup, new Date(NOW.getTime() + 301_000))).toMatchObject({ ok: false, kind: "skew" });
  });

  test("aws-chunked bodies (STREAMING-UNSIGNED-PAYLOAD-TRAILER, as the AWS CLI v2 uploads) decode to the object bytes", () => {
    const body = Buffer.from("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
    expect(decodeAwsChunked(body).toString()).toBe("hello world");
    const signedChunks = Buffer.from("3;chunk-signature=abc\r\nabc\r\n0;chunk-signature=def\r\n\r\n");
    expect(decodeAwsChunked(signedChunks).toString()).toBe("abc");
    expect(() => decodeAwsChunked(Buffer.from("5\r\nhel"))).toThrow(/truncated/);
  });

  test("parsing: the Authorization header's scope and the query as SigV4 canonicalizes it", () => {
    expect(parseAuthorization("AWS4-HMAC-SHA256 Credential=AKID/20261202/eu-west-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab12")).toEqual({
      accessKeyId: "AKID",
      date: "20261202",
      region: "eu-west-1",
      service: "ec2",
      signedHeaders: ["host", "x-amz-date"],
      signature: "ab12",
    });
    expect(parseQuery("uploads&a=1&a=2&k=a%20b+c")).toEqual({ uploads: "", a: ["1", "2"], k: "a b+c" });
  });
});
