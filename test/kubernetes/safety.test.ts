/**
 * Safety rules on the Kubernetes target: the deployed facts are read back from the PVCs in the
 * prior Terraform state; the same rules as on AWS refuse a model change, a storage shrink, a
 * version downgrade or an unflagged major upgrade, and end of support.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { inspect } from "node:util";
import { SpecValidationError, type ClusterSpec } from "../../src/cluster-spec";
import { parsePriorState } from "../../src/rules";
import { ManagedPostgresKubernetes, deployedKubernetesCluster, quantityToGiB, type ManagedPostgresKubernetesProps } from "../../constructs/kubernetes";
import { byName, distributed, props } from "./fixtures";

/** A state v4 document with the cluster's PVCs as the Kubernetes provider records them. */
function state(opts: { storage?: string; model?: string; version?: string; namespace?: string; members?: number } = {}): string {
  const members = opts.members ?? 3;
  return JSON.stringify({
    version: 4,
    terraform_version: "1.11.4",
    resources: Array.from({ length: members }, (_, i) => ({
      mode: "managed",
      type: "kubernetes_persistent_volume_claim_v1",
      name: `orders_data-${i}`,
      provider: 'provider["registry.terraform.io/hashicorp/kubernetes"]',
      instances: [
        {
          attributes: {
            metadata: [
              {
                name: `data-orders-${i}`,
                namespace: opts.namespace ?? "orders-db",
                labels: {
                  "app.kubernetes.io/instance": "orders",
                  "app.kubernetes.io/component": "database",
                  "managed-postgres/deployment-model": opts.model ?? "distributed",
                  "managed-postgres/major-version": opts.version ?? "15",
                  "managed-postgres/member": String(i),
                },
              },
            ],
            spec: [{ access_modes: ["ReadWriteOnce"], resources: [{ requests: { storage: opts.storage ?? "20Gi" } }] }],
          },
        },
      ],
    })),
  });
}

function file(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), "k8s-prior-")), "prior.tfstate");
  writeFileSync(f, text);
  return f;
}

function synthWith(spec: Partial<ClusterSpec>, overrides: Partial<ManagedPostgresKubernetesProps>): () => string {
  return () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "test");
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new KubernetesProvider(stack, "kubernetes", { configPath: "~/.kube/config" });
    new ManagedPostgresKubernetes(stack, "orders", props(spec, overrides));
    return Testing.synth(stack, true);
  };
}

describe("quantityToGiB", () => {
  test.each([
    ["50Gi", 50],
    ["51200Mi", 50],
    ["1Ti", 1024],
    ["2147483648", 2],
  ])("%s is %d GiB", (q, gib) => {
    expect(quantityToGiB(q)).toBe(gib);
  });

  test("a non-quantity is undefined", () => {
    expect(quantityToGiB("fifty")).toBeUndefined();
  });
});

describe("deployedKubernetesCluster", () => {
  test("reads model, size, version and members from the PVCs", () => {
    const d = deployedKubernetesCluster(parsePriorState(state({ storage: "50Gi" }), "prior"), "orders", "orders-db");
    expect([d?.deployment, d?.storageGiB, d?.majorVersion, d?.slots.map((s) => s.slot)]).toEqual(["distributed", 50, 15, [0, 1, 2]]);
  });

  test("a cluster of the same name in another namespace is not this one (first deployment)", () => {
    expect(deployedKubernetesCluster(parsePriorState(state({ namespace: "other" }), "prior"), "orders", "orders-db")).toBeUndefined();
  });

  test("the construct's PVCs carry the labels the rules read back", () => {
    const pvc = byName(distributed(), "kubernetes_persistent_volume_claim_v1", "data-orders-1");
    expect([pvc.metadata.labels["managed-postgres/deployment-model"], pvc.metadata.labels["managed-postgres/major-version"], pvc.metadata.labels["managed-postgres/member"]]).toEqual([
      "distributed",
      "15",
      "1",
    ]);
  });
});

describe("at synth, against the prior state", () => {
  test("the same spec synthesizes", () => {
    expect(synthWith({}, { priorStateFile: file(state()) })).not.toThrow();
  });

  test("growing storage synthesizes", () => {
    expect(synthWith({ storageGiB: 40 }, { priorStateFile: file(state()) })).not.toThrow();
  });

  test("shrinking storage is refused (MP-SAFE-STORAGE)", () => {
    expect(synthWith({ storageGiB: 10 }, { priorStateFile: file(state()) })).toThrow(/MP-SAFE-STORAGE.*cannot shrink from 20 GiB .* to 10 GiB/);
  });

  test("a refusal is one SpecValidationError naming the construct, printed once without a stack trace", () => {
    let error: unknown;
    try {
      synthWith({ storageGiB: 10 }, { priorStateFile: file(state()) })();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecValidationError);
    const e = error as SpecValidationError;
    expect(e.message).toMatch(/^Invalid cluster spec \(test\/orders\): 1 problem\n  - \[MP-SAFE-STORAGE\] /);
    expect(e.stack).toBe(`SpecValidationError: ${e.message}`);
    expect(inspect(e)).not.toMatch(/\n\s+at /);
  });

  test("changing the deployment model is refused (MP-SAFE-MODEL)", () => {
    expect(synthWith({ deployment: "standalone" }, { priorStateFile: file(state()) })).toThrow(/MP-SAFE-MODEL/);
  });

  test("a major version downgrade is refused", () => {
    expect(synthWith({ majorVersion: 15 }, { priorStateFile: file(state({ version: "16" })) })).toThrow(/MP-SAFE-VERSION-DOWNGRADE/);
  });

  test("a major upgrade without allowMajorVersionUpgrade is refused", () => {
    expect(synthWith({ majorVersion: 16 }, { priorStateFile: file(state()) })).toThrow(/MP-SAFE-VERSION-UPGRADE/);
  });

  test("an unreadable prior state is an error, not a first deployment", () => {
    expect(synthWith({}, { priorStateFile: file("not json") })).toThrow(/Cannot read the prior Terraform state/);
  });
});

describe("end of support", () => {
  test("PostgreSQL 15 after November 2027 is refused", () => {
    expect(synthWith({ majorVersion: 15 }, { now: "2027-12-01" })).toThrow(/MP-SAFE-END-OF-SUPPORT/);
  });

  test("within 180 days of it synth goes on with a warning", () => {
    expect(synthWith({ majorVersion: 15 }, { now: "2027-08-01" })).not.toThrow();
  });
});
