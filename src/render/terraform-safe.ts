/**
 * Terraform safety of rendered node files (scripts, units, configuration). Pure.
 *
 * Terraform safety: user data travels through Terraform (`Fn.base64gzip(userData)` in the
 * constructs). Terraform reads `${…}` as an interpolation and `%{…}` as a template
 * directive in every string, and cdktf escapes neither reliably inside built-in functions
 * (verified on this machine with cdktf 0.21: `${HOME}` became `$${HOME}` but `%{x}` stayed
 * as is). The scripts rendered here therefore never contain `${` or `%{` except in cdktf
 * token markers (`${TfToken[TOKEN.n]}`), which Terraform must resolve: bash variables are
 * written `$NAME`, never `${NAME}`.
 */
/** A cdktf string token marker, e.g. `${TfToken[TOKEN.12]}`. */
const TOKEN_MARKER = /\$\{TfToken\[[A-Za-z0-9_.]+\]\}/g;

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
