/**
 * Props of `ManagedPostgresKubernetes` and their synth-time validation.
 */
import type { ClusterSpec } from "../../src/cluster-spec";

/** Default label of a node's availability zone (Kubernetes well-known label). */
export const DEFAULT_ZONE_LABEL = "topology.kubernetes.io/zone";
/** Label the required pod anti-affinity uses: at most one member per node. */
export const HOSTNAME_LABEL = "kubernetes.io/hostname";
/** Default cluster DNS domain. */
export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";
/**
 * Default UID and GID of the containers: 999, the `postgres` user of the Debian PostgreSQL
 * packages and of the Docker Hub `postgres` images. The image must map this UID to a user
 * named `postgres` (pg_hba's `local all postgres peer` rule).
 */
export const DEFAULT_RUN_AS_USER = 999;

/** A container image pinned by digest: `<repository>@sha256:<64 lower-case hex>`. */
export const PINNED_IMAGE = /^[a-z0-9]+(?:[._\-/:][a-z0-9]+)*@sha256:[0-9a-f]{64}$/;

/** Keys the credentials Secret of the database pods must hold (created outside Terraform). */
export const CREDENTIAL_KEYS = {
  superuserPassword: "superuser-password",
  replicationPassword: "replication-password",
  rewindPassword: "rewind-password",
  restapiPassword: "restapi-password",
  pgbouncerAuthPassword: "pgbouncer-auth-password",
  backupCipherPass: "backup-cipher-pass",
} as const;

/** Key of the pooler credentials Secret: PgBouncer's auth_file line `"pgbouncer_auth" "<password>"`. */
export const POOLER_USERLIST_KEY = "userlist.txt";

/** AWS side of the backups: where the IAM role for the service account (IRSA) is trusted. */
export interface KubernetesBackupProps {
  /**
   * ARN of the cluster's IAM OIDC identity provider,
   * e.g. `arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC`
   * (or a token, e.g. from `aws_iam_openid_connect_provider.arn`).
   */
  readonly oidcProviderArn: string;
  /**
   * The provider's issuer without `https://`, e.g.
   * `oidc.eks.eu-west-1.amazonaws.com/id/ABC`: the prefix of the trust policy's condition
   * keys (`<issuer>:sub`, `<issuer>:aud`). A value starting with `https://` is refused.
   */
  readonly oidcIssuer: string;
  /**
   * ARN of an existing KMS key for the bucket (SSE-KMS).
   * @default - a new key with yearly rotation and a 30-day deletion window
   */
  readonly kmsKeyArn?: string;
  /**
   * Days a noncurrent object version is kept in the bucket.
   * @default 30
   */
  readonly noncurrentVersionExpirationDays?: number;
}

