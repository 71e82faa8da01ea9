/**
 * How a refused synth reports (issue 16): the message once, naming the spec file, without a
 * stack trace; spec problems and safety refusals in one list; the stack's stale output in
 * cdktf.out removed, so nothing older is mistaken for the refused change.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { readSpecFile, SpecValidationError } from "../../src/cluster-spec";
import { clusterProps, freshDir, synthCluster, writeStateFrom } from "./synth-helpers";

const errorOf = (f: () => unknown): SpecValidationError => {
  try {
    f();
  } catch (e) {
    if (e instanceof SpecValidationError) return e;
    throw e;
  }
  throw new Error("expected a SpecValidationError");
};

test("a model change with the wrong subnet count reports the subnets and the model refusal together", () => {
  const deployed = synthCluster(clusterProps("distributed")).json;
  const priorStateFile = writeStateFrom(deployed);
  const props = clusterProps("standalone", { priorStateFile });
  const e = errorOf(() => synthCluster({ ...props, network: { ...props.network, subnetIds: clusterProps("distributed").network.subnetIds } }));
  expect(e.issues.map((i) => i.path)).toEqual(["network.subnetIds", "(prior state)"]);
  expect(e.message).toMatch(/`network\.subnetIds`: got 3 subnets; a standalone cluster needs exactly 1/);
  expect(e.message).toMatch(/\[MP-SAFE-MODEL\]/);
});

test("a refusal removes the stack's stale output; other stacks' output stays", () => {
  const outdir = freshDir();
  synthCluster(clusterProps("standalone"), { outdir });
  expect(existsSync(join(outdir, "stacks", "db", "cdk.tf.json"))).toBe(true);
  writeFileSync(join(outdir, "stacks", "other.json"), "{}");
  errorOf(() => synthCluster(clusterProps("standalone", { storageGiB: 500 }), { outdir }));
  expect(existsSync(join(outdir, "stacks", "db"))).toBe(false);
  expect(existsSync(join(outdir, "stacks", "other.json"))).toBe(true);
});

test("a spec read from a file: the error names the file and the construct, prints once, without a stack trace", () => {
  const file = join(freshDir(), "postgres.yaml");
  writeFileSync(file, "name: orders\ndeployment: standalone\nsize: S\nstorageGiB: 500\ntags:\n  aws:owner: me\n");
  const e = errorOf(() => synthCluster({ ...readSpecFile(file), network: clusterProps("standalone").network }));
  expect(e.message.split("\n")[0]).toBe(`Invalid cluster spec (${file}, construct db/orders): 2 problems`);
  expect(e.stack).toBe(`SpecValidationError: ${e.message}`);
  // What Node prints for an uncaught error: the message once, no frames, no property dump.
  const printed = inspect(e);
  expect(printed.split("`storageGiB`").length).toBe(2);
  expect(printed).not.toMatch(/\n\s+at /);
});
