/**
 * How a refused synth reports (issue 16): the message once, naming the spec file, without a
 * stack trace; spec problems and safety refusals in one list; the stack's stale output in
 * cdktf.out removed, so nothing older is mistaken for the refused change.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { readSpecFile, SpecValidationError } from "../../src/cluster-spec";
import { App, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres } from "../../constructs/aws/managed-postgres";
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

describe("a prior-state refusal of a valid spec (raised at the stack's validation)", () => {
  const deployedState = () => writeStateFrom(synthCluster(clusterProps("distributed")).json);

  test("from a spec file: the message names the file and the construct, prints once, without a stack trace", () => {
    const priorStateFile = deployedState();
    const file = join(freshDir(), "postgres.yaml");
    writeFileSync(file, "name: orders\ndeployment: distributed\nsize: S\nstorageGiB: 30\nmajorVersion: 17\n");
    const outdir = freshDir();
    synthCluster({ ...clusterProps("distributed"), storageGiB: 30 }, { outdir: outdir }); // a stale output of this stack
    const e = errorOf(() => synthCluster({ ...readSpecFile(file), network: clusterProps("distributed").network, now: "2026-11-21T00:00:00Z", priorStateFile }, { outdir }));
    expect(e.message.split("\n")[0]).toBe(`Invalid cluster spec (${file}, construct db/orders): 1 problem`);
    expect(e.issues).toEqual([expect.objectContaining({ path: "(prior state)", message: expect.stringMatching(/^\[MP-SAFE-STORAGE\] cluster "orders": `storageGiB` cannot shrink from 40 GiB/) })]);
    expect(e.stack).toBe(`SpecValidationError: ${e.message}`);
    const printed = inspect(e);
    expect(printed.split("cannot shrink").length).toBe(2);
    expect(printed).not.toMatch(/\n\s+at /);
    expect(printed).not.toMatch(/Validation failed|skipValidation/);
    expect(existsSync(join(outdir, "stacks", "db"))).toBe(false);
  });

  test("an unreadable prior state: the same form, naming the prior-state file", () => {
    const bad = join(freshDir(), "garbage.tfstate");
    writeFileSync(bad, "<html>502 Bad Gateway</html>");
    const e = errorOf(() => synthCluster(clusterProps("distributed", { priorStateFile: bad })));
    expect(e.message).toMatch(/^Invalid cluster spec \(db\/orders\): 1 problem\n  - cluster "orders": .*garbage\.tfstate: not valid JSON/);
    expect(e.stack).toBe(`SpecValidationError: ${e.message}`);
  });

  test("two refused clusters of one stack: one error listing both, naming both sources", () => {
    const priorStateFile = deployedState();
    const state = JSON.parse(readFileSync(priorStateFile, "utf8"));
    // The same deployed volumes under a second cluster name.
    const twin = JSON.parse(JSON.stringify(state).replace(/"orders/g, '"billing').replace(/=orders/g, "=billing"));
    const both = join(freshDir(), "both.tfstate");
    writeFileSync(both, JSON.stringify({ ...state, resources: [...state.resources, ...twin.resources.map((r: { name: string }) => ({ ...r, name: `${r.name}_b` }))] }));
    const app = new App({ outdir: freshDir() });
    const stack = new TerraformStack(app, "db");
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new ManagedPostgres(stack, "orders", clusterProps("standalone", { priorStateFile: both }));
    new ManagedPostgres(stack, "billing", clusterProps("distributed", { name: "billing", storageGiB: 20, priorStateFile: both }));
    const e = errorOf(() => app.synth());
    expect(e.message.split("\n")[0]).toBe("Invalid cluster spec (db/orders; db/billing): 2 problems");
    expect(e.message).toMatch(/\[MP-SAFE-MODEL\] cluster "orders"/);
    expect(e.message).toMatch(/\[MP-SAFE-STORAGE\] cluster "billing"/);
  });
});
