/**
 * User strings as Terraform literals (private: not exported from the package entry points).
 *
 * Terraform reads `${…}` as an interpolation and `%{…}` as a template directive in every
 * string of `cdk.tf.json` (JSON syntax included), and cdktf 0.21 escapes neither in resource
 * attributes, locals or outputs: a tag value `${file("/etc/passwd")}` would be evaluated, and
 * `cost ${center` breaks the plan. Every string a user gives (spec fields, construct props)
 * therefore enters the construct tree through {@link terraformLiteralValues}, once, where the
 * constructs validate their props; nothing downstream escapes again.
 *
 * cdktf token markers (`${TfToken[TOKEN.n]}`, a variable or another resource's attribute)
 * are left alone: Terraform must resolve them. Token objects (IResolvable) and numbers are
 * returned as they are.
 */
import { terraformLiteral } from "../../src/render/terraform-safe";

export { terraformLiteral, terraformLiterals } from "../../src/render/terraform-safe";

/**
 * A copy of `value` with {@link terraformLiteral} applied to every string (map keys too) inside
 * plain objects and arrays. Anything else — numbers, booleans, `Date`s, token objects
 * (IResolvable, e.g. a `TerraformVariable`'s map value) — is kept by reference.
 * @param skip top-level keys kept as they are (e.g. local file paths that never reach Terraform)
 */
export function terraformLiteralValues<T>(value: T, skip: readonly string[] = []): T {
  const walk = (v: unknown, top: boolean): unknown => {
    if (typeof v === "string") return terraformLiteral(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, false));
    if (v === null || typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return v;
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => (top && skip.includes(k) ? [k, x] : [terraformLiteral(k), walk(x, false)])),
    );
  };
  return walk(value, true) as T;
}
