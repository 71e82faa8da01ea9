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
 * string. Escaped openers (`$${`, `%%{`: Terraform reads them as the literal `${`, `%{`) are
 * not sequences: user values reach the renderers already escaped (the constructs'
 * `terraformLiteralValues`). Scanned left to right as Terraform does, so `$$${` is a literal
 * `$` and an escaped `${`.
 */
export function terraformTemplateSequences(text: string): string[] {
  const stripped = text.replace(TOKEN_MARKER, "");
  const found: string[] = [];
  const re = /\$\$\{|%%\{|[$%]\{/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(stripped)) !== null) {
    if (m[0].length === 3) continue;
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
 * `text` with Terraform's template openers escaped: `${` → `$${`, `%{` → `%%{`, except in
 * cdktf token markers. Terraform evaluates the result to `text` (checked with
 * `terraform console` in test/synth/terraform-literals.system.test.ts). The constructs apply it to
 * every user string where props enter the construct tree (constructs/private/terraform-literal.ts).
 */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** {@link terraformLiteral} on every value of a string map (a ConfigMap's data). */
export function terraformLiterals(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, terraformLiteral(v)]));
}
