/**
 * Where clients get the cluster CA certificate for `sslmode=verify-full`: an SSM parameter the
 * database nodes write.
 */
import { Construct } from "constructs";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import type { ResolvedClusterSpec } from "../../src/cluster-spec";
import type { AwsEnvironment } from "./environment";
import { clusterTags } from "../private/naming";

/** Name of the CA certificate's parameter: `/managed-postgres/<cluster>/ca-certificate`. */
export function caCertificateParameterName(clusterName: string): string {
  return `/managed-postgres/${clusterName}/ca-certificate`;
}

/** What the parameter holds until the first database node publishes the certificate. */
export const CA_CERTIFICATE_PENDING = "pending: the first database node publishes the cluster CA certificate (PEM) here at first boot";

/** Props of {@link CaCertificateParameter}. */
export interface CaCertificateParameterProps {
  readonly spec: ResolvedClusterSpec;
  readonly env: AwsEnvironment;
}

/**
 * An `aws_ssm_parameter` `/managed-postgres/<cluster>/ca-certificate` of type `String`
 * (Standard tier, at most 4 KB; a P-256 CA certificate is about 600 bytes) that the database
 * nodes set to the cluster CA certificate (PEM) at boot, through `ssm:PutParameter` on this
 * parameter only. Terraform creates it with {@link CA_CERTIFICATE_PENDING} and ignores later
 * values (`lifecycle.ignore_changes = [value]`).
 *
 * Why SSM rather than an S3 object of the backup bucket: a certificate is public material, and
 * the bucket only holds SSE-KMS objects of the cluster key, which clients would then need to be
 * allowed to decrypt; a `String` parameter needs no key, is read with `ssm:GetParameter`
 * (`aws ssm get-parameter`, the `aws_ssm_parameter` data source of another stack) and is
 * versioned by SSM. Nodes reach SSM through an `ssm` interface endpoint in the VPC (HTTPS to
 * the VPC CIDR, already allowed).
 */
export class CaCertificateParameter extends Construct {
  /** The parameter. */
  public readonly parameter: SsmParameter;
  /** Its name (a literal). */
  public readonly parameterName: string;
  /**
   * Its ARN, `arn:<partition>:ssm:<region>:<account>:parameter/managed-postgres/<cluster>/ca-certificate`,
   * built from the name (SSM's ARN format for a name starting with `/`) rather than read from
   * the resource: policies naming it do not wait for it.
   */
  public readonly parameterArn: string;

  constructor(scope: Construct, id: string, props: CaCertificateParameterProps) {
    super(scope, id);
    this.parameterName = caCertificateParameterName(props.spec.name);
    this.parameter = new SsmParameter(this, "parameter", {
      name: this.parameterName,
      description: `managed-postgres ${props.spec.name}: the cluster CA certificate (PEM) for clients' sslrootcert, published by the database nodes`,
      type: "String",
      tier: "Standard",
      value: CA_CERTIFICATE_PENDING,
      tags: clusterTags(props.spec),
      lifecycle: { ignoreChanges: ["value"] },
    });
    this.parameterArn = `arn:${props.env.partition}:ssm:${props.env.region}:${props.env.accountId}:parameter${this.parameterName}`;
  }
}
