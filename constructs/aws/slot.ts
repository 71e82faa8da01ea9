/**
 * A database slot: the identity of one node that survives instance replacement.
 */
import { Construct } from "constructs";
import { Fn, Op, Token, type Precondition } from "cdktf";
import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { DataAwsSubnet } from "@cdktf/provider-aws/lib/data-aws-subnet";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { NetworkInterface } from "@cdktf/provider-aws/lib/network-interface";
import {
  TAG_DEPLOYMENT_MODEL,
  TAG_MAJOR_VERSION,
  TAG_UPGRADE_FROM,
  TAG_SLOT,
  TAG_SLOT_RESOURCE,
  SLOT_RESOURCE,
  instanceTypeFor,
  type ResolvedClusterSpec,
} from "../../src/cluster-spec";
import type { ClusterMember } from "../../src/render/types";
import { hardenedLaunchTemplate } from "./launch";
import { autoScalingGroupTags, boundedName, clusterTags } from "../private/naming";

/** Props of {@link Slot}. */
export interface SlotProps {
  readonly spec: ResolvedClusterSpec;
  /** Slot index: 0 (standalone) or 0..2 (distributed). Part of every name and logical id. */
  readonly index: number;
  /** Private subnet of the slot; its availability zone is the slot's. */
  readonly subnetId: string;
  /** Security group of the database nodes. */
  readonly securityGroupId: string;
  /** ARN of the cluster's KMS key. */
  readonly kmsKeyArn: string;
  /**
   * Keep the data volume and the network interface on `terraform destroy`
   * (`lifecycle.prevent_destroy`): the interface's address is baked into every member's
   * configuration and certificates, so replacing it breaks the cluster as surely as losing the volume.
   */
  readonly preventDestroy: boolean;
}

/** Props of {@link Slot.addInstance}. */
export interface SlotInstanceProps {
  readonly imageId: string;
  readonly instanceProfileArn: string;
  /** Cloud-init user data of this node, when available. */
  readonly userData?: string;
  /** `userData` with runs shared with the other slots as local references (`shareTextRuns`). @default userData */
  readonly userDataTemplate?: string;
}

/**
 * A slot keeps a node's identity across instance replacement:
 * - an ENI in the slot's subnet (stable private IPv4: the node's address for Patroni, etcd
 *   and HAProxy), in the nodes' security group, tagged `managed-postgres:slot-resource =
 *   network-interface`;
 * - an encrypted gp3 data volume (cluster key, `storageGiB`, in the subnet's availability
 *   zone, a final snapshot on deletion) tagged with the cluster, the slot,
 *   `managed-postgres:slot-resource = data-volume`, the deployment model and the major version;
 * - after {@link Slot.addInstance}: a hardened launch template and an Auto Scaling group of
 *   exactly one instance (min = max = desired = 1) in the slot's subnet. When the instance
 *   dies, the ASG launches a new one, whose bootstrap attaches the slot's ENI (device 1) and
 *   data volume, so the node rejoins with the same address and data.
 * Launch template changes (a new image, a new size) apply to the next instance only:
 * running nodes are replaced one at a time by the operator (rolling maintenance), never by
 * Terraform.
 */
export class Slot extends Construct {
  /** Slot index. */
  public readonly index: number;
  /** Node name, `<cluster>-<index>` (Patroni and etcd member name). */
  public readonly nodeName: string;
  /** The slot's ENI. */
  public readonly networkInterface: NetworkInterface;
  /** The slot's data volume. */
  public readonly dataVolume: EbsVolume;
  /** Availability zone of the slot (token). */
  public readonly availabilityZone: string;
  /** IPv4 CIDR of the slot's subnet (token): where its instances' primary interfaces are. */
  public readonly subnetCidr: string;
  /** Private IPv4 address of the ENI (token). */
  public readonly privateIp: string;
  /** Name of the slot's launch template and Auto Scaling group (`managed-postgres-<node>`, at most 128 characters). */
  public readonly autoScalingGroupName: string;
  /** The launch template, once {@link Slot.addInstance} ran. */
  public launchTemplate?: LaunchTemplate;
  /** The Auto Scaling group, once {@link Slot.addInstance} ran. */
  public autoScalingGroup?: AutoscalingGroup;

  private readonly props: SlotProps;

