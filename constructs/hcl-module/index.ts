/**
 * `ManagedPostgresModule`: managed PostgreSQL as a Terraform module for teams who write HCL
 * (`cdktf-managed-postgres/hcl-module`). A stack synthesized with `cdktf synth --hcl` gives
 * one module per stack under `cdktf.out/stacks/<stack>/cdk.tf`, which an HCL configuration
 * calls with `module "orders_db" { source = ".../cdktf.out/stacks/orders-db" … }`.
 * See docs/hcl.md and examples/hcl-module.
 *
 * Two kinds of inputs:
 * - Terraform variables (`vpc_id`, `subnet_ids`, `allowed_cidrs`, `allowed_security_group_ids`,
 *   `storage_gib`, `pooler_instance_count`, `backup_cold_storage_after_days`,
 *   `logical_dump_retention_days`): the construct receives them as tokens, and each carries
 *   `validation` blocks generated from the cluster spec's JSON Schema; cross-variable rules
 *   become `lifecycle.precondition`s (constructs/aws/deferred-checks.ts).
 * - The cluster's shape (`name`, `deployment_model`, `size`, `major_version`,
 *   `backup_retention_days`), fixed when the module is synthesized: the deployment model
 *   decides which resources exist (three slots and an NLB, or one slot), and all five are
 *   rendered into the nodes' configuration (resource names and the pgBackRest stanza,
 *   shared_buffers and max_connections, the PostgreSQL binaries, repo1-retention-full).
 *   A `count` on a model variable would let a one-word change of a variable destroy two data
 *   volumes; the model is immutable once deployed anyway (a new cluster restored by PITR is
 *   the way to change it). The module still declares them as variables, pinned to the
 *   synthesized value: a caller who states another value gets a plan-time error explaining
 *   why, instead of a different cluster.
 */
import { TerraformBackend, TerraformOutput, type TerraformRemoteState, TerraformStack, TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres } from "../aws/managed-postgres";
import { hclLiteral, privateCidrListCondition, schemaAt, schemaConditions } from "../aws/deferred-checks";
import { DEFAULTS, type DeploymentModel, type MajorVersion, type SizeName } from "../../src/cluster-spec";

/** The synth-time shape of one module: what the module's pinned variables are pinned to. */
export interface ModuleShape {
  /** Cluster name (resource names, tags, pgBackRest stanza). */
  readonly name: string;
  /** `standalone` or `distributed`: decides the resources (1 or 3 slots, NLB or not). */
  readonly deployment: DeploymentModel;
  /** Size XS … 4XL (Cloud Temple Managed PostgreSQL). */
  readonly size: SizeName;
  /** PostgreSQL major version. @default 17 */
  readonly majorVersion?: MajorVersion;
  /** Days full backups and their WAL are kept (pgBackRest `repo1-retention-full`). @default 7 */
  readonly backupRetentionDays?: number;
}

/** One validation block: a Terraform condition (without `${}`) and a full-sentence error message. */
interface Validation {
  readonly condition: string;
  readonly errorMessage: string;
}

/** Validation blocks of a spec field, from the JSON Schema: one per keyword, so the error says which rule failed. */
function schemaValidations(path: string, variable: string, nullable = false): Validation[] {
  const node = schemaAt(path);
  return schemaConditions(node, `var.${variable}`).map((c) => ({
    condition: nullable ? `var.${variable} == null || (${c})` : c,
    errorMessage: `\`${variable}\` must be ${node["x-allowed"] ?? "valid"} (cluster spec field \`${path}\`).`,
  }));
}

function validation(v: Validation): { condition: string; errorMessage: string } {
  return { condition: `\${${v.condition}}`, errorMessage: v.errorMessage };
}

/**
 * The AWS provider as a module needs it: `required_providers` only. A module must not
 * configure providers (the caller's `aws` provider, or `providers = { aws = aws.eu }`,
 * applies), and a `provider` block would forbid `count`/`for_each` on the module call.
 */
class ModuleAwsProvider extends AwsProvider {
  public toTerraform(): any {
    const { provider: _omitted, ...rest } = super.toTerraform();
    return rest;
  }
  public toHclTerraform(): any {
    const { provider: _omitted, ...rest } = super.toHclTerraform();
    return rest;
  }
}

