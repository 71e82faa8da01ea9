/**
 * Test fixture: a {@link TwinWorld} from a synthesized `cdk.tf.json`, resolved minimally
 * (until part A's resolver in test/twin/apply/ lands): the IAM roles with the policy JSON
 * the AWS provider renders from each `data.aws_iam_policy_document`, the instance profiles,
 * the KMS key and its key policy, the backup bucket with its policy, default encryption and
 * versioning, the secret, the slot ENIs and data volumes, the Auto Scaling groups and the SSM
 * parameters (the configured value, version 1). Only
 * plain references are resolved (`${aws_x.y.attr}`, partition, region, account id); anything
 * else throws naming the expression. Ids are derived from the resource address.
 */
import { createHash } from "crypto";
import type { TwinBucket, TwinWorld } from "./world";

type Json = Record<string, unknown>;

/** Documentation example account of AWS. */
export const ACCOUNT_ID = "111122223333";

function hex(seed: string, n: number): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, n);
}

function uuid(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface Stack {
  resource: Record<string, Record<string, Json>>;
  data: Record<string, Record<string, Json>>;
  provider?: { aws?: { region?: string }[] };
}

/** The provider's rendering of one `statement` block list (single values stay strings, as aws_iam_policy_document does). */
export function policyJson(statements: Json[], resolve: (s: string) => string): string {
  const one = (v: string[]) => (v.length === 1 ? v[0] : v);
  const out = statements.map((s) => {
    const st: Json = {};
    if (s.sid) st.Sid = s.sid;
    st.Effect = s.effect ?? "Allow";
    if (s.actions) st.Action = one((s.actions as string[]).map(resolve));
    if (s.not_actions) st.NotAction = one((s.not_actions as string[]).map(resolve));
    if (s.resources) st.Resource = one((s.resources as string[]).map(resolve));
    if (s.principals) {
      const ps = s.principals as { type: string; identifiers: string[] }[];
      st.Principal = ps.length === 1 && ps[0]!.type === "*" ? "*" : Object.fromEntries(ps.map((p) => [p.type, one(p.identifiers.map(resolve))]));
    }
    if (s.condition) {
      const c: Record<string, Record<string, unknown>> = {};
      for (const x of s.condition as { test: string; variable: string; values: string[] }[]) {
        c[x.test] = { ...(c[x.test] ?? {}), [x.variable]: one(x.values.map(resolve)) };
      }
      st.Condition = c;
    }
    return st;
  });
  return JSON.stringify({ Version: "2012-10-17", Statement: out });
}

/** The addresses and ids the fixture chose, for tests. */
export interface SynthesizedWorld {
  readonly world: TwinWorld;
  readonly nodeRoleArn: string;
  readonly poolerRoleArn?: string;
  readonly nodeProfileArn: string;
  readonly poolerProfileArn?: string;
  readonly keyArn: string;
  readonly bucket: string;
  /** The cluster secret `managed-postgres/<cluster>` (not the PgBouncer tier's). */
  readonly secretArn: string;
  /** The PgBouncer tier's secret `managed-postgres/<cluster>/pooler`, when the stack has one. */
  readonly poolerSecretArn?: string;
  readonly clusterName: string;
  /** Per slot: ENI id, volume id, Auto Scaling group name, zone. */
  readonly slots: { eniId: string; volumeId: string; asgName: string; zone: string; subnetCidr: string }[];
  /** Bootstrap objects (`aws_s3_object`) with the version ids the fixture gave them. */
  readonly bootstrapObjects: { key: string; versionId: string }[];
  /** Each launch template's tag_specifications, by slot index ("0", "1", …) or "pooler". */
  readonly launchTagSpecifications: Record<string, { resourceType: "instance" | "network-interface" | "volume"; tags: Record<string, string> }[]>;
  /** Identity policies of a role by policy name (`aws_iam_role_policy.name`), parsed. */
  readonly rolePolicies: Record<string, Record<string, { Version: string; Statement: Json[] }>>;
}

/**
 * Builds the world of one synthesized stack.
 * @throws Error naming an expression the minimal resolver does not handle
 */
export function worldFromStack(stack: Stack): SynthesizedWorld {
  const region = stack.provider?.aws?.[0]?.region ?? "us-east-1";
  const acct = ACCOUNT_ID;
  const zones = ["a", "b", "c"].map((z) => `${region}${z}`);
  const cidr = (slot: number) => `10.42.${slot * 16}.0/20`;
  const res = (type: string) => Object.entries(stack.resource[type] ?? {});
  const attr = (type: string, name: string, a: string): string => {
    const r = stack.resource[type]?.[name];
    if (!r) throw new Error(`unknown resource ${type}.${name}`);
    const addr = `${type}.${name}`;
    switch (`${type}.${a}`) {
      case "aws_iam_role.arn":
        return `arn:aws:iam::${acct}:role/${String(r.name)}`;
      case "aws_iam_role.id":
      case "aws_iam_role.name":
        return String(r.name);
      case "aws_iam_instance_profile.arn":
        return `arn:aws:iam::${acct}:instance-profile/${String(r.name)}`;
      case "aws_kms_key.arn":
        return `arn:aws:kms:${region}:${acct}:key/${uuid(addr)}`;
      case "aws_kms_key.id":
      case "aws_kms_key.key_id":
        return uuid(addr);
      case "aws_s3_bucket.bucket":
      case "aws_s3_bucket.id":
        return `${String(r.bucket ?? r.bucket_prefix)}${r.bucket ? "" : `${hex(addr, 26).replace(/[a-f]/g, (c) => String(c.charCodeAt(0) % 10))}`}`;
      case "aws_s3_bucket.arn":
        return `arn:aws:s3:::${attr(type, name, "bucket")}`;
      case "aws_secretsmanager_secret.arn":
      case "aws_secretsmanager_secret.id":
        return `arn:aws:secretsmanager:${region}:${acct}:secret:${String(r.name)}-${hex(addr, 6)}`;
      case "aws_network_interface.id":
        return `eni-0${hex(addr, 16)}`;
      case "aws_ebs_volume.id":
        return `vol-0${hex(addr, 16)}`;
      case "aws_cloudwatch_log_group.arn":
        return `arn:aws:logs:${region}:${acct}:log-group:${String(r.name)}`;
      case "aws_sns_topic.arn":
        return `arn:aws:sns:${region}:${acct}:${String(r.name ?? name)}`;
      default:
        throw new Error(`the fixture resolver does not know ${type}.${a}`);
    }
  };
  const resolve = (s: string): string =>
    s.replace(/\$\{([^}]+)\}/g, (_, expr: string) => {
      const parts = expr.split(".");
      if (parts[0] === "data" && parts[1] === "aws_partition") return "aws";
      if (parts[0] === "data" && parts[1] === "aws_region") return region;
      if (parts[0] === "data" && parts[1] === "aws_caller_identity") return acct;
      // a slot's subnet (data.aws_subnet.<...slot-N...>): the fixture puts slot N in 10.42.<16N>.0/20, zone N mod 3
      const slotSubnet = parts[0] === "data" && parts[1] === "aws_subnet" ? /slot-(\d+)/.exec(parts[2] ?? "") : null;
      if (slotSubnet && parts[3] === "cidr_block") return cidr(Number(slotSubnet[1]));
      if (slotSubnet && parts[3] === "availability_zone") return zones[Number(slotSubnet[1]) % 3]!;
      if (parts.length === 3 && parts[0]!.startsWith("aws_")) return attr(parts[0]!, parts[1]!, parts[2]!);
      throw new Error(`the fixture resolver cannot evaluate \${${expr}}`);
    });
  const docRef = (s: unknown): string => {
    const m = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(String(s));
    if (!m) throw new Error(`not a policy document reference: ${String(s)}`);
    return policyJson(stack.data.aws_iam_policy_document![m[1]!]!.statement as Json[], resolve);
  };
  const refName = (s: unknown) => /^\$\{[a-z0-9_]+\.([^.]+)\.[a-z_]+\}$/.exec(String(s))?.[1] ?? "";

  const rolePolicies: SynthesizedWorld["rolePolicies"] = {};
  const roles = res("aws_iam_role").map(([name]) => {
    const arn = attr("aws_iam_role", name, "arn");
    const policies = res("aws_iam_role_policy")
      .filter(([, p]) => refName(p.role) === name)
      .map(([, p]) => {
        const text = docRef(p.policy);
        (rolePolicies[arn] ??= {})[String(p.name)] = JSON.parse(text);
        return text;
      });
    return { arn, policies };
  });
  const instanceProfiles = res("aws_iam_instance_profile").map(([, p]) => ({
    arn: `arn:aws:iam::${acct}:instance-profile/${String(p.name)}`,
    roleArn: `arn:aws:iam::${acct}:role/${String(p.name)}`,
  }));
  const kmsKeys = res("aws_kms_key").map(([name, k]) => ({ arn: attr("aws_kms_key", name, "arn"), policy: docRef(k.policy) }));
  const bootstrapObjects: { key: string; versionId: string }[] = [];
  const buckets: TwinBucket[] = res("aws_s3_bucket").map(([name, b]) => {
    const id = attr("aws_s3_bucket", name, "bucket");
    const of = (type: string) => res(type).find(([, x]) => refName(x.bucket) === name)?.[1];
    const enc = of("aws_s3_bucket_server_side_encryption_configuration");
    const rule = (enc?.rule as Json[] | undefined)?.[0] as { apply_server_side_encryption_by_default?: { kms_master_key_id?: string }; bucket_key_enabled?: boolean } | undefined;
    const objects = res("aws_s3_object")
      .filter(([, o]) => refName(o.bucket) === name)
      .map(([oname, o]) => {
        const versionId = hex(`aws_s3_object.${oname}`, 32);
        bootstrapObjects.push({ key: String(o.key), versionId });
        return { key: String(o.key), body: `#!/bin/bash\n# ${String(o.key)} (fixture: the real text is a Terraform local)\n`, versionId, ...(o.kms_key_id ? { kmsKeyArn: resolve(String(o.kms_key_id)) } : {}) };
      });
    const policy = of("aws_s3_bucket_policy");
    return {
      name: id,
      ...(policy ? { policy: docRef(policy.policy) } : {}),
      ...(rule?.apply_server_side_encryption_by_default?.kms_master_key_id ? { defaultKmsKeyArn: resolve(rule.apply_server_side_encryption_by_default.kms_master_key_id) } : {}),
      bucketKeyEnabled: rule?.bucket_key_enabled === true,
      versioning: of("aws_s3_bucket_versioning") !== undefined,
      objects,
      tags: b.tags as Record<string, string>,
    };
  });
  const secrets = res("aws_secretsmanager_secret").map(([name, s]) => ({
    arn: attr("aws_secretsmanager_secret", name, "arn"),
    name: String(s.name),
    ...(s.kms_key_id ? { kmsKeyArn: resolve(String(s.kms_key_id)) } : {}),
    tags: s.tags as Record<string, string>,
  }));
  const slotOf = (tags: unknown) => Number((tags as Record<string, string>)["managed-postgres:slot"]);
  const networkInterfaces = res("aws_network_interface").map(([name, e]) => {
    const slot = slotOf(e.tags);
    const id = attr("aws_network_interface", name, "id");
    return {
      id,
      subnetId: `subnet-0${hex(`subnet${slot}`, 16)}`,
      subnetCidr: cidr(slot),
      vpcId: `vpc-0${hex("vpc", 16)}`,
      availabilityZone: zones[slot % 3]!,
      privateIp: `10.42.${slot * 16}.10`,
      mac: `0e:${hex(id, 10).match(/../g)!.join(":")}`,
      tags: { ...(e.tags as Record<string, string>) },
      description: String(e.description ?? ""),
    };
  });
  const volumes = res("aws_ebs_volume").map(([name, v]) => ({
    id: attr("aws_ebs_volume", name, "id"),
    availabilityZone: zones[slotOf(v.tags) % 3]!,
    sizeGiB: Number(v.size ?? 20),
    volumeType: String(v.type ?? "gp3"),
    encrypted: v.encrypted === true,
    ...(v.kms_key_id ? { kmsKeyArn: resolve(String(v.kms_key_id)) } : {}),
    tags: { ...(v.tags as Record<string, string>) },
  }));
  const autoScalingGroups = res("aws_autoscaling_group").map(([, g]) => ({
    name: String(g.name),
    tags: Object.fromEntries(((g.tag as { key: string; value: string }[] | undefined) ?? []).map((t) => [t.key, t.value])),
  }));
  const parameters = res("aws_ssm_parameter").map(([, p]) => ({
    name: String(p.name),
    type: String(p.type),
    value: String(p.value ?? p.insecure_value ?? ""),
    tags: { ...(p.tags as Record<string, string> | undefined) },
  }));
  const world: TwinWorld = { region, accountId: acct, roles, instanceProfiles, instances: [], networkInterfaces, volumes, secrets, kmsKeys, buckets, autoScalingGroups, parameters };
  const cluster = (networkInterfaces[0]?.tags ?? {})["managed-postgres:cluster"] ?? "";
  const slots = networkInterfaces
    .map((e) => {
      const slot = slotOf(e.tags);
      return {
        slot,
        eniId: e.id,
        volumeId: volumes.find((v) => slotOf(v.tags) === slot)!.id,
        asgName: autoScalingGroups.find((g) => g.name.endsWith(`-${slot}`))?.name ?? "",
        zone: e.availabilityZone,
        subnetCidr: e.subnetCidr,
      };
    })
    .sort((a, b) => a.slot - b.slot)
    .map(({ slot: _slot, ...rest }) => rest);
  const launchTagSpecifications: SynthesizedWorld["launchTagSpecifications"] = {};
  for (const [, lt] of res("aws_launch_template")) {
    const specs = ((lt.tag_specifications as { resource_type: string; tags: Record<string, string> }[] | undefined) ?? []).map((t) => ({
      resourceType: t.resource_type as "instance" | "network-interface" | "volume",
      tags: t.tags,
    }));
    const instanceTags = specs.find((t) => t.resourceType === "instance")?.tags ?? {};
    launchTagSpecifications[instanceTags["managed-postgres:slot"] ?? "pooler"] = specs;
  }
  const roleArn = (suffix: string) => roles.find((r) => r.arn.endsWith(suffix))?.arn;
  const profileArn = (suffix: string) => instanceProfiles.find((p) => p.arn.endsWith(suffix))?.arn;
  return {
    world,
    nodeRoleArn: roleArn("-node")!,
    poolerRoleArn: roleArn("-pooler"),
    nodeProfileArn: profileArn("-node")!,
    poolerProfileArn: profileArn("-pooler"),
    keyArn: kmsKeys[0]!.arn,
    bucket: buckets[0]!.name,
    // the cluster secret (a distributed cluster also has the PgBouncer tier's `<name>/pooler`)
    secretArn: (secrets.find((s) => s.name === `managed-postgres/${cluster}`) ?? secrets[0]!).arn,
    poolerSecretArn: secrets.find((s) => s.name === `managed-postgres/${cluster}/pooler`)?.arn,
    clusterName: cluster,
    slots,
    bootstrapObjects,
    launchTagSpecifications,
    rolePolicies,
  };
}
