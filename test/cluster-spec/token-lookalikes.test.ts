/**
 * A spec file is data (issue 16): a value or key that cdktf would read as a token (its
 * `${TfToken[…]}` markers, map-token stand-ins, numbers in its token encoding) is refused by
 * the loader, naming the field. Before, `tags: { team: "${TfToken[TOKEN.1]}" }` in
 * postgres.yaml passed validation (`Token.isUnresolved` deferred it) and synthesized as
 * `"team": "${data.aws_partition.<…>.partition}"`: whatever cdktf had registered as TOKEN.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Lazy, Token } from "cdktf";
import { parseSpecText, readSpecFile, SpecValidationError } from "../../src/cluster-spec";

const BASE = "name: orders\ndeployment: standalone\nsize: S\nstorageGiB: 40\n";

function refusal(text: string, format: "yaml" | "json" = "yaml"): SpecValidationError | undefined {
  try {
    parseSpecText(text, "postgres.yaml", format);
    return undefined;
  } catch (e) {
    if (e instanceof SpecValidationError) return e;
    throw e;
  }
}

/** Whether cdktf takes `s` for a token as a string, a list element or a map key. */
const cdktfReadsStringAsToken = (s: string) => Token.isUnresolved(s) || Token.isUnresolved([s]) || Token.isUnresolved({ [s]: "x" });

describe("values cdktf would take for tokens are refused, naming the field", () => {
  test.each([
    ["a string token in a tag value", `tags:\n  team: "\${TfToken[TOKEN.1]}"\n`, "tags.team"],
    ["a token inside a longer tag value", `tags:\n  team: "cost \${TfToken[TOKEN.12]} center"\n`, "tags.team"],
    ["a list token in a list element", `network:\n  allowedCidrs: ["#{TfToken[TOKEN.3]}"]\n`, "network.allowedCidrs[0]"],
    ["a map token as a key", `tags:\n  "&{TfToken[TOKEN.2]}": x\n`, "tags.&{TfToken[TOKEN.2]}"],
    ["cdktf's string-map stand-in", `tags:\n  team: String Map Token Value\n`, "tags.team"],
  ])("%s", (_, extra, path) => {
    const e = refusal(BASE + extra);
    expect(e).toBeDefined();
    expect(e!.issues.map((i) => i.path)).toEqual([path]);
    expect(e!.message).toMatch(/is how cdktf marks a token .*, not data; a spec file holds literal values only/);
    expect(e!.message.split("\n")[0]).toBe("Invalid cluster spec (postgres.yaml): 1 problem");
  });

  test("a number in cdktf's token encoding (as YAML and as JSON) is refused; the same spec with a literal number passes", () => {
    const encoded = Token.asNumber(Lazy.numberValue({ produce: () => 40 }));
    expect(Token.isUnresolved(encoded)).toBe(true);
    expect(refusal(BASE.replace("storageGiB: 40", `storageGiB: ${encoded}`))?.issues.map((i) => i.path)).toEqual(["storageGiB"]);
    expect(refusal(JSON.stringify({ name: "orders", deployment: "standalone", size: "S", storageGiB: encoded }), "json")?.issues.map((i) => i.path)).toEqual(["storageGiB"]);
    expect(refusal(BASE)).toBeUndefined();
  });

  test("readSpecFile names the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "spec-token-"));
    try {
      const file = join(dir, "postgres.yaml");
      writeFileSync(file, BASE + `tags:\n  team: "\${TfToken[TOKEN.1]}"\n`);
      expect(() => readSpecFile(file)).toThrow(new RegExp(`^Invalid cluster spec \\(${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\): 1 problem\\n  - \`tags\\.team\``));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("properties: refused exactly when cdktf would read the value as a token", () => {
  const fragment = fc.constantFrom("${", "#{", "&{", "$", "{", "TfToken[", "TfToken", "[", "TOKEN.1", "a:b_c-d.e", "", " ", "]}", "]", "}", "x", "é");

  test("strings, as a tag value and as a tag key", () => {
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 8 }), (parts) => {
        const s = parts.join("");
        const asToken = cdktfReadsStringAsToken(s);
        const asValue = refusal(BASE + `tags:\n  team: ${JSON.stringify(s)}\n`) !== undefined;
        const asKey = s === "" ? asToken : refusal(BASE + `tags:\n  ${JSON.stringify(s)}: x\n`) !== undefined;
        // A key is refused when cdktf reads it as a token; a value also when it is a list or map marker.
        expect(asValue).toBe(asToken);
        if (s !== "") expect(asKey).toBe(asToken);
      }),
      { numRuns: 400 },
    );
  });

  test("numbers: refused exactly when cdktf reads the number (or a list element) as a token", () => {
    const tokenNumbers = fc.integer({ min: 0, max: 1000 }).map((i) => (i % 2 ? Token.asNumber(Lazy.numberValue({ produce: () => i })) : Token.asNumberList(Lazy.listValue({ produce: () => [String(i)] }))[0] as unknown as number));
    fc.assert(
      fc.property(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), tokenNumbers), (n) => {
        const refused = refusal(JSON.stringify({ name: "orders", deployment: "standalone", size: "S", storageGiB: n }), "json") !== undefined;
        expect(refused).toBe(Token.isUnresolved(n) || Token.isUnresolved([n]) || n === Token.NUMBER_MAP_TOKEN_VALUE);
      }),
      { numRuns: 400 },
    );
  });
});
