import * as fc from "fast-check";
import { requirePrerequisites } from "../support/prerequisites";
import type { RestoreFrom } from "../../src/cluster-spec";
import { patroniRestoreOptions, pgBackRestTarget, renderRestoreSourceConfig, renderRestoreSourcePassScript, RESTORE_SOURCE_CONFIG } from "../../src/render/restore";
import { isRestoreTimestamp, restoreFromIssues, restoreSourceStatements } from "../../src/rules/restore";

const now = new Date("2026-11-21T12:00:00Z");
const ok: RestoreFrom = {
  backupBucket: "orders-backups-0a1b2c",
  stanza: "orders",
  target: "2026-11-20T10:00:00Z",
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:managed-postgres/orders-AbCdEf",
  backupKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
};

test("a valid restoreFrom has no issue", () => {
  expect(restoreFromIssues(ok, "orders-v2", now)).toEqual([]);
});

test('"latest" is a valid target', () => {
  expect(restoreFromIssues({ ...ok, target: "latest" }, "orders-v2", now)).toEqual([]);
});

test.each(["2026-11-20", "yesterday", "2026-13-01T00:00:00Z", "2026-02-30 10:00:00+00", "2026-11-20T10:00:00"])(
  "target %s is refused naming restoreFrom.target",
  (target) => {
    const issues = restoreFromIssues({ ...ok, target }, "orders-v2", now);
    expect(issues.map((i) => i.field)).toEqual(["restoreFrom.target"]);
  },
);

test("a target in the future is refused", () => {
  expect(restoreFromIssues({ ...ok, target: "2027-01-01T00:00:00Z" }, "orders-v2", now)[0].message).toMatch(/in the future/);
});

test("a bucket ARN instead of a name is refused naming restoreFrom.backupBucket", () => {
  const [i] = restoreFromIssues({ ...ok, backupBucket: "arn:aws:s3:::orders" }, "orders-v2", now);
  expect(i.field).toBe("restoreFrom.backupBucket");
});

test("restoring a cluster from its own stanza is refused", () => {
  expect(restoreFromIssues(ok, "orders", now).map((i) => i.field)).toEqual(["restoreFrom.stanza"]);
});

test("a malformed KMS key ARN is refused naming restoreFrom.backupKmsKeyArn", () => {
  expect(restoreFromIssues({ ...ok, backupKmsKeyArn: "alias/x" }, "orders-v2", now).map((i) => i.field)).toEqual(["restoreFrom.backupKmsKeyArn"]);
});

test("fields holding unresolved tokens are not checked", () => {
  expect(restoreFromIssues({ ...ok, backupBucket: "${TOKEN[1]}" }, "orders-v2", now, (v) => String(v).startsWith("${"))).toEqual([]);
});

test("property: every past second, written with Z or an offset, is a valid target", () => {
  fc.assert(
    fc.property(fc.date({ min: new Date("2020-01-01T00:00:00Z"), max: new Date("2026-11-01T00:00:00Z") }), fc.boolean(), (d, z) => {
      const iso = d.toISOString().slice(0, 19);
      const t = z ? `${iso}Z` : `${iso.replace("T", " ")}+00:00`;
      return isRestoreTimestamp(t) && restoreFromIssues({ ...ok, target: t }, "orders-v2", now).length === 0;
    }),
    { numRuns: 200 },
  );
});

test("pgBackRestTarget writes a Z timestamp with a +00:00 offset and a space", () => {
  expect(pgBackRestTarget("2026-11-20T10:00:00Z")).toBe("2026-11-20 10:00:00+00:00");
});

test("a missing secretArn is refused naming restoreFrom.secretArn", () => {
  const { secretArn: _omit, ...rest } = ok;
  expect(restoreFromIssues(rest as RestoreFrom, "orders-v2", now).map((i) => i.field)).toEqual(["restoreFrom.secretArn"]);
});

