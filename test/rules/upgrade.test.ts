/**
 * `upgradeFrom` (issue 15, the synth side): the spec's schema, the rules without and with a
 * prior state, green's IAM statements and the bootstrap header values the node reads.
 */
import { SpecValidationError, validateClusterSpec, type UpgradeFrom } from "../../src/cluster-spec";
import { checkUpgradeFrom, parsePriorState, deployedCluster, UPGRADE_RULES, upgradeFromIssues, upgradeSourceStatements } from "../../src/rules";
import { upgradeValues } from "../../src/render/bootstrap";
import { shellHeader } from "../../src/render/scripts";
import { renderPgHba } from "../../src/render/postgres";
import { stateV4, volume } from "./fixtures";
import { execFileSync } from "child_process";

export const UPGRADE_FROM: UpgradeFrom = {
  clusterName: "orders",
  majorVersion: 15,
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:managed-postgres/orders-AbCdEf",
  kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
  nodeAddresses: ["10.0.1.10", "10.0.2.10", "10.0.3.10"],
  securityGroupId: "sg-0abc12345",
};

const spec = (over: Record<string, unknown> = {}) => ({
  name: "orders-v17",
  deployment: "distributed",
  size: "S",
  storageGiB: 40,
  majorVersion: 17,
  upgradeFrom: UPGRADE_FROM,
  ...over,
});

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    validateClusterSpec(input, { requireNetwork: false });
    return [];
  } catch (e) {
    if (!(e instanceof SpecValidationError)) throw e;
    return e.issues.map((i) => ({ path: i.path, message: i.message }));
  }
}

