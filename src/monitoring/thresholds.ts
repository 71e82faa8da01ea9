/**
 * Alarm thresholds of a cluster: the prop, its defaults (PostgreSQL reference architecture) and its checks. Pure; no
 * cdktf import. `ManagedPostgres` reports threshold problems with every other invalid prop
 * (see {@link monitoringThresholdIssues}).
 */
import { SpecValidationError, showValue, type SpecIssue } from "../cluster-spec/validate";

/**
 * Alarm thresholds of a cluster. Every default comes from the PostgreSQL reference architecture ("Monitoring &
 * Alerting" table: CPUUtilization, FreeableMemory, DatabaseConnections, ReplicaLag),
 * except where noted.
 */
export interface MonitoringThresholds {
  /** CPU busy above this, every minute for 5 minutes: warning. Percent, 1 to 100. @default 80 (PostgreSQL reference architecture: "> 80% for 5 min") */
  readonly cpuWarningPercent?: number;
  /** CPU busy above this, every minute for 2 minutes: critical. Percent, 1 to 100. @default 95 (PostgreSQL reference architecture: "> 95% for 2 min") */
  readonly cpuCriticalPercent?: number;
  /** Available memory below this for 5 minutes: critical. MiB, ≥ 1. @default 1024 (PostgreSQL reference architecture: "FreeableMemory < 1 GB") */
  readonly availableMemoryMiB?: number;
  /**
   * Client connections above this share of the size's max_connections for 5 minutes:
   * warning. Percent, 1 to 100. @default 80 (the PostgreSQL reference architecture gives "> 400" for max_connections
   * 500: 80 %)
   */
  readonly connectionsPercent?: number;
  /** Replica replay lag above this for 3 minutes: warning. Seconds, ≥ 1. @default 30 (PostgreSQL reference architecture: "ReplicaLag > 30 seconds") */
  readonly replicaLagSeconds?: number;
  /** Data volume used above this for 5 minutes: warning. Percent, 1 to 100. @default 80 */
  readonly dataDiskUsedPercent?: number;
  /**
   * Newest full backup older than this: critical. Hours, ≥ 1. @default 26 (daily full
   * backup, the PostgreSQL reference architecture "Daily", plus 2 hours for its duration)
   */
  readonly backupMaxAgeHours?: number;
  /**
   * A green cluster (`upgradeFrom`) whose follow of blue stays more than this behind for 15
   * minutes: warning. MiB of blue's WAL green has not confirmed (`mp_upgrade_lag_bytes`),
   * 1 to 32768. @default 256: half of blue's `max_slot_wal_keep_size` on the smallest data
   * volume (storageGiB 2: a quarter of the volume is 512 MiB, `walLimitsForVolume`,
   * src/render/postgres.ts). Past `max_slot_wal_keep_size` PostgreSQL invalidates the slot
   * and the follow cannot continue (a new green is the way on), so the warning comes at half
   * of it whatever blue's size: green does not know blue's `storageGiB`. For a larger blue, up
   * to half of its limit: `storageGiB × 128` (a 100 GiB blue: 12800). The maximum is the
   * limit of the largest volume (128 GiB: 32768 MiB).
   */
  readonly upgradeLagMiB?: number;
}

/** {@link MonitoringThresholds} with every default applied. */
export type ResolvedMonitoringThresholds = Required<MonitoringThresholds>;

/** The defaults (PostgreSQL reference architecture). */
export const DEFAULT_MONITORING_THRESHOLDS: ResolvedMonitoringThresholds = {
  cpuWarningPercent: 80,
  cpuCriticalPercent: 95,
  availableMemoryMiB: 1024,
  connectionsPercent: 80,
  replicaLagSeconds: 30,
  dataDiskUsedPercent: 80,
  backupMaxAgeHours: 26,
  upgradeLagMiB: 256,
};

const THRESHOLD_RANGES: Record<keyof MonitoringThresholds, [number, number]> = {
  cpuWarningPercent: [1, 100],
  cpuCriticalPercent: [1, 100],
  availableMemoryMiB: [1, 1024 * 1024],
  connectionsPercent: [1, 100],
  replicaLagSeconds: [1, 86400],
  dataDiskUsedPercent: [1, 100],
  backupMaxAgeHours: [1, 24 * 365],
  upgradeLagMiB: [1, 32768],
};

/** Options of {@link monitoringThresholdIssues}. */
export interface ThresholdCheckOptions {
  /**
   * Field path of the thresholds object in messages.
   * @default "monitoring.thresholds"
   */
  readonly path?: string;
  /**
   * Tells unresolved tokens (cdktf `Token.isUnresolved`) from literal values. A threshold
   * holding one is reported: the alarm descriptions and the dashboard are computed from it.
   * @default - no value is a token
   */
  readonly isUnresolved?: (value: unknown) => boolean;
}

/**
 * Every problem with a thresholds object, as {@link SpecIssue}s (field path, value, what is
 * allowed): a field that is not a finite number in its range (see each field of
 * {@link MonitoringThresholds}), a field holding a token, a field the type does not have
 * (a misspelt name would otherwise be ignored), or a thresholds value that is not an object.
 * Empty when `t` is undefined or valid. Pure.
 */
export function monitoringThresholdIssues(t: unknown, options: ThresholdCheckOptions = {}): SpecIssue[] {
  const base = options.path ?? "monitoring.thresholds";
  const isUnresolved = options.isUnresolved ?? (() => false);
  if (t === undefined) return [];
  if (t === null || typeof t !== "object" || Array.isArray(t) || isUnresolved(t)) {
    return [{ path: base, value: t, message: `\`${base}\` must be an object with the fields ${Object.keys(THRESHOLD_RANGES).join(", ")}. Got ${showValue(t)}` }];
  }
  const issues: SpecIssue[] = [];
  for (const [key, v] of Object.entries(t)) {
    const path = `${base}.${key}`;
    const range = (THRESHOLD_RANGES as Record<string, [number, number] | undefined>)[key];
    if (range === undefined) {
      issues.push({ path, value: v, message: `\`${path}\` is not a threshold; allowed: ${Object.keys(THRESHOLD_RANGES).join(", ")}` });
      continue;
    }
    if (v === undefined) continue;
    const [min, max] = range;
    if (isUnresolved(v)) {
      issues.push({ path, value: v, message: `\`${path}\` must be a literal number from ${min} to ${max}, not a token: the alarm descriptions and the dashboard are computed from it` });
    } else if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      issues.push({ path, value: v, message: `\`${path}\` must be a number from ${min} to ${max}. Got ${showValue(v)}` });
    }
  }
  return issues;
}

/**
 * Applies the defaults and checks the ranges.
 * @throws SpecValidationError listing every problem found by {@link monitoringThresholdIssues},
 *   each naming the field, the value and the range, e.g.
 *   "`monitoring.thresholds.cpuWarningPercent` must be a number from 1 to 100. Got 120"
 */
export function resolveMonitoringThresholds(t: MonitoringThresholds = {}): ResolvedMonitoringThresholds {
  const issues = monitoringThresholdIssues(t);
  if (issues.length > 0) throw new SpecValidationError(issues);
  return { ...DEFAULT_MONITORING_THRESHOLDS, ...definedFields(t) };
}

function definedFields(t: MonitoringThresholds): MonitoringThresholds {
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined));
}
