import * as fc from "fast-check";
import type { DeployedCluster } from "../../src/rules/prior-state";
import {
  checkAgainstDeployed,
  checkDeploymentModel,
  checkEndOfSupport,
  checkMajorVersion,
  checkSlotPlacement,
  checkStorage,
  parseNow,
  RULES,
  SafetyRuleError,
  type RequestedFacts,
} from "../../src/rules/safety";

const deployed: DeployedCluster = {
  name: "orders",
  source: "prior.tfstate",
  deployment: "distributed",
  storageGiB: 40,
  majorVersion: 16,
  slots: [0, 1, 2].map((i) => ({
    slot: i,
    volumeAddress: `aws_ebs_volume.orders_slot_${i}_data_volume`,
    availabilityZone: `eu-west-1${"abc"[i]}`,
    storageGiB: 40,
    subnetId: `subnet-0${i}000000`,
  })),
};
const same: RequestedFacts = {
  name: "orders",
  deployment: "distributed",
  storageGiB: 40,
  majorVersion: 16,
  allowMajorVersionUpgrade: false,
  subnetIds: ["subnet-000000000", "subnet-010000000", "subnet-020000000"].map((_, i) => `subnet-0${i}000000`),
};

test("an unchanged spec passes every rule", () => {
  expect(checkAgainstDeployed(same, deployed)).toEqual([]);
});

test("a first deployment (nothing deployed) passes every rule", () => {
  expect(checkAgainstDeployed({ ...same, deployment: "standalone", storageGiB: 2 }, undefined)).toEqual([]);
});

describe("deployment model", () => {
  test("a model change is an error naming the cluster, both models and restoreFrom", () => {
    const [f] = checkDeploymentModel({ ...same, deployment: "standalone" }, deployed);
    expect(f).toMatchObject({ ruleId: RULES.deploymentModelImmutable, level: "error", field: "deployment" });
    expect(f.message).toMatch(/"orders".*from "distributed".*to "standalone".*restoreFrom/s);
  });
});