/** Props of `ManagedPostgresKubernetes`. */
export interface ManagedPostgresKubernetesProps {
  /**
   * The cluster spec (same as on AWS). `network` is AWS-only and ignored here;
   * `architecture` is ignored too (the image decides).
   */
  readonly spec: ClusterSpec;
  /**
   * Namespace of every Kubernetes object; must exist. Not `default` (and not
   * `kube-system`, `kube-public`, `kube-node-lease`): a database gets a namespace of its
   * own, so that its Role, NetworkPolicies and Secrets are scoped to it.
   */
  readonly namespace: string;
  /**
   * StorageClass of the data volumes. It must allow volume expansion
   * (`allowVolumeExpansion: true`) for `storageGiB` to grow, and should use
   * `volumeBindingMode: WaitForFirstConsumer` so a volume is created in its pod's zone.
   */
  readonly storageClassName: string;
  /**
   * Database image, pinned by digest (`repo@sha256:<64 hex>`). It must contain PostgreSQL
   * `majorVersion` under `/usr/lib/postgresql/<major>/bin` (Debian/PGDG layout), Patroni
   * 3.x with the `kubernetes` extra, pgBackRest ≥ 2.41 (web-identity credentials), psql,
   * sh, GNU date and curl, and a user `postgres` with UID `runAsUser`.
   */
  readonly image: string;
  /**
   * PgBouncer image (PgBouncer ≥ 1.18, a user with UID `runAsUser`), pinned by digest.
   * @default - `image`
   */
  readonly poolerImage?: string;
  /**
   * Node label holding the availability zone; the three members of a distributed cluster
   * are spread over three of its values.
   * @default "topology.kubernetes.io/zone"
   */
  readonly zoneLabel?: string;
  /**
   * IPv4 CIDRs pod IPs are taken from (e.g. the VPC CIDR with the EKS VPC CNI). pg_hba
   * admits replication and pg_rewind connections from these only. Not `0.0.0.0/0`.
   */
  readonly podNetworkCidrs: readonly string[];
  /**
   * Labels a namespace must carry (all of them) for its pods to reach the pooler, e.g.
   * `{ "kubernetes.io/metadata.name": "orders-app" }`. At least one.
   */
  readonly allowedNamespaceLabels: Readonly<Record<string, string>>;
  /** Cluster DNS domain. @default "cluster.local" */
  readonly clusterDomain?: string;
  /** UID and GID of every container (and fsGroup of the data volume). @default 999 */
  readonly runAsUser?: number;
  /**
   * Secret holding the database passwords (keys: {@link CREDENTIAL_KEYS}). Terraform does
   * not create or read it.
   * @default - `<cluster>-credentials`
   */
  readonly credentialsSecretName?: string;
  /**
   * Secret holding PgBouncer's `userlist.txt`. Terraform does not create or read it.
   * @default - `<cluster>-pooler-credentials`
   */
  readonly poolerCredentialsSecretName?: string;
  /**
   * TLS Secret of the database pods (`tls.crt`, `tls.key`, `ca.crt`: cert-manager's
   * layout), common name `<cluster>`.
   * @default - `<cluster>-tls`
   */
  readonly tlsSecretName?: string;
  /** TLS Secret of the pooler pods, same layout. @default - `<cluster>-pooler-tls` */
  readonly poolerTlsSecretName?: string;
  /** Backups to S3 through IRSA. */
  readonly backup: KubernetesBackupProps;
  /**
   * Keep the PVCs, the bucket and the key on `terraform destroy` (`prevent_destroy`).
   * @default true
   */
  readonly preventDestroy?: boolean;
  /**
   * Check the stack at synth with the policy pack (`PolicyPack.enforce`: the AWS rules and
   * the Kubernetes rules MP-K8S-1..9); error findings fail synth. If the stack is already
   * enforced by another construct (e.g. `ManagedPostgres`), that call's rules apply.
   * @default true
   */
  readonly policyPack?: boolean;
  /**
   * Prior Terraform state (state v4 or `terraform show -json` of a plan) to compare the spec
   * with (model, storage, major version).
   * @default - context `managed-postgres:priorState`, else `MANAGED_POSTGRES_PRIOR_STATE`,
   *   else the stack's local-backend state file when it exists
   */
  readonly priorStateFile?: string;
  /** Clock of the end-of-support rule (ISO date). @default - context `managed-postgres:now`, else now */
  readonly now?: Date | string;
}

const RESERVED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** A Kubernetes-specific prop problem (field, value, rule), like the spec's issues. */
export interface PropIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * Checks the Kubernetes-specific props (the spec itself is checked by
 * `validateClusterSpec`). Values that are unresolved tokens are skipped.
 * @returns every problem found; empty when the props are valid
 */
