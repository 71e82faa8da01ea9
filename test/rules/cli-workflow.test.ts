/**
 * The documented workflow (docs/safety.md), with the real cdktf CLI on the standalone
 * example: a state file that records a larger data volume than the example asks for makes
 * `cdktf synth` exit non-zero, print the rule, and write no stack.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { filesUnder, freshDir, writeStateFrom } from "./synth-helpers";

const EXAMPLE = path.resolve(__dirname, "../../examples/standalone");
const env = (extra: Record<string, string>) => {
  const e: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1", ...extra };
  return e;
};

/** The example's synthesized stack (run as its cdktf.json says), as after a first deploy. */
function deployedExample(): any {
  const outdir = freshDir("mp-cli-first-");
  const { app } = JSON.parse(fs.readFileSync(path.join(EXAMPLE, "cdktf.json"), "utf8"));
  execFileSync("sh", ["-c", app], { cwd: EXAMPLE, env: env({ CDKTF_OUTDIR: outdir }), stdio: "ignore" });
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, "manifest.json"), "utf8"));
  const [stack] = Object.values<any>(manifest.stacks);
  return JSON.parse(fs.readFileSync(path.join(outdir, stack.synthesizedStackPath), "utf8"));
}

test("MANAGED_POSTGRES_PRIOR_STATE=… cdktf synth refuses a shrink and writes no stack", () => {
  const json = deployedExample();
  const requested = Object.values<any>(json.resource.aws_ebs_volume)[0].size as number;
  for (const v of Object.values<any>(json.resource.aws_ebs_volume)) v.size = requested + 20;
  const prior = writeStateFrom(json);
  const output = path.join(freshDir("mp-cli-out-"), "cdktf.out");
  const r = spawnSync("npx", ["cdktf", "synth", "--output", output], {
    cwd: EXAMPLE,
    env: env({ MANAGED_POSTGRES_PRIOR_STATE: prior }),
    encoding: "utf8",
    timeout: 300_000,
  });
  expect(r.status).not.toBe(0);
  expect(`${r.stdout}${r.stderr}`).toMatch(new RegExp(`MP-SAFE-STORAGE.*cannot shrink from ${requested + 20} GiB`));
  expect(filesUnder(output).filter((f) => f.endsWith("cdk.tf.json"))).toEqual([]);
});
