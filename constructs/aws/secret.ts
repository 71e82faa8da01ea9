/**
 * The cluster secret and the PgBouncer tier's secret in Secrets Manager. Terraform creates
 * them empty: their JSON values are generated on the database nodes at first boot and never
 * appear in Terraform configuration or state. The cluster secret (`SECRET_FIELDS`: passwords,
 * the backup cipher passphrase, the cluster CA and its key) is read by the nodes only; the
 * PgBouncer tier's (`POOLER_SECRET_FIELDS`: the auth user's password, the CA certificate, the
 * tier's certificate and key) is written by the nodes and is the only secret the tier reads.
 */
import { Construct } from "constructs";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import type { ResolvedClusterSpec } from "../../src/cluster-spec";
import { clusterTags } from "../private/naming";

/** Name of the cluster secret: `managed-postgres/<cluster>`. */
export function clusterSecretName(clusterName: string): string {
  return `managed-postgres/${clusterName}`;
}

/** Name of the PgBouncer tier's secret: `managed-postgres/<cluster>/pooler`. */
export function poolerSecretName(clusterName: string): string {
  return `${clusterSecretName(clusterName)}/pooler`;
}

/** Props of {@link ClusterSecret}. */
export interface ClusterSecretProps {
  readonly spec: ResolvedClusterSpec;
  /** ARN of the cluster's KMS key. */
  readonly kmsKeyArn: string;
  /** Days Secrets Manager keeps a deleted secret recoverable, 7 to 30. */
  readonly recoveryWindowDays: number;
  /** Keep the secret on `terraform destroy` (`lifecycle.prevent_destroy`). */
  readonly preventDestroy: boolean;
  /**
   * Which secret: `cluster` (`managed-postgres/<cluster>`) or `pooler` (`managed-postgres/<cluster>/pooler`).
   * @default "cluster"
   */
  readonly purpose?: "cluster" | "pooler";
}

/**
 * A Secrets Manager secret encrypted with the cluster key, with no
 * `aws_secretsmanager_secret_version`: the value never passes through Terraform.
 */
export class ClusterSecret extends Construct {
  /** The secret. */
  public readonly secret: SecretsmanagerSecret;
  /** ARN of the secret (token). */
  public readonly secretArn: string;

  constructor(scope: Construct, id: string, props: ClusterSecretProps) {
    super(scope, id);
    const pooler = props.purpose === "pooler";
    this.secret = new SecretsmanagerSecret(this, "secret", {
      name: pooler ? poolerSecretName(props.spec.name) : clusterSecretName(props.spec.name),
      description: pooler
        ? `managed-postgres ${props.spec.name}: the PgBouncer tier's credentials (auth user password, CA certificate, the tier's certificate and key), written by the database nodes`
        : `managed-postgres ${props.spec.name}: passwords, backup cipher passphrase and cluster CA, written by the first node at first boot`,
      kmsKeyId: props.kmsKeyArn,
      recoveryWindowInDays: props.recoveryWindowDays,
      tags: clusterTags(props.spec),
      lifecycle: { preventDestroy: props.preventDestroy },
    });
    this.secretArn = this.secret.arn;
  }
}
