/**
 * Repairs cdktf 0.21's HCL rendering of `lifecycle` conditions. `cdktf synth --hcl` writes
 * a resource's preconditions as an attribute list,
 *
 *     lifecycle {
 *       precondition = [
 *     {
 *     condition = "${…}"
 *     error_message = "…"
 *     },
 *     ]
 *     }
 *
 * which Terraform rejects ("An argument named "precondition" is not expected here. Did
 * you mean to define a block of type "precondition"?"); the JSON output is right. Upstream:
 * open-constructs/cdk-terrain#313 (cdktf itself is archived). This rewrites each such list
 * into repeated `precondition { … }` / `postcondition { … }` blocks. Pure; strings and
 * template interpolations (which may hold quotes and brackets) are skipped correctly.
 */

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
