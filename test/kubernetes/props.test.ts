/** Synth-time validation of the Kubernetes props: each error names the field, the value and the rule. */
import { SpecValidationError } from "../../src/cluster-spec";
import { checkKubernetesProps } from "../../constructs/kubernetes";
import { IMAGE, props, synth } from "./fixtures";

function messages(overrides: Parameters<typeof props>[1], spec: Parameters<typeof props>[0] = {}): string[] {
  return checkKubernetesProps(props(spec, overrides)).map((i) => i.message);
}

test("the fixture props are valid", () => {
  expect(messages({})).toEqual([]);
});

test("the default namespace is refused", () => {
  expect(messages({ namespace: "default" })).toEqual([expect.stringMatching(/^`namespace`: got "default"; expected a namespace of the cluster's own/)]);
});

test("kube-system is refused", () => {
  expect(messages({ namespace: "kube-system" })[0]).toMatch(/`namespace`: got "kube-system"/);
});

test("a namespace that is not a DNS label is refused", () => {
  expect(messages({ namespace: "Orders_DB" })[0]).toMatch(/`namespace`: got "Orders_DB"; expected a DNS label/);
});

test("an image with a tag instead of a digest is refused", () => {
  expect(messages({ image: "postgres:15" })).toEqual([expect.stringMatching(/^`image`: got "postgres:15"; expected an image pinned by digest/)]);
});

test("a digest that is not 64 hex digits is refused", () => {
  expect(messages({ image: "postgres@sha256:abc" })[0]).toMatch(/`image`/);
});

test("an image pinned with both tag and digest is accepted", () => {
  expect(messages({ image: `registry.example.com/pg:15@sha256:${"0".repeat(64)}` })).toEqual([]);
});

test("the pooler image is checked too", () => {
  expect(messages({ poolerImage: "pgbouncer:latest" })[0]).toMatch(/`poolerImage`: got "pgbouncer:latest"/);
});

test("0.0.0.0/0 is not a pod network", () => {
  expect(messages({ podNetworkCidrs: ["0.0.0.0/0"] })[0]).toMatch(/`podNetworkCidrs\[0\]`: got "0.0.0.0\/0"/);
});

test("a malformed pod CIDR is refused", () => {
  expect(messages({ podNetworkCidrs: ["10.0.0.0/40"] })[0]).toMatch(/`podNetworkCidrs\[0\]`: got "10.0.0.0\/40"; expected an IPv4 CIDR/);
});

test("no pod CIDR is refused", () => {
  expect(messages({ podNetworkCidrs: [] })[0]).toMatch(/`podNetworkCidrs`/);
});

test("an empty namespace selector for the pooler is refused (it would admit every namespace)", () => {
  expect(messages({ allowedNamespaceLabels: {} })[0]).toMatch(/`allowedNamespaceLabels`: got \{\}; expected at least one label/);
});

test("runAsUser 0 is refused", () => {
  expect(messages({ runAsUser: 0 })[0]).toMatch(/`runAsUser`: got 0; expected a non-zero UID/);
});

test("an OIDC issuer given as a URL is refused, with the expected form", () => {
  const backupStorage = { ...props().backupStorage!, oidcIssuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123" };
  expect(messages({ backupStorage })[0]).toMatch(/`backupStorage.oidcIssuer`: .* expected the issuer without its scheme, e.g. "oidc.eks.eu-west-1.amazonaws.com\/id\/ABC123"/);
});

test("an OIDC provider ARN of the wrong shape is refused", () => {
  const backupStorage = { ...props().backupStorage!, oidcProviderArn: "arn:aws:iam::123:role/x" };
  expect(messages({ backupStorage })[0]).toMatch(/`backupStorage.oidcProviderArn`/);
});

test("the construct throws a SpecValidationError listing spec and prop problems together", () => {
  let err: unknown;
  try {
    synth(props({ storageGiB: 1 }, { namespace: "default", image: IMAGE.replace(/@.*/, ":15") }));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SpecValidationError);
  const paths = (err as SpecValidationError).issues.map((i) => i.path).sort();
  expect(paths).toEqual(["image", "namespace", "storageGiB"]);
});

test("the construct throws on prop problems alone", () => {
  expect(() => synth(props({}, { namespace: "default" }))).toThrow(/`namespace`: got "default"/);
});

test("a KMS key ARN of the wrong shape is refused", () => {
  const backupStorage = { ...props().backupStorage!, kmsKeyArn: "alias/orders" };
  expect(messages({ backupStorage })[0]).toMatch(/`backupStorage.kmsKeyArn`: got "alias\/orders"; expected a KMS key ARN/);
});