  constructor(scope: Construct, id: string, props: SlotProps) {
    super(scope, id);
    this.props = props;
    const { spec, index } = props;
    this.index = index;
    this.nodeName = `${spec.name}-${index}`;
    this.autoScalingGroupName = boundedName(`managed-postgres-${this.nodeName}`, 128);
    const subnet = new DataAwsSubnet(this, "subnet", { id: props.subnetId });
    this.availabilityZone = subnet.availabilityZone;
    this.subnetCidr = subnet.cidrBlock;

    this.networkInterface = new NetworkInterface(this, "network-interface", {
      subnetId: props.subnetId,
      description: `managed-postgres ${this.nodeName}: stable address of slot ${index}`,
      securityGroups: [props.securityGroupId],
      tags: clusterTags(spec, { [TAG_SLOT]: `${index}`, Name: this.nodeName, [TAG_SLOT_RESOURCE]: SLOT_RESOURCE.networkInterface }),
      lifecycle: { preventDestroy: props.preventDestroy },
    });
    this.privateIp = this.networkInterface.privateIp;

    this.dataVolume = new EbsVolume(this, "data-volume", {
      availabilityZone: this.availabilityZone,
      type: "gp3",
      size: spec.storageGiB,
      encrypted: true,
      kmsKeyId: props.kmsKeyArn,
      finalSnapshot: true,
      tags: clusterTags(spec, {
        [TAG_SLOT]: `${index}`,
        Name: this.nodeName,
        [TAG_SLOT_RESOURCE]: SLOT_RESOURCE.dataVolume,
        [TAG_DEPLOYMENT_MODEL]: spec.deployment,
        [TAG_MAJOR_VERSION]: `${spec.majorVersion}`,
        // a green cluster (upgradeFrom): the prior-state rule tells it from a deployed cluster upgradeFrom was added to
        ...(spec.upgradeFrom ? { [TAG_UPGRADE_FROM]: spec.upgradeFrom.clusterName } : {}),
      }),
      lifecycle: {
        preventDestroy: props.preventDestroy,
        precondition: storagePreconditions(spec.storageGiB),
      },
    });
  }

  /** This slot as a cluster member for the renderers. */
  public get member(): ClusterMember {
    return { name: this.nodeName, slotIndex: this.index, address: this.privateIp, zone: this.availabilityZone };
  }

  /** Creates the slot's launch template and its one-instance Auto Scaling group. */
  public addInstance(props: SlotInstanceProps): AutoscalingGroup {
    const { spec, index } = this.props;
    const name = this.autoScalingGroupName;
    const tags = clusterTags(spec, { [TAG_SLOT]: `${index}`, Name: this.nodeName });
    this.launchTemplate = hardenedLaunchTemplate(this, "launch-template", {
      name,
      description: `managed-postgres ${this.nodeName}: database node of slot ${index}`,
      imageId: props.imageId,
      instanceType: instanceTypeFor(spec.size, spec.architecture),
      instanceProfileArn: props.instanceProfileArn,
      securityGroupIds: [this.props.securityGroupId],
      kmsKeyArn: this.props.kmsKeyArn,
      userData: props.userData,
      userDataTemplate: props.userDataTemplate,
      tags,
    });
    this.autoScalingGroup = new AutoscalingGroup(this, "auto-scaling-group", {
      name,
      minSize: 1,
      maxSize: 1,
      desiredCapacity: 1,
      vpcZoneIdentifier: [this.props.subnetId],
      launchTemplate: { id: this.launchTemplate.id, version: Token.asString(this.launchTemplate.latestVersion) },
      healthCheckType: "EC2",
      healthCheckGracePeriod: 300,
      // Replace by terminating first, then launching (min 0 %, max 100 % of one instance):
      // two instances never compete for the slot's ENI and volume (Auto Scaling user guide,
      // "Instance maintenance policies":
      // https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-instance-maintenance-policy.html).
      // The bootstrap still waits for (and force-detaches from) a terminating holder.
      instanceMaintenancePolicy: { minHealthyPercentage: 0, maxHealthyPercentage: 100 },
      tag: autoScalingGroupTags(tags),
    });
    return this.autoScalingGroup;
  }
}

/**
 * Plan-time checks for a `storageGiB` token (Cloud Temple Managed PostgreSQL: an integer from 2 to 128); none for
 * a literal, which validation already checked.
 */
function storagePreconditions(storageGiB: number): Precondition[] | undefined {
  if (!Token.isUnresolved(storageGiB)) return undefined;
  return [
    {
      condition: Op.and(Op.and(Op.gte(storageGiB, 2), Op.lte(storageGiB, 128)), Op.eq(Fn.floor(storageGiB), storageGiB)),
      errorMessage: "`storageGiB` must be an integer from 2 to 128 (GiB).",
    },
  ];
}
