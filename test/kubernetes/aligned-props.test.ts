/**
 * The Kubernetes props agree with the AWS ones (issue 13): the cluster spec fields flat,
 * `backup` meaning the spec's backup schedule, `backupStorage` for IRSA, `allowDestroy`
 * (default false) for destroy protection, `noncurrentVersionExpirationDays` at the top. The
 * former names (`spec`, the IRSA form of `backup`, `preventDestroy`) still work with a
 * warning, and contradictions between old and new names are refused.
 */
import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { SpecValidationError } from "../../src/cluster-spec";
import { ManagedPostgresKubernetes, type ManagedPostgresKubernetesNestedProps, type ManagedPostgresKubernetesProps } from "../../constructs/kubernetes";
import { props } from "./fixtures";

function build(p: ManagedPostgresKubernetesProps | ManagedPostgresKubernetesNestedProps) {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  new KubernetesProvider(stack, "kubernetes", { configPath: "~/.kube/config" });
  const cluster = new ManagedPostgresKubernetes(stack, "orders", p);
  const warnings = cluster.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data));
  const json = JSON.parse(Testing.synth(stack));
  return { cluster, warnings, json };
}

function thrown(p: unknown): string {
  try {
    build(p as ManagedPostgresKubernetesProps);
  } catch (err) {
    expect(err).toBeInstanceOf(SpecValidationError);
    return (err as Error).message;
  }
  throw new Error("expected a SpecValidationError");
}

/** `prevent_destroy` of the PVCs, the bucket and the KMS key. */
function protection(json: any): boolean[] {
  const of = (type: string) => Object.values(json.resource[type] as Record<string, any>).map((r) => r.lifecycle?.prevent_destroy ?? false);
  return [...of("kubernetes_persistent_volume_claim_v1"), ...of("aws_s3_bucket"), ...of("aws_kms_key")];
}

/** The fixture in the deprecated shape: spec nested, IRSA in `backup`. */
function nested(overrides: Partial<ManagedPostgresKubernetesNestedProps> = {}): ManagedPostgresKubernetesNestedProps {
  const { name, deployment, size, storageGiB, majorVersion, backupStorage, ...options } = props();
  return { ...options, spec: { name, deployment, size, storageGiB, majorVersion }, backup: backupStorage!, ...overrides };
}

describe("destroy protection: allowDestroy, default false, as on ManagedPostgres", () => {
  test("by default every data-bearing resource carries prevent_destroy", () => {
    const { json, warnings } = build(props());
    expect([protection(json).length, protection(json).every((p) => p), warnings]).toEqual([5, true, []]);
  });

  test("allowDestroy: true lifts prevent_destroy from the PVCs, the bucket and the key", () => {
    expect(protection(build(props({}, { allowDestroy: true })).json)).toEqual([false, false, false, false, false]);
  });

  test("the deprecated preventDestroy: false still lifts it, with a warning naming allowDestroy", () => {
    const { json, warnings } = build(props({}, { preventDestroy: false }));
    expect(protection(json).every((p) => !p)).toBe(true);
    expect(warnings).toEqual([expect.stringMatching(/`preventDestroy` is deprecated: use `allowDestroy`.*`preventDestroy: false` is `allowDestroy: true`/)]);
  });

  test("both names set and agreeing: accepted, with the warning", () => {
    const { json, warnings } = build(props({}, { preventDestroy: true, allowDestroy: false }));
    expect([protection(json).every((p) => p), warnings.length]).toEqual([true, 1]);
  });

  test.each([
    [true, true],
    [false, false],
  ])("allowDestroy %s with preventDestroy %s contradict each other: refused", (allowDestroy, preventDestroy) => {
    expect(thrown(props({}, { allowDestroy, preventDestroy }))).toMatch(
      new RegExp(`\`allowDestroy\`: got ${allowDestroy}, and the deprecated \`preventDestroy\` ${preventDestroy}, which contradict each other`),
    );
  });
});

