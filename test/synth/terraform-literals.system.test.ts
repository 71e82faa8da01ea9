/**
 * Terraform expressions (issue 16): no string a user writes is evaluated by Terraform.
 *
 * Every string-valued spec field and prop gets hostile values (`${file("/etc/passwd")}`,
 * `%{ if }`, `cost ${center`, quotes, backslashes, newlines, already-escaped `$${`). Each case
 * is either refused by validation naming the field, or synthesizes to a `cdk.tf.json` in which
 * (1) every `${` / `%{` Terraform would read as a template sequence is one the library itself
 * writes (the same set as a synth with benign values), and (2) every string holding the value
 * evaluates, with `terraform console`, to a text containing the value as the user wrote it.
 * Synth is slow: one fixed payload per field, then 12 fast-check cases.
 */
import * as fc from "fast-check";
import { SpecValidationError } from "../../src/cluster-spec";
import type { ManagedPostgresProps } from "../../constructs/aws/managed-postgres";
import { evaluateTerraform } from "../support/terraform";
import { requirePrerequisites } from "../support/prerequisites";
import { clusterProps, synthCluster } from "../rules/synth-helpers";

jest.setTimeout(600_000);
beforeAll(() => requirePrerequisites({ commands: ["terraform"] }));

const PAYLOAD = `\${file("/etc/passwd")} %{ if true }x%{ endif } cost \${center "q" 'a' \\ $\${esc} %%{esc}\nnext line`;

/** Every string-valued field of the props (dotted path, `[0]` for a list item, `tags{}` for a tag key). */
const FIELDS = [
  "name",
  "deployment",
  "size",
  "architecture",
  "backup.fullBackupTime",
  "backup.logicalDump.schedule",
  "maintenanceWindow.day",
  "maintenanceWindow.startTime",
  "pooler.poolMode",
  "network.vpcId",
  "network.subnetIds[0]",
  "network.allowedCidrs[0]",
  "network.allowedSecurityGroupIds[0]",
  "tags.team",
  "tags{}",
  "imageId",
  "autoscalingServiceLinkedRoleArn",
  "httpsEgressCidrs[0]",
  "monitoring.alarmTopicArn",
  "monitoring.emailSubscribers[0]",
  "restoreFrom.backupBucket",
  "restoreFrom.stanza",
  "restoreFrom.target",
  "restoreFrom.secretArn",
  "restoreFrom.backupKmsKeyArn",
  "restoreFrom.region",
  "upgradeFrom.clusterName",
  "upgradeFrom.secretArn",
  "upgradeFrom.kmsKeyArn",
  "upgradeFrom.nodeAddresses[0]",
  "upgradeFrom.securityGroupId",
  "upgradeTo.nodeAddresses[0]",
] as const;

const RESTORE = {
  backupBucket: "orders-backups-20260101",
  stanza: "orders",
  target: "latest",
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-AbCdEf",
};

/** A valid `upgradeFrom` (green on the default majorVersion 17, blue on 15). */
const UPGRADE = {
  clusterName: "orders",
  majorVersion: 15,
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-AbCdEf",
  nodeAddresses: ["10.0.1.10"],
  securityGroupId: "sg-0abc12345",
};

function propsWith(field: string, value: string): ManagedPostgresProps {
  // restoreFrom on a distributed cluster: a standalone node's user data with the restore
  // files is over EC2's 16 KB (reported in issue 16's closing note).
  const restore = field.startsWith("restoreFrom.");
  const p: any = JSON.parse(JSON.stringify(clusterProps(restore ? "distributed" : "standalone", { name: "orders-v2", restoreFrom: restore ? RESTORE : undefined })));
  if (field.startsWith("upgradeFrom.")) p.upgradeFrom = JSON.parse(JSON.stringify(UPGRADE));
  if (field === "tags{}") {
    p.tags = { [value]: "v" };
    return p;
  }
  const keys = field.replace(/\[(\d+)\]/g, ".$1").split(".");
  let cur = p;
  for (const [i, k] of keys.slice(0, -1).entries()) cur = cur[k] ??= /^\d+$/.test(keys[i + 1]) ? [] : {};
  cur[keys[keys.length - 1]] = value;
  return p;
}

