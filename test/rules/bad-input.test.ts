/**
 * Bad input never gets through, good input always does (fast-check):
 * - every valid spec (arbitrary over the schema's domain) synthesizes;
 * - every spec with one field mutated out of range, to a wrong enum value or a wrong type
 *   is refused with an error naming that field, by validation and by the construct, and a
 *   refused synth writes nothing to the output directory.
 * Synth is slow: the synth properties run 20 cases, the pure validation ones 300.
 */
import * as fc from "fast-check";
import { SpecValidationError, validateClusterSpec, type ClusterSpec, type SizeName } from "../../src/cluster-spec";
import type { ManagedPostgresProps } from "../../constructs/aws/managed-postgres";
import { filesUnder, freshDir, synthCluster } from "./synth-helpers";

const hex = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${min},${max}}$`));
const hhmm = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const dropUndefined = <T extends object>(o: T): T => JSON.parse(JSON.stringify(o));

/** Valid specs: every field over its documented domain (src/cluster-spec/cluster-spec.schema.json). */
const validSpec: fc.Arbitrary<ClusterSpec & { network: NonNullable<ClusterSpec["network"]> }> = fc
  .record({
    name: fc.stringMatching(/^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$/),
    deployment: fc.constantFrom("standalone" as const, "distributed" as const),
    size: fc.constantFrom<SizeName>("XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL"),
    storageGiB: fc.integer({ min: 2, max: 128 }),
    majorVersion: opt(fc.constantFrom(15 as const, 16 as const, 17 as const)),
    allowMajorVersionUpgrade: opt(fc.boolean()),
    architecture: opt(fc.constantFrom("arm64" as const, "x86_64" as const)),
    backup: opt(
      fc.record(
        {
          retentionDays: fc.integer({ min: 1, max: 365 }),
          fullBackupTime: hhmm,
          coldStorageAfterDays: fc.integer({ min: 30, max: 3650 }),
          logicalDump: fc.record({ retentionDays: fc.integer({ min: 1, max: 3650 }) }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      ),
    ),
    pooler: opt(
      fc.record(
        {
          poolMode: fc.constantFrom("transaction" as const, "session" as const, "statement" as const),
          maxClientConnections: fc.integer({ min: 10, max: 100000 }),
          defaultPoolSize: fc.integer({ min: 1, max: 10000 }),
          instanceCount: fc.integer({ min: 2, max: 9 }),
          readOnlyMaxLagBytes: fc.integer({ min: 0, max: 2 ** 30 }),
        },
        { requiredKeys: [] },
      ),
    ),
    maintenanceWindow: opt(
      fc.record(
        {
          day: fc.constantFrom("mon" as const, "tue" as const, "wed" as const, "thu" as const, "fri" as const, "sat" as const, "sun" as const),
          startTime: hhmm,
          durationMinutes: fc.integer({ min: 30, max: 480 }),
        },
        { requiredKeys: [] },
      ),
    ),
    tags: opt(fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,20}$/), fc.string({ maxLength: 30 }), { maxKeys: 5 })),
    vpc: hex(8, 17),
    subnets: fc.uniqueArray(hex(8, 17), { minLength: 3, maxLength: 3 }),
    cidrPrefix: fc.integer({ min: 8, max: 28 }),
  })
  .map(({ vpc, subnets, cidrPrefix, ...rest }) =>
    dropUndefined({
      ...rest,
      network: {
        vpcId: `vpc-${vpc}`,
        subnetIds: subnets.slice(0, rest.deployment === "distributed" ? 3 : 1).map((s) => `subnet-${s}`),
        allowedCidrs: [`10.0.0.0/${cidrPrefix}`],
      },
    }),
  );

/** One field and values that are invalid for it (out of range, wrong enum value, wrong type). */
const MUTATIONS: { path: string; values: unknown[] }[] = [
  { path: "name", values: ["", "Orders", "1orders", "orders-", "a".repeat(41), "orders_db", 42] },
  { path: "deployment", values: ["ha", "Standalone", 3, null] },
  { path: "size", values: ["XXS", "xl", "5XL", 1] },
  { path: "storageGiB", values: [0, 1, 129, 1000, 2.5, "20", -5] },
  { path: "majorVersion", values: [14, 18, "17", 16.5] },
  { path: "allowMajorVersionUpgrade", values: ["yes", 1] },
  { path: "architecture", values: ["arm", "amd64"] },
  { path: "backup.retentionDays", values: [0, 366, "7"] },
  { path: "backup.fullBackupTime", values: ["25:00", "1:00", "noon"] },
  { path: "backup.coldStorageAfterDays", values: [29, 3651] },
  { path: "pooler.poolMode", values: ["auto", "Transaction"] },
  { path: "pooler.maxClientConnections", values: [9, 100001] },
  { path: "pooler.defaultPoolSize", values: [0, 10001] },
  { path: "pooler.instanceCount", values: [1, 10] },
  { path: "maintenanceWindow.day", values: ["monday", "Sun"] },
  { path: "maintenanceWindow.durationMinutes", values: [29, 481] },
  { path: "network.vpcId", values: ["vpc-xyz", "subnet-0abc1234"] },
  { path: "network.allowedCidrs[0]", values: ["0.0.0.0/0", "10.0.0.0/4"] },
];

function withField(spec: any, dotted: string, value: unknown): any {
  const copy = JSON.parse(JSON.stringify(spec));
  const keys = dotted.replace(/\[(\d+)\]/g, ".$1").split(".");
  let cur = copy;
  for (const k of keys.slice(0, -1)) cur = cur[k] ??= {};
  cur[keys[keys.length - 1]] = value;
  return copy;
}

const mutation = fc.constantFrom(...MUTATIONS).chain((m) => fc.constantFrom(...m.values).map((value) => ({ path: m.path, value })));

/** The field an error names: an issue's path, or the field in backticks at the start of a message. */
function namesField(e: unknown, path: string): boolean {
  if (!(e instanceof SpecValidationError)) return false;
  return e.issues.some((i) => i.path === path || i.message.includes(`\`${path}\``));
}