describe("restoreSourceStatements", () => {
  const statements = restoreSourceStatements(ok, "aws", "eu-west-1");

  test("no statement writes to or deletes from the source", () => {
    expect(statements.flatMap((s) => s.actions).filter((a) => /Put|Delete|Write|Encrypt|GenerateDataKey/.test(a))).toEqual([]);
  });

  test("objects are readable under the source stanza only", () => {
    expect(statements.find((s) => s.actions.includes("s3:GetObject"))!.resources).toEqual(["arn:aws:s3:::orders-backups-0a1b2c/orders/*"]);
  });

  test("listing is limited to the stanza prefix", () => {
    const list = statements.find((s) => s.actions.includes("s3:ListBucket"))!;
    expect(list.condition).toEqual([{ test: "StringLike", variable: "s3:prefix", values: ["orders", "orders/*"] }]);
  });

  test("the source key decrypts through S3 and Secrets Manager only", () => {
    const kms = statements.find((s) => s.actions.includes("kms:Decrypt"))!;
    expect([kms.resources, kms.condition![0].values]).toEqual([[ok.backupKmsKeyArn], ["s3.eu-west-1.amazonaws.com", "secretsmanager.eu-west-1.amazonaws.com"]]);
  });

  test("without backupKmsKeyArn there is no KMS permission", () => {
    const { backupKmsKeyArn: _omit, ...rest } = ok;
    expect(restoreSourceStatements(rest, "aws", "eu-west-1").flatMap((s) => s.actions)).not.toContain("kms:Decrypt");
  });
});

test("the source config template starts with [global] and points repo1 at the source bucket and stanza", () => {
  const text = renderRestoreSourceConfig(ok, "eu-west-1");
  expect(text.split("\n")[0]).toBe("[global]");
  expect(text).toMatch(/^repo1-s3-bucket=orders-backups-0a1b2c$/m);
  expect(text).toMatch(/^repo1-path=\/orders$/m);
  expect(text).toMatch(/^\[orders\]$/m);
});

test("the Patroni restore options read the source config with a pgBackRest target", () => {
  expect(patroniRestoreOptions(ok)).toEqual({ stanza: "orders", target: "2026-11-20 10:00:00+00:00", configFile: RESTORE_SOURCE_CONFIG, repoPath: "/orders" });
});

describe("the restore source pass script", () => {
  const { execFileSync } = require("child_process") as typeof import("child_process");
  const fs = require("fs") as typeof import("fs");
  const os = require("os") as typeof import("os");
  const path = require("path") as typeof import("path");
  const made: string[] = [];
  afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  // The script runs for real: shellcheck, jq and pgBackRest come from .ci/run; missing = failure.
  beforeAll(() => requirePrerequisites({ commands: ["shellcheck", "jq", "pgbackrest", "id"] }));

  /** Runs the script with a fake `aws` that returns `secret`; returns the written config (or the error). */
  function run(secret: object): { config?: string; error?: string; dir: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-restore-pass-"));
    made.push(dir);
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "aws"), `#!/bin/sh\ncat <<'JSON'\n${JSON.stringify(secret)}\nJSON\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "template.conf"), renderRestoreSourceConfig(ok, "eu-west-1"));
    const out = path.join(dir, "restore-source.conf");
    fs.writeFileSync(path.join(dir, "pass.sh"), renderRestoreSourcePassScript(ok, { template: path.join(dir, "template.conf"), out }), { mode: 0o755 });
    try {
      execFileSync("bash", [path.join(dir, "pass.sh")], { env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` }, stdio: ["ignore", "pipe", "pipe"] });
      return { config: fs.readFileSync(out, "utf8"), dir };
    } catch (e) {
      return { error: String((e as { stderr?: Buffer }).stderr ?? e), dir };
    }
  }

  test("passes shellcheck", () => {
    const scDir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-sc-"));
    made.push(scDir);
    const file = path.join(scDir, "pass.sh");
    fs.writeFileSync(file, renderRestoreSourcePassScript(ok));
    expect(() => execFileSync("shellcheck", [file], { stdio: "pipe" })).not.toThrow();
  });

  test("writes the source's cipher pass into the [global] section of the source config", () => {
    const { config } = run({ backup_cipher_pass: "s3cr3t/+=pass", superuser_password: "x" });
    const lines = config!.split("\n");
    expect(lines.slice(0, 2)).toEqual(["[global]", "repo1-cipher-pass=s3cr3t/+=pass"]);
    expect(lines).toContain("repo1-s3-bucket=orders-backups-0a1b2c");
  });

  test("fails without writing when the secret has no cipher pass", () => {
    const { error, dir } = run({ superuser_password: "x" });
    expect(error).toMatch(/no backup_cipher_pass/);
    expect(fs.existsSync(path.join(dir, "restore-source.conf"))).toBe(false);
  });

  test("pgBackRest reads the written file as the source repository", () => {
    const { dir } = run({ backup_cipher_pass: "p" });
    const help = execFileSync("pgbackrest", [`--config=${path.join(dir, "restore-source.conf")}`, "--stanza=orders", "help", "restore", "repo1-path"], { encoding: "utf8" });
    expect(help).toMatch(/current: \/orders/);
  });
});