export function checkKubernetesProps(
  props: ManagedPostgresKubernetesProps,
  isUnresolved: (v: unknown) => boolean = () => false,
): PropIssue[] {
  const issues: PropIssue[] = [];
  const add = (path: string, value: unknown, rule: string) =>
    issues.push({ path, message: `\`${path}\`: got ${JSON.stringify(value)}; ${rule}` });
  const literal = (v: unknown) => typeof v === "string" && !isUnresolved(v);

  const ns = props.namespace;
  if (literal(ns)) {
    if (RESERVED_NAMESPACES.includes(ns)) {
      add("namespace", ns, `expected a namespace of the cluster's own, not one of ${RESERVED_NAMESPACES.join(", ")}`);
    } else if (!DNS_LABEL.test(ns) || ns.length > 63) {
      add("namespace", ns, "expected a DNS label: 1 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit");
    }
  } else if (typeof ns !== "string") {
    add("namespace", ns, "expected a namespace name");
  }
  if (literal(props.storageClassName) && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(props.storageClassName)) {
    add("storageClassName", props.storageClassName, "expected a StorageClass name (lower-case DNS subdomain)");
  }
  for (const key of ["image", "poolerImage"] as const) {
    const v = props[key];
    if (v === undefined && key === "poolerImage") continue;
    if (literal(v) && !PINNED_IMAGE.test(v as string)) {
      add(key, v, "expected an image pinned by digest, `<repository>@sha256:<64 lower-case hex digits>` (a tag can move; a digest cannot)");
    } else if (typeof v !== "string") {
      add(key, v, "expected an image pinned by digest, `<repository>@sha256:<64 hex>`");
    }
  }
  if (props.zoneLabel !== undefined && literal(props.zoneLabel) && !LABEL_KEY.test(props.zoneLabel)) {
    add("zoneLabel", props.zoneLabel, "expected a label key such as topology.kubernetes.io/zone");
  }
  if (!Array.isArray(props.podNetworkCidrs) || props.podNetworkCidrs.length === 0) {
    add("podNetworkCidrs", props.podNetworkCidrs, "expected at least one IPv4 CIDR of the pod network, e.g. [\"10.0.0.0/16\"]");
  } else {
    props.podNetworkCidrs.forEach((c, i) => {
      if (!literal(c)) return;
      const m = CIDR.exec(c);
      const ok = m && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
      if (!ok) add(`podNetworkCidrs[${i}]`, c, "expected an IPv4 CIDR such as 10.0.0.0/16");
      else if (Number(m![5]) === 0) add(`podNetworkCidrs[${i}]`, c, "the whole Internet is not a pod network; give the pod CIDR, e.g. 10.0.0.0/16");
    });
  }
  const nsLabels = props.allowedNamespaceLabels;
  if (!nsLabels || typeof nsLabels !== "object" || Object.keys(nsLabels).length === 0) {
    add("allowedNamespaceLabels", nsLabels, "expected at least one label, e.g. { \"kubernetes.io/metadata.name\": \"orders-app\" }; an empty selector would admit every namespace");
  } else {
    for (const [k, v] of Object.entries(nsLabels)) {
      if (!LABEL_KEY.test(k)) add(`allowedNamespaceLabels`, k, "expected label keys such as kubernetes.io/metadata.name");
      if (literal(v) && !LABEL_VALUE.test(v)) add(`allowedNamespaceLabels.${k}`, v, "expected a label value (63 characters at most: letters, digits, - _ .)");
    }
  }
  if (props.clusterDomain !== undefined && literal(props.clusterDomain) && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(props.clusterDomain)) {
    add("clusterDomain", props.clusterDomain, "expected a DNS domain such as cluster.local");
  }
  if (props.runAsUser !== undefined && !(Number.isInteger(props.runAsUser) && props.runAsUser > 0 && props.runAsUser < 2 ** 31)) {
    add("runAsUser", props.runAsUser, "expected a non-zero UID (an integer from 1 to 2147483647): the containers never run as root");
  }
  for (const key of ["credentialsSecretName", "poolerCredentialsSecretName", "tlsSecretName", "poolerTlsSecretName"] as const) {
    const v = props[key];
    if (v !== undefined && literal(v) && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v)) {
      add(key, v, "expected a Secret name (lower-case DNS subdomain)");
    }
  }
  const b = props.backup;
  if (!b) {
    add("backup", b, "expected { oidcProviderArn, oidcIssuer }: backups go to S3 through an IAM role for the service account");
  } else {
    if (literal(b.oidcIssuer) && /^https?:\/\//.test(b.oidcIssuer)) {
      add("backup.oidcIssuer", b.oidcIssuer, `expected the issuer without its scheme, e.g. "${b.oidcIssuer.replace(/^https?:\/\//, "")}"`);
    }
    if (literal(b.oidcProviderArn) && !/^arn:aws[-a-z]*:iam::\d{12}:oidc-provider\/.+$/.test(b.oidcProviderArn)) {
      add("backup.oidcProviderArn", b.oidcProviderArn, "expected arn:aws:iam::<account>:oidc-provider/<issuer>");
    }
    if (b.kmsKeyArn !== undefined && literal(b.kmsKeyArn) && !/^arn:aws[-a-z]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/.test(b.kmsKeyArn)) {
      add("backup.kmsKeyArn", b.kmsKeyArn, "expected a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>");
    }
    const n = b.noncurrentVersionExpirationDays;
    if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= 3650)) {
      add("backup.noncurrentVersionExpirationDays", n, "expected an integer from 1 to 3650");
    }
  }
  return issues;
}
