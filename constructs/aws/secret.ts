/**
 * The cluster secret in Secrets Manager. Terraform creates it empty: its JSON value
 * (`SECRET_FIELDS`: passwords, the backup cipher passphrase, the cluster CA) is generated
 * on the first node at first boot and never appears in Terraform configuration or state.
 */
import { Construct } from "constructs";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import type { ResolvedClusterSpec } from "../../src/cluster-spec";
import { clusterTags } from "../private/naming";

/** Props of {@link ClusterSecret}. */
export interface ClusterSecretProps {
  readonly spec: ResolvedClusterSpec;
  /** ARN of the cluster's KMS key. */
  readonly kmsKeyArn: string;
  /** Days Secrets Manager keeps a deleted secret recoverable, 7 to 30. */
  readonly recoveryWindowDays: number;
  /** Keep the secret on `terraform destroy` (`lifecycle.prevent_destroy`). */
  readonly preventDestroy: boolean;
}

/**
 * A Secrets Manager secret named `managed-postgres/<cluster>`, encrypted with the cluster
 * key, with no `aws_secretsmanager_secret_version`: the value never passes through Terraform.
 */
export class ClusterSecret extends Construct {
  /** The secret. */
  public readonly secret: SecretsmanagerSecret;
  /** ARN of the secret (token). */
  public readonly secretArn: string;

  constructor(scope: Construct, id: string, props: ClusterSecretProps) {
    super(scope, id);
    this.secret = new SecretsmanagerSecret(this, "secret", {
      name: `managed-postgres/${props.spec.name}`,
      description: `managed-postgres ${props.spec.name}: passwords, backup cipher passphrase and cluster CA, written by the first node at first boot`,
      kmsKeyId: props.kmsKeyArn,
      recoveryWindowInDays: props.recoveryWindowDays,
      tags: clusterTags(props.spec),
      lifecycle: { preventDestroy: props.preventDestroy },
    });
    this.secretArn = this.secret.arn;
  }
}
