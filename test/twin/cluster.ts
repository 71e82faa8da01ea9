/**
 * The EC2 twin, wired (issue 10): what `terraform apply` of a synthesized stack creates, running
 * on this machine. No render function of the library is called here: the input is the stack's
 * `cdk.tf.json`, applied by test/twin/apply (references, locals and functions evaluated by the
 * real `terraform console`), the AWS world served by test/twin/aws (SigV4 + IAM as AWS
 * evaluates it), the VPC of test/twin/network.ts, and every instance an Auto Scaling group
 * launches booted by test/twin/machine (the node root of the launch template's AMI under systemd-nspawn, real
 * systemd and cloud-init running the launch template's user data byte for byte).
 *
 * Auto Scaling, as AWS documents it (https://docs.aws.amazon.com/autoscaling/ec2/userguide/):
 * - a group launches `desired_capacity` (else `min_size`) instances from its launch template's
 *   version, spread over its subnets' availability zones (AZ balance);
 * - each instance gets its own primary ENI (an address of the subnet, not a slot's) and root
 *   volume, tagged per the template's `tag_specifications`; the instance also carries the
 *   group's `propagate_at_launch` tags and `aws:autoscaling:groupName`,
 *   `aws:ec2launchtemplate:id`, `aws:ec2launchtemplate:version`
 *   (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions
 *   lists the `aws:` tags EC2 adds);
 * - an instance reported Unhealthy (SetInstanceHealth) is replaced: with the library's
 *   instance maintenance policy (min 0 %, max 100 %) it is terminated, and its replacement is
 *   launched while the old one is still shutting down; termination releases the instance's
 *   ENI and volume attachments only after `terminationDelayMs` (EC2 takes seconds to minutes);
 * - TerminateInstanceInAutoScalingGroup without decrementing the desired capacity: the
 *   instance shuts down cleanly and the group launches its replacement from the group's
 *   current launch template version at the same time (see {@link TwinCluster.reapply} for a
 *   changed stack; https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_TerminateInstanceInAutoScalingGroup.html).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, ftruncateSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { addressesInUse, allocateAddress, applyStack, type TwinAccount, type TwinResource, type TwinState } from "./apply";
import { startTwinAws, twinServiceNames, type HotplugEvent, type ScaleInEvent, type TwinAws, type TwinWorld } from "./aws";
import { bootMachine, destroyAllMachines, detachLoopsOf, loopsOf, nodeRoot, reapStaleMachines, type Machine } from "./machine";
import { HOST_ADDRESS, IMDS_PORT, TwinNetwork } from "./network";
import { reapplyWorld, subnetOf, worldFromState } from "./world-from-state";
import { createCa, issueCertificate, type KeyPair } from "../live/harness/tls";

/** Options of {@link TwinCluster.start}. */
export interface TwinClusterOptions {
  /** Directory of the synthesized stack (`cdk.tf.json`). */
  readonly stackDir: string;
  /** Prefix of every namespace, link and machine (2–5 lowercase characters). */
  readonly prefix: string;
  readonly account?: Partial<TwinAccount>;
  readonly variables?: Record<string, unknown>;
  /** How long a terminating instance keeps its attachments. @default 15000 */
  readonly terminationDelayMs?: number;
  readonly log?: (message: string) => void;
}

/** An instance the twin launched. */
export interface LaunchedInstance {
  readonly id: string;
  readonly group: string;
  readonly netns: string;
  readonly address: string;
  readonly subnetId: string;
  readonly availabilityZone: string;
  readonly machine: Machine;
  readonly launchedAt: number;
  /** Router-side ports of attached ENIs, by ENI id. */
  readonly ports: Map<string, string>;
}

function str(v: unknown): string {
  return v === undefined || v === null ? "" : String(v);
}

function block(v: unknown): Record<string, unknown> | undefined {
  if (Array.isArray(v)) return v[0] as Record<string, unknown> | undefined;
  return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
}

/** The running twin of one applied stack; `destroy()` always (also after failures). */
export class TwinCluster {
  readonly instances = new Map<string, LaunchedInstance>();
  /** Instance ids in launch order, with their group (also terminated ones). */
  readonly launches: { id: string; group: string; at: number }[] = [];
  /** Terminations in progress or done, by instance id: each resolves when EC2 released the instance's attachments. */
  readonly terminations = new Map<string, Promise<void>>();
  /** Replacements launched by TerminateInstanceInAutoScalingGroup, by the terminated instance's id. */
  readonly replacements = new Map<string, Promise<LaunchedInstance>>();
  private readonly volumeFiles = new Map<string, string>();
  private readonly log: (m: string) => void;
  private closed = false;

