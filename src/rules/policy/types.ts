/**
 * Types of the managed-postgres security policy pack: rules over synthesized Terraform
 * JSON (`cdk.tf.json`), in the style of cdk-nag. Pure; no cdktf import.
 */
import type { ConfigResource } from "../../terraform";

/** Severity of a rule. `error` stops synth; `warning` becomes an annotation. Both fail the CLI. */
export type PolicyLevel = "error" | "warning";

/**
 * One resource of a synthesized stack, as the rules see it: the shared reader's
 * {@link ConfigResource} (type, name, address, construct path, body, whether it is a data source).
 */
export type TfResource = ConfigResource;

/** A synthesized stack: its name and every resource and data source. */
export interface TfStack {
  /** Stack name (the directory under `cdktf.out/stacks/`, or `//.metadata.stackName`). */
  readonly name: string;
  readonly resources: readonly TfResource[];
}

/** A rule's verdict on one resource. */
export type RuleResult =
  | { readonly status: "compliant" }
  | { readonly status: "not-applicable" }
  /** `detail` says what exactly is wrong with this resource, e.g. which statement. */
  | { readonly status: "non-compliant"; readonly detail?: string };

/** One rule of the pack. */
export interface PolicyRule {
  /** `MP-<AREA>-<n>`, e.g. `MP-S3-1`. Stable: suppressions refer to it. */
  readonly id: string;
  readonly level: PolicyLevel;
  /** One line: what a compliant resource looks like. */
  readonly info: string;
  /** Why it matters, and how to fix it. */
  readonly explanation: string;
  /** Resource types the rule looks at (managed resources unless prefixed `data.`). */
  readonly resourceTypes: readonly string[];
  /** Corresponding checkov check ids (only ids known to match). */
  readonly checkov: readonly string[];
  /** Corresponding AWS Foundational Security Best Practices control ids (only ids known to match). */
  readonly fsbp: readonly string[];
  /** Pure verdict on one resource; `stack` gives access to linked resources. */
  readonly evaluate: (resource: TfResource, stack: TfStack) => RuleResult;
}

/** A suppression as carried in the synthesized JSON (see `SUPPRESSIONS_METADATA_KEY`). */
export interface PolicySuppression {
  /** Rule id, e.g. `MP-IAM-2`. */
  readonly id: string;
  /** Why the finding is acceptable; never empty. */
  readonly reason: string;
}

/** One non-compliant resource. */
export interface PolicyFinding {
  readonly ruleId: string;
  readonly level: PolicyLevel;
  readonly stack: string;
  /** Terraform address of the resource. */
  readonly address: string;
  readonly constructPath?: string;
  /** The rule's info line. */
  readonly info: string;
  /** The rule's explanation, plus the specific detail when the rule gave one. */
  readonly explanation: string;
  readonly detail?: string;
}

/** A finding that a suppression covers, with the suppression's reason. */
export interface SuppressedFinding extends PolicyFinding {
  readonly reason: string;
}

/** Result of running the pack over one or more stacks. */
export interface PolicyReport {
  /** Unsuppressed findings, errors first, then by stack, address, rule id. */
  readonly findings: readonly PolicyFinding[];
  /** Findings covered by a suppression. */
  readonly suppressed: readonly SuppressedFinding[];
  /** Stacks checked. */
  readonly stacks: readonly string[];
  /** Number of (rule, resource) pairs evaluated as compliant. */
  readonly compliantCount: number;
  /** Ids of rules run. */
  readonly rules: readonly string[];
}