describe("the spec fields are flat, as on ManagedPostgres", () => {
  test("`backup` is the spec's backup schedule", () => {
    const { cluster, warnings } = build(props({ backup: { retentionDays: 14, fullBackupTime: "03:30" } }));
    expect([cluster.spec.backup.retentionDays, cluster.spec.backup.fullBackupTime, warnings]).toEqual([14, "03:30", []]);
  });

  test("the deprecated nested form synthesizes the same configuration, with a warning per deprecated name", () => {
    const flat = build(props());
    const old = build(nested());
    expect(old.json.resource).toEqual(flat.json.resource);
    expect(old.json.output).toEqual(flat.json.output);
    expect(old.warnings).toEqual([
      expect.stringMatching(/^`spec` is deprecated: give the cluster spec fields flat/),
      expect.stringMatching(/^`backup` with `oidcProviderArn`\/`oidcIssuer` is deprecated: .*`backupStorage: \{ oidcProviderArn, oidcIssuer, kmsKeyArn \}`/),
    ]);
  });

  test("the spec given both nested and flat is refused, naming the flat fields", () => {
    expect(thrown({ ...nested(), storageGiB: 40 })).toMatch(/`spec`: the cluster spec is given both in the deprecated `spec` and flat \(`storageGiB`\)/);
  });

  test("backupStorage together with the IRSA form of backup is refused", () => {
    const p = { ...props(), backup: props().backupStorage } as unknown as ManagedPostgresKubernetesProps;
    expect(thrown(p)).toMatch(/`backupStorage`: given together with the deprecated IRSA form of `backup`/);
  });

  test("without backupStorage (or the deprecated backup) construction is refused", () => {
    expect(thrown(props({}, { backupStorage: undefined }))).toMatch(/`backupStorage`: got undefined; expected \{ oidcProviderArn, oidcIssuer \}/);
  });

  test("an invalid oidcIssuer in the deprecated backup is reported under the name the caller used", () => {
    expect(thrown(nested({ backup: { ...props().backupStorage!, oidcIssuer: "https://oidc.example/id/X" } }))).toMatch(/`backup.oidcIssuer`: got "https:\/\/oidc.example\/id\/X"/);
  });
});

describe("noncurrentVersionExpirationDays at the top, as on ManagedPostgres", () => {
  const days = (json: any) =>
    (Object.values(json.resource.aws_s3_bucket_lifecycle_configuration)[0] as any).rule
      .map((r: any) => r.noncurrent_version_expiration?.[0]?.noncurrent_days ?? r.noncurrent_version_expiration?.noncurrent_days)
      .filter((d: unknown) => d !== undefined);

  test("default 30; set at the top; set in the deprecated backup", () => {
    expect([days(build(props()).json), days(build(props({}, { noncurrentVersionExpirationDays: 90 })).json), days(build(nested({ backup: { ...props().backupStorage!, noncurrentVersionExpirationDays: 60 } })).json)]).toEqual([[30], [90], [60]]);
  });

  test("out of 1..3650: refused with the AWS construct's message", () => {
    expect(thrown(props({}, { noncurrentVersionExpirationDays: 0 }))).toMatch(/`noncurrentVersionExpirationDays`: got 0; expected an integer from 1 to 3650/);
  });

  test("set both at the top and in the deprecated backup, differently: refused", () => {
    expect(thrown(nested({ noncurrentVersionExpirationDays: 90, backup: { ...props().backupStorage!, noncurrentVersionExpirationDays: 60 } }))).toMatch(
      /`noncurrentVersionExpirationDays`: got 90, and the deprecated `backup.noncurrentVersionExpirationDays` 60/,
    );
  });
});

describe("Terraform outputs named as on ManagedPostgres: <id>_…", () => {
  test.each(["distributed", "standalone"] as const)("%s: the endpoint, port, bucket, key and backup role outputs", (deployment) => {
    const { json, cluster } = build(props({ deployment }));
    const out = json.output as Record<string, { value: unknown; description: string }>;
    expect(Object.keys(out).sort()).toEqual([
      "orders_backup_bucket_name",
      "orders_backup_role_arn",
      "orders_kms_key_arn",
      "orders_read_only_endpoint",
      "orders_read_only_port",
      "orders_read_write_endpoint",
      "orders_read_write_port",
    ]);
    const rw = "${kubernetes_service_v1.orders_rw-service_3FAC51F5.metadata[0].name}.orders-db.svc.cluster.local";
    const ro = deployment === "distributed" ? "${kubernetes_service_v1.orders_ro-service_BC6FB573.metadata[0].name}.orders-db.svc.cluster.local" : rw;
    expect([out.orders_read_write_endpoint.value, out.orders_read_write_port.value, out.orders_read_only_endpoint.value, out.orders_read_only_port.value]).toEqual([
      rw,
      5432,
      ro,
      deployment === "distributed" ? 5433 : 5432,
    ]);
    expect([out.orders_backup_bucket_name.value, out.orders_kms_key_arn.value, out.orders_backup_role_arn.value]).toEqual([
      expect.stringMatching(/^\$\{aws_s3_bucket\.orders_backup-bucket_[0-9A-F]{8}\.bucket\}$/),
      expect.stringMatching(/^\$\{aws_kms_key\.orders_backup-key_[0-9A-F]{8}\.arn\}$/),
      expect.stringMatching(/^\$\{aws_iam_role\.orders_backup-role_[0-9A-F]{8}\.arn\}$/),
    ]);
    expect(cluster.readOnlyPort).toBe(out.orders_read_only_port.value);
  });

  test("the key output is the given key when backupStorage.kmsKeyArn is set", () => {
    const arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const { json } = build(props({}, { backupStorage: { ...props().backupStorage!, kmsKeyArn: arn } }));
    expect(json.output.orders_kms_key_arn.value).toBe(arn);
  });
});
