/** examples/kubernetes: synthesizes offline and passes the policy pack (AWS and Kubernetes rules). */
import { Testing } from "cdktf";
import { POLICY_RULES, runPolicyPack, stackFromTerraformJson } from "../../src/rules/policy";
import { KUBERNETES_RULES } from "../../src/rules/policy/kubernetes";
import { KubernetesExample } from "../../examples/kubernetes/main";

let raw: string | undefined;
function example(): any {
  if (raw === undefined) {
    const app = Testing.app();
    raw = Testing.synth(new KubernetesExample(app, "kubernetes"));
  }
  return JSON.parse(raw);
}

test("the example synthesizes with both providers; the Kubernetes provider only names a kubeconfig path", () => {
  expect(example().provider).toEqual({ aws: [{ region: "eu-west-1" }], kubernetes: [{ config_path: "~/.kube/config" }] });
});

test("the example's spec file gives a distributed cluster of 3 members with 50 GiB each", () => {
  const tf = example();
  const pvcs = Object.values(tf.resource.kubernetes_persistent_volume_claim_v1).map((p: any) => p.spec.resources.requests.storage);
  expect(pvcs).toEqual(["50Gi", "50Gi", "50Gi"]);
});

test("the example passes every rule of the policy pack and every Kubernetes rule", () => {
  const report = runPolicyPack([stackFromTerraformJson(example(), "kubernetes")], { rules: [...POLICY_RULES, ...KUBERNETES_RULES] });
  expect([report.findings, report.compliantCount > 8 * 2]).toEqual([[], true]);
});

test("the example's IRSA trust conditions key on the issuer variable", () => {
  const docs = example().data.aws_iam_policy_document;
  const trust: any = Object.entries(docs).find(([k]) => k.includes("backup-role-trust"))![1];
  expect(trust.statement[0].condition.map((c: any) => c.variable)).toEqual(["${var.oidc_issuer}:sub", "${var.oidc_issuer}:aud"]);
});
