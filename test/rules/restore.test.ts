import * as fc from "fast-check";
import { isRestoreTimestamp, pgBackRestTarget, restoreFromIssues, type RestoreFrom } from "../../src/rules/restore";

const now = new Date("2026-11-21T12:00:00Z");
const ok: RestoreFrom = { backupBucket: "orders-backups-0a1b2c", stanza: "orders", target: "2026-11-20T10:00:00Z" };

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
