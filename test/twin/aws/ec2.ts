/**
 * EC2 (query protocol, API version 2016-11-15) and Auto Scaling (2011-01-01) of the twin:
 * the calls the node bootstrap makes, authorized per resource as the Service Authorization
 * Reference lists them (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html):
 *
 * | action | resources authorized |
 * |---|---|
 * | DescribeNetworkInterfaces, DescribeVolumes, DescribeInstances, DescribeTags | `*` (no resource-level permissions) |
 * | AttachNetworkInterface, DetachNetworkInterface | the instance and the network interface |
 * | AttachVolume, DetachVolume | the instance and the volume (+ kms:CreateGrant through EC2 for a CMK-encrypted volume) |
 * | autoscaling:SetInstanceHealth | the instance's Auto Scaling group |
 * | autoscaling:DescribeAutoScalingGroups | `*` (Auto Scaling's Describe actions have no resource-level permissions) |
 * | autoscaling:TerminateInstanceInAutoScalingGroup | the instance's Auto Scaling group (its tags as `autoscaling:ResourceTag/*`, `aws:ResourceTag/*`) |
 *
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html)
 *
 * Each resource's context carries `aws:ResourceTag/*` and `ec2:ResourceTag/*` (its own tags),
 * `ec2:Region`, and for an instance `ec2:InstanceProfile`, `ec2:AvailabilityZone`.
 * Semantics: attaching answers `attaching`, the hotplug callback runs, then `attached`
 * (`in-use`); AttachVolume of a volume another instance holds fails with `VolumeInUse`, of a
 * volume in another zone with `InvalidVolume.ZoneMismatch`; DetachNetworkInterface of a
 * primary interface (device index 0) fails with `OperationNotPermitted`. DescribeNetworkInterfaces
 * and DescribeVolumes list the newest first (EC2 documents no order).
 */
import { randomBytes, randomUUID } from "crypto";
import { resourceTagContext } from "./authorize";
import type { CallContext } from "./context";
import { accessDenied, AwsError, xmlEscape } from "./errors";
import { asgArn, ec2Arn, findKey, type TwinAutoScalingGroup, type TwinInstance, type TwinNetworkInterface, type TwinVolume, type TwinWorld } from "./world";

export const EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/";
export const AUTOSCALING_NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

/** A hotplug event: an ENI or a volume attached to (or detached from) a running instance. */
export interface HotplugEvent {
  readonly kind: "network-interface" | "volume";
  readonly resourceId: string;
  readonly instanceId: string;
  /** ENI: device index; volume: device name as requested (/dev/sdf). */
  readonly device: string;
  /** ENI: its MAC address (the interface that must appear in the machine). */
  readonly mac?: string;
  readonly privateIp?: string;
  readonly subnetCidr?: string;
}

/**
 * An instance taken out of its group by TerminateInstanceInAutoScalingGroup: the group
 * terminates it and, unless `decrement`, launches a replacement from its current launch
 * template version at the same time (the library's instance maintenance policy, min 0 %).
 */
export interface ScaleInEvent {
  readonly instanceId: string;
  readonly group: string;
  /** ShouldDecrementDesiredCapacity: true = no replacement (the desired capacity was lowered). */
  readonly decrement: boolean;
  readonly activityId: string;
}

/** Auto Scaling's own actions on instances; TwinCluster connects the machines. */
export interface AutoScalingHooks {
  /** Runs after the API answered (the caller may be the instance itself). @default - EC2 terminates the instance at once, no replacement */
  terminate?(e: ScaleInEvent): Promise<void> | void;
}

/** Called when an attachment starts or a detachment completes; the lead connects machine hotplug. */
export interface HotplugHooks {
  attach?(e: HotplugEvent): Promise<void> | void;
  detach?(e: HotplugEvent): Promise<void> | void;
}

function tagSet(tags: Record<string, string>): string {
  return `<tagSet>${Object.entries(tags)
    .map(([k, v]) => `<item><key>${xmlEscape(k)}</key><value>${xmlEscape(v)}</value></item>`)
    .join("")}</tagSet>`;
}

function listParam(p: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; i <= 1000 && p.get(`${name}.${i}`) !== null; i++) out.push(p.get(`${name}.${i}`)!);
  return out;
}

