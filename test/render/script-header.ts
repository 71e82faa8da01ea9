/** Test helper: header values of a rendered bootstrap script replaced, nothing else. */

/**
 * `script` with the header line `readonly NAME=…` of each entry replaced: numbers as they are,
 * strings single-quoted for bash. The whole old value is replaced (a quoted string may span lines,
 * e.g. CONFIG_FILES). Fails the calling test when a header line is missing.
 */
export function setHeader(script: string, values: Record<string, string | number>): string {
  let out = script;
  for (const [name, v] of Object.entries(values)) {
    const re = new RegExp(`^readonly ${name}=(?:'[^']*(?:'\\\\''[^']*)*'|-?\\d+)$`, "m");
    expect(out).toMatch(re);
    out = out.replace(re, () => `readonly ${name}=${typeof v === "number" ? v : `'${v.replace(/'/g, `'\\''`)}'`}`);
  }
  return out;
}
