/**
 * Monitoring and alerting of a cluster on AWS: log groups, the alarm topic, CloudWatch
 * alarms with the PostgreSQL reference architecture's thresholds, a dashboard, and the instance roles' permission to
 * publish. What the nodes publish is rendered by `src/render/monitoring/`;
 * the alarm definitions, thresholds and dashboard body come from `src/monitoring/`.
 */
import { Construct } from "constructs";
import { Token } from "cdktf";
import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { SpecValidationError, type ResolvedClusterSpec, type SpecIssue } from "../../src/cluster-spec";
import {
  LOG_KINDS,
  METRIC_NAMESPACE,
  clusterAlarms,
  dashboardBody,
  logGroupName,
  monitoringThresholdIssues,
  resolveMonitoringThresholds,
  type AlarmDefinition,
  type LogKind,
  type MonitoringThresholds,
  type ResolvedMonitoringThresholds,
} from "../../src/monitoring";
import type { InstanceRole } from "./iam";
import { boundedName, clusterTags } from "../private/naming";

/** Retention values CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS_ALLOWED: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** The `monitoring` prop of `ManagedPostgres`. */
export interface MonitoringOptions {
  /**
   * Alarm thresholds; each one overrides its default.
   * @default - the PostgreSQL reference architecture's values: see `DEFAULT_MONITORING_THRESHOLDS` and docs/monitoring.md
   */
  readonly thresholds?: MonitoringThresholds;
  /**
   * ARN of an existing SNS topic for alarm and OK notifications, instead of the topic the
   * construct creates. Its key policy (if encrypted) must let cloudwatch.amazonaws.com use
   * the key.
   * @default - a topic `managed-postgres-<cluster>-alarms` encrypted with the cluster key
   */
  readonly alarmTopicArn?: string;
  /**
   * E-mail addresses subscribed to the alarm topic (each must confirm the subscription).
   * @default []
   */
  readonly emailSubscribers?: readonly string[];
  /**
   * Days the cluster's log groups keep events: one of CloudWatch Logs' accepted values
   * (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
   * 2922, 3288, 3653).
   * @default 30
   */
  readonly logRetentionDays?: number;
}

/** Props of {@link ClusterMonitoring}. */
export interface ClusterMonitoringProps extends MonitoringOptions {
  readonly spec: ResolvedClusterSpec;
  /** ARN of the cluster key: log groups and the alarm topic are encrypted with it. */
  readonly kmsKeyArn: string;
  /** Region (token) of the metrics, for the dashboard. */
  readonly region: string;
  /** Instance role of the database nodes: gets permission to publish metrics and logs. */
  readonly nodeRole: InstanceRole;
  /** Instance role of the PgBouncer tier (distributed). */
  readonly poolerRole?: InstanceRole;
}

/**
 * Monitoring of one cluster:
 * - log groups `/managed-postgres/<cluster>/{postgresql,patroni,pgbouncer,pgbackrest,metrics}`
 *   (retention `logRetentionDays`, default 30; encrypted with the cluster key; `metrics`
 *   receives the Prometheus scrape as embedded metric format);
 * - the alarm topic (or `alarmTopicArn`) and e-mail subscriptions;
 * - one CloudWatch alarm per `clusterAlarms` definition, named `<cluster>-<key>`, alarm
 *   and OK actions to the topic;
 * - the dashboard `managed-postgres-<cluster>`;
 * - an inline policy `monitoring` on the instance roles: `cloudwatch:PutMetricData` only in
 *   namespace `ManagedPostgres` (the action supports no resource; a condition scopes it),
 *   `logs:CreateLogStream`, `logs:PutLogEvents`, `logs:DescribeLogStreams` on the
 *   cluster's log groups only.
 * @throws SpecValidationError listing every threshold or `logRetentionDays` out of range
 *   (see {@link ClusterMonitoring.optionIssues}); `ManagedPostgres` reports them with its
 *   other props before creating anything
 */
export class ClusterMonitoring extends Construct {
  /**
   * Every problem with monitoring options, each with its field path (`monitoring.…`), the
   * value and what is allowed: thresholds out of range, misspelt or holding a token (see
   * `monitoringThresholdIssues`), and a `logRetentionDays` CloudWatch Logs does not accept
   * ({@link LOG_RETENTION_DAYS_ALLOWED}; a token is left to the provider). Empty when valid.
   */
  public static optionIssues(options: MonitoringOptions = {}): SpecIssue[] {
    const issues = monitoringThresholdIssues(options.thresholds, { isUnresolved: (v) => Token.isUnresolved(v) });
    const retention = options.logRetentionDays;
    if (retention !== undefined && !Token.isUnresolved(retention) && !LOG_RETENTION_DAYS_ALLOWED.includes(retention)) {
      issues.push({
        path: "monitoring.logRetentionDays",
        value: retention,
        message: `\`monitoring.logRetentionDays\` must be one of ${LOG_RETENTION_DAYS_ALLOWED.join(", ")} (CloudWatch Logs' accepted values). Got ${JSON.stringify(retention)}`,
      });
    }
    return issues;
  }

