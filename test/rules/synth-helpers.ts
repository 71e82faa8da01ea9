/**
 * Helpers of the synth tests of the safety rules: synthesize one ManagedPostgres into a
 * fresh output directory, and build Terraform state v4 / plan JSON documents from the
 * synthesized data volumes and network interfaces, as `terraform state pull` and
 * `terraform show -json` would record them after an apply.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres, type ManagedPostgresProps } from "../../constructs/aws/managed-postgres";
import { planJson, stateV4, type FixtureResource } from "./fixtures";

export const SUBNETS = ["subnet-0aaa11111", "subnet-0bbb22222", "subnet-0ccc33333"];
export const ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];

/** Props of a valid cluster of `deployment`, with literal network ids. */
export function clusterProps(deployment: "standalone" | "distributed", over: Partial<ManagedPostgresProps> = {}): ManagedPostgresProps {
  return {
    name: "orders",
    deployment,
    size: "S",
    storageGiB: 40,
    majorVersion: 17,
    network: {
      vpcId: "vpc-0abc12345",
      subnetIds: deployment === "distributed" ? SUBNETS : SUBNETS.slice(0, 1),
      allowedCidrs: ["10.0.0.0/16"],
    },
    now: "2026-11-21T00:00:00Z",
    ...over,
  };
}

const created: string[] = [];
// Removes the directories of the importing test file once its tests are done.
afterAll(() => {
  for (const d of created.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh empty directory, removed after the importing test file's tests. */
export function freshDir(prefix = "mp-synth-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

/** Files under `dir`, relative, sorted (empty when nothing was written). */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

export interface SynthResult {
  readonly outdir: string;
  readonly json: any;
  readonly app: App;
}

/**
 * Synthesizes one stack `db` holding one ManagedPostgres `orders` into a fresh outdir and
 * returns the parsed cdk.tf.json.
 * @throws what `new ManagedPostgres` or `app.synth()` throws; `outdir` in `opts` lets the
 *   caller inspect the directory afterwards
 */
export function synthCluster(props: ManagedPostgresProps, opts: { outdir?: string; context?: Record<string, unknown> } = {}): SynthResult {
  const outdir = opts.outdir ?? freshDir();
  const app = new App({ outdir, context: opts.context });
  const stack = new TerraformStack(app, "db");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  new ManagedPostgres(stack, "orders", props);
  app.synth();
  return { outdir, app, json: JSON.parse(fs.readFileSync(path.join(outdir, "stacks", "db", "cdk.tf.json"), "utf8")) };
}

/**
 * The data volumes and ENIs of a synthesized stack as deployed resources: tags and size as
 * synthesized, the availability zone and subnet of slot i = ZONES[i] / the slot's subnet.
 */
export function deployedResources(json: any): FixtureResource[] {
  const out: FixtureResource[] = [];
  const zoneOf = (tags: Record<string, string>) => ZONES[Number(tags["managed-postgres:slot"])];
  // Subnets of the same stack get ids, and references to them resolve to those ids.
  const subnetIds = new Map<string, string>();
  Object.entries<any>(json.resource?.aws_subnet ?? {}).forEach(([name, r], i) => {
    const id = `subnet-0${String(i).padStart(8, "0")}`;
    subnetIds.set(`\${aws_subnet.${name}.id}`, id);
    out.push({ type: "aws_subnet", name, attributes: { id, availability_zone: r.availability_zone ?? ZONES[i % 3], cidr_block: r.cidr_block } });
  });
  for (const [name, r] of Object.entries<any>(json.resource?.aws_ebs_volume ?? {})) {
    const tags = r.tags as Record<string, string>;
    out.push({
      type: "aws_ebs_volume",
      name,
      attributes: { id: `vol-0${tags["managed-postgres:slot"]}f00d`, size: r.size, availability_zone: zoneOf(tags), encrypted: true, type: r.type, tags, tags_all: tags },
    });
  }
  for (const [name, r] of Object.entries<any>(json.resource?.aws_network_interface ?? {})) {
    const tags = r.tags as Record<string, string>;
    out.push({
      type: "aws_network_interface",
      name,
      attributes: { id: `eni-0${tags["managed-postgres:slot"]}f00d`, subnet_id: subnetIds.get(r.subnet_id) ?? r.subnet_id, tags, tags_all: tags },
    });
  }
  return out;
}

/** Writes a state v4 file of a synthesized stack's slots; returns its path. */
export function writeStateFrom(json: any, dir = freshDir("mp-state-")): string {
  const file = path.join(dir, "prior.tfstate");
  fs.writeFileSync(file, JSON.stringify(stateV4(deployedResources(json)), null, 2));
  return file;
}

/** Writes a `terraform show -json` plan file whose prior state holds a synthesized stack's slots. */
export function writePlanFrom(json: any, dir = freshDir("mp-plan-")): string {
  const file = path.join(dir, "plan.json");
  fs.writeFileSync(file, JSON.stringify(planJson(deployedResources(json)), null, 2));
  return file;
}
