/**
 * Token-valued fields (issue 16), evaluated by Terraform: `tags` may be a `map(string)`
 * variable (merged with the library's tags by Terraform, its keys checked at plan time);
 * `restoreFrom` fields held in variables get plan-time preconditions whose conditions
 * `terraform console` evaluates to false for hostile values and true for valid ones.
 */
import { App, TerraformStack, TerraformVariable } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ManagedPostgres } from "../../constructs/aws/managed-postgres";
import { clusterProps, freshDir } from "../rules/synth-helpers";
import { evaluateTerraform } from "../support/terraform";
import { requirePrerequisites } from "../support/prerequisites";

beforeAll(() => requirePrerequisites({ commands: ["terraform"] }));

function stack(): { app: App; stack: TerraformStack } {
  const app = new App({ outdir: freshDir() });
  const s = new TerraformStack(app, "db");
  new AwsProvider(s, "aws", { region: "eu-west-1" });
  return { app, stack: s };
}
const synthJson = (app: App) => {
  app.synth();
  return JSON.parse(readFileSync(join(app.outdir, "stacks", "db", "cdk.tf.json"), "utf8"));
};

test("tags as a map(string) variable: merged by Terraform, keys checked at plan time", () => {
  const { app, stack: s } = stack();
  const tags = new TerraformVariable(s, "tags", { type: "map(string)" });
  const c = new ManagedPostgres(s, "orders", clusterProps("distributed", { tags: tags.value }));
  const json = synthJson(app);
  const volume: any = Object.values(json.resource.aws_ebs_volume)[0];
  expect(volume.tags).toMatch(/^\$\{merge\(var\.tags, \{"managed-postgres:cluster" = "orders", /);
  const asg: any = Object.values(json.resource.aws_autoscaling_group)[0];
  expect(asg.dynamic.tag.for_each).toMatch(/^\$\{merge\(var\.tags, /);
  // The root volume's launch tags: the merged map without the slot-identity tags, Terraform-evaluated.
  const lt: any = Object.values(json.resource.aws_launch_template)[0];
  const volumeTags = lt.tag_specifications.find((t: any) => t.resource_type === "volume").tags as string;
  const [evaluated] = evaluateTerraform([volumeTags.slice(2, -1).replace(/var\.tags/g, '{ team = "x", "managed-postgres:slot" = "9" }')]);
  expect(evaluated).toEqual({ team: "x", "managed-postgres:cluster": "orders", Name: expect.stringMatching(/^orders-.*-root-volume$/), "managed-postgres:launch-resource": "root-volume" });
  const conditions = c.deferredChecks.filter((d) => d.path === "tags").map((d) => d.condition);
  expect(conditions).toHaveLength(3);
  // The conditions, evaluated by Terraform for a hostile and a harmless map.
  const withTags = (m: string) => conditions.map((x) => x.replace(/var\.tags/g, m));
  const [ok, reserved, aws] = [withTags('{ team = "x" }'), withTags('{ "managed-postgres:cluster" = "x" }'), withTags('{ "AWS:owner" = "x" }')];
  expect(evaluateTerraform([...ok, ...reserved, ...aws])).toEqual([true, true, true, true, false, true, true, true, false]);
});

test("restoreFrom fields in variables get plan-time preconditions Terraform evaluates", () => {
  const { app, stack: s } = stack();
  const v = (name: string) => new TerraformVariable(s, name, { type: "string" }).stringValue;
  const c = new ManagedPostgres(
    s,
    "orders-v2",
    clusterProps("distributed", {
      name: "orders-v2",
      restoreFrom: { backupBucket: v("bucket"), stanza: v("stanza"), target: "latest", secretArn: v("secret"), region: v("region") },
    }),
  );
  const json = synthJson(app);
  const eni: any = Object.values(json.resource.aws_network_interface)[0];
  const paths = c.deferredChecks.map((d) => d.path);
  expect(paths).toEqual(["restoreFrom.backupBucket", "restoreFrom.stanza", "restoreFrom.secretArn", "restoreFrom.region"]);
  expect(eni.lifecycle.precondition.map((p: any) => p.error_message)).toEqual(expect.arrayContaining([expect.stringContaining("`restoreFrom.stanza`")]));
  const cond = (path: string, value: string) => c.deferredChecks.find((d) => d.path === path)!.condition.replace(/var\.[a-z]+/g, JSON.stringify(value));
  const cases: [string, string, boolean][] = [
    ["restoreFrom.backupBucket", "orders-backups-abc", true],
    ["restoreFrom.backupBucket", "x'; rm -rf / #", false],
    ["restoreFrom.backupBucket", "xn--orders", false],
    ["restoreFrom.backupBucket", "orders..backups", false],
    ["restoreFrom.backupBucket", "orders-s3alias", false],
    ["restoreFrom.backupBucket", "a\nrepo1-path=/x", false],
    ["restoreFrom.stanza", "orders", true],
    ["restoreFrom.stanza", "orders; curl evil", false],
    ["restoreFrom.stanza", "orders\n[global]", false],
    ["restoreFrom.secretArn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-AbCdEf", true],
    ["restoreFrom.secretArn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x' $(id) '", false],
    ["restoreFrom.region", "eu-west-1", true],
    ["restoreFrom.region", "eu-west-1\nrepo1-type=posix", false],
  ];
  expect(evaluateTerraform(cases.map(([p, value]) => cond(p, value)))).toEqual(cases.map(([, , want]) => want));
});

