/**
 * Security groups of a cluster and every rule between them. Rules are separate
 * `aws_vpc_security_group_{ingress,egress}_rule` resources, one per source and port, each
 * with a description; there is no 0.0.0.0/0 or ::/0 ingress anywhere.
 */
import { Construct } from "constructs";
import { Token, TerraformIterator } from "cdktf";
import { DataAwsEc2ManagedPrefixList } from "@cdktf/provider-aws/lib/data-aws-ec2-managed-prefix-list";
import { DataAwsVpc } from "@cdktf/provider-aws/lib/data-aws-vpc";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { PORTS, type ResolvedClusterSpec } from "../../src/cluster-spec";
import type { AwsEnvironment } from "./environment";
import { clusterTags } from "../private/naming";

/** Props of {@link ClusterSecurityGroups}. */
export interface ClusterSecurityGroupsProps {
  readonly spec: ResolvedClusterSpec;
  readonly env: AwsEnvironment;
  readonly vpcId: string;
  /** Client CIDRs (a list, or a list token). */
  readonly allowedCidrs: readonly string[];
  /** Client security groups (a list, or a list token). */
  readonly allowedSecurityGroupIds: readonly string[];
  /** Extra IPv4 CIDRs the instances may reach on 443 (package mirrors, proxies). */
  readonly httpsEgressCidrs: readonly string[];
}

type Peer = { cidr: string } | { sg: string } | { prefixList: string };

interface PortRule {
  readonly port: number;
  /** Short name of the port for the rule's id, e.g. `postgres`. */
  readonly name: string;
  /** What the port is, for the description. */
  readonly what: string;
}

const P = {
  postgres: { port: PORTS.postgres, name: "postgres", what: "PostgreSQL" },
  patroni: { port: PORTS.patroniRest, name: "patroni", what: "Patroni REST API" },
  etcdClient: { port: PORTS.etcdClient, name: "etcd-client", what: "etcd client API" },
  etcdPeer: { port: PORTS.etcdPeer, name: "etcd-peer", what: "etcd peer API" },
  pgbackrest: { port: PORTS.pgbackrestTlsServer, name: "pgbackrest", what: "pgBackRest TLS server (backup from standby)" },
  bouncerRw: { port: PORTS.pgbouncerReadWrite, name: "pgbouncer-rw", what: "PgBouncer read-write pool" },
  bouncerRo: { port: PORTS.pgbouncerReadOnly, name: "pgbouncer-ro", what: "PgBouncer read-only pool" },
  endpointRw: { port: PORTS.endpointReadWrite, name: "endpoint-rw", what: "read-write endpoint" },
  endpointRo: { port: PORTS.endpointReadOnly, name: "endpoint-ro", what: "read-only endpoint" },
  poolerHealth: { port: PORTS.poolerHealth, name: "health", what: "HAProxy health endpoint" },
  https: { port: 443, name: "https", what: "HTTPS" },
} as const satisfies Record<string, PortRule>;

/**
 * The security groups:
 * - `nodes` (database nodes; their slot ENIs and primary interfaces):
 *   nodes ↔ nodes on 5432 (replication), 8008 (Patroni REST), 2379 and 2380 (etcd),
 *   distributed also 8432 (pgBackRest TLS server: backup from the standby reaches the primary);
 *   distributed: pooler → nodes on 5432 and 8008 (HAProxy health checks);
 *   standalone: clients → 6432 (PgBouncer on the node, the only endpoint).
 * - `pooler` (distributed): endpoint → pooler on 6432 and 6433 (traffic; the NLB preserves
 *   client addresses, and a target group may reference the NLB's security group for exactly
 *   that case) and 8404 (the target groups' HTTP health checks); pooler → nodes on 5432 and 8008.
 * - `endpoint` (distributed; the internal NLB): clients → 5432 and 5433; endpoint →
 *   pooler on 6432, 6433 and 8404.
 * - Egress of nodes and pooler to AWS APIs: 443 to the VPC's CIDR (interface VPC
 *   endpoints for EC2, Secrets Manager, KMS, CloudWatch) and to the regional S3 prefix list
 *   (S3 gateway endpoint), plus 443 to `httpsEgressCidrs`. DNS (the VPC resolver),
 *   the instance metadata service and the Amazon Time Sync Service are not filtered by
 *   security groups, so they need no rule.
 * Clients are `allowedCidrs` and `allowedSecurityGroupIds`; they reach the endpoint ports
 * only, never the nodes' PostgreSQL, Patroni or etcd ports.
 * A green cluster of a blue/green upgrade adds rules to blue's groups too, owned by green:
 * {@link ClusterSecurityGroups.allowUpgradeSource} and
 * {@link ClusterSecurityGroups.allowUpgradeSourcePoolers}.
 */
export class ClusterSecurityGroups extends Construct {
  /** Security group of the database nodes. */
  public readonly nodes: SecurityGroup;
  /** Security group of the PgBouncer tier (distributed only). */
  public readonly pooler?: SecurityGroup;
  /** Security group of the internal NLB (distributed only). */
  public readonly endpoint?: SecurityGroup;