const NOW = "2026-11-21T00:00:00Z";
// PostgreSQL 16 has no official Debian image: such a spec names its own (an AWS prop, not a spec field)
const asProps = (spec: any): ManagedPostgresProps => ({ ...spec, now: NOW, ...(spec.majorVersion === 16 ? { imageId: "ami-0123456789abcdef0" } : {}) });

test("property: every valid spec passes validation", () => {
  fc.assert(
    fc.property(validSpec, (spec) => {
      validateClusterSpec(spec);
    }),
    { numRuns: 300 },
  );
});

test("property: every valid spec synthesizes a stack", () => {
  fc.assert(
    fc.property(validSpec, (spec) => {
      const { outdir } = synthCluster(asProps(spec));
      return filesUnder(outdir).includes("stacks/db/cdk.tf.json");
    }),
    { numRuns: 20 },
  );
});

test("property: a spec with one invalid field is refused by validation naming that field", () => {
  fc.assert(
    fc.property(validSpec, mutation, (spec, m) => {
      try {
        validateClusterSpec(withField(spec, m.path, m.value));
      } catch (e) {
        return namesField(e, m.path);
      }
      return false;
    }),
    { numRuns: 300 },
  );
});

test("property: ManagedPostgres refuses a spec with one invalid field, naming it, and writes nothing", () => {
  fc.assert(
    fc.property(validSpec, mutation, (spec, m) => {
      const outdir = freshDir();
      try {
        synthCluster(asProps(withField(spec, m.path, m.value)), { outdir });
      } catch (e) {
        return namesField(e, m.path) && filesUnder(outdir).length === 0;
      }
      return false;
    }),
    { numRuns: 25 },
  );
});

test("a wrong type for a whole object is refused naming it", () => {
  expect(() => validateClusterSpec({ ...withField({ name: "orders", deployment: "standalone", size: "S", storageGiB: 2 }, "pooler", "big") })).toThrow(/`pooler`/);
});

