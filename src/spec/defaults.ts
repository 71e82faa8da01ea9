import type { ClusterSpec, ResolvedClusterSpec } from "./types";

/** Defaults applied by {@link resolveClusterSpec}; each documented where its field is. */
export const DEFAULTS = {
  majorVersion: 17,
  architecture: "arm64",
  backup: {
    retentionDays: 7, // seed 004: "Daily, 7-day retention"
    fullBackupTime: "01:00",
    logicalDump: { schedule: "Sun *-*-* 03:00:00", retentionDays: 30 }, // seed 004: weekly, 30 days
    coldStorageAfterDays: 30,
  },
  pooler: {
    poolMode: "transaction", // seed 004
    maxClientConnections: 1000, // seed 004
    defaultPoolSize: 20, // seed 004
    instanceCount: 2,
    readOnlyMaxLagBytes: 16 * 1024 * 1024,
  },
  maintenanceWindow: { day: "sun", startTime: "02:00", durationMinutes: 60 },
} as const;

/**
 * Applies defaults to a spec that has passed validation. Pure; does not validate.
 * Use {@link validateClusterSpec}, which returns the resolved spec.
 */
export function resolveClusterSpec(spec: ClusterSpec): ResolvedClusterSpec {
  const b = spec.backup ?? {};
  const p = spec.pooler ?? {};
  const m = spec.maintenanceWindow ?? {};
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
    tags: { ...(spec.tags ?? {}) },
  };
}