  private readonly spec: ResolvedClusterSpec;

  constructor(scope: Construct, id: string, props: ClusterSecurityGroupsProps) {
    super(scope, id);
    const { spec, env } = props;
    this.spec = spec;
    const vpc = new DataAwsVpc(this, "vpc", { id: props.vpcId });
    const s3 = new DataAwsEc2ManagedPrefixList(this, "s3-prefix-list", { name: `com.amazonaws.${env.region}.s3` });
    const group = (key: string, what: string) =>
      new SecurityGroup(this, key, {
        name: `managed-postgres-${spec.name}-${key}`,
        description: `managed-postgres ${spec.name}: ${what}`,
        vpcId: props.vpcId,
        revokeRulesOnDelete: true,
        tags: clusterTags(spec, { Name: `${spec.name}-${key}` }),
      });

    this.nodes = group("nodes", "database nodes");
    const nodePorts: PortRule[] = [P.postgres, P.patroni, P.etcdClient, P.etcdPeer];
    if (spec.deployment === "distributed") nodePorts.push(P.pgbackrest);
    for (const p of nodePorts) {
      this.ingress(this.nodes, `from-nodes-${p.name}`, p, { sg: this.nodes.id }, `${p.what} from the other database nodes`);
      this.egress(this.nodes, `to-nodes-${p.name}`, p, { sg: this.nodes.id }, `${p.what} to the other database nodes`);
    }
    const apiEgress = (sg: SecurityGroup) => {
      this.egress(sg, "to-vpc-https", P.https, { cidr: vpc.cidrBlock }, "HTTPS to AWS API interface endpoints in the VPC (EC2, Secrets Manager, KMS, CloudWatch)");
      this.egress(sg, "to-s3-https", P.https, { prefixList: s3.id }, "HTTPS to S3 (backup bucket) through the S3 gateway endpoint");
      const extra = props.httpsEgressCidrs as string[];
      if (Token.isUnresolved(extra)) {
        const it = TerraformIterator.fromList(extra);
        this.rule("egress", sg, "to-extra-https", P.https, { cidr: it.value }, "HTTPS to httpsEgressCidrs (package mirrors, proxies)", it);
      } else {
        extra.forEach((cidr, i) =>
          this.egress(sg, `to-extra-https-${peerKey(cidr, i)}`, P.https, { cidr }, `HTTPS to ${Token.isUnresolved(cidr) ? `httpsEgressCidrs[${i}]` : cidr} (package mirrors, proxies)`),
        );
      }
    };
    apiEgress(this.nodes);

    if (spec.deployment === "standalone") {
      this.clientIngress(this.nodes, props, [P.bouncerRw]);
      return;
    }

    this.pooler = group("pooler", "PgBouncer tier");
    this.endpoint = group("endpoint", "internal network load balancer");
    for (const p of [P.postgres, P.patroni]) {
      this.ingress(this.nodes, `from-pooler-${p.name}`, p, { sg: this.pooler.id }, `${p.what} from the PgBouncer tier (HAProxy)`);
      this.egress(this.pooler, `to-nodes-${p.name}`, p, { sg: this.nodes.id }, `${p.what} to the database nodes (HAProxy)`);
    }
    for (const p of [P.bouncerRw, P.bouncerRo, P.poolerHealth]) {
      this.ingress(this.pooler, `from-endpoint-${p.name}`, p, { sg: this.endpoint.id }, `${p.what} from the load balancer (${p === P.poolerHealth ? "health checks" : "client traffic"})`);
      this.egress(this.endpoint, `to-pooler-${p.name}`, p, { sg: this.pooler.id }, `${p.what} on the PgBouncer tier`);
    }
    apiEgress(this.pooler);
    this.clientIngress(this.endpoint, props, [P.endpointRw, P.endpointRo]);
  }

