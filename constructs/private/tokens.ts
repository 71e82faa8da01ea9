/**
 * Token resolution through cdktf's public API only (private: not exported from the package
 * entry points).
 */
import { DefaultTokenResolver, StringConcat, Token, Tokenization, type IResolvable, type IResolveContext } from "cdktf";
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

const STRING_TOKEN = /\$\{TfToken\[[^\]]+\]\}/g;

/**
 * A large text holding a few cdktf string tokens (rendered user data), as one resolvable
 * whose value is the text with each token resolved on its own and spliced in.
 *
 * Why: cdktf resolves a string with tokens by tokenizing it, and for every token and every
 * `}` it rescans the rest of the string for `${` (its escape handling): for a 60 KB
 * cloud-init text with ~40 tokens and ~120 braces that is some 10 MB of regex scanning, at
 * each of the three resolutions of a synth. Here the tokens are found in one pass and the
 * spliced result holds no token, so cdktf only checks it once for markers.
 *
 * The synthesized value is the same: a text without a literal `${` (the user data never has
 * one: a file holding `${` is shipped base64-encoded) resolves each token in the same
 * context as the whole text would. A text with a literal `${` is returned unchanged, for
 * cdktf to resolve as before. Tokens are resolved at each resolution (preparing runs
 * included, so cross-stack references are registered as before).
 */
export class SplicedText implements IResolvable {
  /** Not recorded: the text is rendered by the library, not written by the user. */
  public readonly creationStack: string[] = [];

  constructor(private readonly text: string) {}

  public resolve(context: IResolveContext): string {
    if (/\$\{(?!TfToken\[)/.test(this.text)) return this.text;
    return this.text.replace(STRING_TOKEN, (marker) => {
      const value: unknown = context.resolve(marker);
      return value === undefined ? "" : `${value}`;
    });
  }

  public toString(): string {
    return Token.asString(this);
  }
}
