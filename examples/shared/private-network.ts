/**
 * A small private network for the example: a VPC, one private subnet per availability
 * zone, no internet gateway, and the VPC endpoints the instances use instead (S3 gateway;
 * EC2, Secrets Manager, KMS, CloudWatch Logs and CloudWatch interface endpoints).
 */
import { Construct } from "constructs";
import { Fn } from "cdktf";
import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";

/**
 * AWS services the nodes call through interface endpoints (autoscaling: a node that cannot
 * take its slot marks itself Unhealthy, docs/bootstrap.md).
 */
const INTERFACE_ENDPOINTS = ["ec2", "secretsmanager", "kms", "logs", "monitoring", "autoscaling"];

export interface PrivateNetworkProps {
  /** VPC CIDR block. */
  readonly cidr: string;
  /** Number of private subnets (one per availability zone). */
  readonly zones: number;
  /** AWS region, for the endpoint service names. */
  readonly region: string;
}

export class PrivateNetwork extends Construct {
  public readonly vpcId: string;
  public readonly subnetIds: string[];
  public readonly cidr: string;

  constructor(scope: Construct, id: string, props: PrivateNetworkProps) {
    super(scope, id);
    const tags = { Name: id };
    const zones = new DataAwsAvailabilityZones(this, "zones", { state: "available" });
    const vpc = new Vpc(this, "vpc", { cidrBlock: props.cidr, enableDnsSupport: true, enableDnsHostnames: true, tags });
    this.vpcId = vpc.id;
    this.cidr = props.cidr;
    const routes = new RouteTable(this, "private-routes", { vpcId: vpc.id, tags });
    const subnets = Array.from({ length: props.zones }, (_, i) => {
      const subnet = new Subnet(this, `private-${i}`, {
        vpcId: vpc.id,
        cidrBlock: Fn.cidrsubnet(props.cidr, 4, i),
        availabilityZone: Fn.element(zones.names, i),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${id}-private-${i}` },
      });
      new RouteTableAssociation(this, `private-${i}-routes`, { subnetId: subnet.id, routeTableId: routes.id });
      return subnet;
    });
    this.subnetIds = subnets.map((s) => s.id);

    new VpcEndpoint(this, "s3-endpoint", {
      vpcId: vpc.id,
      serviceName: `com.amazonaws.${props.region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: [routes.id],
      tags,
    });
    const endpointSg = new SecurityGroup(this, "endpoints", {
      name: `${id}-endpoints`,
      description: "Interface VPC endpoints: HTTPS from the VPC",
      vpcId: vpc.id,
      tags,
    });
    new VpcSecurityGroupIngressRule(this, "endpoints-https", {
      securityGroupId: endpointSg.id,
      description: "HTTPS from the VPC to the AWS API endpoints",
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: props.cidr,
      tags,
    });
    for (const service of INTERFACE_ENDPOINTS) {
      new VpcEndpoint(this, `${service}-endpoint`, {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: "Interface",
        privateDnsEnabled: true,
        subnetIds: this.subnetIds,
        securityGroupIds: [endpointSg.id],
        tags,
      });
    }
  }
}
