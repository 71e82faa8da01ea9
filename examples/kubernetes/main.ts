/**
 * Example: a distributed cluster on Kubernetes (EKS), with backups to S3 through an IAM role
 * for the service account: one cdktf stack, two providers. Synthesizes offline, with no input:
 *   cd examples/kubernetes && CHECKPOINT_DISABLE=1 npx cdktf synth
 * The Kubernetes provider reads ~/.kube/config at plan/apply time only.
 */
import { join } from "node:path";
import { App, LocalBackend, TerraformStack, TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { reportSynth } from "../shared/synth-report";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { readSpecFile } from "cdktf-managed-postgres";
import { ManagedPostgresKubernetes } from "cdktf-managed-postgres/kubernetes";

const REGION = "eu-west-1";

/**
 * Database image: PostgreSQL 17 (PGDG layout), Patroni 3 with the kubernetes extra,
 * pgBackRest ≥ 2.41, PgBouncer, curl; user postgres = UID 999. Build it from your own
 * Dockerfile and pin the digest your registry reports (this one is a placeholder).
 */
const IMAGE = "registry.example.com/platform/managed-postgres-17@sha256:3f2b6c1d8e9a0b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4";

export class KubernetesExample extends TerraformStack {
  public readonly database: ManagedPostgresKubernetes;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    new LocalBackend(this, { path: `terraform.${id}.tfstate` });
    new AwsProvider(this, "aws", { region: REGION });
    new KubernetesProvider(this, "kubernetes", { configPath: "~/.kube/config" });

    // The EKS cluster's IAM OIDC provider (output of the cluster's own stack).
    const oidcProviderArn = new TerraformVariable(this, "oidc_provider_arn", {
      type: "string",
      description: "ARN of the EKS cluster's IAM OIDC identity provider",
      default: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    });
    const oidcIssuer = new TerraformVariable(this, "oidc_issuer", {
      type: "string",
      description: "OIDC issuer of the EKS cluster, without https://",
      default: "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    });

    const spec = readSpecFile(join(__dirname, "postgres.yaml"));
    this.database = new ManagedPostgresKubernetes(this, "orders", {
      ...spec, // the cluster spec fields, flat as on ManagedPostgres
      namespace: "orders-db",
      storageClassName: "gp3-expandable",
      image: IMAGE,
      // EKS with the VPC CNI: pod IPs come from the VPC.
      podNetworkCidrs: ["10.42.0.0/16"],
      // Only the application's namespace may reach PgBouncer.
      allowedNamespaceLabels: { "kubernetes.io/metadata.name": "orders-app" },
      backupStorage: { oidcProviderArn: oidcProviderArn.stringValue, oidcIssuer: oidcIssuer.stringValue },
    });
    // Outputs come from the construct, named as on AWS: orders_read_write_endpoint,
    // orders_read_write_port, orders_read_only_endpoint, orders_read_only_port,
    // orders_backup_bucket_name, orders_kms_key_arn, orders_backup_role_arn.
  }
}

if (require.main === module) {
  const app = new App();
  new KubernetesExample(app, "kubernetes");
  app.synth();
  reportSynth(app);
}