  /** Client rules: one per (client, port); a list token becomes one `for_each` rule per port. */
  private clientIngress(sg: SecurityGroup, props: ClusterSecurityGroupsProps, ports: readonly PortRule[]): void {
    for (const p of ports) {
      const cidrs = props.allowedCidrs as string[];
      if (Token.isUnresolved(cidrs)) {
        const it = TerraformIterator.fromList(cidrs);
        this.rule("ingress", sg, `from-clients-cidrs-${p.name}`, p, { cidr: it.value }, `${p.what} from the allowed client CIDRs`, it);
      } else {
        cidrs.forEach((cidr, i) =>
          this.ingress(sg, `from-clients-${peerKey(cidr, i)}-${p.name}`, p, { cidr }, `${p.what} from allowed client CIDR ${Token.isUnresolved(cidr) ? `#${i}` : cidr}`),
        );
      }
      const sgs = props.allowedSecurityGroupIds as string[];
      if (Token.isUnresolved(sgs)) {
        const it = TerraformIterator.fromList(sgs);
        this.rule("ingress", sg, `from-clients-groups-${p.name}`, p, { sg: it.value }, `${p.what} from the allowed client security groups`, it);
      } else {
        sgs.forEach((id, i) =>
          this.ingress(sg, `from-clients-${peerKey(id, i)}-${p.name}`, p, { sg: id }, `${p.what} from allowed client security group ${Token.isUnresolved(id) ? `#${i}` : id}`),
        );
      }
    }
  }

  /**
   * `upgradeFrom` (docs/UPGRADING.md, "Major versions"): green's nodes reach blue's nodes on
   * PostgreSQL 5432 (logical replication, schema and role copy) and Patroni REST 8008.
   * Creates, per port, an ingress rule on blue's node security group from this cluster's node
   * group and the matching egress rule of this cluster's node group. Both are resources of this
   * (green) cluster, tagged with its name: they go away with green, or when `upgradeFrom` is
   * removed.
   * @param blueSecurityGroupId blue's node security group id (`upgradeFrom.securityGroupId`; token allowed)
   */
  public allowUpgradeSource(blueSecurityGroupId: string): void {
    for (const p of [P.postgres, P.patroni]) {
      new VpcSecurityGroupIngressRule(this, `upgrade-source-ingress-from-green-${p.name}`, {
        securityGroupId: blueSecurityGroupId,
        description: `${p.what} from the database nodes of ${this.spec.name}, which upgrades this cluster (upgradeFrom)`,
        ipProtocol: "tcp",
        fromPort: p.port,
        toPort: p.port,
        referencedSecurityGroupId: this.nodes.id,
        tags: clusterTags(this.spec),
      });
      this.egress(this.nodes, `to-upgrade-source-${p.name}`, p, { sg: blueSecurityGroupId }, `${p.what} to the database nodes of the cluster this one upgrades (upgradeFrom)`);
    }
  }

  /**
   * `upgradeFrom.poolerSecurityGroupId` (blue's endpoints follow green at the cutover): blue's
   * PgBouncer hosts reach this (green) cluster's endpoints. Creates, per endpoint port green
   * serves, an ingress rule on green's endpoint group from blue's PgBouncer group and the
   * matching egress rule of blue's group to green's:
   * - distributed green: the load balancer's group (`endpoint`), TCP 5432 and 5433 (its
   *   listeners; a Network Load Balancer's security group filters on listener ports);
   * - standalone green: the node group, TCP 6432 (PgBouncer on the node, its only endpoint).
   * Nothing else: no other port, no other source. Both rules are resources of this (green)
   * cluster, tagged with its name: they go away with green, or when the field is removed.
   * @param bluePoolerSecurityGroupId blue's `<id>_pooler_security_group_id` output (its pooler
   *   instances' group, distributed; its node group, standalone); token allowed
   */
  public allowUpgradeSourcePoolers(bluePoolerSecurityGroupId: string): void {
    const [target, ports] = this.endpoint ? [this.endpoint, [P.endpointRw, P.endpointRo]] : [this.nodes, [P.bouncerRw]];
    for (const p of ports) {
      this.ingress(target, `from-upgrade-source-poolers-${p.name}`, p, { sg: bluePoolerSecurityGroupId }, `${p.what} from the PgBouncer hosts of the cluster this one upgrades (upgradeFrom), re-pointed here at the cutover`);
      new VpcSecurityGroupEgressRule(this, `upgrade-source-egress-to-green-${p.name}`, {
        securityGroupId: bluePoolerSecurityGroupId,
        description: `${p.what} of ${this.spec.name}, which upgrades this cluster (upgradeFrom): this cluster's endpoints follow it at the cutover`,
        ipProtocol: "tcp",
        fromPort: p.port,
        toPort: p.port,
        referencedSecurityGroupId: target.id,
        tags: clusterTags(this.spec),
      });
    }
  }

  private ingress(sg: SecurityGroup, key: string, p: PortRule, peer: Peer, description: string): void {
    this.rule("ingress", sg, key, p, peer, description);
  }

  private egress(sg: SecurityGroup, key: string, p: PortRule, peer: Peer, description: string): void {
    this.rule("egress", sg, key, p, peer, description);
  }

  private rule(dir: "ingress" | "egress", sg: SecurityGroup, key: string, p: PortRule, peer: Peer, description: string, forEach?: TerraformIterator): void {
    const config = {
      securityGroupId: sg.id,
      description,
      ipProtocol: "tcp",
      fromPort: p.port,
      toPort: p.port,
      cidrIpv4: "cidr" in peer ? peer.cidr : undefined,
      referencedSecurityGroupId: "sg" in peer ? peer.sg : undefined,
      prefixListId: "prefixList" in peer ? peer.prefixList : undefined,
      tags: clusterTags(this.spec),
      forEach,
    };
    // `sg` is the construct id of the group (nodes, pooler, endpoint): rules group under it.
    const id = `${sg.node.id}-${dir}-${key}`;
    if (dir === "ingress") new VpcSecurityGroupIngressRule(this, id, config);
    else new VpcSecurityGroupEgressRule(this, id, config);
  }
}

/** A stable id part for a peer: its value (`10.0.0.0/16` → `10-0-0-0-16`), or its index when a token. */
function peerKey(value: string, index: number): string {
  if (Token.isUnresolved(value)) return `${index}`;
  return value.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
}
