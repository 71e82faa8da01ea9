/**
 * The twin's AWS world (test/twin/aws/world.ts) from an applied stack (test/twin/apply): what
 * `terraform apply` created, with the resolved attributes — roles and their inline policies,
 * instance profiles, the KMS key (policy, aliases), the secret(s), the backup bucket (policy,
 * default encryption, versioning, the bootstrap objects with their version ids), the slot ENIs
 * and data volumes (tags as applied: `tags_all` when the provider has default tags), the
 * Auto Scaling groups, and the SSM parameters (`aws_ssm_parameter`: name, type, the value
 * Terraform wrote — `value`, or `insecure_value` — and its `version`). Instances are not
 * here: the twin's Auto Scaling launches them.
 */
import type { TwinResource, TwinState } from "./apply";
import type { TwinAws, TwinBucket, TwinWorld } from "./aws";

type Attrs = Record<string, unknown>;

/** A nested block as the JSON holds it: a list of one object, or the object. */
function block(v: unknown): Attrs | undefined {
  if (Array.isArray(v)) return v[0] as Attrs | undefined;
  return v && typeof v === "object" ? (v as Attrs) : undefined;
}

function str(v: unknown): string {
  return v === undefined || v === null ? "" : String(v);
}

/** Tags as AWS holds them: the resource's tags merged over the provider's default tags. */
function tagsOf(r: TwinResource): Record<string, string> {
  const all = (r.attributes.tags_all ?? r.attributes.tags ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, str(v)]));
}

/** A subnet (created by the stack or pre-existing in the account) by id. */
export function subnetOf(state: TwinState, id: string): { id: string; cidr: string; availabilityZone: string; vpcId: string } {
  const created = state.ofType("aws_subnet").find((s) => s.attributes.id === id);
  if (created) return { id, cidr: str(created.attributes.cidr_block), availabilityZone: str(created.attributes.availability_zone), vpcId: str(created.attributes.vpc_id) };
  const s = state.account.subnets.find((x) => x.id === id);
  if (s) return { id, cidr: s.cidr_block, availabilityZone: s.availability_zone, vpcId: s.vpc_id };
  throw new Error(`the applied stack and the twin account have no subnet ${id}`);
}

/**
 * The launch template of an applied Auto Scaling group as DescribeAutoScalingGroups shows it:
 * the id, the template's name, and the version as the group's `launch_template.version` holds
 * it (the stack's `${aws_launch_template.x.latest_version}` resolved to "1", "2", …; `$Latest`
 * and `$Default` stay literal, as AWS returns them). Undefined without a launch_template block.
 */
export function groupLaunchTemplate(state: TwinState, group: TwinResource): { id: string; name: string; version: string } | undefined {
  const ref = block(group.attributes.launch_template);
  if (!ref) return undefined;
  const lt = state.ofType("aws_launch_template").find((t) => t.attributes.id === ref.id || (ref.name && t.attributes.name === ref.name));
  return { id: str(ref.id ?? lt?.attributes.id), name: str(lt?.attributes.name ?? ref.name), version: str(ref.version) || "$Default" };
}

/**
 * Builds the world of one applied stack.
 * @throws Error naming a resource whose reference cannot be followed (a policy for an unknown role, …)
 */