describe("schema", () => {
  test("a valid upgradeFrom validates, cutover defaulted to false", () => {
    const { spec: resolved } = validateClusterSpec(spec(), { requireNetwork: false });
    expect(resolved.upgradeFrom).toEqual({ ...UPGRADE_FROM, cutover: false });
  });

  test("without upgradeFrom the resolved spec has no upgradeFrom key (the rendered output stays the same)", () => {
    const { spec: resolved } = validateClusterSpec(spec({ upgradeFrom: undefined }), { requireNetwork: false });
    expect("upgradeFrom" in resolved).toBe(false);
  });

  test.each([
    ["majorVersion", 17, /`upgradeFrom\.majorVersion`: got 17; expected the blue cluster's major version, 15 or 16/],
    ["clusterName", "Orders; rm -rf /", /`upgradeFrom\.clusterName`: got "Orders; rm -rf \/"; expected the blue cluster's name/],
    ["secretArn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x'$(id)", /`upgradeFrom\.secretArn`: got .*; expected the blue cluster's secret ARN/],
    ["kmsKeyArn", "arn:aws:kms:eu-west-1:123456789012:alias/orders", /`upgradeFrom\.kmsKeyArn`: got .*; expected the blue cluster's KMS key ARN/],
    ["securityGroupId", "sg-${var.x}", /`upgradeFrom\.securityGroupId`: got "sg-\$\{var\.x\}"; expected the blue cluster's node security group id/],
    ["cutover", "yes", /`upgradeFrom\.cutover`: got "yes"; expected true or false/],
  ])("upgradeFrom.%s = %j is refused naming the field, the value and what is allowed", (field, value, message) => {
    const issues = issuesOf(spec({ upgradeFrom: { ...UPGRADE_FROM, [field]: value } }));
    expect(issues.map((i) => i.path)).toEqual([`upgradeFrom.${field}`]);
    expect(issues[0].message).toMatch(message);
  });

  test.each([
    [["10.0.1.10", "10.0.1.300"], "upgradeFrom.nodeAddresses[1]", /got "10\.0\.1\.300"; expected an IPv4 address/],
    [["10.0.1.10 10.0.2.10"], "upgradeFrom.nodeAddresses[0]", /expected an IPv4 address/],
    [[], "upgradeFrom.nodeAddresses", /expected the blue cluster's 1 to 3 distinct node addresses/],
    [["10.0.1.10", "10.0.1.11", "10.0.1.12", "10.0.1.13"], "upgradeFrom.nodeAddresses", /1 to 3 distinct node addresses/],
    [["10.0.1.10", "10.0.1.10"], "upgradeFrom.nodeAddresses", /1 to 3 distinct node addresses/],
  ])("nodeAddresses %j is refused at %s", (addresses, path, message) => {
    const issues = issuesOf(spec({ upgradeFrom: { ...UPGRADE_FROM, nodeAddresses: addresses } }));
    expect(issues.map((i) => i.path)).toEqual([path]);
    expect(issues[0].message).toMatch(message);
  });

  test("a missing required field and an unknown one are named", () => {
    const { securityGroupId: _, ...rest } = UPGRADE_FROM;
    const issues = issuesOf(spec({ upgradeFrom: { ...rest, port: 5432 } }));
    expect(issues.map((i) => i.path).sort()).toEqual(["upgradeFrom.port", "upgradeFrom.securityGroupId"]);
  });
});

describe("upgradeFromIssues (no prior state)", () => {
  const green = { name: "orders-v17", majorVersion: 17, restoreFrom: false };

  test("a valid upgrade has no issue", () => {
    expect(upgradeFromIssues(UPGRADE_FROM, green)).toEqual([]);
    expect(upgradeFromIssues({ ...UPGRADE_FROM, majorVersion: 16 }, green)).toEqual([]);
  });

  test("the same major version is refused naming the field, both versions and what is allowed", () => {
    const [i, ...more] = upgradeFromIssues(UPGRADE_FROM, { ...green, majorVersion: 15 });
    expect(more).toEqual([]);
    expect(i.field).toBe("upgradeFrom.majorVersion");
    expect(i.message).toMatch(/cluster "orders-v17": `upgradeFrom\.majorVersion`: got 15 with this cluster's `majorVersion` 15; expected a version lower than 15 \(none: 15 is the lowest supported\): the same major version is no upgrade/);
  });

  test("a downgrade (blue 16, green 15) is refused", () => {
    const [i] = upgradeFromIssues({ ...UPGRADE_FROM, majorVersion: 16 }, { ...green, majorVersion: 15 });
    expect(i.field).toBe("upgradeFrom.majorVersion");
    expect(i.message).toMatch(/got 16 with this cluster's `majorVersion` 15; .*the upgrade path goes up only/);
  });

  test("green 16 from blue 16 names 15 as the one allowed version", () => {
    const [i] = upgradeFromIssues({ ...UPGRADE_FROM, majorVersion: 16 }, { ...green, majorVersion: 16 });
    expect(i.message).toMatch(/expected a version lower than 16 \(15\)/);
  });

  test("upgradeFrom together with restoreFrom is refused", () => {
    const [i] = upgradeFromIssues(UPGRADE_FROM, { ...green, restoreFrom: true });
    expect(i.field).toBe("upgradeFrom");
    expect(i.message).toMatch(/`upgradeFrom` and `restoreFrom` exclude each other.*Keep one of them/);
  });

  test("blue named as green itself is refused", () => {
    const [i] = upgradeFromIssues({ ...UPGRADE_FROM, clusterName: "orders-v17" }, green);
    expect(i.field).toBe("upgradeFrom.clusterName");
    expect(i.message).toMatch(/got "orders-v17", this very cluster/);
  });

  test("fields holding tokens are left alone", () => {
    expect(upgradeFromIssues({ ...UPGRADE_FROM, majorVersion: 17 as 15 }, green, (v) => v === 17)).toEqual([]);
  });
});

describe("checkUpgradeFrom (prior state)", () => {
  const state = (...resources: ReturnType<typeof volume>[]) => parsePriorState(JSON.stringify(stateV4(resources)), "prior.tfstate");
  const blue = [0, 1, 2].map((i) => volume("orders", i, { version: "15" }));
  const upgrade = { clusterName: "orders", majorVersion: 15 };

  test("a first deployment of green with blue in the prior state passes", () => {
    const s = state(...blue);
    expect(checkUpgradeFrom("orders-v17", upgrade, s, deployedCluster(s, "orders-v17"))).toEqual([]);
  });

  test("upgradeFrom added to a deployed cluster is refused naming the rule and the way out", () => {
    const s = state(...blue, ...[0, 1, 2].map((i) => volume("orders-v17", i)));
    const [f, ...more] = checkUpgradeFrom("orders-v17", upgrade, s, deployedCluster(s, "orders-v17"));
    expect(more).toEqual([]);
    expect(f).toMatchObject({ ruleId: UPGRADE_RULES.intoDeployedCluster, level: "error", field: "upgradeFrom" });
    expect(f.message).toMatch(/"orders-v17" is deployed \(prior\.tfstate\) without `upgradeFrom`, and a deployed cluster cannot start following another one\. Expected `upgradeFrom` only on a new cluster/);
  });

  test("a green cluster deployed with upgradeFrom (tag managed-postgres:upgrade-from) passes: cutover is a change of a deployed green", () => {
    const green = [0, 1, 2].map((i) => {
      const v = volume("orders-v17", i);
      (v.attributes.tags as Record<string, string>)["managed-postgres:upgrade-from"] = "orders";
      return v;
    });
    const s = state(...blue, ...green);
    expect(deployedCluster(s, "orders-v17")?.upgradeFrom).toBe("orders");
    expect(checkUpgradeFrom("orders-v17", upgrade, s, deployedCluster(s, "orders-v17"))).toEqual([]);
    const [f] = checkUpgradeFrom("orders-v17", { ...upgrade, clusterName: "billing" }, state(...green, volume("billing", 0, { version: "15" })), deployedCluster(s, "orders-v17"));
    expect(f.ruleId).toBe(UPGRADE_RULES.intoDeployedCluster);
    expect(f.message).toMatch(/as the upgrade of "orders".*keep `upgradeFrom\.clusterName: "orders"`/);
  });

  test("a blue cluster the prior state does not hold is refused, listing the clusters it holds", () => {
    const s = state(volume("billing", 0));
    const [f, ...more] = checkUpgradeFrom("orders-v17", upgrade, s, undefined);
    expect(more).toEqual([]);
    expect(f).toMatchObject({ ruleId: UPGRADE_RULES.sourceNotDeployed, field: "upgradeFrom.clusterName" });
    expect(f.message).toMatch(/`upgradeFrom\.clusterName`: got "orders", which the prior state prior\.tfstate does not hold; expected one of its clusters \("billing"\)/);
  });

  test("blue's deployed major version must be upgradeFrom.majorVersion", () => {
    const s = state(...[0, 1, 2].map((i) => volume("orders", i, { version: "16" })));
    const [f] = checkUpgradeFrom("orders-v17", upgrade, s, undefined);
    expect(f).toMatchObject({ ruleId: UPGRADE_RULES.sourceNotDeployed, field: "upgradeFrom.majorVersion" });
    expect(f.message).toMatch(/got 15, but "orders" runs PostgreSQL 16 .*expected 16/);
  });

  test("a clusterName token (undefined here) is not looked up", () => {
    expect(checkUpgradeFrom("orders-v17", { majorVersion: 15 }, state(volume("billing", 0)), undefined)).toEqual([]);
  });
});

describe("green's IAM statements", () => {
  test("the secret only, read only; kms:Decrypt on the key through Secrets Manager only", () => {
    expect(upgradeSourceStatements(UPGRADE_FROM, "eu-west-1")).toEqual([
      { sid: "UpgradeSourceSecretRead", effect: "Allow", actions: ["secretsmanager:GetSecretValue"], resources: [UPGRADE_FROM.secretArn] },
      {
        sid: "UpgradeSourceKeyDecrypt",
        effect: "Allow",
        actions: ["kms:Decrypt"],
        resources: [UPGRADE_FROM.kmsKeyArn],
        condition: [{ test: "StringEquals", variable: "kms:ViaService", values: ["secretsmanager.eu-west-1.amazonaws.com"] }],
      },
    ]);
  });

  test("without kmsKeyArn no KMS permission", () => {
    const { kmsKeyArn: _, ...rest } = UPGRADE_FROM;
    expect(upgradeSourceStatements(rest, "eu-west-1").map((s) => s.sid)).toEqual(["UpgradeSourceSecretRead"]);
  });
});

describe("bootstrap header values", () => {
  test("every variable of the interface, addresses space-separated, cutover 0 or 1", () => {
    expect(upgradeValues({ upgradeFrom: { ...UPGRADE_FROM, cutover: false } })).toEqual({
      UPGRADE_FROM_CLUSTER: "orders",
      UPGRADE_FROM_MAJOR: 15,
      UPGRADE_FROM_SECRET: UPGRADE_FROM.secretArn,
      UPGRADE_FROM_ADDRESSES: "10.0.1.10 10.0.2.10 10.0.3.10",
      UPGRADE_CUTOVER: 0,
    });
    expect(upgradeValues({ upgradeFrom: { ...UPGRADE_FROM, cutover: true } }).UPGRADE_CUTOVER).toBe(1);
    expect(upgradeValues({})).toEqual({});
  });

  test("hostile values (had they passed validation) reach bash as the same bytes", () => {
    const hostile = { ...UPGRADE_FROM, clusterName: "a'b\"c$(id)`id`\\", secretArn: "x; rm -rf / #", nodeAddresses: ["$HOME", "'", "*"], cutover: true };
    const header = shellHeader(upgradeValues({ upgradeFrom: hostile }));
    const out = execFileSync("bash", ["-c", `${header}printf '%s\\n' "$UPGRADE_FROM_CLUSTER" "$UPGRADE_FROM_SECRET" "$UPGRADE_FROM_ADDRESSES" "$UPGRADE_FROM_MAJOR" "$UPGRADE_CUTOVER"`], { encoding: "utf8" });
    expect(out).toBe(`${hostile.clusterName}\n${hostile.secretArn}\n$HOME ' *\n15\n1\n`);
  });
});

describe("upgradeTo (blue admits green's nodes)", () => {
  const blue = (upgradeTo: unknown) => ({ name: "orders", deployment: "distributed", size: "S", storageGiB: 40, majorVersion: 15, upgradeTo });
  const members = ["10.0.1.10", "10.0.2.10", "10.0.3.10"].map((address, i) => ({ name: `orders-${i}`, slotIndex: i, address, zone: `eu-west-1${"abc"[i]}` }));

  test("blue's pg_hba admits its superuser over TLS with scram-sha-256 from each green address, before the rules rejecting it elsewhere", () => {
    const { spec: resolved } = validateClusterSpec(blue({ nodeAddresses: ["10.0.1.20", "10.0.2.20"] }), { requireNetwork: false });
    const hba = renderPgHba(resolved, members);
    const admit = hba.indexOf("hostssl all postgres 10.0.1.20/32 scram-sha-256");
    expect(admit).toBeGreaterThan(0);
    expect(hba[admit + 1]).toBe("hostssl all postgres 10.0.2.20/32 scram-sha-256");
    expect(hba.indexOf("hostssl all postgres 0.0.0.0/0 reject")).toBeGreaterThan(admit + 1);
    // nothing else changes: the rules without upgradeTo, plus the two
    const plain = renderPgHba(validateClusterSpec(blue(undefined), { requireNetwork: false }).spec, members);
    expect(hba.filter((r) => !r.includes("10.0.1.20/32") && !r.includes("10.0.2.20/32"))).toEqual(plain);
    expect(plain.some((r) => /^hostssl all postgres [0-9.]+\/32 scram-sha-256$/.test(r))).toBe(false);
  });

  test.each([
    [{ nodeAddresses: ["10.0.1.20", "10.0.1.20 0.0.0.0/0"] }, "upgradeTo.nodeAddresses[1]", /got "10\.0\.1\.20 0\.0\.0\.0\/0"; expected an IPv4 address/],
    [{ nodeAddresses: [] }, "upgradeTo.nodeAddresses", /1 to 3 distinct node addresses/],
    [{}, "upgradeTo.nodeAddresses", /`upgradeTo\.nodeAddresses` is required/],
    [{ nodeAddresses: ["10.0.1.20"], cidr: "0.0.0.0/0" }, "upgradeTo.cidr", /not a known field/],
  ])("upgradeTo %j is refused at %s", (upgradeTo, path, message) => {
    const issues = issuesOf(blue(upgradeTo));
    expect(issues.map((i) => i.path)).toEqual([path]);
    expect(issues[0].message).toMatch(message);
  });
});

describe("upgradeTo's endpoints (blue's endpoints follow green at the cutover) and upgradeFrom.poolerSecurityGroupId", () => {
  const blue = (upgradeTo: Record<string, unknown>) => ({ name: "orders", deployment: "distributed", size: "S", storageGiB: 40, majorVersion: 15, upgradeTo: { nodeAddresses: ["10.0.1.20"], ...upgradeTo } });
  const NLB = "mp-orders-v17-0123456789abcdef.elb.eu-west-1.amazonaws.com";

  test("a distributed green's NLB name and ports, or a standalone green's address and port, are kept in the resolved spec; the read-only pair is optional", () => {
    const both = { readWriteEndpoint: NLB, readWritePort: 5432, readOnlyEndpoint: NLB, readOnlyPort: 5433 };
    expect(validateClusterSpec(blue(both), { requireNetwork: false }).spec.upgradeTo).toEqual({ nodeAddresses: ["10.0.1.20"], ...both });
    const standalone = { readWriteEndpoint: "10.0.1.20", readWritePort: 6432 };
    expect(validateClusterSpec(blue(standalone), { requireNetwork: false }).spec.upgradeTo).toEqual({ nodeAddresses: ["10.0.1.20"], ...standalone });
    expect(validateClusterSpec(blue({}), { requireNetwork: false }).spec.upgradeTo).toEqual({ nodeAddresses: ["10.0.1.20"] });
    expect(issuesOf(blue({ readWriteEndpoint: "localhost", readWritePort: 6432 }))).toEqual([]);
  });

  const hostile = ["a b", "x\n[databases]", "${x}", "; rm -rf", "%{x}", "10.0.1.20:6432", "host/db", "-lead.example.com", "a..b", "10.0.1.256", "999.1.1.1", "a.", "", "x".repeat(64), `${"a".repeat(63)}.`.repeat(4) + "com", "élan.example.com"];
  test.each(hostile.map((v) => [v]))("upgradeTo.readWriteEndpoint %j is refused, naming the field, the value and what is allowed", (value) => {
    const issues = issuesOf(blue({ readWriteEndpoint: value, readWritePort: 5432 }));
    expect(issues.map((i) => i.path)).toEqual(["upgradeTo.readWriteEndpoint"]);
    expect(issues[0].message).toContain(`\`upgradeTo.readWriteEndpoint\`: got ${JSON.stringify(value).slice(0, 77)}`);
    expect(issues[0].message).toMatch(/expected the green cluster's read-write endpoint host \(its `<id>_read_write_endpoint` output\): a DNS name of at most 253 characters .* or an IPv4 address/);
  });

  test.each(hostile.map((v) => [v]))("upgradeTo.readOnlyEndpoint %j is refused the same way", (value) => {
    const issues = issuesOf(blue({ readWriteEndpoint: NLB, readWritePort: 5432, readOnlyEndpoint: value, readOnlyPort: 5433 }));
    expect(issues.map((i) => i.path)).toEqual(["upgradeTo.readOnlyEndpoint"]);
    expect(issues[0].message).toMatch(/^`upgradeTo\.readOnlyEndpoint`: got .*; expected the green cluster's read-only endpoint host/);
  });

  test.each([
    [{ readOnlyEndpoint: NLB, readOnlyPort: 5433 }, "upgradeTo.readOnlyEndpoint", /got "mp-orders-v17.*" without `upgradeTo\.readWriteEndpoint`; expected it only together with `upgradeTo\.readWriteEndpoint`/],
    [{ readWriteEndpoint: NLB }, "upgradeTo.readWritePort", /`upgradeTo\.readWritePort` is required with `upgradeTo\.readWriteEndpoint`: green's `<id>_read_write_port` output, 5432 \(distributed green\) or 6432/],
    [{ readWritePort: 5432 }, "upgradeTo.readWritePort", /got 5432 without `upgradeTo\.readWriteEndpoint`/],
    [{ readWriteEndpoint: NLB, readWritePort: 5432, readOnlyEndpoint: NLB }, "upgradeTo.readOnlyPort", /`upgradeTo\.readOnlyPort` is required with `upgradeTo\.readOnlyEndpoint`/],
    [{ readWriteEndpoint: NLB, readWritePort: 5432, readOnlyPort: 5433 }, "upgradeTo.readOnlyPort", /got 5433 without `upgradeTo\.readOnlyEndpoint`/],
    [{ readWriteEndpoint: NLB, readWritePort: 6432, readOnlyEndpoint: NLB, readOnlyPort: 5433 }, "upgradeTo.readOnlyPort", /got 5433 with `upgradeTo\.readWritePort` 6432; expected 6432: one green cluster serves 5432 and 5433 \(distributed\) or 6432 alone/],
    [{ readWriteEndpoint: NLB, readWritePort: 6433 }, "upgradeTo.readWritePort", /got 6433; expected the green cluster's read-write endpoint port .*: 5432 \(distributed: its load balancer\) or 6432 \(standalone/],
    [{ readWriteEndpoint: NLB, readWritePort: "5432; rm -rf" }, "upgradeTo.readWritePort", /got "5432; rm -rf"; expected the green cluster's read-write endpoint port/],
    [{ readWriteEndpoint: NLB, readWritePort: 5432, readOnlyEndpoint: NLB, readOnlyPort: 6433 }, "upgradeTo.readOnlyPort", /got 6433; expected the green cluster's read-only endpoint port .*: 5433 \(distributed: its load balancer\) or 6432/],
  ])("upgradeTo %j is refused at %s", (upgradeTo, path, message) => {
    const issues = issuesOf(blue(upgradeTo));
    expect(issues.map((i) => i.path)).toEqual([path]);
    expect(issues[0].message).toMatch(message);
  });

  test("upgradeFrom.poolerSecurityGroupId: a security group id is kept; anything else is refused naming field, value and what is allowed", () => {
    expect(validateClusterSpec(spec({ upgradeFrom: { ...UPGRADE_FROM, poolerSecurityGroupId: "sg-0def67890" } }), { requireNetwork: false }).spec.upgradeFrom?.poolerSecurityGroupId).toBe("sg-0def67890");
    for (const value of ["sg-0def67890 0.0.0.0/0", "${x}", "sg-\n", "; rm -rf", "0.0.0.0/0"]) {
      const issues = issuesOf(spec({ upgradeFrom: { ...UPGRADE_FROM, poolerSecurityGroupId: value } }));
      expect(issues.map((i) => i.path)).toEqual(["upgradeFrom.poolerSecurityGroupId"]);
      expect(issues[0].message).toBe(
        `\`upgradeFrom.poolerSecurityGroupId\`: got ${JSON.stringify(value)}; expected the security group of the blue cluster's PgBouncer hosts (its \`<id>_pooler_security_group_id\` output), such as "sg-0abc1234"`,
      );
    }
  });
});
