/**
 * Keeps `cdktf synth --hcl` output parseable. cdktf 0.21 writes a string that holds a
 * reference (`${aws_x.y.z}`) as a quoted HCL string without escaping its quotes, backslashes
 * or newlines, so a JSON policy, a dashboard body or a script with a reference in it becomes
 * invalid HCL. In HCL mode only, such strings are rewritten as one line of
 * `${base64decode("…")}` segments around the references: Terraform evaluates them to exactly
 * the same text. The JSON output (`cdktf synth`) is left as it is.
 */
import { TerraformDataSource, TerraformResource, type IAspect } from "cdktf";
import type { IConstruct } from "constructs";

const TOKEN_MARKER = /\$\{TfToken\[[^\]]+\]\}/;

/** Whether cdktf is writing HCL (`cdktf synth --hcl` sets `SYNTH_HCL_OUTPUT=true`, which cdktf itself reads). */
export function isHclSynth(): boolean {
  return process.env.SYNTH_HCL_OUTPUT === "true";
}

/**
 * The same text as one HCL-safe template: each literal part becomes
 * `${base64decode("<base64>")}` (Terraform's `$${` and `%%{` escapes undone first, since
 * decoded text is not a template), token markers stay where they are.
 * @param text a string that may hold cdktf token markers (`${TfToken[TOKEN.n]}`)
 */
export function hclSafeTemplate(text: string): string {
  return text
    .split(/(\$\{TfToken\[[^\]]+\]\})/)
    .filter((part) => part !== "")
    .map((part) =>
      TOKEN_MARKER.test(part)
        ? part
        : `\${base64decode("${Buffer.from(part.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{"), "utf8").toString("base64")}")}`,
    )
    .join("");
}

/** Whether cdktf's HCL writer would break this string: a reference plus a quote, backslash or newline. */
export function needsHclSafeTemplate(value: unknown): value is string {
  return typeof value === "string" && TOKEN_MARKER.test(value) && /["\\\n\r]/.test(value);
}

/**
 * The string leaves of `value` that {@link needsHclSafeTemplate}, rewritten, as a sparse copy
 * (objects only: lists are left alone, since cdktf merges list overrides by appending).
 * @returns undefined when nothing needs rewriting
 */
function rewrittenLeaves(value: unknown): unknown {
  if (needsHclSafeTemplate(value)) return hclSafeTemplate(value);
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = rewrittenLeaves(v);
    if (r !== undefined) out[k] = r;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Aspect: in HCL mode, rewrites the string attributes (top level, and inside maps and
 * single blocks) of every resource and data source below the construct it is added to with
 * {@link hclSafeTemplate}, as overrides. Does nothing when synthesizing JSON.
 */
export class HclSafeStrings implements IAspect {
  /** Visits one construct. */
  public visit(node: IConstruct): void {
    if (!isHclSynth()) return;
    if (!(node instanceof TerraformResource) && !(node instanceof TerraformDataSource)) return;
    const attributes = (node as unknown as { synthesizeAttributes(): Record<string, unknown> }).synthesizeAttributes();
    for (const [key, value] of Object.entries(attributes)) {
      const rewritten = rewrittenLeaves(value);
      if (rewritten !== undefined) node.addOverride(key, rewritten);
    }
  }
}
