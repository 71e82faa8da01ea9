/**
 * The PgBouncer tier of a distributed cluster and its internal network load balancer.
 */
import { Construct } from "constructs";
import { Token } from "cdktf";
import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { PORTS, instanceTypeFor, type ResolvedClusterSpec } from "../../src/cluster-spec";
import { POOLER_HEALTH_PATHS } from "../../src/render/haproxy";
import { hardenedLaunchTemplate } from "./launch";
import { autoScalingGroupTags, boundedName, clusterTags } from "../private/naming";

/** Instance size of the PgBouncer tier: PgBouncer and HAProxy are light; Cloud Temple Managed PostgreSQL's XS. */
export const POOLER_SIZE = "XS";

/** Props of {@link PoolerTier}. */
export interface PoolerTierProps {
  readonly spec: ResolvedClusterSpec;
  readonly vpcId: string;
  /** The cluster's three private subnets. */
  readonly subnetIds: readonly string[];
  /** Security group of the PgBouncer instances. */
  readonly poolerSecurityGroupId: string;
  /** Security group of the load balancer. */
  readonly endpointSecurityGroupId: string;
  readonly kmsKeyArn: string;
}

/** Props of {@link PoolerTier.addInstances}. */
export interface PoolerInstancesProps {
  readonly imageId: string;
  readonly instanceProfileArn: string;
  /** Cloud-init user data of a PgBouncer instance, when available. */
  readonly userData?: string;
}

/**
 * The PgBouncer tier:
 * - a hardened launch template (XS size of the cluster's architecture) and an Auto Scaling
 *   group across the three subnets with `pooler.instanceCount` instances (max one more, for
 *   rolling instance refreshes, which replace instances after a launch template change while
 *   keeping at least half of them in service: the tier is stateless; EC2 health checks, as
 *   the target groups' say more about the database nodes than about the instance);
 * - an internal network load balancer in the three subnets (deletion protection on,
 *   cross-zone load balancing on, the `endpoint` security group) with
 *   - listener :5432 (read-write endpoint) → target group on PgBouncer's read-write pool :6432,
 *   - listener :5433 (read-only endpoint) → target group on the read-only pool :6433,
 *   both TCP (PgBouncer terminates TLS), with a 30 s deregistration delay and HTTP health
 *   checks every 10 s (timeout 5 s, 2 checks to change state, expect 200) on the instance's
 *   HAProxy health endpoint (`PORTS.poolerHealth`): `/read-write` fails while no primary
 *   passes HAProxy's checks, `/read-only` while no replica does, so an endpoint with nothing
 *   behind it has no healthy target instead of accepting connections PgBouncer cannot serve.
 */
export class PoolerTier extends Construct {
  /** The load balancer. */
  public readonly loadBalancer: Lb;
  /** Target group of the read-write pool. */
  public readonly readWriteTargetGroup: LbTargetGroup;
  /** Target group of the read-only pool. */
  public readonly readOnlyTargetGroup: LbTargetGroup;
  /** The launch template, once {@link PoolerTier.addInstances} ran. */
  public launchTemplate?: LaunchTemplate;
  /** The Auto Scaling group, once {@link PoolerTier.addInstances} ran. */
  public autoScalingGroup?: AutoscalingGroup;
  /** DNS name of the load balancer (token): the host of both endpoints. */
  public readonly endpointAddress: string;

  private readonly props: PoolerTierProps;

  constructor(scope: Construct, id: string, props: PoolerTierProps) {
    super(scope, id);
    this.props = props;
    const { spec } = props;
    const tags = clusterTags(spec, { Name: `${spec.name}-pooler` });

    this.loadBalancer = new Lb(this, "load-balancer", {
      name: boundedName(`mp-${spec.name}`, 32),
      loadBalancerType: "network",
      internal: true,
      subnets: [...props.subnetIds],
      securityGroups: [props.endpointSecurityGroupId],
      enableDeletionProtection: true,
      enableCrossZoneLoadBalancing: true,
      tags,
    });
    this.endpointAddress = this.loadBalancer.dnsName;

    const targetGroup = (key: "read-write" | "read-only", port: number, healthPath: string) =>
      new LbTargetGroup(this, `${key}-target-group`, {
        name: boundedName(`mp-${spec.name}-${key === "read-write" ? "rw" : "ro"}`, 32),
        port,
        protocol: "TCP",
        targetType: "instance",
        vpcId: props.vpcId,
        deregistrationDelay: "30",
        healthCheck: {
          enabled: true,
          protocol: "HTTP",
          port: `${PORTS.poolerHealth}`,
          path: healthPath,
          matcher: "200",
          interval: 10,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 2,
        },
        tags,
      });
    this.readWriteTargetGroup = targetGroup("read-write", PORTS.pgbouncerReadWrite, POOLER_HEALTH_PATHS.readWrite);
    this.readOnlyTargetGroup = targetGroup("read-only", PORTS.pgbouncerReadOnly, POOLER_HEALTH_PATHS.readOnly);

    const listener = (key: "read-write" | "read-only", port: number, tg: LbTargetGroup) =>
      new LbListener(this, `${key}-listener`, {
        loadBalancerArn: this.loadBalancer.arn,
        port,
        protocol: "TCP",
        defaultAction: [{ type: "forward", targetGroupArn: tg.arn }],
        tags,
      });
    listener("read-write", PORTS.endpointReadWrite, this.readWriteTargetGroup);
    listener("read-only", PORTS.endpointReadOnly, this.readOnlyTargetGroup);
  }

  /**
   * Creates the launch template and the Auto Scaling group. Separate from the constructor so
   * that the database nodes' configuration can name the load balancer's DNS name (the pooler
   * certificate carries it) before the pooler's user data, which names the nodes, exists.
   */
  public addInstances(props: PoolerInstancesProps): AutoscalingGroup {
    const { spec } = this.props;
    const tags = clusterTags(spec, { Name: `${spec.name}-pooler` });
    const name = boundedName(`managed-postgres-${spec.name}-pooler`, 128);
    this.launchTemplate = hardenedLaunchTemplate(this, "launch-template", {
      name,
      description: `managed-postgres ${spec.name}: PgBouncer tier`,
      imageId: props.imageId,
      instanceType: instanceTypeFor(POOLER_SIZE, spec.architecture),
      instanceProfileArn: props.instanceProfileArn,
      securityGroupIds: [this.props.poolerSecurityGroupId],
      kmsKeyArn: this.props.kmsKeyArn,
      userData: props.userData,
      tags,
    });
    const count = spec.pooler.instanceCount;
    this.autoScalingGroup = new AutoscalingGroup(this, "auto-scaling-group", {
      name,
      minSize: count,
      maxSize: Token.isUnresolved(count) ? count : count + 1,
      desiredCapacity: count,
      vpcZoneIdentifier: [...this.props.subnetIds],
      launchTemplate: { id: this.launchTemplate.id, version: Token.asString(this.launchTemplate.latestVersion) },
      targetGroupArns: [this.readWriteTargetGroup.arn, this.readOnlyTargetGroup.arn],
      // EC2, not ELB: the target groups' checks fail when the cluster has no primary or no
      // replica, which is no reason to replace every pooler instance (PgBouncer and HAProxy
      // are restarted by systemd).
      healthCheckType: "EC2",
      healthCheckGracePeriod: 300,
      instanceRefresh: { strategy: "Rolling", preferences: { minHealthyPercentage: 50 } },
      tag: autoScalingGroupTags(tags),
    });
    return this.autoScalingGroup;
  }
}
