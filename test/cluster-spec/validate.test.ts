import { DEFAULTS, SpecValidationError, validateClusterSpec, type SpecIssue } from "../../src/cluster-spec";
import { distributedSpec } from "./fixtures";

function issuesOf(input: unknown, options = {}): SpecIssue[] {
  try {
    validateClusterSpec(input, options);
  } catch (err) {
    if (err instanceof SpecValidationError) return [...err.issues];
    throw err;
  }
  throw new Error("expected the spec to be refused");
}

function onlyIssue(input: unknown, options = {}): SpecIssue {
  const issues = issuesOf(input, options);
  expect(issues).toHaveLength(1);
  return issues[0];
}

describe("validateClusterSpec", () => {
  test("a valid distributed spec resolves with seed defaults", () => {
    const { spec, deferred } = validateClusterSpec(distributedSpec());
    expect(deferred).toEqual([]);
    expect(spec.majorVersion).toBe(17);
    expect(spec.architecture).toBe("arm64");
    expect(spec.pooler).toEqual({ poolMode: "transaction", maxClientConnections: 1000, defaultPoolSize: 20, instanceCount: 2, readOnlyMaxLagBytes: 16777216 });
    expect(spec.backup.retentionDays).toBe(7);
    expect(spec.backup.logicalDump).toEqual(DEFAULTS.backup.logicalDump);
    expect(spec.network?.allowedSecurityGroupIds).toEqual([]);
  });

  test("given values win over defaults", () => {
    const { spec } = validateClusterSpec(distributedSpec({ majorVersion: 15, pooler: { poolMode: "session", defaultPoolSize: 5 } }));
    expect(spec.majorVersion).toBe(15);
    expect(spec.pooler.poolMode).toBe("session");
    expect(spec.pooler.defaultPoolSize).toBe(5);
    expect(spec.pooler.maxClientConnections).toBe(1000);
  });

  test.each([
    ["storageGiB", 1, /`storageGiB`: got 1; expected an integer number of GiB from 2 to 128/],
    ["storageGiB", 129, /`storageGiB`: got 129/],
    ["storageGiB", 10.5, /`storageGiB`: got 10.5/],
    ["size", "XXXL", /`size`: got "XXXL"; expected one of XS, S, M, L, XL, XXL, 3XL, 4XL/],
    ["deployment", "cluster", /`deployment`: got "cluster"; expected "standalone" or "distributed"/],
    ["majorVersion", 14, /`majorVersion`: got 14; expected 15, 16 or 17/],
    ["name", "Orders_DB", /`name`: got "Orders_DB"/],
    ["name", "orders-", /`name`: got "orders-"/],
  ])("%s = %p is refused naming the field, the value and what is allowed", (field, value, message) => {
    const issue = onlyIssue(distributedSpec({ [field]: value } as any));
    expect(issue.path).toBe(field);
    expect(issue.value).toEqual(value);
    expect(issue.message).toMatch(message);
  });

  test("a missing required field is named", () => {
    const { storageGiB: _omit, ...rest } = distributedSpec();
    const issue = onlyIssue(rest);
    expect(issue.path).toBe("storageGiB");
    expect(issue.message).toMatch(/`storageGiB` is required/);
  });

  test("an unknown field is named with the allowed fields", () => {
    const issue = onlyIssue({ ...distributedSpec(), storageGB: 10 });
    expect(issue.path).toBe("storageGB");
    expect(issue.message).toMatch(/not a known field; allowed fields: name, deployment, size, storageGiB/);
  });

  test("a nested invalid field is named by its full path", () => {
    const issue = onlyIssue(distributedSpec({ backup: { logicalDump: { retentionDays: 0 } } }));
    expect(issue.path).toBe("backup.logicalDump.retentionDays");
  });

  test("every problem is reported together, not only the first", () => {
    const issues = issuesOf(distributedSpec({ size: "XXXL" as any, storageGiB: 500, majorVersion: 9 as any }));
    expect(issues.map((i) => i.path).sort()).toEqual(["majorVersion", "size", "storageGiB"]);
  });

  test("the error message lists every problem, one per line", () => {
    try {
      validateClusterSpec(distributedSpec({ size: "XXXL" as any, storageGiB: 500 }), { source: "postgres.yaml" });
      throw new Error("not refused");
    } catch (err) {
      expect((err as Error).message).toMatch(/^Invalid cluster spec \(postgres.yaml\): 2 problems\n {2}- .*size.*\n {2}- .*storageGiB/s);
    }
  });

  test("a distributed cluster needs exactly three subnets", () => {
    const issue = onlyIssue(distributedSpec({ network: { vpcId: "vpc-0a1b2c3d", subnetIds: ["subnet-0a000001"], allowedCidrs: ["10.0.0.0/16"] } }));
    expect(issue.path).toBe("network.subnetIds");
    expect(issue.message).toMatch(/got 1 subnet; a distributed cluster needs exactly 3, one private subnet in each of 3 availability zones/);
  });

  test("a standalone cluster needs exactly one subnet", () => {
    const issue = onlyIssue(distributedSpec({ deployment: "standalone" }));
    expect(issue.message).toMatch(/got 3 subnets; a standalone cluster needs exactly 1/);
  });

  test("the same subnet twice is refused", () => {
    const issue = onlyIssue(
      distributedSpec({ network: { vpcId: "vpc-0a1b2c3d", subnetIds: ["subnet-0a000001", "subnet-0a000001", "subnet-0c000003"], allowedCidrs: ["10.0.0.0/16"] } }),
    );
    expect(issue.message).toMatch(/"subnet-0a000001" is listed twice/);
  });

  test.each(["0.0.0.0/0", "64.0.0.0/2"])("an allowed CIDR open to the internet (%s) is refused", (cidr) => {
    const issue = onlyIssue(distributedSpec({ network: { ...distributedSpec().network!, allowedCidrs: [cidr] } }));
    expect(issue.path).toBe("network.allowedCidrs[0]");
    expect(issue.message).toMatch(/open the database to the internet/);
  });

  test("a malformed CIDR is refused", () => {
    const issue = onlyIssue(distributedSpec({ network: { ...distributedSpec().network!, allowedCidrs: ["10.0.0.300/16"] } }));
    expect(issue.path).toBe("network.allowedCidrs[0]");
  });

  test("a cluster no client may reach is refused", () => {
    const issue = onlyIssue(distributedSpec({ network: { vpcId: "vpc-0a1b2c3d", subnetIds: distributedSpec().network!.subnetIds } }));
    expect(issue.message).toMatch(/no client could connect/);
  });

  test("allowed security groups alone are enough", () => {
    const net = { vpcId: "vpc-0a1b2c3d", subnetIds: distributedSpec().network!.subnetIds, allowedSecurityGroupIds: ["sg-0123abcd"] };
    expect(() => validateClusterSpec(distributedSpec({ network: net }))).not.toThrow();
  });

  test("tags with the library's reserved prefix are refused", () => {
    const issue = onlyIssue(distributedSpec({ tags: { "managed-postgres:cluster": "x" } }));
    expect(issue.path).toBe("tags.managed-postgres:cluster");
  });

  test("network is required to synthesize but optional for spec files", () => {
    const { network: _n, ...noNetwork } = distributedSpec();
    expect(onlyIssue(noNetwork).path).toBe("network");
    expect(validateClusterSpec(noNetwork, { requireNetwork: false }).spec.network).toBeUndefined();
  });

  test("a non-object spec is refused", () => {
    expect(onlyIssue([1, 2]).message).toMatch(/must be an object/);
    expect(onlyIssue(null).message).toMatch(/must be an object/);
  });

  describe("unresolved tokens", () => {
    const isUnresolved = (v: unknown) => typeof v === "string" && v.includes("${TfToken[") || (typeof v === "number" && v < -1e288);
    const NUMBER_TOKEN = -1.8881545897087626e289;

    test("a token-valued field is not checked at synth but returned as a deferred check", () => {
      const { deferred } = validateClusterSpec(distributedSpec({ storageGiB: NUMBER_TOKEN }), { isUnresolved });
      expect(deferred).toEqual([{ path: "storageGiB", rule: "an integer number of GiB from 2 to 128" }]);
    });

    test("token subnet and VPC ids are accepted", () => {
      const net = { vpcId: "${TfToken[TOKEN.1]}", subnetIds: ["${TfToken[TOKEN.2]}", "${TfToken[TOKEN.3]}", "${TfToken[TOKEN.4]}"], allowedCidrs: ["10.0.0.0/16"] };
      const { deferred } = validateClusterSpec(distributedSpec({ network: net }), { isUnresolved });
      expect(deferred.map((d) => d.path).sort()).toEqual(["network.subnetIds[0]", "network.subnetIds[1]", "network.subnetIds[2]", "network.vpcId"]);
    });

    test("literal values beside tokens are still checked", () => {
      const issue = onlyIssue(distributedSpec({ storageGiB: NUMBER_TOKEN, size: "XXXL" as any }), { isUnresolved });
      expect(issue.path).toBe("size");
    });
  });

  describe("patroni timing", () => {
    test("defaults to ttl 20, loopWait 8, retryTimeout 5 (valid on Patroni 4)", () => {
      expect(validateClusterSpec(distributedSpec()).spec.patroni).toEqual({ ttl: 20, loopWait: 8, retryTimeout: 5 });
    });

    test("given values win; the others keep their defaults", () => {
      const { spec } = validateClusterSpec(distributedSpec({ patroni: { ttl: 30, retryTimeout: 10 } }));
      expect(spec.patroni).toEqual({ ttl: 30, loopWait: 8, retryTimeout: 10 });
    });

    test.each([
      ["ttl", 10, /`patroni.ttl`: got 10; expected an integer number of seconds from 20 \(Patroni 4's minimum/],
      ["loopWait", 0, /`patroni.loopWait`: got 0; expected an integer number of seconds from 1/],
      ["retryTimeout", 2, /`patroni.retryTimeout`: got 2; expected an integer number of seconds from 3/],
      ["ttl", 20.5, /`patroni.ttl`: got 20.5/],
    ])("patroni.%s = %p is refused by its range", (field, value, message) => {
      const issue = onlyIssue(distributedSpec({ patroni: { [field]: value } }));
      expect(issue.path).toBe(`patroni.${field}`);
      expect(issue.value).toBe(value);
      expect(issue.message).toMatch(message);
    });

    test("loopWait + 2 × retryTimeout > ttl is refused naming the field, the values and the rule", () => {
      const issue = onlyIssue(distributedSpec({ patroni: { ttl: 20, loopWait: 5, retryTimeout: 8 } }));
      expect(issue.path).toBe("patroni.ttl");
      expect(issue.value).toBe(20);
      expect(issue.message).toMatch(/`patroni.ttl`: ttl 20 s, loopWait 5 s, retryTimeout 8 s break Patroni's rule loopWait \+ 2 × retryTimeout ≤ ttl \(5 \+ 2 × 8 = 21 > 20\)/);
    });

    test("the rule counts defaults: a retryTimeout alone that breaks it is named", () => {
      const issue = onlyIssue(distributedSpec({ patroni: { retryTimeout: 10 } }));
      expect(issue.path).toBe("patroni.retryTimeout");
      expect(issue.message).toMatch(/8 \+ 2 × 10 = 28 > 20/);
    });

    test("the boundary loopWait + 2 × retryTimeout = ttl is accepted", () => {
      expect(validateClusterSpec(distributedSpec({ patroni: { ttl: 20, loopWait: 4, retryTimeout: 8 } })).spec.patroni.ttl).toBe(20);
    });

    test("an unknown patroni field is named", () => {
      const issue = onlyIssue(distributedSpec({ patroni: { loop_wait: 2 } as any }));
      expect(issue.path).toBe("patroni.loop_wait");
    });
  });
});
