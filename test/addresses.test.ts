/**
 * Resource addresses never move silently.
 *
 * Every example under examples/ is synthesized by running its own cdktf app (the command in
 * its cdktf.json, as `cdktf synth` does) into a temporary directory. Each managed resource
 * address (`<type>.<name>`) recorded in test/addresses.golden.json must still exist, or the
 * synthesized JSON must carry a `moved` block from it to an address that exists (cdktf:
 * `resource.moveFromId("<old address>")`, or `moveTo` / `addMoveTarget`). Otherwise
 * `terraform apply` would destroy the old resource and create a new one: for a data volume,
 * a bucket or a key, data loss (prevent_destroy then stops the plan).
 *
 * New addresses are allowed (new resources). After an intended change, regenerate the file:
 *   UPDATE_GOLDEN=1 npx jest test/addresses.test.ts
 * and review its diff (docs/UPGRADING.md: every renamed address ships with a moved block).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { danglingMoves, managedResourceAddresses, silentlyRemovedAddresses } from "../src/rules/addresses";

const ROOT = path.resolve(__dirname, "..");
const GOLDEN = path.join(__dirname, "addresses.golden.json");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

/** example → stack → sorted managed resource addresses. */
type Addresses = Record<string, Record<string, string[]>>;
/** example → stack → moved blocks. */
type Moves = Record<string, Record<string, { from: string; to: string }[]>>;

/** Examples: folders of examples/ with a cdktf.json. */
function examples(): string[] {
  const dir = path.join(ROOT, "examples");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, "cdktf.json")))
    .sort();
}

/** Runs an example's app into a fresh outdir; returns its stacks' synthesized JSON. */
function synthExample(name: string): Record<string, any> {
  const dir = path.join(ROOT, "examples", name);
  const config = JSON.parse(fs.readFileSync(path.join(dir, "cdktf.json"), "utf8"));
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `mp-addresses-${name}-`));
  const env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1", CDKTF_CONTEXT_JSON: JSON.stringify(config.context ?? {}) };
  delete env.MANAGED_POSTGRES_PRIOR_STATE;
  execFileSync("sh", ["-c", config.app], { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"], timeout: 180_000 });
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, "manifest.json"), "utf8"));
    const out: Record<string, any> = {};
    for (const [stack, m] of Object.entries<any>(manifest.stacks)) {
      out[stack] = JSON.parse(fs.readFileSync(path.join(outdir, m.synthesizedStackPath), "utf8"));
    }
    return out;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

const current: Addresses = {};
const moves: Moves = {};
for (const example of examples()) {
  const stacks = synthExample(example);
  current[example] = {};
  moves[example] = {};
  for (const [stack, json] of Object.entries(stacks)) {
    current[example][stack] = managedResourceAddresses(json);
    moves[example][stack] = json.moved ?? [];
  }
}

if (UPDATE) {
  fs.writeFileSync(GOLDEN, JSON.stringify(current, null, 2) + "\n");
}
const golden: Addresses = fs.existsSync(GOLDEN) ? JSON.parse(fs.readFileSync(GOLDEN, "utf8")) : {};

test("there is at least one example to check", () => {
  expect(Object.keys(current).length).toBeGreaterThan(0);
});

test("every example and stack is recorded in the golden file", () => {
  const missing = Object.entries(current).flatMap(([ex, stacks]) => Object.keys(stacks).filter((s) => !golden[ex]?.[s]).map((s) => `${ex}/${s}`));
  if (missing.length) {
    throw new Error(`Not in test/addresses.golden.json: ${missing.join(", ")}. Run UPDATE_GOLDEN=1 npx jest test/addresses.test.ts and commit the file.`);
  }
});

describe.each(Object.keys(golden))("example %s", (example) => {
  test.each(Object.keys(golden[example]))("stack %s: no recorded address disappears without a moved block", (stack) => {
    const silent = silentlyRemovedAddresses(golden[example][stack], current[example]?.[stack] ?? [], moves[example]?.[stack] ?? []);
    if (silent.length) {
      throw new Error(
        `${example}/${stack}: ${silent.length} resource address(es) would be destroyed and recreated:\n` +
          silent.map((a) => `  - ${a}`).join("\n") +
          "\nAdd a moved block for each (new resource: .moveFromId(\"<old address>\")) and list it in docs/UPGRADING.md, " +
          "or, if the change is intended and unreleased, run UPDATE_GOLDEN=1 npx jest test/addresses.test.ts.",
      );
    }
  });
});

test("every moved block points at an address that exists", () => {
  const dangling = Object.entries(moves).flatMap(([ex, stacks]) =>
    Object.entries(stacks).flatMap(([s, ms]) => danglingMoves(current[ex][s], ms).map((m) => `${ex}/${s}: ${m.from} → ${m.to}`)),
  );
  expect(dangling).toEqual([]);
});
