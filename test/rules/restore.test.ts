import * as fc from "fast-check";
import type { RestoreFrom } from "../../src/cluster-spec";
import { RESTORE_FROM as ok } from "./fixtures";
import { patroniRestoreOptions, pgBackRestTarget, renderRestoreSourceConfig, RESTORE_SOURCE_CONFIG } from "../../src/render/restore";
import { isRestoreTimestamp, restoreFromIssues, restoreSourceStatements } from "../../src/rules/restore";

const now = new Date("2026-11-21T12:00:00Z");

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
