/**
 * The plan-time guard in the synthesized Terraform JSON: the data sources that read the
 * deployed volumes, and the preconditions on each data volume. The conditions are evaluated
 * by Terraform itself (`terraform console`, which needs no provider) against the deployed
 * volumes of each scenario, with the data source and the local replaced by literals.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { clusterProps, freshDir, synthCluster } from "./synth-helpers";
import { requirePrerequisites } from "../support/prerequisites";

const { json } = synthCluster(clusterProps("distributed", { majorVersion: 16, imageId: "ami-0123456789abcdef0" }));
const volumes = Object.values<any>(json.resource.aws_ebs_volume);
const slotOf = (v: any) => v.tags["managed-postgres:slot"];
const conditionsOf = (slot: string) => volumes.find((v) => slotOf(v) === slot).lifecycle.precondition as { condition: string; error_message: string }[];
const [volName] = Object.keys(json.data.aws_ebs_volume);
const [localName] = Object.keys(json.locals).filter((k) => typeof json.locals[k] === "object" && json.locals[k] !== null && "storage_gib" in json.locals[k]);

interface Deployed {
  size: number;
  az: string;
  slot: string;
  model?: string;
  version?: string;
}

/** Evaluates the preconditions of `slot` with Terraform against `deployed` volumes. */
function evaluate(slot: string, deployed: Deployed[]): boolean[] {
  const dir = freshDir("mp-console-");
  const hcl = (o: unknown) => JSON.stringify(o); // JSON literals are HCL literals
  const volumesMap = Object.fromEntries(
    deployed.map((d, i) => [
      `vol-${i}`,
      {
        size: d.size,
        availability_zone: d.az,
        tags: {
          "managed-postgres:cluster": "orders",
          "managed-postgres:slot": d.slot,
          "managed-postgres:deployment-model": d.model ?? "distributed",
          "managed-postgres:major-version": d.version ?? "16",
        },
      },
    ]),
  );
  const requested = { storage_gib: 40, availability_zones: { "0": "eu-west-1a", "1": "eu-west-1b", "2": "eu-west-1c" } };
  fs.writeFileSync(path.join(dir, "main.tf"), `locals {\n  deployed = ${hcl(volumesMap)}\n  requested = ${hcl(requested)}\n}\n`);
  const exprs = conditionsOf(slot).map((c) =>
    c.condition
      .replace(/^\$\{/, "")
      .replace(/\}$/, "")
      .split(`data.aws_ebs_volume.${volName}`)
      .join("local.deployed")
      .split(`local.${localName}`)
      .join("local.requested")
      .replace("plantimestamp()", "timestamp()"),
  );
  const out = execFileSync("terraform", ["console"], { cwd: dir, input: `jsonencode([${exprs.join(", ")}])\n`, encoding: "utf8", env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1" } });
  return JSON.parse(JSON.parse(out.trim()));
}

const three = (over: Partial<Deployed> = {}): Deployed[] =>
  ["0", "1", "2"].map((slot, i) => ({ size: 40, az: ["eu-west-1a", "eu-west-1b", "eu-west-1c"][i], slot, ...over }));

describe("evaluated by terraform console", () => {
  beforeAll(() => requirePrerequisites({ commands: ["terraform"] }));
  test("first deployment (no volume found): every condition holds", () => {
    expect(evaluate("0", [])).toEqual([true, true, true, true, true]);
  });

  test("the deployed cluster unchanged: every condition holds", () => {
    expect(evaluate("0", three())).toEqual([true, true, true, true, true]);
  });

  test("a deployed volume larger than requested fails the storage condition of its slot", () => {
    expect(evaluate("1", three({ size: 64 }))).toEqual([false, true]);
  });

  test("a deployed volume smaller than requested (growth) passes", () => {
    expect(evaluate("1", three({ size: 8 }))).toEqual([true, true]);
  });

  test("a deployed volume in another zone fails the placement condition of its slot", () => {
    const moved = three();
    moved[2] = { ...moved[2], az: "eu-west-1a" };
    expect(evaluate("2", moved)).toEqual([true, false]);
  });

  test("deployed volumes of another model fail the model condition", () => {
    expect(evaluate("0", [{ size: 40, az: "eu-west-1a", slot: "0", model: "standalone" }])[2]).toBe(false);
  });

  test("a deployed major version other than requested fails the version condition", () => {
    expect([evaluate("0", three({ version: "15" }))[3], evaluate("0", three({ version: "17" }))[3]]).toEqual([false, false]);
  });
});
