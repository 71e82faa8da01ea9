/**
 * localBackendStatePath (constructs/private/prior-state.ts): the state file of the backend
 * cdktf uses (the first of `findAll()`, pre-order), found without walking the whole stack.
 */
import { join, resolve } from "node:path";
import { App, LocalBackend, S3Backend, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { localBackendStatePath } from "../../constructs/private/prior-state";

const outdir = resolve("/tmp/backend-path-test-out");

test("a relative local path is relative to the stack's working directory", () => {
  const stack = new TerraformStack(new App({ outdir }), "db");
  new LocalBackend(stack, { path: "terraform.db.tfstate" });
  expect(localBackendStatePath(stack)).toBe(join(outdir, "stacks", "db", "terraform.db.tfstate"));
});

test("without a backend, cdktf's default: terraform.<stack>.tfstate in the current directory", () => {
  const stack = new TerraformStack(new App({ outdir }), "db");
  new Construct(stack, "empty");
  expect(localBackendStatePath(stack)).toBe(join(process.cwd(), "terraform.db.tfstate"));
});

test("a remote backend has no local state file", () => {
  const stack = new TerraformStack(new App({ outdir }), "db");
  new S3Backend(stack, { bucket: "b", key: "k", region: "eu-west-1" });
  expect(localBackendStatePath(stack)).toBeUndefined();
});

test("the first backend in construct order wins, nested or not, as in cdktf's findAll", () => {
  const stack = new TerraformStack(new App({ outdir }), "db");
  const group = new Construct(stack, "group");
  new Construct(group, "before");
  new LocalBackend(new Construct(group, "inner"), { path: "/abs/nested.tfstate" });
  new S3Backend(stack, { bucket: "b", key: "k", region: "eu-west-1" });
  const firstOfFindAll = stack.node.findAll().find((c) => c instanceof LocalBackend || c instanceof S3Backend);
  expect(firstOfFindAll).toBeInstanceOf(LocalBackend);
  expect(localBackendStatePath(stack)).toBe("/abs/nested.tfstate");
});