function filters(p: URLSearchParams): { name: string; values: string[] }[] {
  const out: { name: string; values: string[] }[] = [];
  for (let i = 1; i <= 50 && p.get(`Filter.${i}.Name`) !== null; i++) {
    out.push({ name: p.get(`Filter.${i}.Name`)!, values: listParam(p, `Filter.${i}.Value`) });
  }
  return out;
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

function matches(values: string[], wanted: string[]): boolean {
  return values.some((v) => wanted.some((w) => wildcard(w).test(v)));
}

function tagValues(tags: Record<string, string>, name: string): string[] | undefined {
  if (name.startsWith("tag:")) return tags[name.slice(4)] === undefined ? [] : [tags[name.slice(4)]!];
  if (name === "tag-key") return Object.keys(tags);
  if (name === "tag-value") return Object.values(tags);
  return undefined;
}

/** EC2 + Auto Scaling state machine over the world's instances, ENIs and volumes. */
export class Ec2Service {
  /** SetInstanceHealth calls (instance id, status). */
  readonly healthReports: { instanceId: string; status: string; shouldRespectGracePeriod: boolean }[] = [];
  /** TerminateInstanceInAutoScalingGroup calls that were accepted, in order. */
  readonly scaleIns: ScaleInEvent[] = [];

  constructor(
    private readonly world: TwinWorld,
    private readonly hooks: () => HotplugHooks,
    private readonly onError: (message: string) => void,
    private readonly autoScaling: () => AutoScalingHooks = () => ({}),
  ) {}

  private instance(id: string | null): TwinInstance {
    const i = this.world.instances.find((x) => x.id === id);
    if (!i) throw new AwsError("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
    return i;
  }

  /** Attaching needs a running or stopped instance (IncorrectInstanceState otherwise). */
  private attachable(i: TwinInstance): void {
    if (i.state !== "running" && i.state !== "stopped") {
      throw new AwsError("IncorrectInstanceState", `The instance '${i.id}' is not in a valid state for this operation (${i.state}).`);
    }
  }

  private instanceContext(i: TwinInstance): Record<string, string> {
    return {
      ...resourceTagContext(i.tags, "ec2"),
      "ec2:Region": this.world.region,
      "ec2:AvailabilityZone": i.availabilityZone,
      ...(i.instanceProfileArn ? { "ec2:InstanceProfile": i.instanceProfileArn } : {}),
    };
  }

  /** EC2 query actions. */
  async handleEc2(ctx: CallContext, p: URLSearchParams): Promise<string> {
    const action = p.get("Action") ?? "";
    const w = this.world;
    const star = async () => {
      await ctx.authorize(`ec2:${action}`, "*", { context: { "ec2:Region": w.region } });
    };
    let inner: string;
    switch (action) {
      case "DescribeNetworkInterfaces": {
        await star();
        const list = this.select(w.networkInterfaces, listParam(p, "NetworkInterfaceId"), "InvalidNetworkInterfaceID.NotFound", p, (e, n) => this.eniFilter(e, n));
        inner = `<networkInterfaceSet>${list.map((e) => this.eniXml(e)).join("")}</networkInterfaceSet>`;
        break;
      }
      case "DescribeVolumes": {
        await star();
        const list = this.select(w.volumes, listParam(p, "VolumeId"), "InvalidVolume.NotFound", p, (v, n) => this.volumeFilter(v, n));
        inner = `<volumeSet>${list.map((v) => this.volumeXml(v)).join("")}</volumeSet>`;
        break;
      }
      case "DescribeInstances": {
        await star();
        const ids = listParam(p, "InstanceId");
        const unknown = ids.filter((id) => !w.instances.some((i) => i.id === id));
        if (unknown.length) throw new AwsError("InvalidInstanceID.NotFound", `The instance IDs '${unknown.join(", ")}' do not exist`);
        let list = ids.length ? w.instances.filter((i) => ids.includes(i.id)) : [...w.instances];
        for (const f of filters(p)) list = list.filter((i) => matches(this.instanceFilter(i, f.name), f.values));
        inner = `<reservationSet>${list.map((i) => this.instanceXml(i)).join("")}</reservationSet>`;
        break;
      }
      case "DescribeTags": {
        await star();
        inner = `<tagSet>${this.describeTags(p)}</tagSet>`;
        break;
      }
      case "AttachNetworkInterface": {
        const eni = this.find(w.networkInterfaces, p.get("NetworkInterfaceId"), "InvalidNetworkInterfaceID.NotFound");
        const inst = this.instance(p.get("InstanceId"));
        await ctx.authorize("ec2:AttachNetworkInterface", ec2Arn(w, "instance", inst.id), { context: this.instanceContext(inst) });
        await ctx.authorize("ec2:AttachNetworkInterface", ec2Arn(w, "network-interface", eni.id), { context: { ...resourceTagContext(eni.tags, "ec2"), "ec2:Region": w.region, "ec2:AvailabilityZone": eni.availabilityZone } });
        this.attachable(inst);
        if (eni.attachment) throw new AwsError("InvalidNetworkInterface.InUse", `Interface: [${eni.id}] in use.`);
        if (eni.availabilityZone !== inst.availabilityZone) {
          throw new AwsError("InvalidParameterCombination", `You may not attach a network interface to an instance if they are not in the same availability zone`);
        }
        const index = p.get("DeviceIndex") ?? "1";
        if (w.networkInterfaces.some((e) => e.attachment?.instanceId === inst.id && e.attachment.device === index)) {
          throw new AwsError("InvalidParameterValue", `Instance '${inst.id}' already has an interface attached at device index '${index}'.`);
        }
        eni.attachment = this.newAttachment("eni-attach", inst.id, index);
        this.plug(eni.attachment, { kind: "network-interface", resourceId: eni.id, instanceId: inst.id, device: index, mac: eni.mac, privateIp: eni.privateIp, subnetCidr: eni.subnetCidr });
        inner = `<attachmentId>${eni.attachment.attachmentId}</attachmentId><networkCardIndex>0</networkCardIndex>`;
        break;
      }
      case "DetachNetworkInterface": {
        const eni = w.networkInterfaces.find((e) => e.attachment?.attachmentId === p.get("AttachmentId"));
        if (!eni || !eni.attachment) throw new AwsError("InvalidAttachmentID.NotFound", `The attachment ID '${p.get("AttachmentId")}' does not exist`);
        const inst = this.instance(eni.attachment.instanceId);
        await ctx.authorize("ec2:DetachNetworkInterface", ec2Arn(w, "instance", inst.id), { context: this.instanceContext(inst) });
        await ctx.authorize("ec2:DetachNetworkInterface", ec2Arn(w, "network-interface", eni.id), { context: { ...resourceTagContext(eni.tags, "ec2"), "ec2:Region": w.region } });
        if (eni.attachment.device === "0") throw new AwsError("OperationNotPermitted", `The network interface at device index 0 cannot be detached.`);
        this.unplug(eni, { kind: "network-interface", resourceId: eni.id, instanceId: inst.id, device: eni.attachment.device, mac: eni.mac });
        inner = "<return>true</return>";
        break;
      }
      case "AttachVolume": {
        const vol = this.find(w.volumes, p.get("VolumeId"), "InvalidVolume.NotFound");
        const inst = this.instance(p.get("InstanceId"));
        const device = p.get("Device") ?? "";
        await ctx.authorize("ec2:AttachVolume", ec2Arn(w, "instance", inst.id), { context: this.instanceContext(inst) });
        await ctx.authorize("ec2:AttachVolume", ec2Arn(w, "volume", vol.id), { context: { ...resourceTagContext(vol.tags, "ec2"), "ec2:Region": w.region, "ec2:Encrypted": String(vol.encrypted), "ec2:VolumeSize": String(vol.sizeGiB), "ec2:VolumeType": vol.volumeType ?? "gp3" } });
        this.attachable(inst);
        if (vol.attachment) throw new AwsError("VolumeInUse", `${vol.id} is already attached to an instance`);
        if (vol.availabilityZone !== inst.availabilityZone) {
          throw new AwsError("InvalidVolume.ZoneMismatch", `The volume '${vol.id}' is not in the same availability zone as instance '${inst.id}'`);
        }
        const key = vol.encrypted ? findKey(w, vol.kmsKeyArn) : undefined;
        if (key) {
          // https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html#ebs-encryption-permissions
          await ctx.kmsOnBehalf(key.arn, "kms:CreateGrant", "ec2", { "kms:GrantIsForAWSResource": "true", "kms:EncryptionContext:aws:ebs:id": vol.id }, (d) => accessDenied("ec2", d.message ?? "", d));
        }
        vol.attachment = this.newAttachment("vol-attach", inst.id, device);
        this.plug(vol.attachment, { kind: "volume", resourceId: vol.id, instanceId: inst.id, device });
        inner =
          `<volumeId>${vol.id}</volumeId><instanceId>${inst.id}</instanceId><device>${xmlEscape(device)}</device>` +
          `<status>attaching</status><attachTime>${vol.attachment.attachTime}</attachTime>`;
        break;
      }
      case "DetachVolume": {
        const vol = this.find(w.volumes, p.get("VolumeId"), "InvalidVolume.NotFound");
        if (!vol.attachment) throw new AwsError("IncorrectState", `Volume '${vol.id}' is in the 'available' state.`);
        const holder = p.get("InstanceId") ?? vol.attachment.instanceId;
        if (holder !== vol.attachment.instanceId) throw new AwsError("InvalidAttachment.NotFound", `Volume '${vol.id}' is not attached to instance '${holder}'`);
        const inst = this.instance(holder);
        await ctx.authorize("ec2:DetachVolume", ec2Arn(w, "instance", inst.id), { context: this.instanceContext(inst) });
        await ctx.authorize("ec2:DetachVolume", ec2Arn(w, "volume", vol.id), { context: { ...resourceTagContext(vol.tags, "ec2"), "ec2:Region": w.region } });
        const device = vol.attachment.device;
        this.unplug(vol, { kind: "volume", resourceId: vol.id, instanceId: inst.id, device });
        inner = `<volumeId>${vol.id}</volumeId><instanceId>${inst.id}</instanceId><device>${xmlEscape(device)}</device><status>detaching</status>`;
        break;
      }
      default:
        throw new AwsError("InvalidAction", `The action ${action} is not valid for this web service (EC2 twin).`);
    }
    return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${ctx.requestId}</requestId>${inner}</${action}Response>`;
  }

  /** Auto Scaling query actions (SetInstanceHealth, DescribeAutoScalingGroups, TerminateInstanceInAutoScalingGroup). */
  async handleAutoScaling(ctx: CallContext, p: URLSearchParams): Promise<string> {
    const action = p.get("Action") ?? "";
    if (action === "DescribeAutoScalingGroups") return this.describeAutoScalingGroups(ctx, p);
    if (action === "TerminateInstanceInAutoScalingGroup") return this.terminateInAutoScalingGroup(ctx, p);
    if (action !== "SetInstanceHealth") throw new AwsError("InvalidAction", `The action ${action} is not valid for this web service (Auto Scaling twin).`);
    const instanceId = p.get("InstanceId") ?? "";
    const inst = this.world.instances.find((i) => i.id === instanceId && i.state !== "terminated");
    const group = inst?.autoScalingGroupName ? this.world.autoScalingGroups.find((g) => g.name === inst.autoScalingGroupName) : undefined;
    if (!inst || !group) throw new AwsError("ValidationError", `Instance Id not found - No managed instance found for instance ID: ${instanceId}`);
    await ctx.authorize("autoscaling:SetInstanceHealth", asgArn(this.world, group), { context: { ...resourceTagContext(group.tags, "autoscaling") } });
    const status = p.get("HealthStatus") ?? "";
    if (status !== "Healthy" && status !== "Unhealthy") throw new AwsError("ValidationError", `Valid health status values are 'Healthy' and 'Unhealthy'.`);
    this.healthReports.push({ instanceId, status, shouldRespectGracePeriod: p.get("ShouldRespectGracePeriod") !== "false" });
    return `<SetInstanceHealthResponse xmlns="${AUTOSCALING_NS}"><ResponseMetadata><RequestId>${ctx.requestId}</RequestId></ResponseMetadata></SetInstanceHealthResponse>`;
  }

  /** The live instances of a group (not terminated), oldest first. */
  private groupInstances(g: TwinAutoScalingGroup): TwinInstance[] {
    return this.world.instances.filter((i) => i.autoScalingGroupName === g.name && i.state !== "terminated");
  }

  /**
   * DescribeAutoScalingGroups (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html):
   * `AutoScalingGroupNames.member.N` (unknown names are left out, no error), `Filters.member.N`
   * with `tag:<key>`, `tag-key`, `tag-value`; each group with its LaunchTemplate
   * {LaunchTemplateId, LaunchTemplateName, Version} as the group holds it, sizes, zones and
   * Instances (LifecycleState `Pending`, `InService` or `Terminating`, HealthStatus, the
   * instance's own launch template version from its `aws:ec2launchtemplate:version` tag).
   * Response shape: https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_AutoScalingGroup.html
   */
  private async describeAutoScalingGroups(ctx: CallContext, p: URLSearchParams): Promise<string> {
    await ctx.authorize("autoscaling:DescribeAutoScalingGroups", "*");
    const names = listParam(p, "AutoScalingGroupNames.member");
    if (names.length > 100) throw new AwsError("ValidationError", "The number of group names cannot exceed 100.");
    let groups = names.length ? this.world.autoScalingGroups.filter((g) => names.includes(g.name)) : [...this.world.autoScalingGroups];
    for (let i = 1; i <= 10 && p.get(`Filters.member.${i}.Name`) !== null; i++) {
      const name = p.get(`Filters.member.${i}.Name`)!;
      const values = listParam(p, `Filters.member.${i}.Values.member`);
      if (!name.startsWith("tag:") && name !== "tag-key" && name !== "tag-value") throw new AwsError("ValidationError", `Filter name '${name}' is invalid.`);
      groups = groups.filter((g) => matches(tagValues(g.tags ?? {}, name) ?? [], values));
    }
    const lt = (id: string, name: string, version: string) =>
      `<LaunchTemplate><LaunchTemplateId>${xmlEscape(id)}</LaunchTemplateId><LaunchTemplateName>${xmlEscape(name)}</LaunchTemplateName><Version>${xmlEscape(version)}</Version></LaunchTemplate>`;
    const member = (g: TwinAutoScalingGroup): string => {
      const instances = this.groupInstances(g).map((i) => {
        const lifecycle = i.state === "pending" ? "Pending" : i.state === "running" ? "InService" : "Terminating";
        const health = [...this.healthReports].reverse().find((h) => h.instanceId === i.id)?.status ?? "Healthy";
        const ltId = i.tags["aws:ec2launchtemplate:id"];
        return (
          `<member><InstanceId>${i.id}</InstanceId><InstanceType>${xmlEscape(i.instanceType ?? "t4g.small")}</InstanceType><AvailabilityZone>${i.availabilityZone}</AvailabilityZone>` +
          `<LifecycleState>${lifecycle}</LifecycleState><HealthStatus>${health}</HealthStatus>` +
          (ltId ? lt(ltId, g.launchTemplate?.id === ltId ? g.launchTemplate.name : "", i.tags["aws:ec2launchtemplate:version"] ?? "") : "") +
          `<ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>`
        );
      });
      const desired = g.desiredCapacity ?? g.minSize ?? 0;
      return (
        `<member><AutoScalingGroupName>${xmlEscape(g.name)}</AutoScalingGroupName><AutoScalingGroupARN>${xmlEscape(asgArn(this.world, g))}</AutoScalingGroupARN>` +
        (g.launchTemplate ? lt(g.launchTemplate.id, g.launchTemplate.name, g.launchTemplate.version) : "") +
        `<MinSize>${g.minSize ?? 0}</MinSize><MaxSize>${g.maxSize ?? desired}</MaxSize><DesiredCapacity>${desired}</DesiredCapacity><DefaultCooldown>300</DefaultCooldown>` +
        `<AvailabilityZones>${(g.availabilityZones ?? []).map((z) => `<member>${z}</member>`).join("")}</AvailabilityZones><LoadBalancerNames/><TargetGroupARNs/>` +
        `<HealthCheckType>EC2</HealthCheckType><HealthCheckGracePeriod>300</HealthCheckGracePeriod><Instances>${instances.join("")}</Instances>` +
        `<CreatedTime>2026-01-01T00:00:00.000Z</CreatedTime><SuspendedProcesses/><VPCZoneIdentifier>${(g.subnetIds ?? []).join(",")}</VPCZoneIdentifier><EnabledMetrics/>` +
        `<Tags>${Object.entries(g.tags ?? {})
          .map(([k, v]) => `<member><ResourceId>${xmlEscape(g.name)}</ResourceId><ResourceType>auto-scaling-group</ResourceType><Key>${xmlEscape(k)}</Key><Value>${xmlEscape(v)}</Value><PropagateAtLaunch>false</PropagateAtLaunch></member>`)
          .join("")}</Tags><TerminationPolicies><member>Default</member></TerminationPolicies><NewInstancesProtectedFromScaleIn>false</NewInstancesProtectedFromScaleIn></member>`
      );
    };
    return (
      `<DescribeAutoScalingGroupsResponse xmlns="${AUTOSCALING_NS}"><DescribeAutoScalingGroupsResult><AutoScalingGroups>${groups.map(member).join("")}</AutoScalingGroups></DescribeAutoScalingGroupsResult>` +
      `<ResponseMetadata><RequestId>${ctx.requestId}</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>`
    );
  }

  /**
   * TerminateInstanceInAutoScalingGroup (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_TerminateInstanceInAutoScalingGroup.html):
   * `ShouldDecrementDesiredCapacity` is required; false: the group launches a replacement
   * (the {@link AutoScalingHooks.terminate} hook, after the response); true: the desired
   * capacity drops by one, refused when it would go below the minimum size. Answers the
   * scaling Activity (`InProgress`).
   */
  private async terminateInAutoScalingGroup(ctx: CallContext, p: URLSearchParams): Promise<string> {
    const instanceId = p.get("InstanceId") ?? "";
    const inst = this.world.instances.find((i) => i.id === instanceId && i.state !== "terminated");
    const group = inst?.autoScalingGroupName ? this.world.autoScalingGroups.find((g) => g.name === inst.autoScalingGroupName) : undefined;
    if (!inst || !group) throw new AwsError("ValidationError", `Instance Id not found - No managed instance found for instance ID: ${instanceId}`);
    await ctx.authorize("autoscaling:TerminateInstanceInAutoScalingGroup", asgArn(this.world, group), { context: { ...resourceTagContext(group.tags, "autoscaling") } });
    const flag = p.get("ShouldDecrementDesiredCapacity");
    if (flag !== "true" && flag !== "false") {
      throw new AwsError("ValidationError", `1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null`);
    }
    const decrement = flag === "true";
    if (decrement) {
      const desired = group.desiredCapacity ?? group.minSize ?? 0;
      if (desired - 1 < (group.minSize ?? 0)) {
        throw new AwsError(
          "ValidationError",
          `Currently, desiredSize equals minSize (${group.minSize ?? 0}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
        );
      }
      group.desiredCapacity = desired - 1;
    }
    const e: ScaleInEvent = { instanceId, group: group.name, decrement, activityId: randomUUID() };
    this.scaleIns.push(e);
    const hook = this.autoScaling().terminate;
    setImmediate(() => {
      Promise.resolve()
        .then(() => hook?.(e))
        .catch((err: unknown) => this.onError(`terminate-in-group of ${instanceId} (${group.name}) failed: ${String(err)}`));
    });
    const now = new Date().toISOString();
    const cause = `At ${now.replace(/\.\d{3}Z$/, "Z")} instance ${instanceId} was taken out of service in response to a user request${decrement ? ", shrinking the capacity from " + String((group.desiredCapacity ?? 0) + 1) + " to " + String(group.desiredCapacity ?? 0) : ""}.`;
    return (
      `<TerminateInstanceInAutoScalingGroupResponse xmlns="${AUTOSCALING_NS}"><TerminateInstanceInAutoScalingGroupResult><Activity>` +
      `<ActivityId>${e.activityId}</ActivityId><AutoScalingGroupName>${xmlEscape(group.name)}</AutoScalingGroupName><Description>Terminating EC2 instance: ${instanceId}</Description>` +
      `<Cause>${xmlEscape(cause)}</Cause><StartTime>${now}</StartTime><StatusCode>InProgress</StatusCode><Progress>0</Progress>` +
      `<Details>${xmlEscape(JSON.stringify({ "Subnet ID": inst.subnetId, "Availability Zone": inst.availabilityZone }))}</Details>` +
      `</Activity></TerminateInstanceInAutoScalingGroupResult><ResponseMetadata><RequestId>${ctx.requestId}</RequestId></ResponseMetadata></TerminateInstanceInAutoScalingGroupResponse>`
    );
  }

  private newAttachment(prefix: string, instanceId: string, device: string): NonNullable<TwinVolume["attachment"]> {
    return { instanceId, attachmentId: `${prefix}-${randomBytes(9).toString("hex").slice(0, 17)}`, device, status: "attaching", attachTime: new Date().toISOString(), deleteOnTermination: false };
  }

  /** Runs the attach hook after the response; `attached` once it resolves, no attachment if it throws. */
  private plug(att: NonNullable<TwinVolume["attachment"]>, e: HotplugEvent): void {
    const target = e.kind === "volume" ? this.world.volumes.find((v) => v.id === e.resourceId) : this.world.networkInterfaces.find((x) => x.id === e.resourceId);
    setImmediate(() => {
      Promise.resolve()
        .then(() => this.hooks().attach?.(e))
        .then(
          () => {
            if (target?.attachment === att) att.status = "attached";
          },
          (err: unknown) => {
            this.onError(`hotplug attach of ${e.resourceId} to ${e.instanceId} failed: ${String(err)}`);
            if (target?.attachment === att) target.attachment = undefined;
          },
        );
    });
  }

  private unplug(r: TwinVolume | TwinNetworkInterface, e: HotplugEvent): void {
    const att = r.attachment!;
    att.status = "detaching";
    setImmediate(() => {
      Promise.resolve()
        .then(() => this.hooks().detach?.(e))
        .catch((err: unknown) => this.onError(`hotplug detach of ${e.resourceId} from ${e.instanceId} failed: ${String(err)}`))
        .then(() => {
          if (r.attachment === att) r.attachment = undefined;
        });
    });
  }

  private find<T extends { id: string }>(list: T[], id: string | null, notFound: string): T {
    const r = list.find((x) => x.id === id);
    if (!r) throw new AwsError(notFound, `The ${notFound.startsWith("InvalidVolume") ? "volume" : "networkInterface ID"} '${id}' does not exist`);
    return r;
  }

  /**
   * The ENIs or volumes a Describe* call returns, newest first: EC2 documents no order for
   * them, and newest first puts an instance's launch-created primary ENI and root volume ahead
   * of the Terraform-created slot ENI and volume, so a caller that takes `[0]` of several
   * matches takes the wrong one (issue 10, defect 1).
   */
  private select<T extends { id: string }>(list: T[], ids: string[], notFound: string, p: URLSearchParams, values: (r: T, name: string) => string[]): T[] {
    const missing = ids.filter((id) => !list.some((r) => r.id === id));
    if (missing.length) throw new AwsError(notFound, `The ${notFound.startsWith("InvalidVolume") ? "volume" : "networkInterface ID"} '${missing.join(", ")}' does not exist`);
    let out = ids.length ? list.filter((r) => ids.includes(r.id)) : [...list];
    for (const f of filters(p)) out = out.filter((r) => matches(values(r, f.name), f.values));
    return out.reverse();
  }

  private eniFilter(e: TwinNetworkInterface, name: string): string[] {
    const t = tagValues(e.tags, name);
    if (t) return t;
    switch (name) {
      case "network-interface-id":
        return [e.id];
      case "availability-zone":
        return [e.availabilityZone];
      case "subnet-id":
        return [e.subnetId];
      case "vpc-id":
        return [e.vpcId];
      case "private-ip-address":
      case "addresses.private-ip-address":
        return [e.privateIp];
      case "mac-address":
        return [e.mac];
      case "status":
        return [e.attachment ? "in-use" : "available"];
      case "attachment.instance-id":
        return e.attachment ? [e.attachment.instanceId] : [];
      case "attachment.status":
        return e.attachment ? [e.attachment.status] : [];
      case "attachment.device-index":
        return e.attachment ? [e.attachment.device] : [];
      default:
        throw new AwsError("InvalidParameterValue", `The filter '${name}' is invalid`);
    }
  }

  private volumeFilter(v: TwinVolume, name: string): string[] {
    const t = tagValues(v.tags, name);
    if (t) return t;
    switch (name) {
      case "volume-id":
        return [v.id];
      case "availability-zone":
        return [v.availabilityZone];
      case "status":
        return [v.attachment ? "in-use" : "available"];
      case "attachment.instance-id":
        return v.attachment ? [v.attachment.instanceId] : [];
      case "attachment.status":
        return v.attachment ? [v.attachment.status] : [];
      case "attachment.device":
        return v.attachment ? [v.attachment.device] : [];
      case "encrypted":
        return [String(v.encrypted)];
      case "size":
        return [String(v.sizeGiB)];
      default:
        throw new AwsError("InvalidParameterValue", `The filter '${name}' is invalid`);
    }
  }

  private instanceFilter(i: TwinInstance, name: string): string[] {
    const t = tagValues(i.tags, name);
    if (t) return t;
    switch (name) {
      case "instance-id":
        return [i.id];
      case "instance-state-name":
        return [i.state];
      case "availability-zone":
        return [i.availabilityZone];
      case "private-ip-address":
        return [i.privateIp];
      case "subnet-id":
        return [i.subnetId];
      case "vpc-id":
        return [i.vpcId];
      default:
        throw new AwsError("InvalidParameterValue", `The filter '${name}' is invalid`);
    }
  }

  private eniXml(e: TwinNetworkInterface): string {
    const a = e.attachment;
    const attachment = a
      ? `<attachment><attachmentId>${a.attachmentId}</attachmentId><instanceId>${a.instanceId}</instanceId><instanceOwnerId>${this.world.accountId}</instanceOwnerId><deviceIndex>${xmlEscape(a.device)}</deviceIndex><status>${a.status}</status><attachTime>${a.attachTime}</attachTime><deleteOnTermination>${a.deleteOnTermination}</deleteOnTermination><networkCardIndex>0</networkCardIndex></attachment>`
      : "";
    return (
      `<item><networkInterfaceId>${e.id}</networkInterfaceId><subnetId>${e.subnetId}</subnetId><vpcId>${e.vpcId}</vpcId>` +
      `<availabilityZone>${e.availabilityZone}</availabilityZone><description>${xmlEscape(e.description ?? "")}</description><ownerId>${this.world.accountId}</ownerId>` +
      `<requesterManaged>false</requesterManaged><status>${a ? "in-use" : "available"}</status><macAddress>${e.mac}</macAddress>` +
      `<privateIpAddress>${e.privateIp}</privateIpAddress><sourceDestCheck>true</sourceDestCheck><groupSet/>${attachment}${tagSet(e.tags)}` +
      `<privateIpAddressesSet><item><privateIpAddress>${e.privateIp}</privateIpAddress><primary>true</primary></item></privateIpAddressesSet>` +
      `<ipv6AddressesSet/><interfaceType>interface</interfaceType></item>`
    );
  }

  private volumeXml(v: TwinVolume): string {
    const a = v.attachment;
    const attachment = a
      ? `<item><volumeId>${v.id}</volumeId><instanceId>${a.instanceId}</instanceId><device>${xmlEscape(a.device)}</device><status>${a.status}</status><attachTime>${a.attachTime}</attachTime><deleteOnTermination>${a.deleteOnTermination}</deleteOnTermination></item>`
      : "";
    return (
      `<item><volumeId>${v.id}</volumeId><size>${v.sizeGiB}</size><snapshotId/><availabilityZone>${v.availabilityZone}</availabilityZone>` +
      `<status>${a ? "in-use" : "available"}</status><createTime>2026-01-01T00:00:00.000Z</createTime>` +
      `<attachmentSet>${attachment}</attachmentSet>${tagSet(v.tags)}<volumeType>${v.volumeType ?? "gp3"}</volumeType>` +
      `<encrypted>${v.encrypted}</encrypted>${v.kmsKeyArn ? `<kmsKeyId>${v.kmsKeyArn}</kmsKeyId>` : ""}<multiAttachEnabled>false</multiAttachEnabled></item>`
    );
  }

  private instanceXml(i: TwinInstance): string {
    const code = { pending: 0, running: 16, "shutting-down": 32, terminated: 48, stopping: 64, stopped: 80 }[i.state];
    const enis = this.world.networkInterfaces.filter((e) => e.attachment?.instanceId === i.id);
    return (
      `<item><reservationId>r-${i.id.slice(2)}</reservationId><ownerId>${this.world.accountId}</ownerId><groupSet/><instancesSet><item>` +
      `<instanceId>${i.id}</instanceId><imageId>${i.imageId ?? "ami-0twin000000000000"}</imageId><instanceState><code>${code}</code><name>${i.state}</name></instanceState>` +
      `<instanceType>${i.instanceType ?? "t4g.small"}</instanceType>` +
      (i.state === "terminated" ? "" : `<privateIpAddress>${i.privateIp}</privateIpAddress><subnetId>${i.subnetId}</subnetId><vpcId>${i.vpcId}</vpcId>`) +
      `<placement><availabilityZone>${i.availabilityZone}</availabilityZone></placement>` +
      (i.instanceProfileArn ? `<iamInstanceProfile><arn>${i.instanceProfileArn}</arn></iamInstanceProfile>` : "") +
      `<networkInterfaceSet>${enis.map((e) => `<item><networkInterfaceId>${e.id}</networkInterfaceId><macAddress>${e.mac}</macAddress><privateIpAddress>${e.privateIp}</privateIpAddress><attachment><deviceIndex>${e.attachment!.device}</deviceIndex><status>${e.attachment!.status}</status></attachment></item>`).join("")}</networkInterfaceSet>` +
      `${tagSet(i.tags)}</item></instancesSet></item>`
    );
  }

  private describeTags(p: URLSearchParams): string {
    const fs = filters(p);
    const rows: string[] = [];
    const add = (id: string, type: string, tags: Record<string, string>) => {
      for (const [k, v] of Object.entries(tags)) {
        const values: Record<string, string[]> = { "resource-id": [id], "resource-type": [type], key: [k], value: [v] };
        if (fs.every((f) => matches(values[f.name] ?? [], f.values))) {
          rows.push(`<item><resourceId>${id}</resourceId><resourceType>${type}</resourceType><key>${xmlEscape(k)}</key><value>${xmlEscape(v)}</value></item>`);
        }
      }
    };
    for (const i of this.world.instances) add(i.id, "instance", i.tags);
    for (const e of this.world.networkInterfaces) add(e.id, "network-interface", e.tags);
    for (const v of this.world.volumes) add(v.id, "volume", v.tags);
    return rows.join("");
  }
}