  private constructor(
    readonly options: TwinClusterOptions,
    /** The applied state: the first apply's, then the latest {@link reapply}'s. */
    public state: TwinState,
    readonly world: TwinWorld,
    readonly net: TwinNetwork,
    readonly ca: KeyPair,
    readonly workDir: string,
    public aws: TwinAws | undefined,
  ) {
    this.log = options.log ?? (() => undefined);
  }

  /**
   * Applies the stack, builds the VPC, starts the AWS API and launches every Auto Scaling
   * group's instances (booted; cloud-init may still be running: {@link waitForCloudInit}).
   * @throws ApplyError when the apply fails (a precondition, an oversized user data, …)
   */
  static async start(options: TwinClusterOptions): Promise<TwinCluster> {
    const state = await applyStack(options.stackDir, options.account, undefined, options.variables ? { variables: options.variables } : {});
    const world = worldFromState(state);
    const subnets = [...new Set(state.ofType("aws_autoscaling_group").flatMap((g) => (g.attributes.vpc_zone_identifier as string[]) ?? []))].map((id) => {
      const s = subnetOf(state, id);
      return { id, cidr: s.cidr, availabilityZone: s.availabilityZone };
    });
    // what a killed run left: its machines (overlays, loops), then the loops of its volume files
    await reapStaleMachines();
    const workDir = join("/var/tmp", `${options.prefix}-twin`);
    const volumes = join(workDir, "volumes");
    if (existsSync(volumes)) for (const f of readdirSync(volumes)) detachLoopsOf(join(volumes, f));
    const net = await TwinNetwork.create(options.prefix, subnets);
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    const ca = await createCa(join(workDir, "pki"), "EC2 twin CA");
    const cluster = new TwinCluster(options, state, world, net, ca, workDir, undefined);
    try {
      const names = [...twinServiceNames(state.region), ...world.buckets.map((b) => `${b.name}.s3.${state.region}.amazonaws.com`)];
      const server = await issueCertificate(join(workDir, "pki"), ca, `ec2.${state.region}.amazonaws.com`, [HOST_ADDRESS], names);
      cluster.aws = await startTwinAws({
        world,
        tls: server,
        api: [{ host: HOST_ADDRESS, port: 443 }],
        imds: [{ host: HOST_ADDRESS, port: IMDS_PORT }],
        dataDir: join(workDir, "s3"),
        hotplug: { attach: (e) => cluster.attach(e), detach: (e) => cluster.detach(e) },
        autoScaling: { terminate: (e) => cluster.scaleIn(e) },
      });
      for (const g of state.ofType("aws_autoscaling_group")) {
        const n = Number(g.attributes.desired_capacity ?? g.attributes.min_size ?? 0);
        for (let i = 0; i < n; i++) await cluster.launch(g);
      }
    } catch (e) {
      await cluster.destroy();
      throw e;
    }
    return cluster;
  }

  /** The names the machines resolve to the twin (the AWS endpoints and the buckets' virtual hosts). */
  hostsEntries(): Record<string, string> {
    const names = [...twinServiceNames(this.state.region).filter((n) => !n.startsWith("*")), ...this.world.buckets.map((b) => `${b.name}.s3.${this.state.region}.amazonaws.com`)];
    return Object.fromEntries(names.map((n) => [n, HOST_ADDRESS]));
  }

