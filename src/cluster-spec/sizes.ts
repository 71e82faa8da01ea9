/**
 * Instance sizes XS..4XL.
 *
 * vCPU, memory and max connections come from Cloud Temple Managed PostgreSQL ("Instance Sizes" table of the
 * Cloud Temple Managed PostgreSQL documentation). Its innodb_* columns are MySQL
 * leftovers; the PostgreSQL parameters below follow the PostgreSQL reference architecture's parameter-group rules
 * (shared_buffers 25 % of RAM, effective_cache_size 75 % of RAM, maintenance_work_mem
 * 1 GB) scaled to each size.
 */

/** The size names, smallest first. */
export const SIZE_NAMES = ["XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL"] as const;
/** One of {@link SIZE_NAMES}. */
export type SizeName = (typeof SIZE_NAMES)[number];

/** CPU architecture of the EC2 instances. */
export const ARCHITECTURES = ["arm64", "x86_64"] as const;
/** One of {@link ARCHITECTURES}. */
export type Architecture = (typeof ARCHITECTURES)[number];

/** A size as Cloud Temple Managed PostgreSQL defines it. */
export interface SizeDefinition {
  /** Size name. */
  readonly name: SizeName;
  /** Virtual CPUs (Cloud Temple Managed PostgreSQL: "1000m" = 1). */
  readonly vcpu: number;
  /** Memory in MiB (Cloud Temple Managed PostgreSQL: "4096Mi"). */
  readonly memoryMiB: number;
  /** PostgreSQL max_connections (Cloud Temple Managed PostgreSQL: "maxconn"). */
  readonly maxConnections: number;
  /**
   * EC2 instance type per architecture, with exactly the table's vCPU and memory.
   * arm64: Graviton3 m7g (4 GiB per vCPU) / r7g (8 GiB per vCPU).
   * x86_64: m7i / r7i; current-generation x86 has no 1-vCPU type, so XS and S get
   * m7i.large (2 vCPU, 8 GiB): at least the table's vCPU and memory.
   */
  readonly instanceType: Readonly<Record<Architecture, string>>;
}

/** The size table (Cloud Temple Managed PostgreSQL, "Instance Sizes"). */
export const SIZES: Readonly<Record<SizeName, SizeDefinition>> = {
  XS: { name: "XS", vcpu: 1, memoryMiB: 4096, maxConnections: 80, instanceType: { arm64: "m7g.medium", x86_64: "m7i.large" } },
  S: { name: "S", vcpu: 1, memoryMiB: 8192, maxConnections: 150, instanceType: { arm64: "r7g.medium", x86_64: "m7i.large" } },
  M: { name: "M", vcpu: 2, memoryMiB: 8192, maxConnections: 150, instanceType: { arm64: "m7g.large", x86_64: "m7i.large" } },
  L: { name: "L", vcpu: 2, memoryMiB: 16384, maxConnections: 250, instanceType: { arm64: "r7g.large", x86_64: "r7i.large" } },
  XL: { name: "XL", vcpu: 4, memoryMiB: 16384, maxConnections: 250, instanceType: { arm64: "m7g.xlarge", x86_64: "m7i.xlarge" } },
  XXL: { name: "XXL", vcpu: 4, memoryMiB: 32768, maxConnections: 500, instanceType: { arm64: "r7g.xlarge", x86_64: "r7i.xlarge" } },
  "3XL": { name: "3XL", vcpu: 8, memoryMiB: 32768, maxConnections: 500, instanceType: { arm64: "m7g.2xlarge", x86_64: "m7i.2xlarge" } },
  "4XL": { name: "4XL", vcpu: 8, memoryMiB: 65536, maxConnections: 500, instanceType: { arm64: "r7g.2xlarge", x86_64: "r7i.2xlarge" } },
};

/** PostgreSQL memory and connection parameters for a size; memory values in MiB. */
export interface PostgresSizeParameters {
  /** max_connections: Cloud Temple Managed PostgreSQL's maxconn. */
  readonly maxConnections: number;
  /** shared_buffers in MiB: 25 % of RAM (PostgreSQL reference architecture). */
  readonly sharedBuffersMiB: number;
  /** effective_cache_size in MiB: 75 % of RAM (PostgreSQL reference architecture). */
  readonly effectiveCacheSizeMiB: number;
  /**
   * work_mem in MiB: 25 % of RAM divided by max_connections, at least 4 MiB (PostgreSQL's
   * default). The PostgreSQL reference architecture's flat 256 MB would allow 500 × 256 MB = 125 GiB of sort memory on a
   * 16 GiB host; this keeps the worst case within a quarter of RAM.
   */
  readonly workMemMiB: number;
  /** maintenance_work_mem in MiB: RAM / 16, capped at 1024 MiB (PostgreSQL reference architecture: "1 GB"). */
  readonly maintenanceWorkMemMiB: number;
}

/** Derives the PostgreSQL parameters of a size (pure; see {@link PostgresSizeParameters}). */
export function postgresParametersForSize(size: SizeName): PostgresSizeParameters {
  const def = SIZES[size];
  const ram = def.memoryMiB;
  return {
    maxConnections: def.maxConnections,
    sharedBuffersMiB: Math.floor(ram / 4),
    effectiveCacheSizeMiB: Math.floor((ram * 3) / 4),
    workMemMiB: Math.max(4, Math.floor(ram / 4 / def.maxConnections)),
    maintenanceWorkMemMiB: Math.min(1024, Math.floor(ram / 16)),
  };
}

/** The EC2 instance type of a size on an architecture. */
export function instanceTypeFor(size: SizeName, architecture: Architecture): string {
  return SIZES[size].instanceType[architecture];
}
