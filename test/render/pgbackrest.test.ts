import {
  PATHS,
  PGBACKREST_TLS_SERVER_PORT,
  nodeCertificateSubjectAltNames,
  pgbackrestProcessMax,
  renderPgBackRestConfig,
  type NodeContext,
} from "../../src/render";
import { distributedNode, runtime, spec, standaloneNode, TEST_ADDRESSES, TOKEN_ADDRESSES } from "./fixtures";
import { runSandbox } from "./sandbox";
import { requireTools } from "./tools";

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

/**
 * Runs pgBackRest on a rendered file inside an isolated network namespace (nothing is routed
 * out: the S3 endpoint and the instance metadata service are unreachable). `backup` parses and
 * validates every option it uses, then fails only when it reaches the repository: error [049].
 */
function pgbackrest(content: string, command: string) {
  return runSandbox({
    addresses: [],
    tls: true,
    timeoutSec: 60,
    roots: [
      [
        { path: PATHS.pgbackrestConfig, content },
        { path: `${PATHS.pgbackrestConfigIncludeDir}/secret.conf`, content: "[global]\nrepo1-cipher-pass=test-only-pass\n" },
      ],
    ],
    script: `${requireTools("pgbackrest")}
chroot "$ROOT0" pgbackrest --stanza=orders --log-level-console=warn --log-level-file=off --io-timeout=1 --db-timeout=1 --protocol-timeout=2 ${command} 2>&1
echo "rc=$?"
`,
  });
}

describe("pgBackRest 2.45 accepts the rendered files", () => {
  test.each([
    ["distributed", () => renderPgBackRestConfig(distributedNode(0))],
    ["standalone", () => renderPgBackRestConfig(standaloneNode())],
  ])("%s: backup parses every option and only fails on the unreachable repository", (_n, render) => {
    const r = pgbackrest(render(), "backup");
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(r.stdout).not.toContain("invalid option");
    expect(r.stdout).toContain("rc=49");
  });

  test("the check is not vacuous: an unknown option is reported", () => {
    const r = pgbackrest(renderPgBackRestConfig(standaloneNode()).replace("[global]\n", "[global]\nrepo1-not-an-option=1\n"), "backup");
    expect(r.stdout).toContain("configuration file contains invalid option 'repo1-not-an-option'");
  });

  test("the check is not vacuous: an invalid value stops pgBackRest before it does anything", () => {
    const r = pgbackrest(renderPgBackRestConfig(standaloneNode()).replace("compress-type=zst", "compress-type=nope"), "backup");
    expect(r.stdout).toContain("'nope' is not allowed for 'compress-type' option");
    expect(r.stdout).toContain("rc=32");
  });

  test("distributed: the TLS server starts on the member address with the rendered settings and speaks TLS 1.3", () => {
    const r = runSandbox({
      addresses: TEST_ADDRESSES,
      tls: true,
      timeoutSec: 60,
      roots: [[{ path: PATHS.pgbackrestConfig, content: renderPgBackRestConfig(distributedNode(0)) }]],
      script: `${requireTools("pgbackrest", "openssl")}
chroot --userspec=postgres:postgres "$ROOT0" pgbackrest --log-level-console=info --log-level-file=off server > "$STAGE/server.log" 2>&1 & PID=$!
up=0
for n in $(seq 1 50); do
  if (exec 3<>/dev/tcp/${TEST_ADDRESSES[0]}/${PGBACKREST_TLS_SERVER_PORT}) 2>/dev/null; then up=1; break; fi
  kill -0 $PID 2>/dev/null || break
  sleep 0.2
done
echo "listening=$up"
echo | timeout 5 openssl s_client -connect ${TEST_ADDRESSES[0]}:${PGBACKREST_TLS_SERVER_PORT} -CAfile "$ROOT0${PATHS.caCert}" \\
  -cert "$ROOT0${PATHS.serverCert}" -key "$ROOT0${PATHS.serverKey}" 2>&1 | grep -E "^(New|Verify return code)"
kill $PID; wait $PID
cat "$STAGE/server.log"
`,
    });
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(r.stdout).toContain("listening=1");
    expect(r.stdout).toMatch(/New, TLSv1\.3/);
    expect(r.stdout).toContain("Verify return code: 0 (ok)");
    expect(r.stdout).not.toContain("invalid option");
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
