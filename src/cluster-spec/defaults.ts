import type { BackupSpec, ClusterSpec, MaintenanceWindowSpec, PatroniTimingSpec, PoolerSpec, ResolvedClusterSpec, UpgradeFrom, UpgradeTo } from "./types";

/**
 * Defaults applied by {@link resolveClusterSpec}; each is documented (with its source) at its
 * field in {@link ClusterSpec}, {@link BackupSpec}, {@link PoolerSpec} and
 * {@link MaintenanceWindowSpec} and {@link PatroniTimingSpec}.
 */
export const DEFAULTS = {
  /** Newest supported major version: the longest support window. */
  majorVersion: 17,
  /** Graviton. */
  architecture: "arm64",
  /** Backup defaults. */
  backup: {
    retentionDays: 7, // the PostgreSQL reference architecture: "Daily, 7-day retention"
    fullBackupTime: "01:00",
    logicalDump: { schedule: "Sun *-*-* 03:00:00", retentionDays: 30 }, // the PostgreSQL reference architecture: weekly, 30 days
    coldStorageAfterDays: 30,
  },
  /** PgBouncer defaults (the PostgreSQL reference architecture's production configuration). */
  pooler: {
    poolMode: "transaction", // the PostgreSQL reference architecture
    maxClientConnections: 1000, // the PostgreSQL reference architecture
    defaultPoolSize: 20, // the PostgreSQL reference architecture
    instanceCount: 2,
    readOnlyMaxLagBytes: 16 * 1024 * 1024,
  },
  /** Sunday 02:00 UTC for one hour. */
  maintenanceWindow: { day: "sun", startTime: "02:00", durationMinutes: 60 },
  /** Patroni timing in seconds; reasoning and sources at `PATRONI_TIMING` (src/render/patroni.ts). */
  patroni: { ttl: 20, loopWait: 8, retryTimeout: 5 },
} as const;

/**
 * Applies defaults to a spec that has passed validation. Pure; does not validate.
 * Use {@link validateClusterSpec}, which returns the resolved spec.
 */
export function resolveClusterSpec(spec: ClusterSpec): ResolvedClusterSpec {
  const b = spec.backup ?? {};
  const p = spec.pooler ?? {};
  const m = spec.maintenanceWindow ?? {};
  const t: PatroniTimingSpec = spec.patroni ?? {};
  const d = DEFAULTS;
  return {
    name: spec.name,
    deployment: spec.deployment,
    size: spec.size,
    storageGiB: spec.storageGiB,
    majorVersion: spec.majorVersion ?? d.majorVersion,
    allowMajorVersionUpgrade: spec.allowMajorVersionUpgrade ?? false,
    architecture: spec.architecture ?? d.architecture,
    backup: {
      retentionDays: b.retentionDays ?? d.backup.retentionDays,
      fullBackupTime: b.fullBackupTime ?? d.backup.fullBackupTime,
      logicalDump: {
        schedule: b.logicalDump?.schedule ?? d.backup.logicalDump.schedule,
        retentionDays: b.logicalDump?.retentionDays ?? d.backup.logicalDump.retentionDays,
      },
      coldStorageAfterDays: b.coldStorageAfterDays ?? d.backup.coldStorageAfterDays,
    },
    pooler: {
      poolMode: p.poolMode ?? d.pooler.poolMode,
      maxClientConnections: p.maxClientConnections ?? d.pooler.maxClientConnections,
      defaultPoolSize: p.defaultPoolSize ?? d.pooler.defaultPoolSize,
      instanceCount: p.instanceCount ?? d.pooler.instanceCount,
      readOnlyMaxLagBytes: p.readOnlyMaxLagBytes ?? d.pooler.readOnlyMaxLagBytes,
    },
    network: spec.network
      ? {
          vpcId: spec.network.vpcId,
          subnetIds: [...spec.network.subnetIds],
          allowedCidrs: [...(spec.network.allowedCidrs ?? [])],
          allowedSecurityGroupIds: [...(spec.network.allowedSecurityGroupIds ?? [])],
        }
      : undefined,
    maintenanceWindow: {
      day: m.day ?? d.maintenanceWindow.day,
      startTime: m.startTime ?? d.maintenanceWindow.startTime,
      durationMinutes: m.durationMinutes ?? d.maintenanceWindow.durationMinutes,
    },
    applyImmediately: spec.applyImmediately ?? false,
    // A token (a map variable) is kept as it is: spreading it would copy the token object's fields.
    tags: spec.tags === undefined ? {} : isPlainObject(spec.tags) ? { ...spec.tags } : spec.tags,
    patroni: {
      ttl: t.ttl ?? d.patroni.ttl,
      loopWait: t.loopWait ?? d.patroni.loopWait,
      retryTimeout: t.retryTimeout ?? d.patroni.retryTimeout,
    },
    ...(spec.upgradeFrom === undefined ? {} : { upgradeFrom: resolveUpgradeFrom(spec.upgradeFrom) }),
    ...(spec.upgradeTo === undefined ? {} : { upgradeTo: resolveUpgradeTo(spec.upgradeTo) }),
  };
}

/** `upgradeFrom` with `cutover` defaulted to false; a token (an object variable) is kept as it is. */
function resolveUpgradeFrom(u: UpgradeFrom): UpgradeFrom & { readonly cutover: boolean } {
  if (!isPlainObject(u)) return u as UpgradeFrom & { readonly cutover: boolean };
  return { ...u, nodeAddresses: Array.isArray(u.nodeAddresses) ? [...u.nodeAddresses] : u.nodeAddresses, cutover: u.cutover ?? false };
}

/**
 * `upgradeTo` as given, its address list copied; the endpoint fields (`readWriteEndpoint`,
 * `readWritePort`, `readOnlyEndpoint`, `readOnlyPort`) kept when given, none added (a missing
 * read-only endpoint means green's read-write one: the renderers apply that). A token (an
 * object variable) is kept as it is.
 */
function resolveUpgradeTo(u: UpgradeTo): UpgradeTo {
  if (!isPlainObject(u) || !Array.isArray(u.nodeAddresses)) return u;
  const optional = (["readWriteEndpoint", "readWritePort", "readOnlyEndpoint", "readOnlyPort"] as const).filter((k) => u[k] !== undefined);
  return { nodeAddresses: [...u.nodeAddresses], ...Object.fromEntries(optional.map((k) => [k, u[k]])) };
}

/** True for an object literal (not a class instance such as a cdktf token, nor an array). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype;
}
