/**
 * The bootstrap loader (issue 10, defect 3: the node bootstrap script is an S3 object, the
 * user data carries this loader): run for real in bash with a fake `aws` that serves the
 * object. It installs the script only when its SHA-256 is the one in the user data, at the
 * version named there, through the runtime's S3 endpoint. Needs bash and sha256sum.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderBootstrapLoader } from "../../src/render/bootstrap";
import { requirePrerequisites } from "../support/prerequisites";
import { distributedNode } from "./fixtures";

const SCRIPT = "#!/bin/bash\necho the real bootstrap\n";
const sha = (t: string) => createHash("sha256").update(t).digest("hex");

let dir: string;
beforeAll(() => requirePrerequisites({ commands: ["bash", "sha256sum"] }));
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mp-loader-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function runLoader(served: string, expectedSha: string) {
  const bin = join(dir, "bin");
  spawnSync("mkdir", ["-p", bin]);
  writeFileSync(join(dir, "object"), served);
  writeFileSync(
    join(bin, "aws"),
    `#!/bin/bash
printf '%s\\n' "$*" >>${JSON.stringify(join(dir, "argv.log"))}
for last; do :; done
cp ${JSON.stringify(join(dir, "object"))} "$last"
echo '{"VersionId": "v7"}'
`,
    { mode: 0o755 },
  );
  const target = join(dir, "managed-postgres-bootstrap");
  const ctx = distributedNode(0);
  const loader = renderBootstrapLoader(
    { bucket: "orders-backups-x", key: "config/orders/orders-0/managed-postgres-bootstrap", versionId: "v7", sha256: expectedSha },
    { ...ctx.runtime, s3Endpoint: "s3.local:9000", s3VerifyTls: false },
    target,
  );
  writeFileSync(join(dir, "loader"), loader, { mode: 0o755 });
  const r = spawnSync("bash", [join(dir, "loader")], { encoding: "utf8", timeout: 30_000, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  return { ...r, target, argv: existsSync(join(dir, "argv.log")) ? readFileSync(join(dir, "argv.log"), "utf8") : "" };
}

test("the object with the expected SHA-256 is installed, root-executable, from the pinned version through the S3 endpoint", () => {
  const r = runLoader(SCRIPT, sha(SCRIPT));
  expect(r.stderr).toContain(`installed ${r.target} (SHA-256 ${sha(SCRIPT)})`);
  expect(r.status).toBe(0);
  expect(readFileSync(r.target, "utf8")).toBe(SCRIPT);
  expect(statSync(r.target).mode & 0o777).toBe(0o755);
  expect(r.argv).toMatch(
    /^--region eu-west-1 --endpoint-url https:\/\/s3\.local:9000 --no-verify-ssl s3api get-object --bucket orders-backups-x --key config\/orders\/orders-0\/managed-postgres-bootstrap --version-id v7 \S+\n$/,
  );
});

test("an object whose SHA-256 differs is refused and nothing is installed", () => {
  const r = runLoader(SCRIPT + "# tampered\n", sha(SCRIPT));
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain("the user data expects " + sha(SCRIPT) + ": not installing it");
  expect(existsSync(r.target)).toBe(false);
});
