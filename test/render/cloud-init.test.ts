/**
 * cloud-init user data: accepted by `cloud-init schema` (cloud-init 22.4, the real tool; a
 * missing tool fails the test), carries every rendered file with its mode, owner and
 * `defer`, runs the bootstrap, holds no secret, is deterministic, keeps tokens verbatim, has
 * nothing Terraform would interpolate, and fits EC2's user data limit once gzipped.
 */
import { gzipSync } from "node:zlib";
import { parse } from "yaml";
import {
  cloudInitWriteFile,
  PATHS,
  renderBootstrapScript,
  renderNodeConfigFiles,
  renderNodeUserData,
  renderPoolerConfigFiles,
  renderPoolerSystemdUnits,
  renderPoolerUserData,
  renderSystemdUnits,
} from "../../src/render";
import { distributedNode, pooler, standaloneNode, TOKEN_ADDRESSES } from "./fixtures";
import { renderMonitoringFiles, renderPoolerMonitoringFiles } from "../../src/render/monitoring";

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  defer: boolean;
  encoding?: string;
}

function writeFiles(userData: string): WriteFile[] {
  return (parse(userData) as { write_files: WriteFile[] }).write_files;
}

function decoded(f: WriteFile): string {
  return f.encoding === "b64" ? Buffer.from(f.content, "base64").toString("utf8") : f.content;
}

/**
 * EC2: "User data is limited to 16 KB, in raw form, before it is base64-encoded" (Amazon EC2
 * User Guide, "Work with instance user data"); the API rejects base64 longer than 21,847
 * characters. The constructs ship `Fn.base64gzip(userData)`, so the raw form is the gzip.
 */
const EC2_USER_DATA_LIMIT_BYTES = 16 * 1024;