export function worldFromState(state: TwinState): TwinWorld {
  const m = (type: string) => state.ofType(type).filter((r) => r.mode === "managed");
  const roles = m("aws_iam_role").map((r) => {
    const name = str(r.attributes.name);
    const policies = m("aws_iam_role_policy")
      .filter((p) => str(p.attributes.role) === name || str(p.attributes.role) === str(r.attributes.id))
      .map((p) => str(p.attributes.policy));
    return { arn: str(r.attributes.arn), roleId: str(r.attributes.unique_id) || undefined, policies, tags: tagsOf(r) };
  });
  const instanceProfiles = m("aws_iam_instance_profile").map((p) => {
    const role = roles.find((r) => r.arn.endsWith(`:role/${str(p.attributes.role)}`) || r.arn.endsWith(`/${str(p.attributes.role)}`));
    if (!role) throw new Error(`${p.address}: no role ${str(p.attributes.role)} in the stack`);
    return { arn: str(p.attributes.arn), roleArn: role.arn };
  });
  const kmsKeys = m("aws_kms_key").map((k) => ({
    arn: str(k.attributes.arn),
    policy: str(k.attributes.policy),
    aliases: m("aws_kms_alias")
      .filter((a) => [k.attributes.key_id, k.attributes.arn, k.attributes.id].includes(a.attributes.target_key_id))
      .map((a) => str(a.attributes.name)),
    tags: tagsOf(k),
  }));
  const buckets: TwinBucket[] = m("aws_s3_bucket").map((b) => {
    const name = str(b.attributes.bucket);
    const of = (type: string) => m(type).find((x) => str(x.attributes.bucket) === name || str(x.attributes.bucket) === str(b.attributes.id));
    const rule = block(of("aws_s3_bucket_server_side_encryption_configuration")?.attributes.rule);
    const byDefault = block(rule?.apply_server_side_encryption_by_default);
    const versioning = block(of("aws_s3_bucket_versioning")?.attributes.versioning_configuration);
    const policy = of("aws_s3_bucket_policy")?.attributes.policy;
    const objects = m("aws_s3_object")
      .filter((o) => str(o.attributes.bucket) === name)
      .map((o) => ({
        key: str(o.attributes.key),
        body: str(o.attributes.content),
        versionId: str(o.attributes.version_id) || undefined,
        ...(o.attributes.kms_key_id ? { kmsKeyArn: str(o.attributes.kms_key_id) } : {}),
        ...(o.attributes.content_type ? { contentType: str(o.attributes.content_type) } : {}),
      }));
    return {
      name,
      ...(policy ? { policy: str(policy) } : {}),
      ...(byDefault?.kms_master_key_id ? { defaultKmsKeyArn: str(byDefault.kms_master_key_id) } : {}),
      bucketKeyEnabled: rule?.bucket_key_enabled === true || rule?.bucket_key_enabled === "true",
      versioning: versioning?.status === "Enabled",
      objects,
      tags: tagsOf(b),
    };
  });
  const secrets = m("aws_secretsmanager_secret").map((s) => {
    const policy = m("aws_secretsmanager_secret_policy").find((p) => str(p.attributes.secret_arn) === str(s.attributes.arn));
    return {
      arn: str(s.attributes.arn),
      name: str(s.attributes.name),
      ...(s.attributes.kms_key_id ? { kmsKeyArn: str(s.attributes.kms_key_id) } : {}),
      ...(policy ? { resourcePolicy: str(policy.attributes.policy) } : {}),
      tags: tagsOf(s),
    };
  });
  const networkInterfaces = m("aws_network_interface").map((e) => {
    const subnet = subnetOf(state, str(e.attributes.subnet_id));
    return {
      id: str(e.attributes.id),
      subnetId: subnet.id,
      subnetCidr: subnet.cidr,
      vpcId: subnet.vpcId,
      availabilityZone: subnet.availabilityZone,
      privateIp: str(e.attributes.private_ip),
      mac: str(e.attributes.mac_address).toLowerCase(),
      tags: tagsOf(e),
      description: str(e.attributes.description),
    };
  });
  const volumes = m("aws_ebs_volume").map((v) => ({
    id: str(v.attributes.id),
    availabilityZone: str(v.attributes.availability_zone),
    sizeGiB: Number(v.attributes.size),
    volumeType: str(v.attributes.type) || "gp3",
    encrypted: v.attributes.encrypted === true || v.attributes.encrypted === "true",
    ...(v.attributes.kms_key_id ? { kmsKeyArn: str(v.attributes.kms_key_id) } : {}),
    tags: tagsOf(v),
  }));
  const autoScalingGroups = m("aws_autoscaling_group").map((g) => {
    const subnetIds = ((g.attributes.vpc_zone_identifier as string[] | undefined) ?? []).map(str);
    const launchTemplate = groupLaunchTemplate(state, g);
    const desired = g.attributes.desired_capacity ?? g.attributes.min_size;
    return {
      name: str(g.attributes.name),
      ...(g.attributes.arn ? { arn: str(g.attributes.arn) } : {}),
      tags: Object.fromEntries(((g.attributes.tag as { key: string; value: string }[] | undefined) ?? []).map((t) => [t.key, str(t.value)])),
      ...(launchTemplate ? { launchTemplate } : {}),
      minSize: Number(g.attributes.min_size ?? 0),
      ...(g.attributes.max_size !== undefined ? { maxSize: Number(g.attributes.max_size) } : {}),
      ...(desired !== undefined ? { desiredCapacity: Number(desired) } : {}),
      subnetIds,
      availabilityZones: [...new Set(subnetIds.map((id) => subnetOf(state, id).availabilityZone))],
    };
  });
  const parameters = m("aws_ssm_parameter").map((p) => ({
    name: str(p.attributes.name),
    type: str(p.attributes.type),
    value: str(p.attributes.value ?? p.attributes.insecure_value),
    ...(p.attributes.version !== undefined ? { version: Number(p.attributes.version) } : {}),
    tags: tagsOf(p),
  }));
  return {
    region: state.region,
    accountId: state.accountId,
    partition: "aws",
    roles,
    instanceProfiles,
    instances: [],
    networkInterfaces,
    volumes,
    secrets: [...secrets, ...(state.account.external?.secrets ?? [])],
    kmsKeys: [...kmsKeys, ...(state.account.external?.kmsKeys ?? [])],
    buckets: [...buckets, ...(state.account.external?.buckets ?? [])],
    autoScalingGroups,
    parameters,
  };
}