  /** Launches one instance of an Auto Scaling group (by resource or group name). */
  async launch(group: TwinResource | string): Promise<LaunchedInstance> {
    const g = typeof group === "string" ? this.state.ofType("aws_autoscaling_group").find((x) => x.attributes.name === group) : group;
    if (!g) throw new Error(`no Auto Scaling group ${String(group)}`);
    const groupName = str(g.attributes.name);
    const ltRef = block(g.attributes.launch_template)!;
    const lt = this.state.ofType("aws_launch_template").find((t) => t.attributes.id === ltRef.id);
    if (!lt) throw new Error(`${g.address}: launch template ${str(ltRef.id)} not applied`);
    const subnets = (g.attributes.vpc_zone_identifier as string[]).map((id) => subnetOf(this.state, id));
    // AZ balance: the zone with the fewest running instances of the group
    const running = [...this.instances.values()].filter((i) => i.group === groupName);
    const subnet = [...subnets].sort((a, b) => running.filter((i) => i.subnetId === a.id).length - running.filter((i) => i.subnetId === b.id).length)[0];
    const taken = addressesInUse(this.state).get(subnet.id) ?? new Set<string>();
    for (const i of this.instances.values()) taken.add(i.address);
    const id = `i-0${randomBytes(8).toString("hex")}`;
    const address = allocateAddress(subnet.cidr, taken, id);
    const mac = `02:${randomBytes(5).toString("hex").match(/../g)!.join(":")}`;
    const specs = ((lt.attributes.tag_specifications as { resource_type: string; tags: Record<string, string> }[]) ?? []);
    const tagsFor = (type: string) => ({ ...(specs.find((s) => s.resource_type === type)?.tags ?? {}) });
    const propagated = Object.fromEntries(((g.attributes.tag as { key: string; value: string; propagate_at_launch: unknown }[]) ?? []).filter((t) => t.propagate_at_launch === true || t.propagate_at_launch === "true").map((t) => [t.key, str(t.value)]));
    // the group's version: a number, or $Latest / $Default (AWS's default when none is given)
    const asked = str(ltRef.version) || "$Default";
    const version = asked === "$Latest" ? str(lt.attributes.latest_version) : asked === "$Default" ? str(lt.attributes.default_version) : asked;
    if (version !== str(lt.attributes.latest_version)) throw new Error(`${g.address}: launch template version ${version} asked; the twin keeps only the latest version (${str(lt.attributes.latest_version)})`);
    const profile = block(lt.attributes.iam_instance_profile);
    const root = block(block(lt.attributes.block_device_mappings)?.ebs);
    // the node root of the AMI the template references (the account's images: Debian 12 → bookworm, 13 → trixie)
    const imageId = str(lt.attributes.image_id);
    const image = this.state.account.images.find((i) => i.id === imageId);
    if (!image) throw new Error(`${lt.address}: image ${imageId} is not an AMI of the twin's account (${this.state.account.images.map((i) => `${i.id} Debian ${i.release}`).join(", ")})`);
    const lowerRoot = nodeRoot(image.suite);
    // the instance with its launch-created primary ENI and root volume, tagged per tag_specifications
    const instance = this.aws!.launchInstance({
      id,
      privateIp: address,
      mac,
      subnetId: subnet.id,
      subnetCidr: subnet.cidr,
      vpcId: subnet.vpcId,
      availabilityZone: subnet.availabilityZone,
      instanceProfileArn: str(profile?.arn) || undefined,
      autoScalingGroupName: groupName,
      userData: str(lt.attributes.user_data),
      imageId,
      instanceType: str(lt.attributes.instance_type),
      launchTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      tagSpecifications: [
        {
          resourceType: "instance",
          tags: { ...propagated, ...tagsFor("instance"), "aws:autoscaling:groupName": groupName, "aws:ec2launchtemplate:id": str(lt.attributes.id), "aws:ec2launchtemplate:version": version },
        },
        { resourceType: "network-interface", tags: tagsFor("network-interface") },
        { resourceType: "volume", tags: tagsFor("volume") },
      ],
      rootVolume: { sizeGiB: Number(root?.volume_size ?? 8), ...(root?.kms_key_id ? { kmsKeyArn: str(root.kms_key_id) } : {}) },
    });
    const netns = await this.net.addInstance(subnet.id, address, mac);
    this.log(`launch ${id} of ${groupName} in ${subnet.availabilityZone} (${address}, ${netns})`);
    const machine = await bootMachine({
      name: `${this.options.prefix}-${id.slice(-8)}`,
      netns,
      userData: Buffer.from(instance.userData ?? "", "base64"),
      instanceId: id,
      caCertificates: [this.ca.certPem],
      hosts: this.hostsEntries(),
      root: lowerRoot,
    });
    const launched: LaunchedInstance = { id, group: groupName, netns, address, subnetId: subnet.id, availabilityZone: subnet.availabilityZone, machine, launchedAt: Date.now(), ports: new Map() };
    this.instances.set(id, launched);
    this.launches.push({ id, group: groupName, at: launched.launchedAt });
    return launched;
  }

