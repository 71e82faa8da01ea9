/**
 * Every workaround for `cdktf synth --hcl` in one place (private: not exported from the
 * package entry points). cdktf 0.21's HCL writer has two defects; the JSON output
 * (`cdktf synth`) has neither and is never touched here.
 *
 * 1. Strings. A string that holds a reference (`${aws_x.y.z}`) is written as a quoted HCL
 *    string without escaping its quotes, backslashes or newlines, so a JSON policy, a
 *    dashboard body or a script with a reference in it becomes invalid HCL. In HCL mode
 *    only, such strings are rewritten as one line of `${base64decode("…")}` segments around
 *    the references ({@link hclSafeTemplate}, {@link HclSafeStrings}): Terraform evaluates
 *    them to exactly the same text.
 * 2. Lifecycle conditions. A resource's preconditions are written as an attribute list,
 *
 *        lifecycle {
 *          precondition = [
 *        {
 *        condition = "${…}"
 *        error_message = "…"
 *        },
 *        ]
 *        }
 *
 *    which Terraform rejects ("An argument named "precondition" is not expected here. Did
 *    you mean to define a block of type "precondition"?"). Upstream:
 *    open-constructs/cdk-terrain#313 (cdktf itself is archived).
 *    {@link fixHclConditionBlocks} rewrites each such list into repeated
 *    `precondition { … }` / `postcondition { … }` blocks; {@link repairHclConditions}
 *    applies it to a stack's HCL.
 */
import { TerraformDataSource, TerraformResource, TerraformStack, type IAspect } from "cdktf";
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

// ---- 2. Lifecycle conditions (pure text rewrite; strings and template interpolations,
// which may hold quotes and brackets, are skipped correctly).

/** Index just past the string literal opening at `i` (`s[i] === '"'`), interpolations included. */
function skipString(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s[j];
    if (c === "\\") j += 2;
    else if (c === '"') return j + 1;
    else if ((c === "$" || c === "%") && s[j + 1] === "{") j = skipExpression(s, j + 2, "}");
    else j++;
  }
  throw new Error(`unterminated string starting at offset ${i}`);
}

/** Index just past the `close` that ends the expression starting at `j`. */
function skipExpression(s: string, j: number, close: string): number {
  const stack: string[] = [close];
  while (j < s.length) {
    const c = s[j];
    if (c === '"') {
      j = skipString(s, j);
      continue;
    }
    if (c === "(") stack.push(")");
    else if (c === "[") stack.push("]");
    else if (c === "{") stack.push("}");
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return j + 1;
    }
    j++;
  }
  throw new Error(`unterminated expression (expected "${close}")`);
}

const LIST = /^([ \t]*)(precondition|postcondition) = \[[ \t]*$/gm;

/**
 * Rewrites every `precondition = [ {…}, … ]` and `postcondition = [ {…}, … ]` attribute
 * list into blocks. Text without such lists is returned unchanged.
 * @throws Error if a list is not a list of objects (the input is then not cdktf's output)
 */
export function fixHclConditionBlocks(hcl: string): string {
  let out = "";
  let from = 0;
  LIST.lastIndex = 0;
  for (let m = LIST.exec(hcl); m; m = LIST.exec(hcl)) {
    const [whole, indent, kind] = m;
    const open = m.index + whole.lastIndexOf("[");
    const end = skipExpression(hcl, open + 1, "]");
    const bodies: string[] = [];
    let j = open + 1;
    while (j < end - 1) {
      const c = hcl[j];
      if (/[\s,]/.test(c)) {
        j++;
        continue;
      }
      if (c !== "{") throw new Error(`${kind} list: expected an object at offset ${j}, found ${JSON.stringify(hcl.slice(j, j + 20))}`);
      const close = skipExpression(hcl, j + 1, "}");
      bodies.push(hcl.slice(j + 1, close - 1).trim());
      j = close;
    }
    out += hcl.slice(from, m.index);
    out += bodies.map((b) => `${indent}${kind} {\n${b}\n${indent}}`).join("\n");
    from = end;
    LIST.lastIndex = end;
  }
  return out + hcl.slice(from);
}

const HCL_REPAIRED = Symbol.for("cdktf-managed-postgres.hclConditionsRepaired");

/**
 * Makes `cdktf synth --hcl` of `stack` write valid `lifecycle` conditions: wraps the stack's
 * `toHclTerraform()` so its text goes through {@link fixHclConditionBlocks}. Applies to every
 * resource of the stack, not only this library's. Idempotent; JSON output is untouched.
 */
export function repairHclConditions(stack: TerraformStack): void {
  const s = stack as TerraformStack & { [HCL_REPAIRED]?: boolean };
  if (s[HCL_REPAIRED]) return;
  s[HCL_REPAIRED] = true;
  const original = stack.toHclTerraform.bind(stack);
  stack.toHclTerraform = () => {
    const rendered = original();
    return { ...rendered, hcl: fixHclConditionBlocks(rendered.hcl) };
  };
}
