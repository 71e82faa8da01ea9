/**
 * Review benchmark: wall time of `reviewChanges` + `renderReviewMarkdown` (what
 * `managed-postgres review --plan` does after reading the file) over generated Terraform
 * plans of 1k, 5k and 10k resources. Each plan holds clusters of 20 resources, shaped like
 * the library's distributed clusters: per slot (3) a tagged data volume, ENI and launch
 * template, indexed (`[0]`) instance profile attachments referenced without their index, and
 * untagged resources (bucket policy, listeners, IAM attachments) that take their cluster and
 * slot from configuration references. A fifth of the resources change.
 *
 * Prints one row per size: median of RUNS runs (one warm-up first), milliseconds, the ratio
 * to the 1k run (near-linear placement keeps 10k at about 10×), and the environment (Node
 * version, CPU count, 1-minute load average), since the machine may be shared.
 *
 * Usage: npm run bench:review [-- --runs 5] [-- --sizes 1000,5000,10000]
 */
import { cpus, loadavg } from "node:os";
import { renderReviewMarkdown, reviewChanges, reviewInputFromPlan } from "../src/review";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(arg("--runs") ?? 5);
const SIZES = (arg("--sizes") ?? "1000,5000,10000").split(",").map(Number);
const PER_CLUSTER = 20;

/** A `terraform show -json` plan of `n` resources (rounded up to whole clusters). */
export function generatePlan(n: number): unknown {
  const changes: unknown[] = [];
  const config: unknown[] = [];
  const add = (type: string, name: string, index: string, values: Record<string, unknown>, refs: string[], i: number) => {
    const address = `${type}.${name}${index}`;
    const actions = i % 5 === 0 ? ["update"] : ["no-op"];
    const after = i % 5 === 0 ? { ...values, description: "changed" } : values;
    changes.push({ address, mode: "managed", type, name, change: { actions, before: values, after, after_unknown: {} } });
    config.push({ address: `${type}.${name}`, mode: "managed", type, name, expressions: { x: { references: refs } } });
  };
  for (let c = 0; c * PER_CLUSTER < n; c++) {
    const cl = `c${c}`;
    const tags = (slot?: number) => ({ "managed-postgres:cluster": cl, ...(slot !== undefined ? { "managed-postgres:slot": String(slot) } : {}), "managed-postgres:deployment-model": "distributed" });
    let i = 0;
    add("aws_s3_bucket", `${cl}_backup`, "", { bucket: `${cl}-backup`, tags: tags() }, [], i++);
    add("aws_s3_bucket_policy", `${cl}_backup_policy`, "", { policy: "{}" }, [`aws_s3_bucket.${cl}_backup`], i++);
    add("aws_lb", `${cl}_nlb`, "", { internal: true, tags: tags() }, [], i++);
    add("aws_lb_listener", `${cl}_rw`, "", { port: 5432 }, [`aws_lb.${cl}_nlb`], i++);
    add("aws_lb_listener", `${cl}_ro`, "", { port: 5433 }, [`aws_lb.${cl}_nlb`], i++);
    for (let s = 0; s < 3; s++) {
      add("aws_ebs_volume", `${cl}_slot${s}_data`, "", { size: 50, encrypted: true, availability_zone: `eu-west-1${"abc"[s]}`, tags: tags(s) }, [], i++);
      add("aws_network_interface", `${cl}_slot${s}_eni`, "", { private_ip: `10.0.${s}.10`, tags: tags(s) }, [], i++);
      add("aws_launch_template", `${cl}_slot${s}_lt`, "", { instance_type: "m7g.large", metadata_options: [{ http_tokens: "required" }], tags: tags(s) }, [`aws_network_interface.${cl}_slot${s}_eni`], i++);
      add("aws_iam_instance_profile", `${cl}_slot${s}_profile`, "[0]", { name: `${cl}-${s}` }, [`aws_launch_template.${cl}_slot${s}_lt`], i++);
      add("aws_volume_attachment", `${cl}_slot${s}_attach`, "", {}, [`aws_ebs_volume.${cl}_slot${s}_data`, `aws_iam_instance_profile.${cl}_slot${s}_profile`], i++);
    }
  }
  return { format_version: "1.2", resource_changes: changes, configuration: { root_module: { resources: config } } };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  console.log(`Node ${process.version} · ${cpus().length} CPUs · load average ${loadavg()[0].toFixed(2)} · median of ${RUNS} runs`);
  console.log("| resources | median ms | × the 1k run |");
  console.log("|---:|---:|---:|");
  let first: number | undefined;
  for (const n of SIZES) {
    const plan = generatePlan(n);
    const once = () => {
      const t0 = process.hrtime.bigint();
      renderReviewMarkdown(reviewChanges(reviewInputFromPlan(plan)));
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    once();
    const ms = median(Array.from({ length: RUNS }, once));
    first ??= ms;
    console.log(`| ${n} | ${ms.toFixed(0)} | ${(ms / first).toFixed(1)} |`);
  }
  console.log(`load average after: ${loadavg()[0].toFixed(2)}`);
}

if (require.main === module) main();