describe("user data content", () => {
  test("the first line is #cloud-config", () => {
    expect(renderNodeUserData(distributedNode(0)).split("\n")[0]).toBe("#cloud-config");
  });

  test("every configuration file, unit and the bootstrap script is written, deferred, with its mode and owner", () => {
    const ctx = distributedNode(0);
    const expected = [
      { path: PATHS.bootstrapScript, content: renderBootstrapScript(ctx), mode: "0755", owner: "root:root" },
      ...renderNodeConfigFiles(ctx),
      ...renderSystemdUnits(ctx),
      ...renderMonitoringFiles(ctx),
    ];
    const written = writeFiles(renderNodeUserData(ctx));
    expect(written.map((f) => [f.path, decoded(f), f.permissions, f.owner, f.defer])).toEqual(
      expected.map((f) => [f.path, f.content, f.mode, f.owner, true]),
    );
  });

  test("a pooler's user data carries HAProxy, both PgBouncer pools and the pooler units", () => {
    const ctx = pooler();
    const paths = writeFiles(renderPoolerUserData(ctx)).map((f) => f.path);
    expect(paths).toEqual([PATHS.bootstrapScript, ...renderPoolerConfigFiles(ctx).map((f) => f.path), ...renderPoolerSystemdUnits(ctx).map((f) => f.path), ...renderPoolerMonitoringFiles(ctx).map((f) => f.path)]);
  });

  test("runcmd runs the bootstrap; password SSH is off; no user, password or key is defined", () => {
    const doc = parse(renderNodeUserData(standaloneNode())) as Record<string, unknown>;
    expect(doc.runcmd).toEqual([[PATHS.bootstrapScript]]);
    expect(doc.ssh_pwauth).toBe(false);
    for (const key of ["users", "chpasswd", "password", "ssh_authorized_keys", "ssh_keys"]) expect(doc).not.toHaveProperty(key);
  });

  test("packages are listed only on request (cloud-init would run apt-get update)", () => {
    expect(parse(renderNodeUserData(standaloneNode()))).not.toHaveProperty("packages");
    const doc = parse(renderNodeUserData(standaloneNode({ majorVersion: 16 }), { installPackages: true })) as { packages: string[] };
    expect(doc.packages).toEqual(expect.arrayContaining(["postgresql-16", "patroni", "etcd-server", "pgbackrest", "pgbouncer"]));
  });

  test("the same context gives the same bytes", () => {
    expect(renderNodeUserData(distributedNode(2))).toBe(renderNodeUserData(distributedNode(2)));
    expect(renderPoolerUserData(pooler())).toBe(renderPoolerUserData(pooler()));
  });

  test("the user data holds no private key and no certificate", () => {
    for (const u of [renderNodeUserData(distributedNode(0)), renderNodeUserData(standaloneNode()), renderPoolerUserData(pooler())]) {
      const all = writeFiles(u).map(decoded).join("\n");
      expect(all).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|BEGIN CERTIFICATE/);
      // Only shell variables may follow these keys (the bootstrap fills them in at boot).
      expect(all).not.toMatch(/repo1-cipher-pass=[^$\s]/);
      expect(all).not.toMatch(/PATRONI_[A-Z_]*PASSWORD=[^$\s]/);
    }
  });

  test("token addresses survive verbatim", () => {
    const u = renderNodeUserData(distributedNode(1, {}, TOKEN_ADDRESSES));
    for (const t of TOKEN_ADDRESSES) expect(u).toContain(t);
    expect(u).toContain(`readonly SELF_ADDRESS='${TOKEN_ADDRESSES[1]}'`);
  });

  test("nothing outside token markers is a Terraform interpolation or directive", () => {
    for (const u of [renderNodeUserData(distributedNode(0, {}, TOKEN_ADDRESSES)), renderNodeUserData(standaloneNode()), renderPoolerUserData(pooler(undefined, TOKEN_ADDRESSES))]) {
      expect(u.replace(/\$\{TfToken\[[A-Z0-9.]+\]\}/g, "")).not.toMatch(/[$%]\{/);
    }
  });

  test("a file with ${ and no token is shipped base64-encoded and decodes to its exact text", () => {
    const file = { path: "/etc/x.sh", content: 'echo "${HOME:-/root}" %{x}\n', mode: "0755", owner: "root:root" };
    const w = cloudInitWriteFile(file);
    expect(w.encoding).toBe("b64");
    expect(decoded(w)).toBe(file.content);
  });

  test("a file without ${ or %{ is shipped as text", () => {
    const w = cloudInitWriteFile({ path: "/etc/x.conf", content: `address=${TOKEN_ADDRESSES[0]}\n`, mode: "0640", owner: "postgres:postgres" });
    expect(w).toEqual({ path: "/etc/x.conf", content: `address=${TOKEN_ADDRESSES[0]}\n`, permissions: "0640", owner: "postgres:postgres", defer: true });
  });

  test("a file mixing a token with ${ is refused, naming the file", () => {
    expect(() => cloudInitWriteFile({ path: "/etc/y.sh", content: `a=${TOKEN_ADDRESSES[0]} b=\${HOME}`, mode: "0755", owner: "root:root" })).toThrow(
      /\/etc\/y\.sh: the file contains both cdktf tokens and/,
    );
  });

  // Database nodes as the AWS constructs ship them: the bootstrap script is an S3 object, the
  // user data carries its loader (docs/bootstrap.md, "User data and the bootstrap object").
  const object = { bucket: "${TfToken[TOKEN.901]}", key: "config/orders/orders-0/managed-postgres-bootstrap", versionId: "${TfToken[TOKEN.902]}", sha256: "${TfToken[TOKEN.903]}" };
  test.each([
    ["distributed node", () => renderNodeUserData(distributedNode(0, {}, TOKEN_ADDRESSES), { bootstrapObject: object, installPackages: true })],
    ["standalone node", () => renderNodeUserData(standaloneNode({ size: "4XL", majorVersion: 17 }), { bootstrapObject: object, installPackages: true })],
    ["pooler instance", () => renderPoolerUserData(pooler(undefined, TOKEN_ADDRESSES))],
  ])("the gzipped user data of a %s fits EC2's 16 KB limit", (_name, render) => {
    const gz = gzipSync(Buffer.from(render(), "utf8"), { level: 6 });
    expect(gz.length).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT_BYTES);
    expect(Buffer.from(gz).toString("base64").length).toBeLessThanOrEqual(21847);
  });
});

test("with a bootstrap object, the user data carries the loader, not the bootstrap script, and runs the loader first", () => {
  const ctx = distributedNode(0, {}, TOKEN_ADDRESSES);
  const object = { bucket: "b", key: "config/orders/orders-0/managed-postgres-bootstrap", versionId: "v1", sha256: "0".repeat(64) };
  const text = renderNodeUserData(ctx, { bootstrapObject: object });
  expect(text).toContain("path: /usr/local/sbin/managed-postgres-fetch-bootstrap");
  expect(text).not.toContain("path: /usr/local/sbin/managed-postgres-bootstrap\n");
  expect(text).toMatch(/runcmd:\n {2}- - \/usr\/local\/sbin\/managed-postgres-fetch-bootstrap\n {2}- - \/usr\/local\/sbin\/managed-postgres-bootstrap\n/);
  expect(text.length).toBeLessThan(renderNodeUserData(ctx).length - 15_000);
});
