/**
 * Values interpolated into rendered files stay data (issue 16), with hostile inputs:
 * - shell header values (`readonly NAME='…'`, the scripts' only per-cluster text) round-trip
 *   through bash unchanged, whatever they hold;
 * - a value written unquoted into a command (`restore_command`, `archive_command`, the restore
 *   bootstrap) is one shell word or refused;
 * - pgBackRest INI values cannot add lines, keys or sections (a line break is refused);
 * - user strings escaped for Terraform (`$${`) are not mistaken for template sequences.
 */
import { spawnSync } from "node:child_process";
import * as fc from "fast-check";
import { Document, parse } from "yaml";
import { shellHeader } from "../../src/render/scripts";
import { commandWord, iniValue } from "../../src/render/values";
import { renderRestoreSourceConfig } from "../../src/render/restore";
import { archiveCommand, restoreCommand } from "../../src/render/postgres";
import { terraformTemplateSequences } from "../../src/render/terraform-safe";
import { requirePrerequisites } from "../support/prerequisites";

beforeAll(() => requirePrerequisites({ commands: ["bash"] }));

const HOSTILE = ["'; rm -rf / #", "$(id)", "`id`", "a\nb", "\\", "'", '"', "${HOME}", "%{x}", "-rf", " ", "\t", "é ✓", "*", "a'b'c"];
const anyText = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 30 }), fc.fullUnicodeString({ maxLength: 10 })).filter((s) => !s.includes("\0"));

test("property: shell header values round-trip through bash", () => {
  fc.assert(
    fc.property(fc.array(anyText, { minLength: 1, maxLength: 8 }), (values) => {
      const header = shellHeader(Object.fromEntries(values.map((v, i) => [`V${i}`, v])));
      const script = `${header}${values.map((_, i) => `printf '%s\\0' "$V${i}"`).join("\n")}\n`;
      const r = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 10_000 });
      expect(r.status).toBe(0);
      expect(r.stdout.split("\0").slice(0, -1)).toEqual(values);
    }),
    { numRuns: 60 },
  );
});

/** The words bash splits a command line into. */
function words(command: string): string[] {
  const r = spawnSync("bash", ["-c", `f() { printf '%s\\0' "$@"; }; f ${command}`], { encoding: "utf8", timeout: 10_000 });
  return r.stdout.split("\0").slice(0, -1);
}

test("property: a command word is one shell word as written, or refused", () => {
  fc.assert(
    fc.property(anyText, (value) => {
      let accepted: string;
      try {
        accepted = commandWord(value, "stanza");
      } catch {
        return;
      }
      expect(words(`pgbackrest --stanza=${accepted} archive-get`)).toEqual(["pgbackrest", `--stanza=${value}`, "archive-get"]);
    }),
    { numRuns: 200 },
  );
});

test.each(HOSTILE.filter((h) => h !== "-rf").map((h) => [h]))("restore_command and archive_command refuse the stanza %j", (stanza) => {
  expect(() => restoreCommand(stanza)).toThrow(/cannot be written into a shell command unquoted/);
  expect(() => archiveCommand(stanza)).toThrow(/cannot be written into a shell command unquoted/);
});

test("a token marker passes as a command word (its value is checked at plan time)", () => {
  expect(restoreCommand("${TfToken[TOKEN.12]}")).toBe('pgbackrest --stanza=${TfToken[TOKEN.12]} archive-get %f "%p"');
});

/** Key/value lines and sections of an INI text. */
function ini(text: string): { sections: string[]; keys: string[] } {
  const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  return { sections: lines.filter((l) => l.startsWith("[")), keys: lines.filter((l) => !l.startsWith("[")).map((l) => l.split("=")[0]) };
}

test("property: restore source INI values cannot add lines, keys or sections", () => {
  const restore = { backupBucket: "orders-backups", stanza: "orders", target: "latest", secretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:x" };
  const shape = ini(renderRestoreSourceConfig(restore, "eu-west-1"));
  fc.assert(
    fc.property(fc.constantFrom("backupBucket", "region") as fc.Arbitrary<"backupBucket" | "region">, anyText, (field, value) => {
      let text: string;
      try {
        text = renderRestoreSourceConfig({ ...restore, [field]: value }, "eu-west-1");
      } catch (e) {
        expect(String(e)).toMatch(/cannot be an INI value/);
        expect(value).toMatch(/[\r\n]/);
        return;
      }
      expect(ini(text)).toEqual(shape);
    }),
    { numRuns: 200 },
  );
  expect(() => iniValue("x\n[global]\nrepo1-type=posix", "repo1-s3-bucket")).toThrow(/repo1-s3-bucket: .* cannot be an INI value/);
});

test("property: YAML rendered with the yaml library parses back to the same value", () => {
  // patroni.yml is rendered with the yaml library's Document (src/render/patroni.ts); the
  // same round trip for hostile scalars.
  fc.assert(
    fc.property(anyText, (value) => {
      const text = new Document({ bootstrap: { method: value, list: [value] } }, { schema: "yaml-1.1" }).toString();
      expect(parse(text, { schema: "yaml-1.1" })).toEqual({ bootstrap: { method: value, list: [value] } });
    }),
    { numRuns: 200 },
  );
});

test("escaped openers ($${, %%{) are literals, not template sequences; $$${ is a literal $ then an escape", () => {
  expect(terraformTemplateSequences("tag $${file(\"/etc/passwd\")} %%{ if } $$${x}")).toEqual([]);
  expect(terraformTemplateSequences("a ${x} b")).toHaveLength(1);
  expect(terraformTemplateSequences("a %{ if } b")).toHaveLength(1);
});
