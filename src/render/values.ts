/**
 * Guards for values the renderers interpolate into command lines and INI files. Pure.
 *
 * Spec and prop values are validated before rendering (synth time for literals, plan-time
 * preconditions for tokens: constructs/aws/deferred-checks.ts); these guards make the
 * renderers refuse a hostile literal by themselves too, when called through the `render`
 * entry point with values that never went through validation. A cdktf token marker
 * (`${TfToken[…]}`) passes: its value is checked at plan time.
 */
import { containsToken } from "./terraform-safe";

const TOKEN_MARKERS = /\$\{TfToken\[[A-Za-z0-9_.]+\]\}/g;

/**
 * `value`, when it is one shell word that needs no quoting (letters, digits and `._/:@+=,-`,
 * around token markers): it is written unquoted into commands PostgreSQL and Patroni run
 * through a shell (`restore_command`, `archive_command`, the restore bootstrap).
 * @throws Error naming `what` and the value otherwise
 */
export function commandWord(value: string, what: string): string {
  const rest = value.replace(TOKEN_MARKERS, "");
  if ((rest === "" && !containsToken(value)) || !/^[A-Za-z0-9._/:@+=,-]*$/.test(rest)) {
    throw new Error(`${what}: ${JSON.stringify(value)} cannot be written into a shell command unquoted; expected letters, digits and . _ / : @ + = , -`);
  }
  return value;
}

/**
 * `value`, when it can be the value of one `key=value` line of an INI file (pgBackRest's):
 * no line break, no NUL (either would end the line and let the rest add settings or sections).
 * @throws Error naming `key` and the value otherwise
 */
export function iniValue(value: string, key: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error(`${key}: ${JSON.stringify(value)} cannot be an INI value: it holds a line break or NUL`);
  return value;
}
