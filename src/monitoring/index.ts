/**
 * Monitoring of a cluster, provider-independent and pure (no cdktf import): the metric and
 * log group names the nodes publish, the alarm thresholds and their checks, the alarm
 * definitions and the dashboard body. The files the nodes run with are rendered by
 * src/render/monitoring/; the AWS resources are created by constructs/aws/monitoring.ts.
 */
export * from "./metrics";
export * from "./thresholds";
export * from "./alarms";
export * from "./dashboard";
