/**
 * User data size as EC2 receives it (issue 10, defect 3): every launch template's user data
 * of every example and of the worst-case clusters (4XL, PostgreSQL 17, restoreFrom,
 * installPackagesAtBoot), compressed by Terraform's own `base64gzip` (Go's gzip, through
 * `terraform console`, which needs no provider). Each Terraform reference is replaced by
 * 100 characters of hexadecimal first, longer and less compressible than any value it
 * resolves to. The target keeps 15 % headroom below EC2's 16,384 bytes; the synth-time
 * estimate must never be below the real size. Needs the `terraform` binary.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { App, Testing } from "cdktf";
import { DistributedExample } from "../../examples/distributed/main";
import { StandaloneExample } from "../../examples/standalone/main";
import { addModules } from "../../examples/hcl-module/main";
import { GO_GZIP_MARGIN_BYTES, USER_DATA_LIMIT_BYTES } from "../../constructs/aws/launch";
import { evaluateTerraform } from "../support/terraform";
import { requirePrerequisites } from "../support/prerequisites";
import { props, synthCluster } from "./helpers";
import { configLocals } from "../../src/terraform";

const TARGET_BYTES = Math.floor(USER_DATA_LIMIT_BYTES * 0.85);

const restoreFrom = {
  backupBucket: "cms-backups-0a1b2c",
  stanza: "legacy-cms",
  target: "2026-11-20T10:00:00Z",
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:managed-postgres/cms-AbCdEf",
  backupKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
};
const worst = { size: "4XL" as const, majorVersion: 17 as const, installPackagesAtBoot: true, restoreFrom, now: "2026-12-01T00:00:00Z" };

/** [name, synthesized JSON text] of every example stack and worst-case cluster. */
function stacks(): [string, string][] {
  const out: [string, string][] = [];
  const app = Testing.app();
  out.push(["examples/distributed", Testing.synth(new DistributedExample(app, "distributed"))]);
  out.push(["examples/standalone", Testing.synth(new StandaloneExample(Testing.app(), "standalone"))]);
  for (const m of addModules(Testing.app() as App)) out.push([`examples/hcl-module/${m.node.id}`, Testing.synth(m)]);
  out.push(["worst case standalone", synthCluster(props("standalone", worst)).text]);
  out.push(["worst case distributed", synthCluster(props("distributed", { ...worst })).text]);
  return out;
}

/** Every launch template's user data text, references replaced. */
function userData(name: string, text: string): { name: string; text: string }[] {
  const json = JSON.parse(text);
  return Object.entries<any>(json.resource.aws_launch_template ?? {}).map(([id, lt]) => {
    const m = /^\$\{base64gzip\(local\.([^)]+)\)\}$/.exec(lt.user_data);
    if (!m) throw new Error(`${name} ${id}: user_data is not base64gzip(local.…)`);
    const local = configLocals(json)[m[1]] as string;
    return { name: `${name} ${id}`, text: local.replace(/\$\{([^}]*)\}/g, (_, e: string) => createHash("sha512").update(e).digest("hex").slice(0, 100)) };
  });
}

test("every user data compresses, with Terraform's gzip, to at least 15 % below EC2's 16,384 bytes, and the synth-time estimate is an upper bound", () => {
  requirePrerequisites({ commands: ["terraform"] });
  const all = stacks().flatMap(([name, text]) => userData(name, text));
  expect(all.length).toBeGreaterThanOrEqual(10);
  const dir = mkdtempSync(join(tmpdir(), "mp-user-data-"));
  try {
    all.forEach((u, i) => writeFileSync(join(dir, `u${i}`), u.text));
    const b64 = evaluateTerraform(all.map((_, i) => `base64gzip(file(${JSON.stringify(join(dir, `u${i}`))}))`)) as string[];
    const rows = all.map((u, i) => ({ name: u.name, node: gzipSync(Buffer.from(u.text, "utf8")).length, terraform: Buffer.from(b64[i]!, "base64").length }));
    for (const r of rows) {
      expect({ name: r.name, withinTarget: r.terraform <= TARGET_BYTES, terraform: r.terraform }).toEqual({ name: r.name, withinTarget: true, terraform: r.terraform });
      expect(r.node + GO_GZIP_MARGIN_BYTES).toBeGreaterThanOrEqual(r.terraform);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
