import {
  PATHS,
  PGBACKREST_TLS_SERVER_PORT,
  nodeCertificateSubjectAltNames,
  pgbackrestProcessMax,
  renderPgBackRestConfig,
  type NodeContext,
} from "../../src/render";
import { distributedNode, runtime, spec, standaloneNode, TOKEN_ADDRESSES } from "./fixtures";

/** section → key → values (pgBackRest allows repeated keys, e.g. tls-server-auth). */
function conf(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      section = m[1]!;
      out[section] = out[section] ?? {};
      continue;
    }
    const eq = line.indexOf("=");
    const k = line.slice(0, eq);
    (out[section]![k] = out[section]![k] ?? []).push(line.slice(eq + 1));
  }
  return out;
}
const one = (c: Record<string, string[]>, k: string) => c[k]?.[0];

describe("renderPgBackRestConfig: repository", () => {
  const g = conf(renderPgBackRestConfig(distributedNode(0))).global!;

  test("stores backups in the cluster's S3 bucket under /<cluster name>, in the cluster's region", () => {
    expect(one(g, "repo1-type")).toBe("s3");
    expect(one(g, "repo1-path")).toBe("/orders");
    expect(one(g, "repo1-s3-bucket")).toBe(runtime.backupBucket);
    expect(one(g, "repo1-s3-region")).toBe("eu-west-1");
    expect(one(g, "repo1-s3-endpoint")).toBe("s3.eu-west-1.amazonaws.com");
    expect(one(g, "repo1-s3-uri-style")).toBe("host");
  });

  test("uses the instance role and the cluster KMS key, and verifies S3's TLS certificate", () => {
    expect(one(g, "repo1-s3-key-type")).toBe("auto");
    expect(one(g, "repo1-s3-kms-key-id")).toBe(runtime.kmsKeyArn);
    expect(one(g, "repo1-storage-verify-tls")).toBe("y");
  });

  test("encrypts client-side with AES-256 but leaves the cipher pass to the conf.d include", () => {
    const text = renderPgBackRestConfig(distributedNode(0));
    expect(one(g, "repo1-cipher-type")).toBe("aes-256-cbc");
    expect(text).not.toMatch(/^repo1-cipher-pass=/m);
    expect(text).not.toMatch(/^repo1-s3-key(-secret)?=/m);
  });

  test("keeps full backups for spec.backup.retentionDays days", () => {
    const c = conf(renderPgBackRestConfig(distributedNode(0, { backup: { retentionDays: 14 } }))).global!;
    expect(one(c, "repo1-retention-full-type")).toBe("time");
    expect(one(c, "repo1-retention-full")).toBe("14");
  });

  test("an endpoint override switches to path-style URIs and honours s3VerifyTls", () => {
    const ctx: NodeContext = { ...standaloneNode(), runtime: { ...runtime, s3Endpoint: "127.0.0.1:4569", s3VerifyTls: false } };
    const c = conf(renderPgBackRestConfig(ctx)).global!;
    expect(one(c, "repo1-s3-endpoint")).toBe("127.0.0.1:4569");
    expect(one(c, "repo1-s3-uri-style")).toBe("path");
    expect(one(c, "repo1-storage-verify-tls")).toBe("n");
  });

  test("archives WAL asynchronously with the spool on the data volume, zstd-compressed", () => {
    expect(one(g, "archive-async")).toBe("y");
    expect(one(g, "spool-path")).toBe(PATHS.pgbackrestSpool);
    expect(one(g, "compress-type")).toBe("zst");
  });

  test("process-max is half the size's vCPUs, at least 1", () => {
    expect(pgbackrestProcessMax(spec({ size: "XS" }))).toBe(1);
    expect(pgbackrestProcessMax(spec({ size: "4XL" }))).toBe(4);
    expect(one(conf(renderPgBackRestConfig(distributedNode(0, { size: "XL" }))).global!, "process-max")).toBe("2");
  });
});

describe("renderPgBackRestConfig: stanza and backup from standby", () => {
  test("the stanza is the cluster name and pg1 is the local data directory", () => {
    const st = conf(renderPgBackRestConfig(standaloneNode({ majorVersion: 16 }))).orders!;
    expect(one(st, "pg1-path")).toBe("/data/pgdata/16");
    expect(one(st, "pg1-socket-path")).toBe("/var/run/postgresql");
  });

  test("standalone backs up its only node: no standby, no remote hosts, no TLS server", () => {
    const text = renderPgBackRestConfig(standaloneNode());
    expect(text).not.toMatch(/^(backup-standby|pg2-|tls-server-)/m);
  });

  test("distributed backs up from a standby and lists the two peers as TLS remotes", () => {
    const c = conf(renderPgBackRestConfig(distributedNode(1)));
    expect(one(c.global!, "backup-standby")).toBe("y");
    const st = c.orders!;
    expect([one(st, "pg2-host"), one(st, "pg3-host")]).toEqual(["10.10.0.11", "10.10.0.13"]);
    for (const n of [2, 3]) {
      expect(one(st, `pg${n}-host-type`)).toBe("tls");
      expect(one(st, `pg${n}-host-port`)).toBe(String(PGBACKREST_TLS_SERVER_PORT));
      expect(one(st, `pg${n}-host-ca-file`)).toBe(PATHS.caCert);
      expect(one(st, `pg${n}-host-cert-file`)).toBe(PATHS.serverCert);
      expect(one(st, `pg${n}-path`)).toBe("/data/pgdata/15");
    }
  });

  test("distributed nodes run a TLS server on their own address that only the peers' certificates may use", () => {
    const g = conf(renderPgBackRestConfig(distributedNode(1))).global!;
    expect(one(g, "tls-server-address")).toBe("10.10.0.12");
    expect(one(g, "tls-server-port")).toBe("8432");
    expect(one(g, "tls-server-ca-file")).toBe(PATHS.caCert);
    expect(g["tls-server-auth"]).toEqual(["orders-0=orders", "orders-2=orders"]);
  });

  test("keeps Terraform tokens verbatim", () => {
    const ctx = distributedNode(0, {}, TOKEN_ADDRESSES);
    const t: NodeContext = { ...ctx, runtime: { ...runtime, backupBucket: "${TfToken[TOKEN.40]}", kmsKeyArn: "${TfToken[TOKEN.41]}" } };
    const c = conf(renderPgBackRestConfig(t));
    expect(one(c.global!, "repo1-s3-bucket")).toBe("${TfToken[TOKEN.40]}");
    expect(one(c.global!, "repo1-s3-kms-key-id")).toBe("${TfToken[TOKEN.41]}");
    expect(one(c.orders!, "pg2-host")).toBe("${TfToken[TOKEN.13]}");
  });
});

describe("nodeCertificateSubjectAltNames", () => {
  test("names the address as IP and as DNS entry (pgBackRest checks DNS names only), and the member name", () => {
    expect(nodeCertificateSubjectAltNames({ name: "orders-1", slotIndex: 1, address: "10.0.1.5", zone: "a" })).toEqual([
      "IP:10.0.1.5",
      "DNS:10.0.1.5",
      "DNS:orders-1",
    ]);
  });
});
