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
 * - The sides of a blue/green major upgrade (`upgradeFrom: true`, `upgradeTo`), fixed at synth
 *   for the same reason (they decide resources, or are rendered into the nodes), their values
 *   the required object variables `upgrade_from` and `upgrade_to`, whose fields reach the
 *   construct as tokens and go through the same plan-time preconditions (docs/hcl.md). So are
 *   their optional parts for blue's endpoints to follow green (`admitBluePoolers`,
 *   `upgradeTo.followGreen`): the optional fields they use are required with them and refused
 *   without them.
 */
import { Fn, TerraformBackend, TerraformOutput, type TerraformRemoteState, TerraformStack, TerraformVariable, Token, propertyAccess } from "cdktf";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres } from "../aws/managed-postgres";
import { hclLiteral, privateCidrListCondition, schemaAt, schemaConditions } from "../aws/deferred-checks";
import { DEFAULTS, type DeploymentModel, type MajorVersion, type SizeName, type UpgradeFrom, type UpgradeTo } from "../../src/cluster-spec";

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
  /**
   * A green module: the cluster upgrades another one ("blue") by logical replication
   * (`upgradeFrom`, docs/UPGRADING.md "Blue/green through logical replication"). The module
   * then requires the variable `upgrade_from` (blue's cluster name, major version, secret and
   * KMS key ARNs, node addresses, node security group, and `cutover`), whose fields reach the
   * construct as tokens. Fixed at synth like the deployment model: it decides which resources
   * exist (green's read access to blue's secret, two rules on blue's security group, an upgrade
   * script object per node, four alarms). Remove it (a module synthesized without it) after
   * the cutover, as docs/UPGRADING.md step 5 says of `upgradeFrom`.
   * @default false
   */
  readonly upgradeFrom?: boolean;
  /**
   * With {@link upgradeFrom}: the green module admits blue's PgBouncer hosts on its endpoint
   * ports, so that blue's endpoints can follow green at the cutover (the spec's
   * `upgradeFrom.poolerSecurityGroupId`): `upgrade_from.pooler_security_group_id` (blue's
   * `cluster_pooler_security_group_id` output) is then required, and null is required without
   * it. Fixed at synth: it decides whether the rules exist (an ingress rule on green's endpoint
   * group and an egress rule on blue's per endpoint port: 5432 and 5433 distributed, 6432
   * standalone). Without {@link upgradeFrom}, a synth error.
   * @default false
   */
  readonly admitBluePoolers?: boolean;
  /**
   * A blue module: the cluster admits a green cluster's nodes (`upgradeTo`): `wal_level`
   * logical and one `pg_hba.conf` rule per green node address, rendered into the nodes'
   * configuration, hence fixed at synth, with the number of green's nodes (one rule each:
   * `greenDeployment` `distributed` 3, `standalone` 1). The module then requires the variable
   * `upgrade_to` (`node_addresses`: green's `cluster_node_addresses` output, exactly that
   * many). Setting or removing it rolls the cluster (docs/UPGRADING.md, step 2).
   * `followGreen: true`: blue's endpoints follow green at the cutover (the spec's
   * `upgradeTo.readWriteEndpoint` and `readOnlyEndpoint`): `upgrade_to.read_write_endpoint` and
   * `upgrade_to.read_only_endpoint` (green's `cluster_read_write_endpoint` and
   * `cluster_read_only_endpoint` outputs) are then required, and null is required without it;
   * the ports follow `greenDeployment` (5432 and 5433 for a distributed green's load balancer,
   * 6432 for both on a standalone green). Fixed at synth like the rest: it is rendered into
   * blue's PgBouncer hosts.
   * @default - not a blue module (`followGreen` default false)
   */
  readonly upgradeTo?: { readonly greenDeployment: DeploymentModel; readonly followGreen?: boolean };
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

/** Validation blocks of a spec field read at `expr` (a field of an object variable, e.g. `var.upgrade_from.secret_arn`), from the JSON Schema. */
function fieldValidations(path: string, expr: string, label: string): Validation[] {
  const node = schemaAt(path);
  return schemaConditions(node, expr).map((condition) => ({ condition, errorMessage: `\`${label}\` must be ${node["x-allowed"] ?? "valid"} (cluster spec field \`${path}\`).` }));
}

/** The fields of the `upgrade_from` variable: HCL name → cluster spec field of `upgradeFrom`. */
const UPGRADE_FROM_FIELDS = {
  cluster_name: "clusterName",
  major_version: "majorVersion",
  secret_arn: "secretArn",
  kms_key_arn: "kmsKeyArn",
  node_addresses: "nodeAddresses",
  security_group_id: "securityGroupId",
} as const;

