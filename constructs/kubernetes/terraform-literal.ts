/**
 * Text for a Terraform string, kept literal: Terraform reads `${…}` and `%{…}` in every string
 * (JSON syntax included) as template sequences, so a shell script's `${VAR:-}` must be written
 * `$${VAR:-}` (and `%{` as `%%{`). cdktf token markers (`${TfToken[…]}`, e.g. the bucket name)
 * are left alone: they become the references.
 */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** {@link terraformLiteral} on every value of a ConfigMap's data. */
export function terraformLiterals(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, terraformLiteral(v)]));
}
