/**
 * The node bootstrap script: shellcheck, the prepare/start/finalize contract, no secrets in
 * the text, the race-free secret, the guarded mkfs and the TLS step, the last three run for
 * real in bash (the script's functions, sourced without its final `main "$@"` line) against
 * temporary files and a fake `aws` command. Needs bash, shellcheck, openssl, jq, e2fsprogs and
 * util-linux: a missing tool fails the test.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderNodeConfigFiles, renderPoolerConfigFiles } from "../../src/render";
import type { NodeContext, PoolerContext, RenderedFile } from "../../src/render";
import {
  renderBootstrapScript,
  renderPoolerBootstrapScript,
  secretClientRequestToken,
} from "../../src/render/bootstrap";
import { PATHS, POOLER_SECRET_FIELDS, SECRET_FIELDS } from "../../src/render";
import { shq } from "../../src/render/scripts";
import { distributedNode, pooler, standaloneNode } from "./fixtures";
import { requirePrerequisites } from "../support/prerequisites";

function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { input: opts.input, env: opts.env ?? process.env, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

/** Status 0, or a failure that shows the script's stderr (its last 4,000 characters): a status alone says nothing. */
function expectSuccess(r: { status: number | null; stderr: string }): void {
  if (r.status !== 0) throw new Error(`exit status ${r.status}; stderr (tail):\n${r.stderr.slice(-4000)}`);
}