/**
 * Validation blocks of an optional field of an object variable whose presence the module's
 * shape fixes (`optional(...)` in the type, so a caller's value is never dropped silently):
 * `required` — non-null, and the JSON Schema rules of spec field `path` on a non-null value
 * (a conditional: Terraform's `||` evaluates both sides); otherwise null, `why` saying what
 * the module was synthesized without.
 */
function shapedFieldValidations(path: string, expr: string, label: string, required: boolean, why: string): Validation[] {
  if (!required) return [{ condition: `${expr} == null`, errorMessage: `\`${label}\` must be null (left out): ${why}` }];
  return [
    { condition: `${expr} != null`, errorMessage: `\`${label}\` is required: ${why}` },
    ...fieldValidations(path, expr, label).map((v) => ({ ...v, condition: `${expr} == null ? true : (${v.condition})` })),
  ];
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

    if (shape.admitBluePoolers && !shape.upgradeFrom) {
      throw new Error(`module "${shape.name}": \`admitBluePoolers\` is only for a green module (\`upgradeFrom: true\`): it admits the blue cluster's PgBouncer hosts on green's endpoints`);
    }
    const upgradeFrom = shape.upgradeFrom ? this.upgradeFromVariable(shape.name, majorVersion, shape.deployment, shape.admitBluePoolers ?? false) : undefined;
    const upgradeTo = shape.upgradeTo ? this.upgradeToVariable(shape.upgradeTo.greenDeployment, shape.upgradeTo.followGreen ?? false) : undefined;

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
      ...(upgradeFrom ? { upgradeFrom } : {}),
      ...(upgradeTo ? { upgradeTo } : {}),
    });

    const out = (id: string, value: string | number, description: string) => new TerraformOutput(this, id, { value, description });
    out("cluster_name", shape.name, "Name of the cluster (the `managed-postgres:cluster` tag on every resource).");
    out("cluster_deployment_model", shape.deployment, "Deployment model: standalone or distributed.");
    out("cluster_major_version", majorVersion, "PostgreSQL major version.");
  }

  /**
   * The required variable `upgrade_from` of a green module, and the construct's `upgradeFrom`
   * with each field a token of it: each field's validation from the JSON Schema, blue's major
   * version below green's and blue's name not green's (the rules `upgradeFromIssues` checks on
   * literals). The construct turns the same rules into preconditions on slot 0's network
   * interface (`addPlanTimeChecks`). `kms_key_arn` is required here: a cluster of this library
   * encrypts its secret with its own key (its `cluster_kms_key_arn` output), and an IAM
   * statement cannot depend on a null. `pooler_security_group_id` is required with
   * `admitBluePoolers` and must be null without it (see {@link shapedFieldValidations}).
   */
  private upgradeFromVariable(green: string, greenMajor: number, deployment: DeploymentModel, admitBluePoolers: boolean): UpgradeFrom {
    const ports = deployment === "distributed" ? "5432 and 5433 (its load balancer)" : "6432 (PgBouncer on its node)";
    const v = new TerraformVariable(this, "upgrade_from", {
      type: "object({ cluster_name = string, major_version = number, secret_arn = string, kms_key_arn = string, node_addresses = list(string), security_group_id = string, pooler_security_group_id = optional(string), cutover = optional(bool, false) })",
      nullable: false,
      description:
        "The cluster this green cluster upgrades (docs/UPGRADING.md, \"Blue/green through logical replication\"), from the blue module's outputs: " +
        "cluster_name (its name), major_version (15 or 16, below this module's), secret_arn (cluster_secret_arn), kms_key_arn (cluster_kms_key_arn), " +
        "node_addresses (cluster_node_addresses), security_group_id (cluster_node_security_group_id), " +
        (admitBluePoolers
          ? `pooler_security_group_id (cluster_pooler_security_group_id; required: this module admits blue's PgBouncer hosts on green's endpoint ports, ${ports}, for blue's endpoints to follow green at the cutover), `
          : "pooler_security_group_id (leave it out: this module was synthesized without admitBluePoolers), ") +
        "and cutover (default false; true makes green take over: a roll of green's nodes).",
      validation: [
        ...Object.entries(UPGRADE_FROM_FIELDS).flatMap(([hcl, field]) => fieldValidations(`upgradeFrom.${field}`, `var.upgrade_from.${hcl}`, `upgrade_from.${hcl}`)),
        ...shapedFieldValidations(
          "upgradeFrom.poolerSecurityGroupId",
          "var.upgrade_from.pooler_security_group_id",
          "upgrade_from.pooler_security_group_id",
          admitBluePoolers,
          admitBluePoolers
            ? `this module was synthesized with admitBluePoolers: give blue's cluster_pooler_security_group_id output (green admits it on ${ports}).`
            : "this module was synthesized without admitBluePoolers, so no rule would admit that group; use a green module synthesized with admitBluePoolers: true.",
        ),
        {
          condition: `var.upgrade_from.major_version < ${greenMajor}`,
          errorMessage: `\`upgrade_from.major_version\` must be lower than this module's major_version ${greenMajor}: the upgrade goes up a major version only (docs/UPGRADING.md).`,
        },
        {
          condition: `var.upgrade_from.cluster_name != ${hclLiteral(green)}`,
          errorMessage: `\`upgrade_from.cluster_name\` must name the blue cluster, not this one (${JSON.stringify(green)}): the green cluster is a new cluster under another name.`,
        },
      ].map(validation),
    });
    const field = (name: keyof typeof UPGRADE_FROM_FIELDS | "pooler_security_group_id" | "cutover") => propertyAccess(v.value, [name]);
    return {
      clusterName: Token.asString(field("cluster_name")),
      majorVersion: Token.asNumber(field("major_version")) as UpgradeFrom["majorVersion"],
      secretArn: Token.asString(field("secret_arn")),
      kmsKeyArn: Token.asString(field("kms_key_arn")),
      nodeAddresses: Token.asList(field("node_addresses")),
      securityGroupId: Token.asString(field("security_group_id")),
      ...(admitBluePoolers ? { poolerSecurityGroupId: Token.asString(field("pooler_security_group_id")) } : {}),
      cutover: Token.asAny(field("cutover")) as unknown as boolean,
    };
  }

  /**
   * The required variable `upgrade_to` of a blue module (`node_addresses`: exactly as many as
   * green has nodes), and the construct's `upgradeTo`: a list literal of `element(…, i)` tokens,
   * one `pg_hba.conf` rule each (the construct refuses a list token there). With
   * `followGreen`, `read_write_endpoint` and `read_only_endpoint` are required (null without
   * it) and reach the construct as tokens, with the ports of a `greenDeployment` green.
   */
  private upgradeToVariable(greenDeployment: DeploymentModel, followGreen: boolean): UpgradeTo {
    const count = greenDeployment === "distributed" ? 3 : 1;
    const ports = greenDeployment === "distributed" ? { readWritePort: 5432, readOnlyPort: 5433 } : { readWritePort: 6432, readOnlyPort: 6432 };
    const why = followGreen
      ? `this module was synthesized with followGreen: blue's endpoints follow green at the cutover (green's outputs; a ${greenDeployment} green serves them on ${ports.readWritePort} and ${ports.readOnlyPort}).`
      : "this module was synthesized without followGreen, so blue's endpoints would not follow green; use a blue module synthesized with upgradeTo.followGreen: true.";
    const v = new TerraformVariable(this, "upgrade_to", {
      type: "object({ node_addresses = list(string), read_write_endpoint = optional(string), read_only_endpoint = optional(string) })",
      nullable: false,
      description:
        `The green cluster this cluster admits (docs/UPGRADING.md, "Blue/green through logical replication", step 2): node_addresses, the green module's cluster_node_addresses ` +
        `(${count}: this module was synthesized for a ${greenDeployment} green). Each address gets a pg_hba rule for the superuser over TLS, and wal_level is logical. ` +
        (followGreen
          ? "read_write_endpoint and read_only_endpoint (required): the green module's cluster_read_write_endpoint and cluster_read_only_endpoint, which blue's endpoints follow at the cutover."
          : "read_write_endpoint and read_only_endpoint: leave them out (this module was synthesized without followGreen)."),
      validation: [
        ...fieldValidations("upgradeTo.nodeAddresses", "var.upgrade_to.node_addresses", "upgrade_to.node_addresses"),
        {
          condition: `length(var.upgrade_to.node_addresses) == ${count}`,
          errorMessage: `\`upgrade_to.node_addresses\` must hold exactly ${count} address${count === 1 ? "" : "es"}: this module was synthesized for a ${greenDeployment} green cluster (one pg_hba rule per node).`,
        },
        ...shapedFieldValidations("upgradeTo.readWriteEndpoint", "var.upgrade_to.read_write_endpoint", "upgrade_to.read_write_endpoint", followGreen, why),
        ...shapedFieldValidations("upgradeTo.readOnlyEndpoint", "var.upgrade_to.read_only_endpoint", "upgrade_to.read_only_endpoint", followGreen, why),
      ].map(validation),
    });
    const list = Token.asList(propertyAccess(v.value, ["node_addresses"]));
    const nodeAddresses = Array.from({ length: count }, (_, i) => Token.asString(Fn.element(list, i)));
    if (!followGreen) return { nodeAddresses };
    const endpoint = (name: string) => Token.asString(propertyAccess(v.value, [name]));
    return { nodeAddresses, readWriteEndpoint: endpoint("read_write_endpoint"), readOnlyEndpoint: endpoint("read_only_endpoint"), ...ports };
  }
}
