/**
 * The plan-time guard in the synthesized Terraform JSON: the data sources that read the
 * deployed volumes, and the preconditions on each data volume. The conditions are evaluated
 * by Terraform itself (`terraform console`, which needs no provider) against the deployed
 * volumes of each scenario, with the data source and the local replaced by literals.
 */
import * as fs from "fs";
import * as path from "path";
import { clusterProps, freshDir, synthCluster } from "./synth-helpers";

const { json } = synthCluster(clusterProps("distributed", { majorVersion: 16, imageId: "ami-0123456789abcdef0" }));
const volumes = Object.values<any>(json.resource.aws_ebs_volume);
const slotOf = (v: any) => v.tags["managed-postgres:slot"];
const conditionsOf = (slot: string) => volumes.find((v) => slotOf(v) === slot).lifecycle.precondition as { condition: string; error_message: string }[];
const [idsName, idsSource] = Object.entries<any>(json.data.aws_ebs_volumes)[0];
const [volName, volSource] = Object.entries<any>(json.data.aws_ebs_volume)[0];
const [localName] = Object.keys(json.locals).filter((k) => typeof json.locals[k] === "object" && json.locals[k] !== null && "storage_gib" in json.locals[k]);

test("the deployed data volumes are found by the cluster tag and slot-resource = data-volume with the plural data source (never an instance's root volume)", () => {
  expect(idsSource.filter).toEqual([
    { name: "tag:managed-postgres:cluster", values: ["orders"] },
    { name: "tag:managed-postgres:slot-resource", values: ["data-volume"] },
  ]);
});

test("each deployed volume is read by id, one instance per id found", () => {
  expect([volSource.for_each, volSource.filter]).toEqual([`\${toset(data.aws_ebs_volumes.${idsName}.ids)}`, [{ name: "volume-id", values: ["${each.value}"] }]]);
});

test("every data volume keeps prevent_destroy next to its preconditions", () => {
  expect(volumes.map((v) => v.lifecycle.prevent_destroy)).toEqual([true, true, true]);
});

test("every slot's volume checks its own size and zone; slot 0 also model, version and end of support", () => {
  const ids = (slot: string) => conditionsOf(slot).map((c) => / Rule (MP-SAFE-[A-Z-]+)\.$/.exec(c.error_message)![1]);
  expect([ids("0"), ids("1"), ids("2")]).toEqual([
    ["MP-SAFE-STORAGE", "MP-SAFE-SLOT-PLACEMENT", "MP-SAFE-MODEL", "MP-SAFE-VERSION-UPGRADE", "MP-SAFE-END-OF-SUPPORT"],
    ["MP-SAFE-STORAGE", "MP-SAFE-SLOT-PLACEMENT"],
    ["MP-SAFE-STORAGE", "MP-SAFE-SLOT-PLACEMENT"],
  ]);
});

test("every error message is a sentence starting with an upper-case letter and ending with a period (Terraform < 1.2 requires it)", () => {
  const messages = ["0", "1", "2"].flatMap((slot) => conditionsOf(slot).map((c) => c.error_message));
  expect(messages.filter((m) => !/^[A-Z].*\.$/s.test(m))).toEqual([]);
});

test("the conditions reference the data source and the requested values by their synthesized names", () => {
  const all = conditionsOf("0").map((c) => c.condition).join("\n");
  expect(all).toContain(`data.aws_ebs_volume.${volName}`);
  expect(all).toContain(`local.${localName}.storage_gib`);
  expect(json.locals[localName].storage_gib).toBe(40);
});

test("with storageGiB from a Terraform variable the guard compares the deployed size with the variable", () => {
  const { App, TerraformStack, TerraformVariable } = require("cdktf") as typeof import("cdktf");
  const { AwsProvider } = require("@cdktf/provider-aws/lib/provider") as typeof import("@cdktf/provider-aws/lib/provider");
  const { ManagedPostgres } = require("../../constructs/aws/managed-postgres") as typeof import("../../constructs/aws/managed-postgres");
  const outdir = freshDir();
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "db");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  const storage = new TerraformVariable(stack, "storage_gib", { type: "number" });
  new ManagedPostgres(stack, "orders", clusterProps("standalone", { storageGiB: storage.numberValue }));
  app.synth();
  const out = JSON.parse(fs.readFileSync(path.join(outdir, "stacks", "db", "cdk.tf.json"), "utf8"));
  const requested = Object.values<any>(out.locals).find((v) => typeof v === "object" && v !== null && "storage_gib" in v);
  expect(requested.storage_gib).toBe("${var.storage_gib}");
});
