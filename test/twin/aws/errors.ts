/**
 * AWS error responses of the twin, in each protocol's shape, and the authentication error
 * codes each service answers.
 *
 * - EC2 query protocol: `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`
 *   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
 * - AWS query protocol (Auto Scaling, STS): `<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 * - JSON 1.1 (Secrets Manager, KMS, SSM): body `{"__type": code, "message": ...}`, header `x-amzn-errortype`.
 * - S3 REST-XML: `<Error><Code/><Message/><Resource/><RequestId/></Error>`
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 */
import type { AuthFailureKind } from "./sigv4";

/** Wire protocols of the services the twin serves. */
export type Protocol = "ec2" | "query" | "json" | "s3";

/** An AWS error: code, message, HTTP status. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** Content type and body of `err` in `protocol`'s shape. */
export function errorBody(protocol: Protocol, err: AwsError, requestId: string, resource = ""): { contentType: string; body: string; headers: Record<string, string> } {
  switch (protocol) {
    case "ec2":
      return {
        contentType: "text/xml;charset=UTF-8",
        headers: {},
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
      };
    case "query":
      return {
        contentType: "text/xml",
        headers: {},
        body: `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>${err.status >= 500 ? "Receiver" : "Sender"}</Type><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    case "json":
      return {
        contentType: "application/x-amz-json-1.1",
        headers: { "x-amzn-errortype": err.code, "x-amzn-requestid": requestId },
        body: JSON.stringify({ __type: err.code, message: err.message }),
      };
    case "s3":
      return {
        contentType: "application/xml",
        headers: { "x-amz-request-id": requestId },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message>${resource ? `<Resource>${xmlEscape(resource)}</Resource>` : ""}<RequestId>${requestId}</RequestId></Error>`,
      };
  }
}

/**
 * The error a service answers for an authentication failure. Codes as the services answer
 * them: EC2 `AuthFailure` (bad key or signature) and `RequestExpired`; S3
 * `InvalidAccessKeyId`, `InvalidToken`, `ExpiredToken`, `SignatureDoesNotMatch`,
 * `RequestTimeTooSkewed`, `XAmzContentSHA256Mismatch`; JSON services
 * `UnrecognizedClientException`, `InvalidSignatureException`, `ExpiredTokenException`;
 * query services `InvalidClientTokenId`, `SignatureDoesNotMatch`, `ExpiredToken`.
 */
export function authError(protocol: Protocol, kind: AuthFailureKind, message: string): AwsError {
  const table: Record<Protocol, Record<AuthFailureKind, [string, number]>> = {
    ec2: {
      missing: ["MissingAuthenticationToken", 401],
      malformed: ["AuthFailure", 401],
      "unknown-key": ["AuthFailure", 401],
      "bad-token": ["AuthFailure", 401],
      expired: ["RequestExpired", 400],
      skew: ["RequestExpired", 400],
      signature: ["AuthFailure", 401],
      "content-sha256": ["AuthFailure", 401],
    },
    query: {
      missing: ["MissingAuthenticationToken", 403],
      malformed: ["IncompleteSignature", 403],
      "unknown-key": ["InvalidClientTokenId", 403],
      "bad-token": ["InvalidClientTokenId", 403],
      expired: ["ExpiredToken", 403],
      skew: ["SignatureDoesNotMatch", 403],
      signature: ["SignatureDoesNotMatch", 403],
      "content-sha256": ["SignatureDoesNotMatch", 403],
    },
    json: {
      missing: ["MissingAuthenticationTokenException", 400],
      malformed: ["IncompleteSignatureException", 400],
      "unknown-key": ["UnrecognizedClientException", 400],
      "bad-token": ["UnrecognizedClientException", 400],
      expired: ["ExpiredTokenException", 400],
      skew: ["InvalidSignatureException", 400],
      signature: ["InvalidSignatureException", 400],
      "content-sha256": ["InvalidSignatureException", 400],
    },
    s3: {
      missing: ["AccessDenied", 403],
      malformed: ["AuthorizationHeaderMalformed", 400],
      "unknown-key": ["InvalidAccessKeyId", 403],
      "bad-token": ["InvalidToken", 400],
      expired: ["ExpiredToken", 400],
      skew: ["RequestTimeTooSkewed", 403],
      signature: ["SignatureDoesNotMatch", 403],
      "content-sha256": ["XAmzContentSHA256Mismatch", 400],
    },
  };
  const [code, status] = table[protocol][kind];
  const text =
    protocol === "ec2" && (kind === "unknown-key" || kind === "bad-token" || kind === "signature")
      ? "AWS was not able to validate the provided access credentials"
      : protocol === "json" && (kind === "unknown-key" || kind === "bad-token")
        ? "The security token included in the request is invalid."
        : message;
  return new AwsError(code, text, status);
}

/** Why a request was refused, as AWS words it in an authorization failure message. */
export type DenialReason =
  | { kind: "no-identity-allow" }
  | { kind: "no-resource-allow" }
  | { kind: "explicit-deny"; in: "identity" | "resource" };

/**
 * The sentence AWS puts in an authorization failure:
 * "User: <principal> is not authorized to perform: <action> on resource: <resource> because
 * no identity-based policy allows the <action> action" (or "... with an explicit deny in an
 * identity-based policy" / "... in a resource-based policy", or "because no resource-based
 * policy allows ..." when a KMS key policy does not allow it).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
 */
export function denialSentence(principal: string, action: string, resource: string, reason: DenialReason): string {
  const tail =
    reason.kind === "explicit-deny"
      ? `with an explicit deny in ${reason.in === "identity" ? "an identity-based" : "a resource-based"} policy`
      : `because no ${reason.kind === "no-identity-allow" ? "identity-based" : "resource-based"} policy allows the ${action} action`;
  return `User: ${principal} is not authorized to perform: ${action} on resource: ${resource} ${tail}`;
}

/**
 * The refusal in `protocol`'s shape: EC2 `UnauthorizedOperation` ("You are not authorized to
 * perform this operation. <sentence>. Encoded authorization failure message: <base64>"; the
 * twin's encoded message is base64 JSON of the decision, AWS's is encrypted for
 * sts:DecodeAuthorizationMessage), S3 `AccessDenied` (403), JSON `AccessDeniedException`,
 * query `AccessDenied` (403).
 */
export function accessDenied(protocol: Protocol, sentence: string, decision?: unknown): AwsError {
  switch (protocol) {
    case "ec2":
      return new AwsError(
        "UnauthorizedOperation",
        `You are not authorized to perform this operation. ${sentence}. Encoded authorization failure message: ${Buffer.from(JSON.stringify(decision ?? {})).toString("base64")}`,
        403,
      );
    case "s3":
      return new AwsError("AccessDenied", sentence, 403);
    case "json":
      return new AwsError("AccessDeniedException", sentence, 400);
    case "query":
      return new AwsError("AccessDenied", sentence, 403);
  }
}
