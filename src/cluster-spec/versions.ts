/**
 * PostgreSQL major versions and their end of support.
 *
 * Dates: PostgreSQL versioning policy (postgresql.org/support/versioning): final minor
 * release of 15 on 2027-11-11, 16 on 2028-11-09, 17 on 2029-11-08; Cloud Temple Managed PostgreSQL gives the
 * months ("Nov 2027", "Nov 2028") and the 180-day notice.
 */

/** Supported major versions, oldest first. */
export const MAJOR_VERSIONS = [15, 16, 17] as const;
/** One of {@link MAJOR_VERSIONS}. */
export type MajorVersion = (typeof MAJOR_VERSIONS)[number];

/** End of community support, ISO date (UTC). */
export const END_OF_SUPPORT: Readonly<Record<MajorVersion, string>> = {
  15: "2027-11-11",
  16: "2028-11-09",
  17: "2029-11-08",
};

/** Days before end of support from which synth warns (Cloud Temple Managed PostgreSQL: "at least 180 days before"). */
export const END_OF_SUPPORT_NOTICE_DAYS = 180;

/** Where a major version stands in its support life on a given day. */
export type SupportState = "supported" | "ending" | "ended";

/** Support status of a major version on a given day. */
export interface SupportStatus {
  /**
   * "supported": more than {@link END_OF_SUPPORT_NOTICE_DAYS} days left; "ending": within the
   * notice period (synth warns); "ended": on or after the end of support (synth refuses).
   */
  readonly status: SupportState;
  /** End of support, ISO date. */
  readonly endOfSupport: string;
  /** Whole days from the given day to the end of support; 0 or negative once ended. */
  readonly daysLeft: number;
}

/**
 * Support status of `version` at `now`: "ending" within {@link END_OF_SUPPORT_NOTICE_DAYS}
 * days of the end of support, "ended" on and after it.
 */
export function supportStatus(version: MajorVersion, now: Date): SupportStatus {
  const endOfSupport = END_OF_SUPPORT[version];
  const end = Date.parse(`${endOfSupport}T00:00:00Z`);
  const daysLeft = Math.floor((end - now.getTime()) / 86_400_000);
  if (daysLeft <= 0) return { status: "ended", endOfSupport, daysLeft };
  if (daysLeft <= END_OF_SUPPORT_NOTICE_DAYS) return { status: "ending", endOfSupport, daysLeft };
  return { status: "supported", endOfSupport, daysLeft };
}
