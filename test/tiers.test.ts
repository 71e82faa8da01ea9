/**
 * The unit tier (`npm test`) needs Node and npm only: no test file of it may reach for a real
 * tool. Checked on the text of every unit test file (a tool-running test belongs in a
 * `*.system.test.ts` file) and by the guard itself (the system-only helpers throw here).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { requirePrerequisites, hasCommand, TEST_TIER_VARIABLE, DEBIAN_PACKAGES, installHint } from "./support/prerequisites";
import { requireTools } from "./render/tools";
import { runSandbox } from "./render/sandbox";
import { evaluateTerraform } from "./support/terraform";

const ROOT = resolve(__dirname, "..");
const unitConfig = require("../jest.config.js");
const systemConfig = require("../jest.system.config.js");

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : testFiles(p);
    return e.name.endsWith(".test.ts") ? [relative(ROOT, p)] : [];
  });
}

/** Whether jest with `config` would run `file` (testMatch by suffix, then the ignore patterns). */
function runsIn(config: { testMatch: string[]; testPathIgnorePatterns: string[] }, file: string): boolean {
  const abs = join(ROOT, file);
  const matched = config.testMatch.some((m) =>
    m.startsWith("<rootDir>/test/image/") ? file.startsWith("test/image/") : file.endsWith(m.replace("**/*", "")),
  );
  return matched && !config.testPathIgnorePatterns.some((p) => new RegExp(p.replace("<rootDir>", ROOT)).test(abs));
}

const ALL = testFiles(join(ROOT, "test"));
const UNIT = ALL.filter((f) => runsIn(unitConfig, f));

/** Helpers that only the system tier may call: they run tools, need root or check for tools. */
const SYSTEM_HELPERS = ["requirePrerequisites", "hasCommand", "requireSystemTier", "requireTools", "runSandbox", "startEtcd", "startPgBouncer", "validatePatroniConfigs", "evaluateTerraform"];
/** The real tools: the commands of the Debian packages, terraform, and the privileged utilities. */
const TOOLS = [...Object.keys(DEBIAN_PACKAGES).filter((c) => !c.startsWith("/")), "terraform", "pg_ctl", "initdb", "psql", "nsenter", "chroot", "mount"];
const TOOL_CALL = new RegExp(
  `(spawnSync|spawn|execFileSync|execFile|execSync|exec)\\(\\s*["'\`](${TOOLS.map((t) => t.replace(/[.]/g, "\\.")).join("|")})["'\`\\s]|command -v (${TOOLS.join("|")})\\b`,
);

describe("the unit tier", () => {
  test("runs every test file outside test/live that is not a system test, and no system test", () => {
    const system = ALL.filter((f) => runsIn(systemConfig, f));
    const live = ALL.filter((f) => f.startsWith("test/live/"));
    expect(UNIT.filter((f) => f.endsWith(".system.test.ts") || f.startsWith("test/image/"))).toEqual([]);
    expect(ALL.filter((f) => !UNIT.includes(f) && !system.includes(f) && !live.includes(f))).toEqual([]);
    expect(system.filter((f) => !f.endsWith(".system.test.ts") && !f.startsWith("test/image/"))).toEqual([]);
    expect(UNIT.length).toBeGreaterThan(50);
    expect(system.length).toBeGreaterThan(20);
  });

  test("no unit test file calls a system-only helper or runs a real tool (move such tests to a *.system.test.ts file)", () => {
    const offenders = UNIT.filter((f) => f !== "test/tiers.test.ts").flatMap((f) => {
      const text = readFileSync(join(ROOT, f), "utf8");
      const helpers = SYSTEM_HELPERS.filter((h) => new RegExp(`\\b${h}\\b`).test(text));
      const call = TOOL_CALL.exec(text);
      return [...helpers.map((h) => `${f}: ${h}`), ...(call ? [`${f}: ${call[0]}`] : [])];
    });
    expect(offenders).toEqual([]);
  });

  test("the tool-call check can fail: it sees a terraform console run and a command -v probe", () => {
    expect(TOOL_CALL.test('spawnSync("terraform", ["console"])')).toBe(true);
    expect(TOOL_CALL.test("execFileSync('shellcheck', [file])")).toBe(true);
    expect(TOOL_CALL.test('spawnSync("sh", ["-c", "command -v patroni"])')).toBe(true);
    expect(TOOL_CALL.test('spawnSync("bash", ["-n"])')).toBe(false);
  });

  test("is marked, and the system-only helpers throw here, saying where the test belongs", () => {
    expect(process.env[TEST_TIER_VARIABLE]).toBe("unit");
    const move = /move this test to a \*\.system\.test\.ts file/;
    expect(() => requirePrerequisites({ commands: ["sh"] })).toThrow(move);
    expect(() => hasCommand("sh")).toThrow(move);
    expect(() => requireTools("sh")).toThrow(move);
    expect(() => runSandbox({ addresses: [], roots: [], script: "true" })).toThrow(move);
    expect(() => evaluateTerraform(["1"])).toThrow(move);
  });
});

describe("a missing system prerequisite", () => {
  test("is named with its Debian package and the set-up command", () => {
    expect(installHint(["patroni", "etcdctl", "/usr/lib/postgresql/15/bin/initdb"], false)).toBe(
      "Debian packages patroni, etcd-client, postgresql-15: run `sudo npm run setup:system`",
    );
  });

  test("terraform, which Debian does not package, is named with where to get it; root is asked for", () => {
    expect(installHint(["terraform"], true)).toBe(
      "terraform (not in Debian: install it from https://developer.hashicorp.com/terraform/install, any 1.x); root: run the system tier as root (`sudo npm run test:system`)",
    );
  });

  test("every package of the map is one scripts/setup-system.sh installs", () => {
    const script = readFileSync(join(ROOT, "scripts/setup-system.sh"), "utf8");
    const installed = /PACKAGES=\(([^)]*)\)/.exec(script)![1]!.split(/\s+/).filter(Boolean);
    // python3 comes with patroni, mount is on every Debian system (priority "required").
    expect([...new Set(Object.values(DEBIAN_PACKAGES))].filter((p) => !installed.includes(p) && p !== "python3" && p !== "mount")).toEqual([]);
  });
});
