/**
 * The policy pack hands the JSON it checked to cdktf's write only when every validation of
 * the stack is read-only (constructs/private/resolve-once.ts). The library's own validations
 * must be marked read-only, or every synth of a cluster pays one more resolution of its
 * stack: these tests fail when a construct of the library adds an unmarked validation.
 */
import { TerraformStack, Testing } from "cdktf";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { ManagedPostgres } from "../../constructs/aws";
import { ManagedPostgresKubernetes } from "../../constructs/kubernetes";
import { stackSettledAfterValidation } from "../../constructs/private/resolve-once";
import { emptyStack, props } from "../synth/helpers";
import { props as kubernetesProps } from "../kubernetes/fixtures";

describe("every validation the library adds is read-only", () => {
  test.each(["distributed", "standalone"] as const)("ManagedPostgres, %s: the stack is settled after its validations", (deployment) => {
    const { stack } = emptyStack();
    new ManagedPostgres(stack, "orders", props(deployment, { name: "orders" }));
    expect(stackSettledAfterValidation(stack)).toBe(true);
  });

  test("ManagedPostgresKubernetes: the stack is settled after its validations", () => {
    const stack = new TerraformStack(Testing.app(), "k");
    new KubernetesProvider(stack, "kubernetes", { configPath: "~/.kube/config" });
    new ManagedPostgresKubernetes(stack, "orders", kubernetesProps({ deployment: "distributed" }));
    expect(stackSettledAfterValidation(stack)).toBe(true);
  });

  test("a user's validation anywhere in the stack unsettles it", () => {
    const { stack } = emptyStack();
    const cluster = new ManagedPostgres(stack, "orders", props("distributed"));
    cluster.node.addValidation({ validate: () => [] });
    expect(stackSettledAfterValidation(stack)).toBe(false);
  });
});
