import { ARCHITECTURES, SIZE_NAMES, SIZES, instanceTypeFor, postgresParametersForSize } from "../../src/cluster-spec";

// vCPU / memory (MiB) / maxconn exactly as seed 000's table.
const SEED_000: Record<string, [number, number, number]> = {
  XS: [1, 4096, 80],
  S: [1, 8192, 150],
  M: [2, 8192, 150],
  L: [2, 16384, 250],
  XL: [4, 16384, 250],
  XXL: [4, 32768, 500],
  "3XL": [8, 32768, 500],
  "4XL": [8, 65536, 500],
};

// Published EC2 specs (vCPU, GiB) of the types the table maps to.
const EC2: Record<string, [number, number]> = {
  "m7g.medium": [1, 4], "r7g.medium": [1, 8], "m7g.large": [2, 8], "r7g.large": [2, 16],
  "m7g.xlarge": [4, 16], "r7g.xlarge": [4, 32], "m7g.2xlarge": [8, 32], "r7g.2xlarge": [8, 64],
  "m7i.large": [2, 8], "r7i.large": [2, 16], "m7i.xlarge": [4, 16], "r7i.xlarge": [4, 32],
  "m7i.2xlarge": [8, 32], "r7i.2xlarge": [8, 64],
};

describe("sizes", () => {
  test.each(SIZE_NAMES.map((s) => [s]))("%s has seed 000's vCPU, memory and max connections", (size) => {
    const [vcpu, mem, maxconn] = SEED_000[size];
    expect(SIZES[size]).toMatchObject({ vcpu, memoryMiB: mem, maxConnections: maxconn });
  });

  test.each(SIZE_NAMES.map((s) => [s]))("%s maps to a Graviton type with exactly the table's vCPU and memory", (size) => {
    const type = instanceTypeFor(size, "arm64");
    expect(type).toMatch(/^[mr]7g\./);
    expect(EC2[type]).toEqual([SIZES[size].vcpu, SIZES[size].memoryMiB / 1024]);
  });

  test.each(SIZE_NAMES.map((s) => [s]))("%s maps to an x86_64 type with at least the table's vCPU and memory", (size) => {
    const [vcpu, gib] = EC2[instanceTypeFor(size, "x86_64")];
    expect(vcpu).toBeGreaterThanOrEqual(SIZES[size].vcpu);
    expect(gib * 1024).toBeGreaterThanOrEqual(SIZES[size].memoryMiB);
  });

  test("every architecture has a type for every size", () => {
    for (const a of ARCHITECTURES) for (const s of SIZE_NAMES) expect(instanceTypeFor(s, a)).toMatch(/^[a-z0-9]+\.[a-z0-9]+$/);
  });

  test("shared_buffers is 25 % and effective_cache_size 75 % of RAM (seed 004)", () => {
    const p = postgresParametersForSize("L");
    expect(p.sharedBuffersMiB).toBe(4096);
    expect(p.effectiveCacheSizeMiB).toBe(12288);
  });

  test("maintenance_work_mem is RAM/16 capped at 1 GiB (seed 004)", () => {
    expect(postgresParametersForSize("XS").maintenanceWorkMemMiB).toBe(256);
    expect(postgresParametersForSize("4XL").maintenanceWorkMemMiB).toBe(1024);
  });

  test.each(SIZE_NAMES.map((s) => [s]))("%s: work_mem × max_connections stays within a quarter of RAM", (size) => {
    const p = postgresParametersForSize(size);
    expect(p.workMemMiB).toBeGreaterThanOrEqual(4);
    expect(p.workMemMiB * p.maxConnections).toBeLessThanOrEqual(SIZES[size].memoryMiB / 4);
  });
});
