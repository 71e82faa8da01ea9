/**
 * Shell-text helpers shared by the bootstrap script and the job scripts of the systemd
 * units. Pure.
 *
 * Terraform safety: user data travels through Terraform (`Fn.base64gzip(userData)` in the
 * constructs). Terraform reads `${…}` as an interpolation and `%{…}` as a template
 * directive in every string, and cdktf escapes neither reliably inside built-in functions
 * (verified on this machine with cdktf 0.21: `${HOME}` became `$${HOME}` but `%{x}` stayed
 * as is). The scripts rendered here therefore never contain `${` or `%{` except in cdktf
 * token markers (`${TfToken[TOKEN.n]}`), which Terraform must resolve: bash variables are
 * written `$NAME`, never `${NAME}`.
 */
import { createHash } from "node:crypto";

/** A cdktf string token marker, e.g. `${TfToken[TOKEN.12]}`. */
const TOKEN_MARKER = /\$\{TfToken\[[A-Za-z0-9_.]+\]\}/g;

/** Quotes a value for bash as one word (single quotes); tokens survive verbatim inside. */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** True when `text` contains a cdktf token marker. */
export function containsToken(text: string): boolean {
  return new RegExp(TOKEN_MARKER.source).test(text);
}

/**
 * Sequences Terraform would interpret in `text` (`${` or `%{` outside cdktf token markers),
 * each with 20 characters of context; empty when the text is safe to embed in a Terraform
 * string.
 */
export function terraformTemplateSequences(text: string): string[] {
  const stripped = text.replace(TOKEN_MARKER, "");
  const found: string[] = [];
  const re = /[$%]\{/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(stripped)) !== null) {
    found.push(stripped.slice(Math.max(0, m.index - 20), m.index + 20));
  }
  return found;
}

/**
 * Throws when rendered shell text contains `${` or `%{` outside token markers (see the
 * module comment). A guard against regressions in this package's own templates.
 * @throws Error naming `what` and the offending context
 */
export function assertTerraformSafe(text: string, what: string): string {
  const bad = terraformTemplateSequences(text);
  if (bad.length > 0) {
    throw new Error(`${what} contains Terraform template sequences ("\${" or "%{"): ${bad.map((b) => JSON.stringify(b)).join(", ")}`);
  }
  return text;
}

/**
 * The Secrets Manager `ClientRequestToken` every node of a cluster uses when it offers the
 * cluster secret: a UUID-formatted SHA-256 of the cluster name (36 characters; the API
 * takes 32 to 64). Equal on every node, so exactly one `PutSecretValue` creates a version
 * and the others fail or are no-ops; different between clusters.
 */
export function secretClientRequestToken(clusterName: string): string {
  const h = createHash("sha256").update(`managed-postgres/cluster-secret/v1/${clusterName}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The AWS CLI prefix with `--region` and, when set, `--endpoint-url` (shell words). */
export function awsCliPrefix(region: string, endpointUrl: string | undefined): string {
  return ["aws", "--region", shq(region), ...(endpointUrl ? ["--endpoint-url", shq(endpointUrl)] : [])].join(" ");
}