/**
 * No backend: a module is applied by its caller's configuration and state. (Without a
 * backend construct, cdktf would add a local backend with this machine's absolute path.)
 */
class NoBackend extends TerraformBackend {
  constructor(scope: Construct) {
    super(scope, "no-backend", "local");
  }
  public toTerraform(): any {
    return {};
  }
  public toHclTerraform(): any {
    return {};
  }
  public getRemoteStateDataSource(): TerraformRemoteState {
    throw new Error("a module has no state of its own: read the caller's state");
  }
}

/**
 * A stack that is a Terraform module: no provider configuration and no backend (the caller's
 * apply), typed and described variables with validations, described outputs.
 */
export class ManagedPostgresModule extends TerraformStack {
  /** The cluster. */
  public readonly cluster: ManagedPostgres;

  constructor(scope: Construct, id: string, shape: ModuleShape) {
    super(scope, id);
    // cdktf needs a provider construct to synthesize AWS resources; this one writes only
    // `required_providers`.
    new ModuleAwsProvider(this, "aws", {});
    new NoBackend(this);
    const majorVersion = shape.majorVersion ?? DEFAULTS.majorVersion;
    const retention = shape.backupRetentionDays ?? DEFAULTS.backup.retentionDays;
    const want = shape.deployment === "distributed" ? 3 : 1;

    const pinned = (name: string, path: string, type: string, value: string | number, why: string) =>
      new TerraformVariable(this, name, {
        type,
        default: value,
        nullable: false,
        description: `${schemaAt(path)["x-allowed"] ? `Cluster spec \`${path}\`: ${schemaAt(path)["x-allowed"]}. ` : ""}Fixed when this module was synthesized (${JSON.stringify(value)}): ${why}`,
        validation: [
          ...schemaValidations(path, name).map(validation),
          validation({
            condition: `var.${name} == ${hclLiteral(value)}`,
            errorMessage: `This module was synthesized for ${name} = ${JSON.stringify(value)}: ${why} Use the module synthesized for the value you want.`,
          }),
        ],
      });
    pinned("name", "name", "string", shape.name, "it names every resource and the pgBackRest stanza.");
    pinned(
      "deployment_model",
      "deployment",
      "string",
      shape.deployment,
      "it decides which resources exist (3 slots and an NLB, or 1 slot) and is immutable once deployed; to change it, create a new cluster restored by PITR from this one's backups.",
    );
    pinned("size", "size", "string", shape.size, "it is rendered into the nodes' PostgreSQL parameters (shared_buffers, max_connections).");
    pinned("major_version", "majorVersion", "number", majorVersion, "the PostgreSQL binaries and data directory follow it; a major upgrade is a new synthesized module with allowMajorVersionUpgrade.");
    pinned("backup_retention_days", "backup.retentionDays", "number", retention, "it is rendered into pgBackRest's repo1-retention-full on the nodes.");

    const vpcId = new TerraformVariable(this, "vpc_id", {
      type: "string",
      nullable: false,
      description: "ID of the VPC the cluster lives in, e.g. \"vpc-0abc1234\".",
      validation: schemaValidations("network.vpcId", "vpc_id").map(validation),
    });
    const subnetIds = new TerraformVariable(this, "subnet_ids", {
      type: "list(string)",
      nullable: false,
      description:
        want === 3
          ? "IDs of exactly 3 private subnets, one in each of 3 availability zones; slot i goes to subnet i. Changing one replaces that slot's network interface and data volume."
          : "ID of exactly 1 private subnet (as a one-element list) for the single slot. Changing it replaces the slot's network interface and data volume.",
      validation: [
        ...schemaValidations("network.subnetIds", "subnet_ids").map(validation),
        validation({ condition: `length(var.subnet_ids) == ${want}`, errorMessage: `A ${shape.deployment} cluster needs exactly ${want} subnet id${want === 1 ? "" : "s"} in \`subnet_ids\`${want === 3 ? ", one private subnet in each of 3 availability zones" : ""}.` }),
        validation({ condition: "length(distinct(var.subnet_ids)) == length(var.subnet_ids)", errorMessage: "Each subnet id in `subnet_ids` must appear once: each slot needs its own subnet in its own availability zone." }),
      ],
    });
    const allowedCidrs = new TerraformVariable(this, "allowed_cidrs", {
      type: "list(string)",
      default: [],
      nullable: false,
      description: "IPv4 CIDRs of the clients allowed to connect to the endpoints, e.g. [\"10.0.0.0/16\"]. Never 0.0.0.0/0. With `allowed_security_group_ids`, at least one source is required.",
      validation: [
        ...schemaValidations("network.allowedCidrs", "allowed_cidrs").map(validation),
        validation({
          condition: privateCidrListCondition("var.allowed_cidrs"),
          errorMessage: "Every entry of `allowed_cidrs` must be a valid IPv4 CIDR with a prefix of /8 or longer: a shorter prefix (such as 0.0.0.0/0) would open the database to the internet.",
        }),
      ],
    });
    const allowedSgs = new TerraformVariable(this, "allowed_security_group_ids", {
      type: "list(string)",
      default: [],
      nullable: false,
      description: "IDs of the client security groups allowed to connect to the endpoints, e.g. [\"sg-0abc1234\"].",
      validation: schemaValidations("network.allowedSecurityGroupIds", "allowed_security_group_ids").map(validation),
    });
    const storage = new TerraformVariable(this, "storage_gib", {
      type: "number",
      nullable: false,
      description: "Size of each data volume in GiB: an integer from 2 to 128. Grows online; never shrink it (EBS volumes cannot shrink).",
      validation: schemaValidations("storageGiB", "storage_gib").map(validation),
    });
    const coldAfter = new TerraformVariable(this, "backup_cold_storage_after_days", {
      type: "number",
      default: DEFAULTS.backup.coldStorageAfterDays,
      nullable: false,
      description: "Days after which backup objects move to S3 Standard-IA: an integer from 30 (S3's minimum) to 3650.",
      validation: schemaValidations("backup.coldStorageAfterDays", "backup_cold_storage_after_days").map(validation),
    });
    const dumpRetention = new TerraformVariable(this, "logical_dump_retention_days", {
      type: "number",
      default: DEFAULTS.backup.logicalDump.retentionDays,
      nullable: false,
      description: "Days logical (pg_dump) exports are kept: an integer from 1 to 3650 (PostgreSQL reference architecture: 30).",
      validation: schemaValidations("backup.logicalDump.retentionDays", "logical_dump_retention_days").map(validation),
    });
    const poolerCount =
      shape.deployment === "distributed"
        ? new TerraformVariable(this, "pooler_instance_count", {
            type: "number",
            default: DEFAULTS.pooler.instanceCount,
            nullable: false,
            description: "Number of PgBouncer instances behind the NLB: an integer from 2 to 9.",
            validation: schemaValidations("pooler.instanceCount", "pooler_instance_count").map(validation),
          })
        : undefined;

    this.cluster = new ManagedPostgres(this, "cluster", {
      name: shape.name,
      deployment: shape.deployment,
      size: shape.size,
      majorVersion,
      storageGiB: storage.numberValue,
      backup: {
        retentionDays: retention,
        coldStorageAfterDays: coldAfter.numberValue,
        logicalDump: { retentionDays: dumpRetention.numberValue },
      },
      ...(poolerCount ? { pooler: { instanceCount: poolerCount.numberValue } } : {}),
      network: {
        vpcId: vpcId.stringValue,
        subnetIds: subnetIds.listValue,
        allowedCidrs: allowedCidrs.listValue,
        allowedSecurityGroupIds: allowedSgs.listValue,
      },
    });

    const out = (id: string, value: string | number, description: string) => new TerraformOutput(this, id, { value, description });
    out("cluster_name", shape.name, "Name of the cluster (the `managed-postgres:cluster` tag on every resource).");
    out("cluster_deployment_model", shape.deployment, "Deployment model: standalone or distributed.");
    out("cluster_major_version", majorVersion, "PostgreSQL major version.");
  }
}
