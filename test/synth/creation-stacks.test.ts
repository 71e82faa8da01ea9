/**
 * Token creation stacks while ManagedPostgres (and ManagedPostgresKubernetes) builds a cluster (constructs/private/creation-stacks.ts):
 * cdktf's capture is replaced by a note naming the construct, only for the constructor's
 * duration; errors thrown meanwhile are unchanged; the environment variable
 * keeps cdktf's stacks.
 */
import { Lazy, TerraformStack, Testing, Tokenization, type IResolvable } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { ManagedPostgres } from "../../constructs/aws";
import { ManagedPostgresKubernetes } from "../../constructs/kubernetes";
import { KEEP_CREATION_STACKS_ENV } from "../../constructs/private/creation-stacks";
import { emptyStack, props } from "./helpers";
import { props as kubernetesProps } from "../kubernetes/fixtures";

function creationStackOf(token: string): string[] {
  const tokens = Tokenization.reverseString(token).tokens as Array<IResolvable & { creationStack: string[] }>;
  expect(tokens.length).toBeGreaterThan(0);
  return tokens[0].creationStack;
}

/** A token created here, by the test, outside any ManagedPostgres constructor. */
const outsideToken = () => Lazy.stringValue({ produce: () => "x" });

afterEach(() => {
  delete process.env[KEEP_CREATION_STACKS_ENV];
});

test("tokens built by the constructor carry a note naming the construct instead of JavaScript frames", () => {
  const { stack } = emptyStack();
  const cluster = new ManagedPostgres(stack, "orders", props("distributed"));
  expect(creationStackOf(cluster.kmsKeyArn)).toEqual([
    `(creation stack not recorded: created while cdktf-managed-postgres built test/orders; ${KEEP_CREATION_STACKS_ENV}=1 records it)`,
  ]);
  expect(creationStackOf(cluster.slots[1].privateIp)[0]).toContain("built test/orders;");
});

test("after the constructor, cdktf records creation stacks again (this test's own frame among them)", () => {
  const { stack } = emptyStack();
  new ManagedPostgres(stack, "orders", props("distributed"));
  const frames = creationStackOf(outsideToken());
  expect(frames.length).toBeGreaterThan(1);
  expect(frames.some((f) => f.includes("creation-stacks.test.ts"))).toBe(true);
});

test("a refused spec throws its validation error as before (message, stack as the error class writes it), and cdktf records stacks again", () => {
  const { stack } = emptyStack();
  let thrown: unknown;
  try {
    new ManagedPostgres(stack, "bad", props("distributed", { storageGiB: 1 }));
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(Error);
  expect((thrown as Error).message).toContain("storageGiB");
  // SpecValidationError prints without JavaScript frames by design: its stack is its name and message.
  expect((thrown as Error).stack).toBe(`SpecValidationError: ${(thrown as Error).message}`);
  expect(creationStackOf(outsideToken()).some((f) => f.includes("creation-stacks.test.ts"))).toBe(true);
});

test(`${KEEP_CREATION_STACKS_ENV}=1 keeps cdktf's creation stacks inside the constructor`, () => {
  process.env[KEEP_CREATION_STACKS_ENV] = "1";
  const { stack } = emptyStack();
  const cluster = new ManagedPostgres(stack, "orders", props("distributed"));
  const frames = creationStackOf(cluster.kmsKeyArn);
  expect(frames.length).toBeGreaterThan(1);
  expect(frames.some((f) => f.includes("managed-postgres"))).toBe(true);
});

test("ManagedPostgresKubernetes: its tokens carry the note, and cdktf records stacks again after it", () => {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  new KubernetesProvider(stack, "kubernetes", { configPath: "~/.kube/config" });
  const cluster = new ManagedPostgresKubernetes(stack, "orders", kubernetesProps());
  expect(creationStackOf(cluster.backupRoleArn)[0]).toContain("cdktf-managed-postgres built test/orders;");
  expect(creationStackOf(outsideToken()).some((f) => f.includes("creation-stacks.test.ts"))).toBe(true);
});