/** Every string of a JSON document, object keys included. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) out.push(k), strings(v, out);
  return out;
}

/** The template sequences Terraform reads in `s` (scanned as Terraform does: `$${`, `%%{` are escapes), each up to its first `}`. */
function templateSequences(s: string): string[] {
  const found: string[] = [];
  const re = /\$\$\{|%%\{|[$%]\{/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    if (m[0].length === 3) continue;
    const end = s.indexOf("}", m.index);
    found.push(s.slice(m.index, end < 0 ? m.index + 200 : Math.min(end + 1, m.index + 200)));
  }
  return found;
}

/** An HCL quoted string literal of `s` (template sequences left as they are). */
function hclQuoted(s: string): string {
  return `"${[...s].map((c) => (c === '"' ? '\\"' : c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : c < " " ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : c)).join("")}"`;
}

let baseline: Set<string>;
beforeAll(() => {
  const p = propsWith("restoreFrom.stanza", RESTORE.stanza);
  baseline = new Set(strings(synthCluster(p).json).flatMap(templateSequences));
  const plain = new Set(strings(synthCluster(clusterProps("standalone", { name: "orders-v2" })).json).flatMap(templateSequences));
  plain.forEach((s) => baseline.add(s));
});

type Outcome = { refused: string } | { synthesized: number };

/** Synthesizes `value` in `field`; asserts the two properties above when it synthesizes. */
function check(field: string, value: string): Outcome {
  let json: any;
  try {
    json = synthCluster(propsWith(field, value)).json;
  } catch (e) {
    if (!(e instanceof SpecValidationError)) throw e;
    const path = field === "tags{}" ? `tags.${value}` : field;
    expect(e.issues.some((i) => i.path === path || i.path.startsWith(path.replace(/\[0\]$/, "")))).toBe(true);
    return { refused: e.issues[0].message };
  }
  const all = strings(json);
  const foreign = all.flatMap(templateSequences).filter((s) => !baseline.has(s));
  expect(foreign).toEqual([]);
  const holding = all.filter((s) => templateSequences(s).length === 0 && s.includes(value.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{")));
  if (holding.length === 0) return { synthesized: 0 };
  const values = evaluateTerraform(holding.slice(0, 20).map(hclQuoted)) as string[];
  for (const v of values) expect(v).toContain(value);
  return { synthesized: holding.length };
}

test.each(FIELDS.map((f) => [f]))("hostile %s: refused naming it, or synthesized as a literal", (field) => {
  const value = field === "tags{}" ? PAYLOAD.replace("\n", " ").slice(0, 120) : PAYLOAD;
  const outcome = check(field, value);
  // Fields whose value AWS shows verbatim are accepted as literals; every other one is refused.
  const literal = ["tags.team", "tags{}", "autoscalingServiceLinkedRoleArn", "monitoring.alarmTopicArn", "monitoring.emailSubscribers[0]"];
  expect("synthesized" in outcome).toBe(literal.includes(field));
  if ("synthesized" in outcome) expect(outcome.synthesized).toBeGreaterThan(0);
});

test("property: any text in a tag value or key is a literal in cdk.tf.json", () => {
  const text = fc.stringOf(fc.constantFrom("$", "%", "{", "}", "$$", "%%", "${", "%{", '"', "'", "\\", "\n", "a", " ", "(", ")"), { minLength: 1, maxLength: 40 });
  fc.assert(
    fc.property(text, fc.boolean(), (value, asKey) => {
      const field = asKey ? "tags{}" : "tags.team";
      const v = asKey ? value.replace(/\n/g, " ") : value;
      const outcome = check(field, v);
      expect(outcome).toHaveProperty("synthesized");
      expect((outcome as { synthesized: number }).synthesized).toBeGreaterThan(0);
    }),
    { numRuns: 12 },
  );
});