describe("storage", () => {
  test("shrinking is an error naming the old and new GiB", () => {
    const [f] = checkStorage({ ...same, storageGiB: 20 }, deployed);
    expect(f).toMatchObject({ ruleId: RULES.storageNeverShrinks, level: "error", field: "storageGiB" });
    expect(f.message).toMatch(/from 40 GiB .* to 20 GiB/);
  });

  test("growing is allowed", () => {
    expect(checkStorage({ ...same, storageGiB: 128 }, deployed)).toEqual([]);
  });

  test("an unresolved storage size is left to the plan-time precondition", () => {
    expect(checkStorage({ ...same, storageGiB: undefined }, deployed)).toEqual([]);
  });

  test("property: an error exactly when the requested size is below the deployed one", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 128 }), fc.integer({ min: 2, max: 128 }), (old, wanted) => {
        const findings = checkStorage({ ...same, storageGiB: wanted }, { ...deployed, storageGiB: old });
        return findings.length === (wanted < old ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe("major version", () => {
  test("a lower version is an error even with allowMajorVersionUpgrade", () => {
    const [f] = checkMajorVersion({ ...same, majorVersion: 15, allowMajorVersionUpgrade: true }, deployed);
    expect(f).toMatchObject({ ruleId: RULES.majorVersionNoDowngrade, field: "majorVersion" });
    expect(f.message).toMatch(/from 16 .* to 15/);
  });

  test("a higher version without allowMajorVersionUpgrade is an error naming the flag", () => {
    const [f] = checkMajorVersion({ ...same, majorVersion: 17 }, deployed);
    expect(f).toMatchObject({ ruleId: RULES.majorVersionUpgradeOptIn, level: "error" });
    expect(f.message).toMatch(/16 .*→ 17.*allowMajorVersionUpgrade: true/);
  });

  test("a higher version with allowMajorVersionUpgrade is refused naming the field, both values and the supported path", () => {
    const [f] = checkMajorVersion({ ...same, majorVersion: 17, allowMajorVersionUpgrade: true }, deployed);
    expect(f).toMatchObject({ ruleId: RULES.majorVersionUpgradeOptIn, level: "error", field: "majorVersion" });
    expect(f.message).toMatch(/`majorVersion` 16 .*→ 17 is refused/);
    expect(f.message).toMatch(/`allowMajorVersionUpgrade: true` does not make it possible/);
    expect(f.message).toMatch(/docs\/UPGRADING\.md, "Major versions"/);
    expect(f.message).toMatch(/new cluster under another name with `majorVersion: 17` and `upgradeFrom: \{ clusterName: "orders", majorVersion: 16, /);
    expect(f.message).toMatch(/`upgradeFrom\.cutover: true` once it has caught up/);
  });

  test("without allowMajorVersionUpgrade the refusal points to upgradeFrom too", () => {
    const [f] = checkMajorVersion({ ...same, majorVersion: 17 }, deployed);
    expect(f.message).toMatch(/`upgradeFrom: \{ clusterName: "orders", majorVersion: 16, /);
  });

  test("on a target without upgradeFrom (Kubernetes) the refusal points to a logical dump instead", () => {
    const [f] = checkMajorVersion({ ...same, majorVersion: 17, allowMajorVersionUpgrade: true, upgradeFromSupported: false }, deployed);
    expect(f.message).toMatch(/new cluster under another name with `majorVersion: 17`, loaded from a logical dump of "orders"/);
    expect(f.message).not.toMatch(/upgradeFrom: \{/);
  });

  test("the same major version passes with or without the flag", () => {
    expect(checkMajorVersion({ ...same, majorVersion: 16, allowMajorVersionUpgrade: true }, deployed)).toEqual([]);
    expect(checkMajorVersion({ ...same, majorVersion: 16 }, deployed)).toEqual([]);
  });
});

describe("slot placement", () => {
  test("moving a slot to another subnet is an error naming the slot, both subnets and the zone", () => {
    const [f] = checkSlotPlacement({ ...same, subnetIds: ["subnet-00000000", "subnet-0fff0000", "subnet-02000000"] }, deployed);
    expect(f).toMatchObject({ ruleId: RULES.slotPlacementFixed, field: "network.subnetIds[1]" });
    expect(f.message).toMatch(/slot 1 cannot move from subnet subnet-01000000 \(availability zone eu-west-1b\) to subnet-0fff0000/);
  });

  test("reordering the subnets moves slots and is refused for each moved slot", () => {
    const findings = checkSlotPlacement({ ...same, subnetIds: ["subnet-01000000", "subnet-00000000", "subnet-02000000"] }, deployed);
    expect(findings.map((f) => f.field)).toEqual(["network.subnetIds[0]", "network.subnetIds[1]"]);
  });

  test("a subnet given as an unresolved token is not compared", () => {
    expect(checkSlotPlacement({ ...same, subnetIds: [undefined, undefined, undefined] }, deployed)).toEqual([]);
  });
});

describe("end of support", () => {
  test("a supported version has no finding", () => {
    expect(checkEndOfSupport({ name: "orders", majorVersion: 17 }, new Date("2026-11-21T00:00:00Z"))).toEqual([]);
  });

  test("within 180 days of the end of support is a warning naming the date", () => {
    const [f] = checkEndOfSupport({ name: "orders", majorVersion: 15 }, new Date("2027-06-01T00:00:00Z"));
    expect(f).toMatchObject({ level: "warning", ruleId: RULES.endOfSupport });
    expect(f.message).toMatch(/PostgreSQL 15 reaches end of support on 2027-11-11/);
  });

  test("on the end of support day it is an error", () => {
    const [f] = checkEndOfSupport({ name: "orders", majorVersion: 15 }, new Date("2027-11-11T00:00:00Z"));
    expect(f.level).toBe("error");
  });

  test("the error suggests the newest supported version", () => {
    const [f] = checkEndOfSupport({ name: "orders", majorVersion: 15 }, new Date("2028-01-01T00:00:00Z"));
    expect(f.message).toMatch(/Move to majorVersion 17 through a new cluster \(docs\/UPGRADING\.md, "Major versions"\)/);
  });
});

test("SafetyRuleError lists every finding with its rule id", () => {
  const findings = checkAgainstDeployed({ ...same, deployment: "standalone", storageGiB: 10 }, deployed);
  const e = new SafetyRuleError(findings, "orders");
  expect(e.message).toMatch(/\[MP-SAFE-MODEL\][\s\S]*\[MP-SAFE-STORAGE\]/);
});

describe("parseNow", () => {
  test("reads an ISO date", () => {
    expect(parseNow("2027-06-01", "ctx").toISOString()).toBe("2027-06-01T00:00:00.000Z");
  });
  test("refuses a value that is not a date, naming the source", () => {
    expect(() => parseNow("next tuesday", "context key managed-postgres:now")).toThrow(/managed-postgres:now.*next tuesday/);
  });
});
