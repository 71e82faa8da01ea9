/**
 * Props of `ManagedPostgresKubernetes` and their synth-time validation.
 */
import type { BackupSpec, ClusterSpec } from "../../src/cluster-spec";

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

/**
 * Where the backups go and who may write them: the IAM OIDC provider that trusts the database
 * pods' service account (IRSA), and optionally the KMS key of the bucket.
 */
export interface KubernetesBackupStorageProps {
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
}

/**
 * The former shape of `backup` on `ManagedPostgresKubernetes` (before `backup` meant the
 * cluster spec's backup schedule, as on AWS).
 * @deprecated use `backupStorage` (`oidcProviderArn`, `oidcIssuer`, `kmsKeyArn`) and the
 *   top-level `noncurrentVersionExpirationDays`; see docs/UPGRADING.md
 */
export interface KubernetesBackupProps extends KubernetesBackupStorageProps {
  /**
   * Days a noncurrent object version is kept in the bucket.
   * @default 30
   */
  readonly noncurrentVersionExpirationDays?: number;
}

/** The Kubernetes options of `ManagedPostgresKubernetes` (everything that is not a cluster spec field). */
export interface ManagedPostgresKubernetesOptions {
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
  /**
   * Backups to S3 through IRSA: the OIDC provider trusting the database pods' service
   * account, and optionally the bucket's KMS key. Required (the deprecated IRSA form of
   * `backup` is accepted instead, with a warning; both together are refused).
   */
  readonly backupStorage?: KubernetesBackupStorageProps;
  /**
   * Days the backup bucket keeps noncurrent object versions: integer, 1 to 3650 (as on AWS).
   * @default 30
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * Lets `terraform destroy` delete the data-bearing resources (PVCs, backup bucket, KMS
   * key), which otherwise carry `lifecycle.prevent_destroy`. For throw-away clusters only.
   * Same name and default as on `ManagedPostgres`.
   * @default false
   */
  readonly allowDestroy?: boolean;
  /**
   * Keep the PVCs, the bucket and the key on `terraform destroy` (`prevent_destroy`).
   * `preventDestroy: false` is `allowDestroy: true`. Set with `allowDestroy`, the two must
   * agree (`preventDestroy === !allowDestroy`), or construction throws.
   * @deprecated use `allowDestroy` (default false), as on `ManagedPostgres`; synth warns
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

/**
 * Props of `ManagedPostgresKubernetes`: the cluster spec fields flat, as on `ManagedPostgres`
 * (`{ ...readSpecFile("postgres.yaml"), namespace, ... }`), without `network` (AWS only),
 * plus the Kubernetes options. `architecture` is accepted and ignored (the image decides).
 */
export interface ManagedPostgresKubernetesProps extends Omit<ClusterSpec, "backup" | "network">, ManagedPostgresKubernetesOptions {
  /**
   * The cluster spec's backups (schedule and retention: `retentionDays`, `fullBackupTime`,
   * `logicalDump`, `coldStorageAfterDays`), as on AWS. An object with `oidcProviderArn` /
   * `oidcIssuer` is read as the deprecated IRSA form ({@link KubernetesBackupProps}), with a
   * warning: use `backupStorage` for those.
   * @default - 7-day PITR, full backup 01:00, weekly logical dumps kept 30 days
   */
  readonly backup?: BackupSpec | KubernetesBackupProps;
}

/**
 * The former props of `ManagedPostgresKubernetes`: the cluster spec nested in `spec`, the IRSA
 * settings in `backup`. Still accepted, with a warning annotation.
 * @deprecated give the spec fields flat ({@link ManagedPostgresKubernetesProps}); see docs/UPGRADING.md
 */
export interface ManagedPostgresKubernetesNestedProps extends ManagedPostgresKubernetesOptions {
  /** The cluster spec. `network` is ignored here. */
  readonly spec: ClusterSpec;
  /** @deprecated use `backupStorage` and `noncurrentVersionExpirationDays` */
  readonly backup?: KubernetesBackupProps;
}

/** The props after the deprecated names are mapped to the current ones. */
export interface NormalizedKubernetesProps extends ManagedPostgresKubernetesOptions {
  /** The cluster spec fields (from the flat props or the deprecated `spec`). */
  readonly spec: ClusterSpec;
  /** Where a backup-storage problem is reported: `backupStorage`, or `backup` when the deprecated form was used. */
  readonly backupStoragePath: string;
}

/** Keys of {@link ManagedPostgresKubernetesOptions}: every prop that is not a cluster spec field. */
export const KUBERNETES_OPTION_KEYS = [
  "namespace",
  "storageClassName",
  "image",
  "poolerImage",
  "zoneLabel",
  "podNetworkCidrs",
  "allowedNamespaceLabels",
  "clusterDomain",
  "runAsUser",
  "credentialsSecretName",
  "poolerCredentialsSecretName",
  "tlsSecretName",
  "poolerTlsSecretName",
  "backupStorage",
  "noncurrentVersionExpirationDays",
  "allowDestroy",
  "preventDestroy",
  "policyPack",
  "priorStateFile",
  "now",
] as const;

function isIrsaBackup(b: unknown): b is KubernetesBackupProps {
  return typeof b === "object" && b !== null && ("oidcProviderArn" in b || "oidcIssuer" in b);
}

/**
 * Maps the deprecated props to the current ones: `spec` (nested) to the flat fields,
 * `backup` in its IRSA form to `backupStorage` and `noncurrentVersionExpirationDays`,
 * `preventDestroy` to `allowDestroy`.
 * @returns the normalized props, a warning per deprecated name used, and an issue per
 *   contradiction (both the old and the new name, with different values)
 */
export function normalizeKubernetesProps(props: ManagedPostgresKubernetesProps | ManagedPostgresKubernetesNestedProps): {
  props: NormalizedKubernetesProps;
  warnings: string[];
  issues: PropIssue[];
} {
  const warnings: string[] = [];
  const issues: PropIssue[] = [];
  const raw = props as unknown as Record<string, unknown>;
  const options = Object.fromEntries(KUBERNETES_OPTION_KEYS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]])) as Record<string, unknown>;
  const flat: Record<string, unknown> = Object.fromEntries(
    Object.entries(raw).filter(([k, v]) => v !== undefined && k !== "spec" && !(KUBERNETES_OPTION_KEYS as readonly string[]).includes(k)),
  );
  const legacyBackup = isIrsaBackup(flat.backup) ? (flat.backup as KubernetesBackupProps) : undefined;
  if (legacyBackup) delete flat.backup;

  let spec: ClusterSpec;
  if (raw.spec !== undefined) {
    warnings.push("`spec` is deprecated: give the cluster spec fields flat, as on ManagedPostgres (`{ ...spec, namespace, … }`); see docs/UPGRADING.md");
    const both = Object.keys(flat);
    if (both.length > 0) {
      issues.push({
        path: "spec",
        message: `\`spec\`: the cluster spec is given both in the deprecated \`spec\` and flat (${both.map((k) => `\`${k}\``).join(", ")}); give the fields flat only`,
      });
    }
    spec = raw.spec as ClusterSpec;
  } else {
    spec = flat as unknown as ClusterSpec;
  }

  let backupStorage = options.backupStorage as KubernetesBackupStorageProps | undefined;
  let backupStoragePath = "backupStorage";
  let noncurrent = options.noncurrentVersionExpirationDays as number | undefined;
  if (legacyBackup) {
    warnings.push(
      "`backup` with `oidcProviderArn`/`oidcIssuer` is deprecated: `backup` is now the cluster spec's backup schedule, as on ManagedPostgres; " +
        "give the IRSA settings as `backupStorage: { oidcProviderArn, oidcIssuer, kmsKeyArn }` and `noncurrentVersionExpirationDays` at the top level",
    );
    if (backupStorage !== undefined) {
      issues.push({ path: "backupStorage", message: "`backupStorage`: given together with the deprecated IRSA form of `backup`; give `backupStorage` only" });
    } else {
      const { noncurrentVersionExpirationDays: legacyDays, ...storage } = legacyBackup;
      backupStorage = storage;
      backupStoragePath = "backup";
      if (legacyDays !== undefined) {
        if (noncurrent !== undefined && noncurrent !== legacyDays) {
          issues.push({
            path: "noncurrentVersionExpirationDays",
            message: `\`noncurrentVersionExpirationDays\`: got ${JSON.stringify(noncurrent)}, and the deprecated \`backup.noncurrentVersionExpirationDays\` ${JSON.stringify(legacyDays)}; give only \`noncurrentVersionExpirationDays\``,
          });
        }
        noncurrent ??= legacyDays;
      }
    }
  }

  let allowDestroy = options.allowDestroy as boolean | undefined;
  const preventDestroy = options.preventDestroy as boolean | undefined;
  if (preventDestroy !== undefined) {
    warnings.push(`\`preventDestroy\` is deprecated: use \`allowDestroy\` (default false), as on ManagedPostgres; \`preventDestroy: ${preventDestroy}\` is \`allowDestroy: ${!preventDestroy}\``);
    if (allowDestroy !== undefined && allowDestroy === preventDestroy) {
      issues.push({
        path: "allowDestroy",
        message: `\`allowDestroy\`: got ${JSON.stringify(allowDestroy)}, and the deprecated \`preventDestroy\` ${JSON.stringify(preventDestroy)}, which contradict each other; set only \`allowDestroy\``,
      });
    }
    allowDestroy ??= !preventDestroy;
  }

  const normalized = {
    ...(options as unknown as ManagedPostgresKubernetesOptions),
    spec,
    backupStorage,
    backupStoragePath,
    noncurrentVersionExpirationDays: noncurrent,
    allowDestroy,
    preventDestroy: undefined,
  };
  return { props: normalized, warnings, issues };
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
  input: ManagedPostgresKubernetesProps | ManagedPostgresKubernetesNestedProps,
  isUnresolved: (v: unknown) => boolean = () => false,
): PropIssue[] {
  const normalized = normalizeKubernetesProps(input);
  const props = normalized.props;
  const issues: PropIssue[] = [...normalized.issues];
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
  const b = props.backupStorage;
  const bp = props.backupStoragePath;
  if (!b) {
    add("backupStorage", b, "expected { oidcProviderArn, oidcIssuer }: backups go to S3 through an IAM role for the service account");
  } else {
    if (literal(b.oidcIssuer) && /^https?:\/\//.test(b.oidcIssuer)) {
      add(`${bp}.oidcIssuer`, b.oidcIssuer, `expected the issuer without its scheme, e.g. "${b.oidcIssuer.replace(/^https?:\/\//, "")}"`);
    }
    if (literal(b.oidcProviderArn) && !/^arn:aws[-a-z]*:iam::\d{12}:oidc-provider\/.+$/.test(b.oidcProviderArn)) {
      add(`${bp}.oidcProviderArn`, b.oidcProviderArn, "expected arn:aws:iam::<account>:oidc-provider/<issuer>");
    }
    if (b.kmsKeyArn !== undefined && literal(b.kmsKeyArn) && !/^arn:aws[-a-z]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/.test(b.kmsKeyArn)) {
      add(`${bp}.kmsKeyArn`, b.kmsKeyArn, "expected a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>");
    }
  }
  const n = props.noncurrentVersionExpirationDays;
  if (n !== undefined && !isUnresolved(n) && !(Number.isInteger(n) && n >= 1 && n <= 3650)) {
    add("noncurrentVersionExpirationDays", n, "expected an integer from 1 to 3650");
  }
  return issues;
}