  /** The resolved thresholds. */
  public readonly thresholds: ResolvedMonitoringThresholds;
  /** ARN of the topic alarms notify. */
  public readonly alarmTopicArn: string;
  /** The topic, when the construct created it. */
  public readonly alarmTopic?: SnsTopic;
  /** Log groups by kind. */
  public readonly logGroups: Readonly<Record<LogKind, CloudwatchLogGroup>>;
  /** Alarms by definition key (`cpu-warning`, …). */
  public readonly alarms: Readonly<Record<string, CloudwatchMetricAlarm>>;
  /** The dashboard. */
  public readonly dashboard: CloudwatchDashboard;

  constructor(scope: Construct, id: string, props: ClusterMonitoringProps) {
    super(scope, id);
    const { spec } = props;
    const issues = ClusterMonitoring.optionIssues(props);
    if (issues.length > 0) throw new SpecValidationError(issues, this.node.path);
    this.thresholds = resolveMonitoringThresholds(props.thresholds);
    const retention = props.logRetentionDays ?? 30;
    const tags = clusterTags(spec);

    const groups = {} as Record<LogKind, CloudwatchLogGroup>;
    for (const kind of LOG_KINDS) {
      groups[kind] = new CloudwatchLogGroup(this, `logs-${kind}`, {
        name: logGroupName(spec.name, kind),
        retentionInDays: retention,
        kmsKeyId: props.kmsKeyArn,
        tags,
      });
    }
    this.logGroups = groups;

    if (props.alarmTopicArn !== undefined) {
      this.alarmTopicArn = props.alarmTopicArn;
    } else {
      this.alarmTopic = new SnsTopic(this, "alarm-topic", {
        name: boundedName(`managed-postgres-${spec.name}-alarms`, 256),
        displayName: `managed-postgres ${spec.name} alarms`,
        kmsMasterKeyId: props.kmsKeyArn,
        tags,
      });
      this.alarmTopicArn = this.alarmTopic.arn;
    }
    (props.emailSubscribers ?? []).forEach((email, i) => {
      new SnsTopicSubscription(this, `email-${i}`, { topicArn: this.alarmTopicArn, protocol: "email", endpoint: email });
    });

    const alarms: Record<string, CloudwatchMetricAlarm> = {};
    for (const def of clusterAlarms(spec, this.thresholds)) {
      alarms[def.key] = this.alarm(spec.name, def, clusterTags(spec, { "managed-postgres:severity": def.severity }));
    }
    this.alarms = alarms;

    this.dashboard = new CloudwatchDashboard(this, "dashboard", {
      dashboardName: boundedName(`managed-postgres-${spec.name}`, 255),
      dashboardBody: dashboardBody({ spec, region: props.region, thresholds: this.thresholds, alarmArns: Object.values(alarms).map((a) => a.arn) }),
    });

    const statements = this.publishStatements();
    props.nodeRole.addPolicy("monitoring", statements);
    props.poolerRole?.addPolicy("monitoring", statements);
  }

  private alarm(cluster: string, def: AlarmDefinition, tags: Record<string, string>): CloudwatchMetricAlarm {
    return new CloudwatchMetricAlarm(this, `alarm-${def.key}`, {
      alarmName: `${cluster}-${def.key}`,
      alarmDescription: `[${def.severity}] ${def.description}. Threshold source: ${def.source}.`,
      namespace: def.namespace,
      metricName: def.metricName,
      dimensions: { ...def.dimensions },
      statistic: def.statistic,
      period: def.period,
      evaluationPeriods: def.evaluationPeriods,
      datapointsToAlarm: def.datapointsToAlarm,
      comparisonOperator: def.comparisonOperator,
      threshold: def.threshold,
      treatMissingData: def.treatMissingData,
      actionsEnabled: true,
      alarmActions: [this.alarmTopicArn],
      okActions: [this.alarmTopicArn],
      tags,
    });
  }

  private publishStatements() {
    return [
      {
        sid: "PublishClusterMetrics",
        effect: "Allow",
        // cloudwatch:PutMetricData supports no resource-level permission: "*" scoped by namespace.
        actions: ["cloudwatch:PutMetricData"],
        resources: ["*"],
        condition: [{ test: "StringEquals", variable: "cloudwatch:namespace", values: [METRIC_NAMESPACE] }],
      },
      {
        sid: "ShipClusterLogs",
        effect: "Allow",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        resources: Object.values(this.logGroups).map((g) => `${g.arn}:*`),
      },
    ];
  }
}
