/**
 * `cdktf synth --hcl` of every example (each folder of examples/ with a cdktf.json): the HCL
 * parses (`terraform fmt -` reads it), holds no unresolved token text and no absolute path
 * of the machine that synthesized it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((d) => existsSync(join(ROOT, "examples", d, "cdktf.json"))).sort();
const CDKTF = join(ROOT, "node_modules", ".bin", "cdktf");

jest.setTimeout(300_000);

let out: string;
/** HCL text per `<example>/<stack>`, or the synth error per example. */
const stacks = new Map<string, string>();
const failures = new Map<string, string>();

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), "mp-hcl-"));
  for (const example of EXAMPLES) {
    const dir = join(out, example);
    const r = spawnSync(CDKTF, ["synth", "--hcl", "--output", dir], {
      cwd: join(ROOT, "examples", example),
      encoding: "utf8",
      env: { ...process.env, CHECKPOINT_DISABLE: "1", CI: "1", FORCE_COLOR: "0" },
      timeout: 240_000,
    });
    if (r.status !== 0 || !existsSync(join(dir, "stacks"))) {
      failures.set(example, `${r.stdout}\n${r.stderr}`.slice(-3000));
      continue;
    }
    for (const stack of readdirSync(join(dir, "stacks"))) {
      const file = join(dir, "stacks", stack, "cdk.tf");
      if (existsSync(file)) stacks.set(`${example}/${stack}`, readFileSync(file, "utf8"));
    }
  }
});

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

/** Runs `terraform fmt -` on text: undefined when it parses, else Terraform's error. */
function parseError(hcl: string): string | undefined {
  const r = spawnSync("terraform", ["fmt", "-no-color", "-"], {
    input: hcl,
    encoding: "utf8",
    env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1" },
    // Valid HCL formats in well under a second; broken HCL can keep terraform listing errors for a minute.
    timeout: 20_000,
  });
  if (r.status === 0) return undefined;
  const first = /Error: [^\n]*\n+\s*on <stdin> line \d+[^\n]*/.exec(r.stderr ?? "");
  return first ? first[0].replace(/\s+/g, " ") : `terraform fmt failed (${r.signal ?? `exit ${r.status}`})`;
}

describe.each(EXAMPLES)("cdktf synth --hcl of examples/%s", (example) => {
  const mine = () => [...stacks.entries()].filter(([k]) => k.startsWith(`${example}/`));

  test("synthesizes at least one stack as HCL", () => {
    expect(failures.get(example)).toBeUndefined();
    expect(mine().length).toBeGreaterThan(0);
  });

  test("every stack's cdk.tf parses (terraform fmt)", () => {
    const errors = mine()
      .map(([k, hcl]) => [k, parseError(hcl)] as const)
      .filter(([, e]) => e !== undefined);
    expect(errors).toEqual([]);
  });

  test("no stack holds unresolved token text", () => {
    expect(mine().filter(([, hcl]) => /\$\{TfToken\[|#\{TfToken\[|TOKEN\.\d+/.test(hcl)).map(([k]) => k)).toEqual([]);
  });

  test("no stack holds an absolute path of this machine (the repository or the synth directory)", () => {
    const paths = [ROOT, out, "/work/"];
    const found = mine().flatMap(([k, hcl]) => paths.filter((p) => hcl.includes(p)).map((p) => `${k}: ${p}`));
    expect(found).toEqual([]);
  });
});