/*
 * Accepted-but-broken-later inputs (issue 16): values AWS, systemd or Terraform would refuse
 * at apply or at boot are refused at synth, each naming the field, the value and the fix.
 */
const base = { name: "orders", deployment: "standalone", size: "S", storageGiB: 20 } as const;
const issuesOf = (input: unknown): string[] => {
  try {
    validateClusterSpec(input, { requireNetwork: false });
  } catch (e) {
    if (e instanceof SpecValidationError) return e.issues.map((i) => i.message);
    throw e;
  }
  return [];
};

test.each([
  ["xn--orders", 'S3 refuses bucket names starting with "xn--"'],
  ["sthree-orders", 'S3 refuses bucket names starting with "sthree-"'],
  ["sthree-configurator", 'S3 refuses bucket names starting with "sthree-"'],
  ["amzn-s3-demo-db", 'S3 refuses bucket names starting with "amzn-s3-demo-"'],
])("name %s (the backup bucket's prefix) is refused: %s", (name, why) => {
  expect(issuesOf({ ...base, name })).toEqual([expect.stringContaining(why)]);
});

test.each(["aws:cost-center", "AWS:Owner", "Aws:x"])("tag key %s is refused: reserved for AWS", (key) => {
  expect(issuesOf({ ...base, tags: { [key]: "x" } })).toEqual([`\`tags.${key}\`: tag keys starting with "aws:" are reserved for AWS, which refuses them; choose another key`]);
});

test.each([
  ["10.0.0.5/16", "host bits are set; did you mean 10.0.0.0/16?"],
  ["192.168.1.1/24", "host bits are set; did you mean 192.168.1.0/24?"],
  ["172.16.255.255/12", "host bits are set; did you mean 172.16.0.0/12?"],
  ["010.0.0.0/16", "leading zeros are not accepted by Terraform or EC2; did you mean 10.0.0.0/16?"],
  ["10.0.0.256/32", "octets must be 0 to 255 and the prefix 0 to 32"],
])("allowed CIDR %s is refused: %s", (cidr, why) => {
  const network = { vpcId: "vpc-0abc12345", subnetIds: ["subnet-0aaa11111"], allowedCidrs: [cidr] };
  expect(issuesOf({ ...base, network })).toEqual([`\`network.allowedCidrs[0]\`: got "${cidr}"; ${why}`]);
});

test.each([
  [NaN, "got NaN"],
  [Infinity, "got Infinity"],
  [-Infinity, "got -Infinity"],
])("storageGiB %p is reported as such, not as null", (value, shown) => {
  expect(issuesOf({ ...base, storageGiB: value })).toEqual([`\`storageGiB\`: ${shown}; expected an integer number of GiB from 2 to 128`]);
});

test("the construct's own options: egress CIDRs (malformed, host bits), imageId, NaN", () => {
  const props = asProps({
    ...base,
    network: { vpcId: "vpc-0abc12345", subnetIds: ["subnet-0aaa11111"], allowedCidrs: ["10.0.0.0/16"] },
    httpsEgressCidrs: ["10.1.2.3/8", "pypi.org", "300.0.0.0/8"],
    imageId: "ami-${x}",
    secretRecoveryWindowDays: NaN,
  });
  let messages: string[] = [];
  try {
    synthCluster(props);
  } catch (e) {
    messages = (e as SpecValidationError).issues.map((i) => i.message);
  }
  expect(messages).toEqual([
    "`secretRecoveryWindowDays`: got NaN; expected an integer from 7 to 30",
    '`httpsEgressCidrs[0]`: got "10.1.2.3/8"; host bits are set; did you mean 10.0.0.0/8?',
    '`httpsEgressCidrs[1]`: got "pypi.org"; expected an IPv4 CIDR such as "10.0.0.0/16"',
    '`httpsEgressCidrs[2]`: got "300.0.0.0/8"; octets must be 0 to 255 and the prefix 0 to 32',
    '`imageId`: got "ami-${x}"; expected an AMI id such as "ami-0abc12345678"',
  ]);
});
