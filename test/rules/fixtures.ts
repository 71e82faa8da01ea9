/** Builders of Terraform state v4 and `terraform show -json` plan documents for the rule tests. */
import type { RestoreFrom } from "../../src/cluster-spec";

/** A managed resource instance as a test describes it. */
export interface FixtureResource {
  readonly type: string;
  readonly name: string;
  readonly module?: string;
  readonly attributes: Record<string, unknown>;
}

/** A data volume of cluster `cluster`, slot `slot`. */
export function volume(cluster: string, slot: number, opts: { size?: number; model?: string; version?: string; az?: string } = {}): FixtureResource {
  const tags = {
    "managed-postgres:cluster": cluster,
    "managed-postgres:slot": String(slot),
    "managed-postgres:deployment-model": opts.model ?? "distributed",
    "managed-postgres:major-version": opts.version ?? "17",
  };
  return {
    type: "aws_ebs_volume",
    name: `${cluster.replace(/-/g, "_")}_slot_${slot}_data_volume`,
    attributes: { id: `vol-0${slot}abc`, size: opts.size ?? 20, availability_zone: opts.az ?? `eu-west-1${"abc"[slot] ?? "a"}`, tags, tags_all: tags },
  };
}

/** The fixed network interface of cluster `cluster`, slot `slot`. */
export function eni(cluster: string, slot: number, subnetId: string): FixtureResource {
  const tags = { "managed-postgres:cluster": cluster, "managed-postgres:slot": String(slot) };
  return {
    type: "aws_network_interface",
    name: `${cluster.replace(/-/g, "_")}_slot_${slot}_eni`,
    attributes: { id: `eni-0${slot}abc`, subnet_id: subnetId, tags, tags_all: tags },
  };
}

/** A state v4 document as `terraform state pull` writes it. */
export function stateV4(resources: readonly FixtureResource[]): object {
  return {
    version: 4,
    terraform_version: "1.11.4",
    serial: 7,
    lineage: "4f1c0c56-0000-4000-8000-000000000000",
    outputs: {},
    resources: resources.map((r) => ({
      ...(r.module ? { module: r.module } : {}),
      mode: "managed",
      type: r.type,
      name: r.name,
      provider: 'provider["registry.terraform.io/hashicorp/aws"]',
      instances: [{ schema_version: 0, attributes: r.attributes, sensitive_attributes: [] }],
    })),
    check_results: null,
  };
}

/** A `terraform show -json <planfile>` document whose prior state holds `resources` (child modules by `module`). */
export function planJson(resources: readonly FixtureResource[]): object {
  const toValue = (r: FixtureResource) => ({
    address: `${r.module ? `${r.module}.` : ""}${r.type}.${r.name}`,
    mode: "managed",
    type: r.type,
    name: r.name,
    provider_name: "registry.terraform.io/hashicorp/aws",
    schema_version: 0,
    values: r.attributes,
    sensitive_values: {},
  });
  const root = resources.filter((r) => !r.module).map(toValue);
  const modules = [...new Set(resources.filter((r) => r.module).map((r) => r.module!))];
  return {
    format_version: "1.2",
    terraform_version: "1.11.4",
    planned_values: { root_module: {} },
    resource_changes: [],
    prior_state: {
      format_version: "1.0",
      terraform_version: "1.11.4",
      values: {
        outputs: {},
        root_module: {
          resources: root,
          child_modules: modules.map((m) => ({ address: m, resources: resources.filter((r) => r.module === m).map(toValue) })),
        },
      },
    },
    configuration: {},
  };
}

/** A valid `restoreFrom` of an `orders` cluster (restore and restore-source tests). */
export const RESTORE_FROM: RestoreFrom = {
  backupBucket: "orders-backups-0a1b2c",
  stanza: "orders",
  target: "2026-11-20T10:00:00Z",
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:managed-postgres/orders-AbCdEf",
  backupKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
};

/** A resource whose preconditions are an attribute list, as cdktf 0.21 writes them with `--hcl` (quotes, brackets, braces, commas inside). */
export const CDKTF_STYLE_CONDITIONS = [
  "resource \"terraform_data\" \"x\" {",
  "input = 1",
  "lifecycle {",
  "  prevent_destroy = true",
  "  precondition = [",
  "{",
  'condition = "${alltrue([for v in local.deployed : lookup(v.tags, "slot", "") == "0" if v.size <= 3])}"',
  'error_message = "Cluster \\"orders\\": a [bracketed] {braced} message, with a comma."',
  "},",
  "{",
  'condition = "${local.ok}"',
  'error_message = "Second."',
  "},",
  "]",
  "}",
  "}",
  "",
].join("\n");
