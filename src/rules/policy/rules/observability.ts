/**
 * Observability: log groups (retention, KMS), alarms (actions), SNS topics (KMS).
 */
import { isExpression, isFalse, nonEmpty, strings } from "../../../terraform";
import type { PolicyRule, RuleResult } from "../types";

const OK: RuleResult = { status: "compliant" };
const bad = (detail: string): RuleResult => ({ status: "non-compliant", detail });

/** MP-LOG-1: log groups have a retention. */
export const LOG_RETENTION: PolicyRule = {
  id: "MP-LOG-1",
  level: "error",
  info: "CloudWatch log groups set retention_in_days.",
  explanation:
    "Without a retention, server logs (which name users, databases and slow statements) are kept forever. Set retention_in_days (the library's default is 30 days, `monitoring.logRetentionDays`).",
  resourceTypes: ["aws_cloudwatch_log_group"],
  checkov: ["CKV_AWS_66"],
  fsbp: [],
  evaluate(lg) {
    const d = lg.config.retention_in_days;
    return d !== undefined && d !== null && Number(d) !== 0 ? OK : bad("retention_in_days is not set (never expire)");
  },
};

/** MP-LOG-2: log groups are encrypted with a CMK. */
export const LOG_KMS: PolicyRule = {
  id: "MP-LOG-2",
  level: "error",
  info: "CloudWatch log groups are encrypted with a named customer-managed KMS key.",
  explanation:
    "Logs of the cluster carry the same sensitivity as its data. Set kms_key_id to the cluster key (its key policy must allow logs.<region>.amazonaws.com).",
  resourceTypes: ["aws_cloudwatch_log_group"],
  checkov: ["CKV_AWS_158"],
  fsbp: [],
  evaluate(lg) {
    return nonEmpty(lg.config.kms_key_id) ? OK : bad("kms_key_id is not set");
  },
};

/** MP-CW-1: alarms have actions. */
export const ALARM_ACTIONS: PolicyRule = {
  id: "MP-CW-1",
  level: "error",
  info: "CloudWatch metric alarms have actions enabled and at least one alarm action.",
  explanation:
    "Cloud Temple Managed PostgreSQL: 24/7 monitoring. An alarm nobody is told about is a graph. Set alarm_actions (the cluster's SNS topic) and leave actions_enabled true.",
  resourceTypes: ["aws_cloudwatch_metric_alarm"],
  checkov: [],
  fsbp: ["CloudWatch.15"],
  evaluate(a) {
    if (isFalse(a.config.actions_enabled)) return bad("actions_enabled is false");
    const actions = a.config.alarm_actions;
    const ok = strings(actions).some(nonEmpty) || isExpression(actions);
    return ok ? OK : bad("alarm_actions is empty");
  },
};

/** MP-SNS-1: topics are encrypted with KMS. */
export const SNS_KMS: PolicyRule = {
  id: "MP-SNS-1",
  level: "warning",
  info: "SNS topics are encrypted with a KMS key (kms_master_key_id).",
  explanation:
    "Alarm notifications name the cluster, its nodes and what is failing. Set kms_master_key_id to the cluster key (whose policy must let cloudwatch.amazonaws.com use it).",
  resourceTypes: ["aws_sns_topic"],
  checkov: ["CKV_AWS_26"],
  fsbp: ["SNS.1"],
  evaluate(t) {
    return nonEmpty(t.config.kms_master_key_id) ? OK : bad("kms_master_key_id is not set");
  },
};

/** The observability rules. */
export const OBSERVABILITY_RULES: readonly PolicyRule[] = [LOG_RETENTION, LOG_KMS, ALARM_ACTIONS, SNS_KMS];