/**
 * The world after a re-apply (`prior` → `next`, both of the same stack), as AWS holds it once
 * `terraform apply` of the changed spec returned, without touching a running instance: each
 * Auto Scaling group's LaunchTemplate (id, name, version: UpdateAutoScalingGroup) and desired
 * capacity, the bucket objects' new versions (PutObject with the version id Terraform
 * recorded), the roles' changed policies, and EBS volumes grown in place (ModifyVolume: same
 * id, a larger `size`; the world's `sizeGiB` follows, the caller grows what backs an attached
 * volume: {@link TwinCluster.reapply}). Instances keep their user data and tags.
 * @returns the addresses of the managed resources whose attributes changed
 * @throws Error when the re-apply created or replaced ENIs, volumes or groups, or shrank a
 * volume (not modelled; EBS cannot shrink a volume)
 */
export function reapplyWorld(world: TwinWorld, prior: TwinState, next: TwinState, api: Pick<TwinAws, "s3" | "setRolePolicies">): string[] {
  const before = new Map(prior.resources.map((r) => [r.address, JSON.stringify(r.attributes)]));
  const changed = next.resources.filter((r) => r.mode === "managed" && before.get(r.address) !== JSON.stringify(r.attributes)).map((r) => r.address);
  for (const type of ["aws_network_interface", "aws_ebs_volume", "aws_autoscaling_group"]) {
    const ids = (st: TwinState) =>
      st
        .ofType(type)
        .filter((r) => r.mode === "managed")
        .map((r) => `${r.address}=${str(r.attributes.id)}`)
        .sort()
        .join(",");
    if (ids(prior) !== ids(next)) throw new Error(`reapply: ${type} resources created or replaced (not modelled by the twin): ${ids(prior)} -> ${ids(next)}`);
  }
  const sizeBefore = new Map(prior.ofType("aws_ebs_volume").map((r) => [str(r.attributes.id), Number(r.attributes.size)]));
  for (const v of next.ofType("aws_ebs_volume").filter((r) => r.mode === "managed")) {
    const id = str(v.attributes.id);
    const from = sizeBefore.get(id)!;
    const to = Number(v.attributes.size);
    if (to < from) throw new Error(`reapply: ${v.address} (${id}) shrank from ${from} to ${to} GiB (EBS volumes only grow)`);
    const live = world.volumes.find((x) => x.id === id);
    if (live && to !== from) live.sizeGiB = to;
  }
  const fresh = worldFromState(next);
  for (const g of fresh.autoScalingGroups) {
    const live = world.autoScalingGroups.find((x) => x.name === g.name)!;
    if (g.launchTemplate) live.launchTemplate = g.launchTemplate;
    live.desiredCapacity = g.desiredCapacity;
  }
  for (const b of fresh.buckets) for (const o of b.objects ?? []) api.s3.writeObject(b.name, o);
  for (const role of fresh.roles) {
    const old = world.roles.find((x) => x.arn === role.arn);
    if (old && JSON.stringify(old.policies) !== JSON.stringify(role.policies)) api.setRolePolicies(role.arn, role.policies);
  }
  return changed;
}