  /** Backing file of a volume: a sparse file of its size, made on first attach. */
  private volumeFile(volumeId: string): string {
    let f = this.volumeFiles.get(volumeId);
    if (!f) {
      const v = this.world.volumes.find((x) => x.id === volumeId)!;
      f = join(this.workDir, "volumes", `${volumeId}.img`);
      mkdirSync(join(this.workDir, "volumes"), { recursive: true });
      const fd = openSync(f, "a");
      ftruncateSync(fd, v.sizeGiB * 2 ** 30);
      closeSync(fd);
      this.volumeFiles.set(volumeId, f);
    }
    return f;
  }

  /** Detaches the loop devices of `volumeId`'s backing file (by the path recorded at its first attach) and removes the file. */
  private dropVolume(volumeId: string): void {
    const f = this.volumeFiles.get(volumeId);
    if (!f) return;
    const left = detachLoopsOf(f);
    if (left.length > 0) this.log(`volume ${volumeId}: detached ${left.join(", ")} (still attached after its machines were destroyed)`);
    rmSync(f, { force: true });
    this.volumeFiles.delete(volumeId);
  }

  /** Drops the backing files of volumes EC2 deleted (DeleteOnTermination when their instance terminated). */
  private dropDeletedVolumes(): void {
    for (const id of [...this.volumeFiles.keys()]) if (!this.world.volumes.some((v) => v.id === id)) this.dropVolume(id);
  }

  /** NVMe device name of a volume attached as /dev/sd[f-p] on a Nitro instance, and its udev by-id name. */
  private static nvme(volumeId: string, device: string): { dev: string; byId: string } {
    const n = Math.max(1, device.charCodeAt(device.length - 1) - "e".charCodeAt(0));
    return { dev: `nvme${n}n1`, byId: `nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}` };
  }

  private async attach(e: HotplugEvent): Promise<void> {
    const inst = this.instances.get(e.instanceId);
    if (!inst) throw new Error(`attach to ${e.instanceId}: not a running twin instance`);
    if (e.kind === "network-interface") {
      const eni = this.world.networkInterfaces.find((x) => x.id === e.resourceId)!;
      const port = await this.net.attachInterface(inst.netns, eni.subnetId, [eni.privateIp], eni.mac, `ens${5 + Number(e.device)}`);
      inst.ports.set(eni.id, port);
    } else {
      const { dev, byId } = TwinCluster.nvme(e.resourceId, e.device);
      await inst.machine.attachBlockDevice(this.volumeFile(e.resourceId), dev, { byId });
    }
    this.log(`attached ${e.resourceId} to ${e.instanceId}`);
  }

  private async detach(e: HotplugEvent): Promise<void> {
    const inst = this.instances.get(e.instanceId);
    if (!inst) return; // terminated: its namespace and devices are gone already
    if (e.kind === "network-interface") {
      const port = inst.ports.get(e.resourceId);
      if (port) await this.net.detach(port);
      inst.ports.delete(e.resourceId);
    } else {
      await inst.machine.detachBlockDevice(TwinCluster.nvme(e.resourceId, e.device).dev).catch(() => undefined);
    }
    this.log(`detached ${e.resourceId} from ${e.instanceId}`);
  }

  /** Waits until cloud-init finished on every running instance. @throws Error naming the instance */
  async waitForCloudInit(timeoutMs: number): Promise<void> {
    await Promise.all(
      [...this.instances.values()].map((i) =>
        i.machine.waitForCloudInit(timeoutMs).catch((err: unknown) => {
          throw new Error(`instance ${i.id} (${i.group}): ${String(err instanceof Error ? err.message : err)}`);
        }),
      ),
    );
  }

  /**
   * An instance failure: every process of the machine killed at once; EC2 then reports it
   * terminated and releases its attachments after the termination delay (awaited unless
   * `awaitRelease: false`).
   */
  async crash(instanceId: string, opts: { readonly awaitRelease?: boolean } = {}): Promise<void> {
    const inst = this.instances.get(instanceId);
    if (!inst) throw new Error(`no running instance ${instanceId}`);
    await inst.machine.crash();
    await this.retire(inst, opts.awaitRelease ?? true);
  }

  /**
   * Removes a dead instance: its machine and namespace at once; EC2 marks it shutting-down and
   * releases its attachments after the termination delay. `awaitRelease: false` returns before
   * that release (an Auto Scaling replacement launches meanwhile); {@link terminations} holds it.
   */
  private async retire(inst: LaunchedInstance, awaitRelease: boolean): Promise<void> {
    this.instances.delete(inst.id);
    await inst.machine.destroy();
    await this.net.removeInstance(inst.netns);
    const released = this.aws!.terminateInstance(inst.id, this.options.terminationDelayMs ?? 15_000);
    this.terminations.set(inst.id, released.then(() => this.dropDeletedVolumes()));
    if (awaitRelease) await this.terminations.get(inst.id);
  }