function requireTool(tool: string): void {
  requirePrerequisites({ commands: [tool] });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mp-bootstrap-test-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The script's functions and constants, without the final `main "$@"`. */
function library(script: string): string {
  const lines = script.trimEnd().split("\n");
  expect(lines[lines.length - 1]).toBe('main "$@"');
  return lines.slice(0, -1).join("\n") + "\n";
}

function shellcheck(text: string, name: string) {
  requireTool("shellcheck");
  const file = join(dir, name);
  writeFileSync(file, text);
  return run("shellcheck", ["--shell=bash", "--severity=info", file]);
}

describe("bootstrap script text", () => {
  test.each([
    ["distributed node", () => renderBootstrapScript(distributedNode(1))],
    ["standalone node", () => renderBootstrapScript(standaloneNode())],
    ["pooler instance", () => renderPoolerBootstrapScript(pooler())],
  ])("the %s script passes shellcheck at info severity", (_name, render) => {
    const r = shellcheck(render(), "bootstrap.sh");
    expect(r.stdout + r.stderr).toBe("");
    expectSuccess(r);
  });

});
/** Sources the script's functions in bash and runs `body`. */
function sourceAndRunIn(dir: string, script: string, body: string, env: NodeJS.ProcessEnv = process.env) {
  const lib = join(dir, "lib.sh");
  writeFileSync(lib, library(script));
  return run("bash", ["-c", `source ${JSON.stringify(lib)}\n${body}`], { env });
}

/**
 * A fake `aws` with Secrets Manager semantics: no value until the first put; a put with a
 * different secret string once a value exists fails (ResourceExistsException). The file
 * `hide-once` makes the next get answer "no value" although one exists: the second node
 * read before the first one's put landed. Every call's arguments go to `state/argv.log`.
 */
function fakeAwsIn(dir: string): { bin: string; state: string } {
    const bin = join(dir, "bin");
    const state = join(dir, "state");
    run("mkdir", ["-p", bin, state]);
    const aws = join(bin, "aws");
    writeFileSync(
      aws,
      `#!/bin/bash
set -eu
state=${JSON.stringify(state)}
printf '%s\\n' "$*" >>"$state/argv.log"
while [ $# -gt 0 ]; do case "$1" in --region|--endpoint-url) shift 2 ;; *) break ;; esac; done
op="$1 $2"; shift 2
token=""; src=""; id=""; name=""; value=""
while [ $# -gt 0 ]; do
  case "$1" in
    --client-request-token) token=$2; shift 2 ;;
    --secret-string) src=$2; shift 2 ;;
    --secret-id) id=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --value) value=$2; shift 2 ;;
    *) shift ;;
  esac
done
# the cluster secret keeps its historical file names; other secrets get a suffix
case "$id" in *pooler*) sfx=.pooler ;; *) sfx="" ;; esac
case "$op" in
  "secretsmanager get-secret-value")
    if [ -f "$state/secret$sfx" ] && [ ! -f "$state/hide-once$sfx" ]; then cat "$state/secret$sfx"; echo; exit 0; fi
    rm -f "$state/hide-once$sfx"
    echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" >&2
    exit 254 ;;
  "secretsmanager put-secret-value")
    case "$src" in file://*) ;; *) echo "secret string not from a file" >&2; exit 255 ;; esac
    if [ -f "$state/token$sfx" ] && [ "$token" = "$(cat "$state/token$sfx")" ]; then
      if cmp -s "$state/secret$sfx" "\${src#file://}"; then exit 0; fi
      echo "An error occurred (ResourceExistsException) when calling the PutSecretValue operation: A resource with the ID you requested already exists." >&2
      exit 254
    fi
    if [ -z "$sfx" ] && [ -f "$state/secret" ]; then
      echo "An error occurred (ResourceExistsException) when calling the PutSecretValue operation: A resource with the ID you requested already exists." >&2
      exit 254
    fi
    cp "\${src#file://}" "$state/secret$sfx"; printf '%s' "$token" >"$state/token$sfx"; echo '{}' ;;
  "ssm get-parameter")
    if [ -f "$state/parameter" ]; then cat "$state/parameter"; exit 0; fi
    echo "An error occurred (ParameterNotFound) when calling the GetParameter operation:" >&2; exit 254 ;;
  "ssm put-parameter")
    case "$value" in file://*) cp "\${value#file://}" "$state/parameter"; printf '%s\\n' "$name" >"$state/parameter-name"; echo '{}' ;; *) echo "value not from a file" >&2; exit 255 ;; esac ;;
  *) echo "fake aws: unexpected $op" >&2; exit 255 ;;
esac
`,
    );
    chmodSync(aws, 0o755);
    return { bin, state };
  }

/**
 * Runs `step_secrets` then `step_publish` of a database node's script with the fake aws, the
 * CA certificate written to `<dir>/ca.crt` instead of its path on a node.
 */
function publishRunIn(dir: string, script: string, bin: string) {
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const ca = join(dir, "ca.crt");
  return sourceAndRunIn(
    dir,
    script.split(`readonly CA_CERT=${shq(PATHS.caCert)}`).join(`readonly CA_CERT=${shq(ca)}`),
    `WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
step_secrets
secret_field ca_cert_pem >${JSON.stringify(ca)}
step_publish`,
    env,
  );
}

/** Runs `step_secrets` of the script with the fake aws; prints the superuser password and the CA fingerprint. */
function secretRunIn(dir: string, script: string, bin: string) {
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  return sourceAndRunIn(
    dir,
    script,
    `WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
step_secrets
printf '%s\\n' "$(secret_field superuser_password)" "$(secret_field ca_cert_pem | openssl x509 -noout -fingerprint -sha256)"`,
    env,
  );
}

describe("bootstrap script behaviour (bash)", () => {
  beforeAll(() => {
    for (const t of ["bash", "openssl", "jq", "blkid", "mkfs.ext4", "mkswap", "truncate"]) requireTool(t);
  });

  test("an unknown subcommand exits non-zero with the usage", () => {
    const file = join(dir, "bootstrap");
    writeFileSync(file, renderBootstrapScript(distributedNode(0)));
    const r = run("bash", [file, "frobnicate"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("usage: managed-postgres-bootstrap [prepare|start|finalize|all|backup|logical-dump|grow-fs|check-data-version|maintenance|verify-backup|publish|etcd-leader]");
  });

  function sourceAndRun(script: string, body: string, env: NodeJS.ProcessEnv = process.env) {
    return sourceAndRunIn(dir, script, body, env);
  }

  test("awsc and s3_upload pass the region, the endpoints and the S3 options to the AWS CLI", () => {
    const bin = join(dir, "bin");
    run("mkdir", ["-p", bin]);
    writeFileSync(join(bin, "aws"), `#!/bin/sh\ncat >/dev/null\nprintf '%s\\n' "$*" >>${JSON.stringify(join(dir, "argv.log"))}\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const ctx = distributedNode(0);
    const plain = sourceAndRun(renderBootstrapScript(ctx), "awsc ec2 describe-volumes\necho data | s3_upload 'orders/logical/db/x.dump.enc'", env);
    expect(plain.status).toBe(0);
    const harness = renderBootstrapScript({ ...ctx, runtime: { ...ctx.runtime, awsEndpointUrl: "http://10.10.0.1:4566", s3Endpoint: "10.10.0.1:4569", s3VerifyTls: false } });
    expect(sourceAndRun(harness, "awsc ec2 describe-volumes\necho data | s3_upload k", env).status).toBe(0);
    const sse = `--sse aws:kms --sse-kms-key-id ${ctx.runtime.kmsKeyArn} --only-show-errors`;
    expect(readFileSync(join(dir, "argv.log"), "utf8").trim().split("\n")).toEqual([
      "--region eu-west-1 ec2 describe-volumes",
      `--region eu-west-1 s3 cp - s3://${ctx.runtime.backupBucket}/orders/logical/db/x.dump.enc ${sse}`,
      "--region eu-west-1 --endpoint-url http://10.10.0.1:4566 ec2 describe-volumes",
      `--region eu-west-1 --endpoint-url https://10.10.0.1:4569 --no-verify-ssl s3 cp - s3://${ctx.runtime.backupBucket}/k ${sse}`,
    ]);
  });

  test("a timer job runs its function without root; the pooler has no jobs", () => {
    const file = join(dir, "bootstrap");
    writeFileSync(file, renderBootstrapScript(distributedNode(0)).replace(/^main "\$@"$/m, 'job_backup() { echo "backup job"; }\nmain "$@"'));
    const r = run("bash", [file, "backup"]);
    expect(r.stdout).toBe("backup job\n");
    expectSuccess(r);
    const p = join(dir, "pooler");
    writeFileSync(p, renderPoolerBootstrapScript(pooler()));
    const u = run("bash", [p, "backup"]);
    expect(u.status).not.toBe(0);
    expect(u.stderr).toMatch(/must run as root|usage: managed-postgres-bootstrap \[prepare\|start\|finalize\|all\]/);
  });

  test("a volume that already holds an ext4 filesystem is not reformatted", () => {
    const img = join(dir, "ext4.img");
    expect(run("truncate", ["-s", "16M", img]).status).toBe(0);
    expect(run("mkfs.ext4", ["-q", "-F", img]).status).toBe(0);
    const uuid = run("blkid", ["-p", "-o", "value", "-s", "UUID", img]).stdout.trim();
    const r = sourceAndRun(renderBootstrapScript(distributedNode(0)), `format_if_blank ${JSON.stringify(img)}`);
    expectSuccess(r);
    expect(r.stderr).not.toContain("creating ext4");
    expect(run("blkid", ["-p", "-o", "value", "-s", "UUID", img]).stdout.trim()).toBe(uuid);
  });

  test("a blank volume gets an ext4 filesystem", () => {
    const img = join(dir, "blank.img");
    expect(run("truncate", ["-s", "16M", img]).status).toBe(0);
    const r = sourceAndRun(renderBootstrapScript(distributedNode(0)), `format_if_blank ${JSON.stringify(img)}`);
    expectSuccess(r);
    expect(run("blkid", ["-p", "-o", "value", "-s", "TYPE", img]).stdout.trim()).toBe("ext4");
  });

  test("a volume with another signature is neither formatted nor accepted", () => {
    const img = join(dir, "swap.img");
    expect(run("truncate", ["-s", "16M", img]).status).toBe(0);
    expect(run("mkswap", [img]).status).toBe(0);
    const r = sourceAndRun(renderBootstrapScript(distributedNode(0)), `format_if_blank ${JSON.stringify(img)}`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("not ext4: refusing");
    expect(run("blkid", ["-p", "-o", "value", "-s", "TYPE", img]).stdout.trim()).toBe("swap");
  });

  function fakeAws(): { bin: string; state: string } {
    return fakeAwsIn(dir);
  }

  function secretRun(script: string, bin: string) {
    return secretRunIn(dir, script, bin);
  }

  test("the first node's candidate becomes the secret, with every field and the cluster's request token", () => {
    const { bin, state } = fakeAws();
    const r = secretRun(renderBootstrapScript(distributedNode(0)), bin);
    expect(r.stderr).not.toContain("ERROR");
    expectSuccess(r);
    const stored = JSON.parse(readFileSync(join(state, "secret"), "utf8"));
    expect(Object.keys(stored).sort()).toEqual([...SECRET_FIELDS].sort());
    expect(stored.superuser_password).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(state, "token"), "utf8")).toBe(secretClientRequestToken("orders"));
    expect(r.stdout.split("\n")[0]).toBe(stored.superuser_password);
  });

  test("a node that loses the race uses the winner's secret", () => {
    const { bin, state } = fakeAws();
    const first = secretRun(renderBootstrapScript(distributedNode(0)), bin);
    expect(first.status).toBe(0);
    writeFileSync(join(state, "hide-once"), "");
    const second = secretRun(renderBootstrapScript(distributedNode(1)), bin);
    expect(second.status).toBe(0);
    expect(second.stderr).toContain("did not store this node's candidate");
    expect(second.stdout).toBe(first.stdout);
  });

  test("a node issues the PgBouncer tier's secret once, racing nodes agree on one version, and the CA is published", () => {
    const { bin, state } = fakeAws();
    const first = publishRunIn(dir, renderBootstrapScript(distributedNode(0)), bin);
    expect(first.stderr).not.toContain("WARNING");
    expect(first.status).toBe(0);
    expect(first.stderr).toContain("the PgBouncer tier's secret has no value yet: issuing its certificate");
    expect(first.stderr).toContain("stored the PgBouncer tier's secret (certificate for DNS:orders-pooler,DNS:mp-orders-0123456789abcdef.elb.eu-west-1.amazonaws.com)");
    const cluster = JSON.parse(readFileSync(join(state, "secret"), "utf8"));
    const stored = JSON.parse(readFileSync(join(state, "secret.pooler"), "utf8"));
    expect(Object.keys(stored).sort()).toEqual([...POOLER_SECRET_FIELDS].sort());
    expect(stored.pgbouncer_auth_password).toBe(cluster.pgbouncer_auth_password);
    expect(stored.ca_cert_pem.trim()).toBe(cluster.ca_cert_pem.trim());
    expect(JSON.stringify(stored)).not.toContain(cluster.ca_key_pem.trim().split("\n")[1]);
    // the certificate: signed by the CA, for the endpoint name, its key in the secret
    writeFileSync(join(dir, "pc.crt"), stored.tls_cert_pem);
    writeFileSync(join(dir, "pca.crt"), cluster.ca_cert_pem);
    expect(run("openssl", ["verify", "-CAfile", join(dir, "pca.crt"), join(dir, "pc.crt")]).status).toBe(0);
    expect(run("openssl", ["x509", "-in", join(dir, "pc.crt"), "-noout", "-ext", "subjectAltName"]).stdout).toContain(
      "DNS:orders-pooler, DNS:mp-orders-0123456789abcdef.elb.eu-west-1.amazonaws.com",
    );
    const token = readFileSync(join(state, "token.pooler"), "utf8");
    expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(readFileSync(join(state, "parameter"), "utf8").trim()).toBe(cluster.ca_cert_pem.trim());
    expect(readFileSync(join(state, "parameter-name"), "utf8").trim()).toBe("/managed-postgres/orders/ca-certificate");
    // a second node finds it current and writes nothing
    const second = publishRunIn(dir, renderBootstrapScript(distributedNode(1)), bin);
    expect(second.status).toBe(0);
    expect(second.stderr).toContain("the PgBouncer tier's secret is current");
    expect(second.stderr).toContain("the CA certificate is published in /managed-postgres/orders/ca-certificate");
    expect(JSON.parse(readFileSync(join(state, "secret.pooler"), "utf8"))).toEqual(stored);
    expect(readFileSync(join(state, "argv.log"), "utf8").split("\n").filter((l) => l.includes("put-secret-value"))).toHaveLength(2);
    // a node that read "no value" before the first one's put landed offers under the same token and loses
    writeFileSync(join(state, "hide-once.pooler"), "");
    const late = publishRunIn(dir, renderBootstrapScript(distributedNode(2)), bin);
    expect(late.status).toBe(0);
    expect(late.stderr).toContain("did not store the PgBouncer tier's secret");
    expect(JSON.parse(readFileSync(join(state, "secret.pooler"), "utf8"))).toEqual(stored);
    // an endpoint name the certificate lacks makes it stale: a new version under another token
    const renamed = renderBootstrapScript({ ...distributedNode(0), runtime: { ...distributedNode(0).runtime, poolerEndpointNames: ["db.example.internal"] } });
    const refresh = publishRunIn(dir, renamed, bin);
    expect(refresh.stderr).toContain("the PgBouncer tier's secret is stale");
    expect(readFileSync(join(state, "token.pooler"), "utf8")).not.toBe(token);
    expect(JSON.parse(readFileSync(join(state, "secret.pooler"), "utf8")).tls_cert_pem).not.toBe(stored.tls_cert_pem);
    // no secret material on a command line
    const argv = readFileSync(join(state, "argv.log"), "utf8");
    for (const v of [cluster.pgbouncer_auth_password, "PRIVATE KEY"]) expect(argv).not.toContain(v);
  });

  test("the publish job (the real subcommand) writes a pooler secret that appeared after the node booted, then does nothing while it is current", () => {
    const { bin, state } = fakeAws();
    // The node booted before the pooler secret had a value: the cluster secret exists, the CA is on disk.
    expect(secretRun(renderBootstrapScript(distributedNode(0)), bin).status).toBe(0);
    const cluster = JSON.parse(readFileSync(join(state, "secret"), "utf8"));
    const ca = join(dir, "ca.crt");
    writeFileSync(ca, cluster.ca_cert_pem);
    const runs = join(dir, "run");
    run("mkdir", ["-p", runs]);
    const file = join(dir, "bootstrap");
    writeFileSync(
      file,
      renderBootstrapScript(distributedNode(1))
        .split(`readonly CA_CERT=${shq(PATHS.caCert)}`)
        .join(`readonly CA_CERT=${shq(ca)}`)
        .split("/run/managed-postgres-bootstrap.")
        .join(`${runs}/managed-postgres-bootstrap.`),
    );
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const puts = () => readFileSync(join(state, "argv.log"), "utf8").split("\n").filter((l) => l.includes("put-secret-value") && l.includes("pooler")).length;
    expect(puts()).toBe(0);
    const first = run("bash", [file, "publish"], { env });
    expect(first.stderr).not.toContain("WARNING");
    expect(first.status).toBe(0);
    expect(first.stderr).toContain("the PgBouncer tier's secret has no value yet: issuing its certificate");
    expect(first.stderr).toContain("stored the PgBouncer tier's secret (certificate for DNS:orders-pooler,DNS:mp-orders-0123456789abcdef.elb.eu-west-1.amazonaws.com)");
    const stored = JSON.parse(readFileSync(join(state, "secret.pooler"), "utf8"));
    expect(Object.keys(stored).sort()).toEqual([...POOLER_SECRET_FIELDS].sort());
    expect(stored.pgbouncer_auth_password).toBe(cluster.pgbouncer_auth_password);
    writeFileSync(join(dir, "pc.crt"), stored.tls_cert_pem);
    expect(run("openssl", ["verify", "-CAfile", ca, join(dir, "pc.crt")]).status).toBe(0);
    expect(puts()).toBe(1);
    // the next runs find it current: no put, same value; the work directory is removed each time
    for (let i = 0; i < 2; i++) {
      const again = run("bash", [file, "publish"], { env });
      expect(again.status).toBe(0);
      expect(again.stderr).toContain("the PgBouncer tier's secret is current");
      expect(again.stderr).toContain("the CA certificate is published in /managed-postgres/orders/ca-certificate");
    }
    expect(puts()).toBe(1);
    expect(JSON.parse(readFileSync(join(state, "secret.pooler"), "utf8"))).toEqual(stored);
    expect(run("ls", ["-A", runs]).stdout).toBe("");
    // an emptied value (an operator's mistake) is rewritten on the next run
    writeFileSync(join(state, "secret.pooler"), "{}");
    const repaired = run("bash", [file, "publish"], { env });
    expect(repaired.status).toBe(0);
    expect(repaired.stderr).toContain("the PgBouncer tier's secret is stale");
    expect(JSON.parse(readFileSync(join(state, "secret.pooler"), "utf8")).pgbouncer_auth_password).toBe(cluster.pgbouncer_auth_password);
    // no secret material on a command line or in the log
    const argv = readFileSync(join(state, "argv.log"), "utf8");
    for (const v of [cluster.pgbouncer_auth_password, "PRIVATE KEY"]) {
      expect(argv).not.toContain(v);
      expect(first.stderr + repaired.stderr).not.toContain(v);
    }
  });

  test("the publish job fails, writing nothing, when the cluster secret cannot be read; a node with nothing to publish does nothing", () => {
    const { bin, state } = fakeAws();
    const runs = join(dir, "run");
    run("mkdir", ["-p", runs]);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const file = join(dir, "bootstrap");
    writeFileSync(file, renderBootstrapScript(distributedNode(0)).split("/run/managed-postgres-bootstrap.").join(`${runs}/managed-postgres-bootstrap.`));
    const r = run("bash", [file, "publish"], { env });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("could not read the cluster secret");
    expect(readFileSync(join(state, "argv.log"), "utf8")).not.toContain("put-secret-value");
    const bare = distributedNode(0);
    const none = join(dir, "none");
    writeFileSync(none, renderBootstrapScript({ ...bare, runtime: { ...bare.runtime, poolerSecretArn: undefined, caCertificateParameter: undefined } }));
    const n = run("bash", [none, "publish"], { env });
    expect(n.status).toBe(0);
    expect(readFileSync(join(state, "argv.log"), "utf8").trim().split("\n")).toHaveLength(1);
  });

  test("no secret value reaches a command line or the log", () => {
    const { bin, state } = fakeAws();
    const r = secretRun(renderBootstrapScript(distributedNode(0)), bin);
    expectSuccess(r);
    const stored = JSON.parse(readFileSync(join(state, "secret"), "utf8")) as Record<string, string>;
    const argv = readFileSync(join(state, "argv.log"), "utf8");
    for (const f of SECRET_FIELDS.filter((x) => !x.startsWith("ca_"))) {
      expect(argv).not.toContain(stored[f]);
      expect(r.stderr).not.toContain(stored[f]);
    }
    expect(argv).not.toContain("PRIVATE KEY");
  });

  test("the TLS step issues a certificate for the member (CN, SAN, both key usages) and keeps it on a re-run", () => {
    const { bin } = fakeAws();
    const ctx = distributedNode(1);
    const tls = join(dir, "tls");
    // Same script, TLS paths moved into the temporary directory; system-changing commands stubbed.
    const script = renderBootstrapScript(ctx).split(PATHS.tlsDir).join(tls);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const body = `install() { mkdir -p ${JSON.stringify(tls)}; }
usermod() { :; }
groupadd() { :; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
step_secrets
step_tls
ls -A "$WORK"`;
    const first = sourceAndRun(script, body, env);
    expect(first.stderr).toContain("issuing the TLS certificate of orders-1 (10.10.0.12)");
    expect(first.status).toBe(0);
    expect(first.stdout).not.toContain("ca.key");
    const cert = join(tls, "server.crt");
    const text = run("openssl", ["x509", "-in", cert, "-noout", "-subject", "-ext", "subjectAltName,extendedKeyUsage"]).stdout;
    expect(text).toContain("CN = orders-1");
    expect(text).toContain("IP Address:10.10.0.12");
    expect(text).toContain("DNS:orders-1");
    // pgBackRest 2.45 finds the host only among DNS names: the address is one too.
    expect(text).toContain("DNS:10.10.0.12");
    expect(text).toContain("TLS Web Server Authentication, TLS Web Client Authentication");
    expect(run("openssl", ["verify", "-CAfile", join(tls, "ca.crt"), cert]).status).toBe(0);
    const keyStat = run("stat", ["-c", "%a %U %G", join(tls, "server.key")]).stdout.trim();
    expect(keyStat).toBe("640 root ssl-cert");
    const before = readFileSync(cert, "utf8");
    const second = sourceAndRun(script, body, env);
    expect(second.status).toBe(0);
    expect(second.stderr).toContain("TLS certificate of orders-1 is current");
    expect(readFileSync(cert, "utf8")).toBe(before);
  });
});

/**
 * `prepare` end to end, for real, as root in a private mount and network namespace
 * (`unshare -m -n`): /etc and /var are overlays on temporary directories, /data and /run are
 * tmpfs, the slot address sits on the namespace's loopback, IMDSv2 is a small Python server
 * and `aws` a fake with Secrets Manager semantics. Nothing outside the namespace changes.
 */
describe("prepare, end to end in a private namespace", () => {
  beforeAll(() => {
    for (const t of ["unshare", "python3", "openssl", "jq", "curl", "ip", "runuser"]) requireTool(t);
    if (process.getuid?.() !== 0) throw new Error("the namespace test needs root (unshare -m -n)");
  });

  const IMDS_SERVER = `import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        self.send_response(200 if ok else 400); self.end_headers()
        if ok: self.wfile.write(b"T0KEN")
    def do_GET(self):
        m = {"/latest/meta-data/instance-id": b"i-0123456789abcdef0", "/latest/meta-data/placement/availability-zone": b"eu-west-1a", "/latest/meta-data/local-ipv4": sys.argv[1].encode()}
        if self.headers.get("X-aws-ec2-metadata-token") != "T0KEN": self.send_response(401); self.end_headers(); return
        self.send_response(200 if self.path in m else 404); self.end_headers()
        if self.path in m: self.wfile.write(m[self.path])
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", 1338), H).serve_forever()
`;

  function prepareTwice(script: string, files: RenderedFile[], address: string, seedSecret: boolean) {
    const { bin, state } = fakeAwsIn(dir);
    if (seedSecret) {
      // A database node created the cluster secret and the PgBouncer tier's earlier (the pooler only reads its own).
      const seeded = publishRunIn(dir, renderBootstrapScript(withStandIns(distributedNode(0))), bin);
      expect(seeded.stderr).toContain("stored the PgBouncer tier's secret");
      expect(seeded.status).toBe(0);
    }
    writeFileSync(join(dir, "imds.py"), IMDS_SERVER);
    writeFileSync(join(dir, "bootstrap"), script, { mode: 0o755 });
    const installs = files
      .map((f, i) => {
        writeFileSync(join(dir, `file${i}`), f.content);
        const [u, g] = f.owner.split(":");
        return `mkdir -p "$(dirname ${f.path})" && install -m ${f.mode} -o ${u} -g ${g} ${join(dir, `file${i}`)} ${f.path}`;
      })
      .join("\n");
    // Only the directories that exist: a pooler has no /etc/patroni or /etc/pgbackrest, and the
    // host may not have them either (find would fail the pipeline under pipefail).
    const snapshot = `for d in /etc/managed-postgres /etc/patroni /etc/pgbackrest /etc/pgbouncer /data; do [ ! -e "$d" ] || find "$d" -newer ${join(dir, "imds.py")} \\( -type f -o -type d \\) -printf '%p %m %u:%g\\n'; done | sort
sha256sum /etc/managed-postgres/tls/server.crt
echo "private keys: $(grep -rls 'PRIVATE KEY' /etc/managed-postgres /etc/pgbouncer 2>/dev/null | sort | tr '\\n' ' ')"
if [ "$(openssl pkey -in /etc/managed-postgres/tls/server.key -pubout)" = "$(openssl x509 -in /etc/managed-postgres/tls/ca.crt -noout -pubkey)" ]; then echo "server key is the CA key"; fi`;
    const driver = `set -euo pipefail
T=${JSON.stringify(dir)}
mkdir -p $T/eu $T/ew $T/vu $T/vw
mount -t overlay overlay -o lowerdir=/etc,upperdir=$T/eu,workdir=$T/ew /etc
mount -t overlay overlay -o lowerdir=/var,upperdir=$T/vu,workdir=$T/vw /var
mkdir -p /data 2>/dev/null || true
mount -t tmpfs tmpfs /data
mount -t tmpfs tmpfs /run
ip link set lo up
ip addr add ${address}/32 dev lo
python3 $T/imds.py ${address} & imds=$!
trap 'kill $imds' EXIT
for i in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:1338/ && break; sleep 0.1; done
${installs}
export PATH=${bin}:$PATH
$T/bootstrap prepare
echo "=== first"
${snapshot}
$T/bootstrap prepare
echo "=== second"
${snapshot}
`;
    writeFileSync(join(dir, "driver.sh"), driver);
    const r = run("unshare", ["-m", "-n", "--propagation", "private", "bash", join(dir, "driver.sh")]);
    return { ...r, state };
  }

  function withStandIns<T extends NodeContext | PoolerContext>(ctx: T): T {
    return { ...ctx, runtime: { ...ctx.runtime, metadataEndpoint: "http://127.0.0.1:1338", awsEndpointUrl: "http://127.0.0.1:4566" } };
  }

  test("a standalone node prepares secrets, TLS and secret files with the right owners, and a second run changes nothing", () => {
    const ctx = withStandIns(standaloneNode());
    const r = prepareTwice(renderBootstrapScript(ctx), renderNodeConfigFiles(ctx), ctx.self.address, false);
    expect(r.stderr).toContain("prepare: done");
    expectSuccess(r);
    const [first, second] = r.stdout.split("=== second");
    const listing = first!.split("=== first")[1]!;
    for (const line of [
      "/etc/managed-postgres/tls/server.key 640 root:ssl-cert",
      "/etc/managed-postgres/tls/ca.crt 644 root:root",
      "/etc/patroni/secrets.env 600 postgres:postgres",
      "/etc/pgbackrest/conf.d/secret.conf 640 postgres:postgres",
      "/etc/pgbouncer/userlist.txt 600 postgres:postgres",
      "/etc/managed-postgres/backup-cipher-pass 600 postgres:postgres",
      "/data/etcd 700 etcd:etcd",
      "/data/pgdata 700 postgres:postgres",
    ]) {
      expect(listing).toContain(line);
    }
    // Same certificate after the second run (kept while valid), same files and modes.
    const certSum = (t: string) => /^[0-9a-f]{64}  \/etc\/managed-postgres\/tls\/server\.crt$/m.exec(t)![0];
    expect(certSum(second!)).toBe(certSum(listing));
    expect(r.stderr).toContain("TLS certificate of orders-0 is current");
    // Only the calls of the contract were made.
    const calls = readFileSync(join(r.state, "argv.log"), "utf8").trim().split("\n").map((l) => l.split(" ").slice(0, 6).join(" "));
    expect(new Set(calls)).toEqual(
      new Set([
        "--region eu-west-1 --endpoint-url http://127.0.0.1:4566 secretsmanager get-secret-value",
        "--region eu-west-1 --endpoint-url http://127.0.0.1:4566 secretsmanager put-secret-value",
        // the CA certificate published for clients (a standalone cluster has no PgBouncer tier secret)
        "--region eu-west-1 --endpoint-url http://127.0.0.1:4566 ssm get-parameter",
        "--region eu-west-1 --endpoint-url http://127.0.0.1:4566 ssm put-parameter",
      ]),
    );
  });

  test("a node attaches its slot ENI when the address is missing, and routes replies from the slot address through it", () => {
    const base = withStandIns(distributedNode(1, {}, ["10.10.1.11", "10.10.1.12", "10.10.1.13"]));
    writeFileSync(join(dir, "imds.py"), IMDS_SERVER);
    const lib = join(dir, "lib.sh");
    writeFileSync(lib, library(renderBootstrapScript(base)));
    const bin = join(dir, "bin");
    const state = join(dir, "state");
    run("mkdir", ["-p", bin, state]);
    // EC2 stand-in: the ENI is available until attached; attaching it "brings up DHCP" on
    // dummy1 (a veth end standing for the hot-plugged interface; dummy0 is the primary one).
    writeFileSync(
      join(bin, "aws"),
      `#!/bin/bash
set -eu
printf '%s\\n' "$*" >>${JSON.stringify(state)}/argv.log
case "$*" in
  *"ec2 describe-network-interfaces"*)
    if [ -f ${JSON.stringify(state)}/attached ]; then printf 'eni-0abc\\tin-use\\ti-0123456789abcdef0\\teni-attach-1\\t0A:00:00:00:01:12\\n'
    else printf 'eni-0abc\\tavailable\\tNone\\tNone\\t0A:00:00:00:01:12\\n'; fi ;;
  *"ec2 attach-network-interface --network-interface-id eni-0abc --instance-id i-0123456789abcdef0 --device-index 1"*)
    touch ${JSON.stringify(state)}/attached
    ip addr add 10.10.1.12/24 dev dummy1 ;;
  *) echo "unexpected: $*" >&2; exit 255 ;;
esac
`,
      { mode: 0o755 },
    );
    const driver = `set -euo pipefail
PS4='+ line \${LINENO}: '
set -x
ip link set lo up
ip link add dummy0 type veth peer name peer0
ip link set peer0 up
ip link set dummy0 up
ip addr add 10.10.0.5/24 dev dummy0
ip route add default via 10.10.0.1 dev dummy0
ip link add dummy1 type veth peer name peer1
ip link set peer1 up
ip link set dummy1 address 0a:00:00:00:01:12
python3 ${join(dir, "imds.py")} 10.10.0.5 & imds=$!
trap 'kill $imds' EXIT
for i in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:1338/ && break; sleep 0.1; done
export PATH=${bin}:$PATH
source ${lib}
step_imds
step_slot_network
echo "=== rules"
ip rule show
echo "=== table"
ip route show table 1002
set +x
# 3,000 more rules after ours (priority 5000): ip rule show then writes far more than a pipe
# holds, so a reader that stops at the first match would end it with SIGPIPE (under pipefail
# the rule looked absent and a second ip rule add failed with File exists).
for i in $(seq 0 2999); do echo "rule add from 10.99.$((i / 250)).$((i % 250 + 1)) lookup 3000 priority 5000"; done | ip -batch -
set -x
echo "=== again"
step_slot_network
`;
    writeFileSync(join(dir, "driver.sh"), driver);
    const r = run("unshare", ["-n", "bash", join(dir, "driver.sh")]);
    expect(r.stderr).toContain("attaching the slot eni eni-0abc");
    expectSuccess(r);
    expect(r.stderr).toContain("slot address 10.10.1.12 is on dummy1");
    expect(r.stdout).toMatch(/from 10\.10\.1\.12 lookup 1002/);
    expect(r.stdout).toContain("default via 10.10.1.1 dev dummy1");
    expect(r.stdout).toContain("10.10.1.0/24 dev dummy1");
    // A second run finds the address and attaches nothing; the rule is not duplicated.
    expect(r.stderr).toContain("slot address 10.10.1.12 already configured");
    expect(readFileSync(join(state, "argv.log"), "utf8").match(/attach-network-interface/g)?.length).toBe(1);
    expect(r.stdout.split("=== table")[0]!.match(/from 10\.10\.1\.12/g)?.length).toBe(1);
  });

  test("a node attaches, formats once and mounts its blank data volume; after a remount the data survives", () => {
    requireTool("losetup");
    const ctx = withStandIns(distributedNode(0));
    const byId = join(dir, "by-id");
    writeFileSync(join(dir, "imds.py"), IMDS_SERVER);
    const lib = join(dir, "lib.sh");
    // The NVMe by-id directory is moved into the temporary directory (udev does not run here).
    writeFileSync(lib, library(renderBootstrapScript(ctx)).split("/dev/disk/by-id/").join(`${byId}/`));
    const bin = join(dir, "bin");
    const state = join(dir, "state");
    run("mkdir", ["-p", bin, state, byId]);
    writeFileSync(
      join(bin, "aws"),
      `#!/bin/bash
set -eu
printf '%s\\n' "$*" >>${JSON.stringify(state)}/argv.log
case "$*" in
  *"ec2 describe-volumes --filters Name=tag:managed-postgres:cluster,Values=orders Name=tag:managed-postgres:slot,Values=0 Name=tag:managed-postgres:slot-resource,Values=data-volume "*)
    if [ -f ${JSON.stringify(state)}/attached ]; then printf 'vol-0123456789abcdef0\\tin-use\\ti-0123456789abcdef0\\tattached\\n'
    else printf 'vol-0123456789abcdef0\\tavailable\\tNone\\tNone\\n'; fi ;;
  *"ec2 attach-volume --volume-id vol-0123456789abcdef0 --instance-id i-0123456789abcdef0 --device /dev/sdf"*)
    touch ${JSON.stringify(state)}/attached
    ln -s "$LOOP" ${JSON.stringify(byId)}/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0 ;;
  *) echo "unexpected: $*" >&2; exit 255 ;;
esac
`,
      { mode: 0o755 },
    );
    const driver = `set -euo pipefail
T=${JSON.stringify(dir)}
mkdir -p $T/eu $T/ew
mount -t overlay overlay -o lowerdir=/etc,upperdir=$T/eu,workdir=$T/ew /etc
truncate -s 64M $T/vol.img
LOOP=$(losetup -f --show $T/vol.img)
export LOOP
ip link set lo up
python3 $T/imds.py 10.10.0.11 & imds=$!
trap 'umount /data 2>/dev/null || true; losetup -d $LOOP; kill $imds' EXIT
for i in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:1338/ && break; sleep 0.1; done
export PATH=${bin}:$PATH
source $T/lib.sh
step_imds
step_data_volume
echo "=== fstab"
grep ' /data ' /etc/fstab
blkid -p -o value -s UUID $LOOP
echo keep >/data/marker
umount /data
step_data_volume
echo "=== after"
cat /data/marker
blkid -p -o value -s UUID $LOOP
step_data_volume
`;
    writeFileSync(join(dir, "driver.sh"), driver);
    const r = run("unshare", ["-m", "-n", "--propagation", "private", "bash", join(dir, "driver.sh")]);
    for (const l of run("losetup", ["-j", join(dir, "vol.img")]).stdout.split("\n").filter(Boolean)) run("losetup", ["-d", l.split(":")[0]!]);
    expect(r.stderr).toContain("attaching the slot volume vol-0123456789abcdef0");
    expectSuccess(r);
    expect(r.stderr.match(/creating ext4/g)?.length).toBe(1);
    const [before, after] = r.stdout.split("=== after");
    const fstab = before!.split("=== fstab")[1]!.trim().split("\n");
    expect(fstab[0]).toMatch(/^UUID=[0-9a-f-]{36} \/data ext4 defaults,nofail,noatime,x-systemd\.device-timeout=30s 0 2$/);
    expect(fstab[0]).toContain(fstab[1]!);
    expect(after!.trim().split("\n")).toEqual(["keep", fstab[1]]);
    expect(r.stderr).toContain("/data already mounted");
    expect(readFileSync(join(state, "argv.log"), "utf8").match(/attach-volume/g)?.length).toBe(1);
  });

  test("grow-fs calls resize2fs on the data device only once the volume is bigger than its filesystem", () => {
    requireTool("losetup");
    const script = join(dir, "bootstrap");
    const events = join(dir, "events.log");
    const text = renderBootstrapScript(distributedNode(0));
    expect(text).toMatch(/^readonly EVENTS_LOG=.*$/m);
    writeFileSync(script, text.replace(/^readonly EVENTS_LOG=.*$/m, () => `readonly EVENTS_LOG=${events}`), { mode: 0o755 });
    // resize2fs is recorded, not run: online resizing needs CAP_SYS_RESOURCE, which test
    // containers may lack; what is under test is the script's decision.
    const bin = join(dir, "bin");
    run("mkdir", ["-p", bin]);
    writeFileSync(join(bin, "resize2fs"), `#!/bin/sh\necho "$@" >>${JSON.stringify(join(dir, "resize2fs.log"))}\n`, { mode: 0o755 });
    const driver = `set -euo pipefail
T=${JSON.stringify(dir)}
truncate -s 64M $T/vol.img
mkfs.ext4 -q -F $T/vol.img
LOOP=$(losetup -f --show $T/vol.img)
echo "$LOOP" >$T/loop
trap 'umount /data 2>/dev/null || true; losetup -d $LOOP 2>/dev/null || true' EXIT
mount $LOOP /data
export PATH=${bin}:$PATH
${script} grow-fs
truncate -s 256M $T/vol.img
losetup -c $LOOP
${script} grow-fs
`;
    writeFileSync(join(dir, "driver.sh"), driver);
    // -n: no network, so the Patroni REST API the job asks (is this node the primary?) is not reachable at once
    const r = run("unshare", ["-m", "-n", "--propagation", "private", "bash", join(dir, "driver.sh")]);
    for (const l of run("losetup", ["-j", join(dir, "vol.img")]).stdout.split("\n").filter(Boolean)) run("losetup", ["-d", l.split(":")[0]!]);
    expect(r.stderr).toContain("growing the filesystem on");
    expectSuccess(r);
    const loop = readFileSync(join(dir, "loop"), "utf8").trim();
    expect(readFileSync(join(dir, "resize2fs.log"), "utf8")).toBe(`${loop}\n`);
    expect(r.stderr).toMatch(/from 67108864 to 268435456 bytes/);
    // one metric line, for the run that grew; no Patroni answers here, so no WAL limits are set
    const lines = readFileSync(events, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.mp_data_filesystem_grown)).toEqual([1]);
    expect(lines[0].event).toMatch(/^data filesystem grown online from 67108864 to 268435456 bytes in \d+ s$/);
    expect(r.stderr).toContain("not the primary: the WAL limits are set by the primary");
  });

  test("a pooler instance prepares from its own secret, never reads the cluster secret, and holds no CA key", () => {
    const ctx = withStandIns(pooler());
    const r = prepareTwice(renderPoolerBootstrapScript(ctx), renderPoolerConfigFiles(ctx), "10.10.0.50", true);
    expect(r.stderr).toContain("prepare: done");
    expectSuccess(r);
    expect(r.stdout).toContain("/etc/pgbouncer/userlist.txt 600 postgres:postgres");
    expect(r.stderr).toContain("TLS certificate of the PgBouncer tier installed (DNS:orders-pooler,DNS:mp-orders-0123456789abcdef.elb.eu-west-1.amazonaws.com)");
    const calls = readFileSync(join(r.state, "argv.log"), "utf8").split("\n").filter(Boolean);
    const lastNodeCall = Math.max(...calls.map((l, i) => (l.includes("ssm ") ? i : -1)));
    const poolerCalls = calls.slice(lastNodeCall + 1);
    expect(poolerCalls.length).toBeGreaterThan(0);
    for (const c of poolerCalls) expect(c).toContain(`get-secret-value --secret-id ${ctx.runtime.poolerSecretArn}`);
    expect(calls.filter((l) => l.includes("put-secret-value")).length).toBe(2); // the seeding node's two secrets, none from the pooler
    // The only private key on the pooler is its own, and it is not the CA's.
    expect(r.stdout.split("\n").filter((l) => l.startsWith("private keys:"))).toEqual(Array(2).fill("private keys: /etc/managed-postgres/tls/server.key "));
    expect(r.stdout).not.toContain("server key is the CA key");
    const poolerSecret = JSON.parse(readFileSync(join(r.state, "secret.pooler"), "utf8"));
    expect(Object.keys(poolerSecret).sort()).toEqual([...POOLER_SECRET_FIELDS].sort());
  });
});
