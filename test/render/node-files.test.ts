import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
  AWS_EC2_TARGET,
  PATHS,
  PATRONI_POST_BOOTSTRAP_SCRIPT,
  PATRONI_POST_BOOTSTRAP_SQL,
  nodeConfigFilePaths,
  poolerConfigFilePaths,
  renderNodeConfigFiles,
  renderPoolerConfigFiles,
  renderPostBootstrapScript,
  SECRET_FIELDS,
} from "../../src/render";
import { distributedNode, pooler, standaloneNode } from "./fixtures";

const paths = (files: { path: string }[]) => files.map((f) => f.path);

describe("nodeConfigFilePaths and poolerConfigFilePaths: the rendered files' paths, in order, without rendering", () => {
  const kubernetes = { target: { ...AWS_EC2_TARGET, dcs: { kind: "kubernetes" as const, namespace: "db", labels: {} } } };
  test.each([
    ["a distributed node", () => distributedNode(1), {}],
    ["a standalone node", () => standaloneNode(), {}],
    ["a node with the Kubernetes DCS", () => distributedNode(0), kubernetes],
  ])("%s", (_, ctx, options) => {
    expect(nodeConfigFilePaths(ctx(), options)).toEqual(paths(renderNodeConfigFiles(ctx(), options)));
  });

  test("a pooler instance; a standalone cluster has none", () => {
    expect(poolerConfigFilePaths(pooler())).toEqual(paths(renderPoolerConfigFiles(pooler())));
    expect(() => poolerConfigFilePaths(pooler({ deployment: "standalone" }))).toThrow(/only distributed clusters have a PgBouncer tier/);
  });
});

describe("renderNodeConfigFiles", () => {
  test("a distributed node gets Patroni, post-bootstrap, etcd and pgBackRest files, no PgBouncer", () => {
    expect(paths(renderNodeConfigFiles(distributedNode(0)))).toEqual([
      PATHS.patroniConfig,
      PATRONI_POST_BOOTSTRAP_SCRIPT,
      PATRONI_POST_BOOTSTRAP_SQL,
      PATHS.etcdConfig,
      PATHS.pgbackrestConfig,
    ]);
  });

  test("a standalone node also gets the PgBouncer read-write pool (PgBouncer runs on the node)", () => {
    expect(paths(renderNodeConfigFiles(standaloneNode()))).toContain("/etc/pgbouncer/pgbouncer-rw.ini");
    expect(paths(renderNodeConfigFiles(standaloneNode()))).not.toContain("/etc/pgbouncer/pgbouncer-ro.ini");
  });

  test("the kubernetes DCS variant has no etcd file", () => {
    const files = renderNodeConfigFiles(distributedNode(0), { target: { ...AWS_EC2_TARGET, dcs: { kind: "kubernetes", namespace: "db", labels: {} } } });
    expect(paths(files)).not.toContain(PATHS.etcdConfig);
  });

  test("files are private to their service and only the script is executable", () => {
    for (const f of renderNodeConfigFiles(standaloneNode())) {
      expect(f.mode).toBe(f.path === PATRONI_POST_BOOTSTRAP_SCRIPT ? "0750" : "0640");
      expect(f.owner).toBe(f.path === PATHS.etcdConfig ? "etcd:etcd" : "postgres:postgres");
    }
  });

  test("no rendered file holds a secret field, a password assignment or a private key", () => {
    const all = [...renderNodeConfigFiles(distributedNode(0)), ...renderNodeConfigFiles(standaloneNode()), ...renderPoolerConfigFiles(pooler())];
    for (const f of all) {
      expect(f.content).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
      expect(f.content).not.toMatch(/^\s*(password|repo1-cipher-pass)\s*[:=]/im);
      for (const field of SECRET_FIELDS) expect(f.content).not.toContain(field);
    }
  });

  test("every path is absolute", () => {
    for (const f of [...renderNodeConfigFiles(distributedNode(0)), ...renderPoolerConfigFiles(pooler())]) {
      expect(f.path.startsWith("/")).toBe(true);
    }
  });
});

describe("renderPoolerConfigFiles", () => {
  test("a pooler instance gets both PgBouncer pools and HAProxy", () => {
    expect(paths(renderPoolerConfigFiles(pooler()))).toEqual([
      "/etc/pgbouncer/pgbouncer-rw.ini",
      "/etc/pgbouncer/pgbouncer-ro.ini",
      PATHS.haproxyConfig,
    ]);
  });

  test("HAProxy's file is readable by the haproxy group only", () => {
    const h = renderPoolerConfigFiles(pooler()).find((f) => f.path === PATHS.haproxyConfig)!;
    expect([h.mode, h.owner]).toEqual(["0640", "root:haproxy"]);
  });

  test("a standalone cluster has no pooler tier", () => {
    expect(() => renderPoolerConfigFiles({ ...pooler(), spec: standaloneNode().spec })).toThrow(/only distributed clusters have a PgBouncer tier/);
  });
});

describe("renderPostBootstrapScript", () => {
  const dir = mkdtempSync(join(tmpdir(), "h1-pb-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("refuses to run without the PgBouncer auth password in its environment", () => {
    const file = join(dir, "pb2.sh");
    writeFileSync(file, renderPostBootstrapScript());
    const r = spawnSync("/bin/sh", [file, "postgresql:///postgres"], { encoding: "utf8", env: { PATH: "/nonexistent" } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("PGBOUNCER_AUTH_PASSWORD is not set");
  });
});
