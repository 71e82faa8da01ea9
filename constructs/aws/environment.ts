/**
 * Account, partition and region of the stack, read by data sources (no input needed).
 */
import { Construct } from "constructs";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";

/** Tokens for the AWS account, partition and region (resolved at plan time). */
export class AwsEnvironment extends Construct {
  /** Account id (token). */
  public readonly accountId: string;
  /** Partition, e.g. `aws` (token). */
  public readonly partition: string;
  /** Region name, e.g. `eu-west-1` (token). */
  public readonly region: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.accountId = new DataAwsCallerIdentity(this, "account").accountId;
    this.partition = new DataAwsPartition(this, "partition").partition;
    this.region = new DataAwsRegion(this, "region").region;
  }
}