  /**
   * TerminateInstanceInAutoScalingGroup (the hook of test/twin/aws): EC2 marks the instance
   * shutting-down and the OS gets a clean shutdown (as EC2's terminate does; killed after
   * 30 s), its attachments are released after the termination delay; unless the desired
   * capacity was lowered, the group launches the replacement at the same time from its
   * current launch template version (the library's instance maintenance policy: min 0 %,
   * max 100 %). {@link replacements} holds the replacement's launch by old instance id.
   */
  private async scaleIn(e: ScaleInEvent): Promise<void> {
    const inst = this.instances.get(e.instanceId);
    const w = this.world.instances.find((i) => i.id === e.instanceId);
    if (w && w.state === "running") w.state = "shutting-down";
    const replacement = e.decrement || this.closed ? undefined : this.launch(e.group);
    if (replacement) {
      this.replacements.set(e.instanceId, replacement);
      replacement.catch(() => undefined); // awaited below; a failed stop must not leave it unhandled
    }
    if (inst) {
      this.log(`terminate-in-group ${e.instanceId} of ${e.group}${e.decrement ? " (capacity lowered)" : ", replacement launching"}`);
      await inst.machine.stop(30_000).catch((err: unknown) => this.log(String(err)));
      await this.retire(inst, true);
    } else {
      await this.aws!.terminateInstance(e.instanceId, this.options.terminationDelayMs ?? 15_000);
    }
    await replacement;
  }

  /**
   * A `terraform apply` of the changed stack in `stackDir` over the current state (launch
   * templates get a new version, `latest_version` + 1; the groups take it through their
   * `launch_template.version`; S3 objects a new version), then the world follows without
   * touching a running instance, as on AWS: each group's LaunchTemplate (id, name, version)
   * and desired capacity, the bucket objects' new versions, the roles' policies. Instances
   * launched from then on use the new version (user data, instance type, tags).
   * A data volume grown in place (`size` raised: EC2's ModifyVolume) grows under the running
   * instance: its sparse backing file is extended and `losetup -c` makes the attached device
   * (its `/dev/nvme*` inside the machine) report the new size, as an NVMe EBS volume does once
   * the modification is in `optimizing`; nothing else happens to the instance.
   * Not modelled: resources created or replaced by the re-apply (ENIs, volumes, groups) and a
   * volume shrinking; such a change throws.
   * @returns the addresses of the resources the apply changed
   * @throws ApplyError when the apply fails; Error when the change is not modelled or a grown
   * volume's loop device cannot be resized
   */
  async reapply(stackDir: string): Promise<string[]> {
    const next = await applyStack(stackDir, this.options.account, this.state, this.options.variables ? { variables: this.options.variables } : {});
    const changed = reapplyWorld(this.world, this.state, next, this.aws!);
    this.state = next;
    for (const [volumeId, file] of this.volumeFiles) {
      const v = this.world.volumes.find((x) => x.id === volumeId);
      const bytes = (v?.sizeGiB ?? 0) * 2 ** 30;
      if (!v || statSync(file).size >= bytes) continue;
      truncateSync(file, bytes);
      const loops = loopsOf(file);
      for (const loop of loops) {
        const r = spawnSync("losetup", ["-c", loop], { encoding: "utf8", timeout: 10_000 });
        if (r.status !== 0) throw new Error(`reapply: losetup -c ${loop} (${volumeId}) failed: ${r.stderr}`);
      }
      this.log(`volume ${volumeId} grown in place to ${v.sizeGiB} GiB (${loops.join(", ") || "not attached"})`);
    }
    this.log(`reapply: ${changed.length} resources changed: ${changed.join(", ")}`);
    return changed;
  }

  /**
   * Stops everything this twin started: machines, the API, the network, the volume files and
   * every loop device still backed by one of them (by the paths it recorded). Idempotent.
   */
  async destroy(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const inst of this.instances.values()) await inst.machine.destroy().catch(() => undefined);
    await destroyAllMachines().catch(() => undefined);
    for (const id of [...this.volumeFiles.keys()]) this.dropVolume(id);
    await this.aws?.close().catch(() => undefined);
    await this.net.destroy();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
