/**
 * Token resolution through cdktf's public API only (private: not exported from the package
 * entry points).
 */
import { DefaultTokenResolver, StringConcat, Tokenization } from "cdktf";
import type { IConstruct } from "constructs";

const RESOLVER = new DefaultTokenResolver(new StringConcat());

/**
 * `value` with its tokens resolved as they appear in the synthesized Terraform: a reference
 * token becomes `${aws_x.y.attr}`, a variable `${var.x}`; literals are returned as they are.
 * @param scope any construct of the stack the tokens belong to
 */
export function resolveTokens<T>(scope: IConstruct, value: T): T {
  return Tokenization.resolve(value, { scope, resolver: RESOLVER, preparing: false });
}
