/**
 * The node bootstrap script's text: no secrets, the request token, token addresses, the AWS CLI
 * and IMDS calls, the guarded mkfs, the packages. shellcheck and the runs in bash and in a
 * private namespace are in bootstrap.system.test.ts.
 */
import { readScript } from "../../src/render/scripts";
import {
  nodePackages,
  renderBootstrapScript,
  renderPoolerBootstrapScript,
  secretClientRequestToken,
} from "../../src/render/bootstrap";
import { distributedNode, pooler, standaloneNode, TOKEN_ADDRESSES } from "./fixtures";

describe("bootstrap script text", () => {
  test("the script starts with bash strict mode and never enables tracing", () => {
    const s = renderBootstrapScript(distributedNode(0));
    expect(s.split("\n").slice(0, 8)).toContain("set -euo pipefail");
    expect(s).not.toMatch(/set -[a-z]*x|set -o xtrace|bash -x/);
  });

  test("the script holds no secret: no private key, no certificate, no password-like value", () => {
    for (const s of [renderBootstrapScript(distributedNode(0)), renderBootstrapScript(standaloneNode()), renderPoolerBootstrapScript(pooler())]) {
      expect(s).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|BEGIN CERTIFICATE/);
      expect(s).not.toMatch(/\b[0-9a-f]{40,}\b/);
    }
  });

  test("the ClientRequestToken is the same for every node of a cluster and differs between clusters", () => {
    const tokens = [0, 1, 2].map((i) => /CLIENT_REQUEST_TOKEN='([^']+)'/.exec(renderBootstrapScript(distributedNode(i)))![1]);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toBe(secretClientRequestToken("orders"));
    expect(tokens[0]!.length).toBeGreaterThanOrEqual(32);
    expect(tokens[0]!.length).toBeLessThanOrEqual(64);
    expect(secretClientRequestToken("billing")).not.toBe(tokens[0]);
  });

  test("Terraform token addresses survive verbatim inside single quotes", () => {
    const s = renderBootstrapScript(distributedNode(2, {}, TOKEN_ADDRESSES));
    expect(s).toContain(`readonly SELF_ADDRESS='${TOKEN_ADDRESSES[2]}'`);
    expect(s).toContain(`readonly PATRONI_URL='https://${TOKEN_ADDRESSES[2]}:8008'`);
  });

  test("the script has no ${ or %{ outside token markers (Terraform would interpolate them)", () => {
    for (const s of [renderBootstrapScript(distributedNode(0, {}, TOKEN_ADDRESSES)), renderBootstrapScript(standaloneNode()), renderPoolerBootstrapScript(pooler())]) {
      expect(s.replace(/\$\{TfToken\[[A-Z0-9.]+\]\}/g, "")).not.toMatch(/[$%]\{/);
    }
  });

  test("every AWS CLI call passes the region and, when set, the endpoint override", () => {
    const plain = renderBootstrapScript(distributedNode(0));
    expect(plain).toContain("readonly AWS_REGION='eu-west-1'\n");
    expect(plain).toContain("readonly AWS_ENDPOINT_URL=''\n");
    const ctx = distributedNode(0);
    const harness = renderBootstrapScript({ ...ctx, runtime: { ...ctx.runtime, awsEndpointUrl: "http://10.10.0.1:4566", metadataEndpoint: "http://10.10.0.1:1338" } });
    expect(harness).toContain("readonly AWS_ENDPOINT_URL='http://10.10.0.1:4566'\n");
    expect(harness).toContain("readonly IMDS='http://10.10.0.1:1338'");
    // No EC2 / Secrets Manager call bypasses the wrapper (S3 uploads have their own).
    const direct = harness.split("\n").filter((l) => /^\s*aws /.test(l));
    expect(direct).toEqual(['  aws --region "$AWS_REGION" "$@"', '  aws --region "$AWS_REGION" "$@"']);
  });

  test("logical dumps go to the S3 endpoint of the runtime, with SSE-KMS and the cluster key", () => {
    const ctx = distributedNode(0);
    const s = renderBootstrapScript({ ...ctx, runtime: { ...ctx.runtime, s3Endpoint: "10.10.0.1:4569", s3VerifyTls: false } });
    expect(s).toContain("readonly S3_ENDPOINT_URL='https://10.10.0.1:4569'\n");
    expect(s).toContain("readonly S3_VERIFY_TLS='no'\n");
    expect(s).toContain(`readonly KMS_KEY_ARN='${ctx.runtime.kmsKeyArn}'\n`);
    expect(s).toContain("readonly LOGICAL_DUMP_PREFIX='orders/logical/'\n");
    expect(renderBootstrapScript(ctx)).toContain("readonly S3_ENDPOINT_URL=''\nreadonly S3_VERIFY_TLS='yes'\n");
  });

  test("IMDS is used with a session token only (IMDSv2)", () => {
    const s = renderBootstrapScript(distributedNode(0));
    expect(s).toContain("-X PUT --max-time 5 -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' \"$IMDS/latest/api/token\"");
    const gets = s.split("\n").filter((l) => l.includes("$IMDS/latest/meta-data"));
    expect(gets.length).toBeGreaterThan(0);
    for (const g of gets) expect(g).toContain('-H "X-aws-ec2-metadata-token: $IMDS_TOKEN"');
  });

  test("mkfs is reached only through the blkid guard", () => {
    const s = renderBootstrapScript(distributedNode(0));
    const mkfsLines = s.split("\n").filter((l) => l.includes("mkfs"));
    expect(mkfsLines).toEqual(["    mkfs.ext4 -q -L mpg-data \"$dev\""]);
    expect(readScript("node-bootstrap.sh")).toMatch(/blkid -p "\$dev"[\s\S]*if \[ "\$rc" -eq 2 \]; then[\s\S]*mkfs\.ext4/);
  });

  test("the pooler script never creates the cluster secret", () => {
    const s = renderPoolerBootstrapScript(pooler());
    expect(s).not.toContain("put-secret-value");
    expect(s).not.toContain("offer_cluster_secret");
  });

  test("only PostgreSQL 16 needs PGDG: Debian 12 ships 15 and Debian 13 ships 17", () => {
    expect(nodePackages(standaloneNode({ majorVersion: 17 }).spec).map((p) => p.name)).toContain("postgresql-17");
    expect(renderBootstrapScript(standaloneNode({ majorVersion: 17 }))).toContain("readonly PGDG_PACKAGE=''\n");
    const s16 = renderBootstrapScript(standaloneNode({ majorVersion: 16 }));
    expect(s16).toContain("postgresql-16:/usr/lib/postgresql/16/bin/postgres");
    expect(s16).toContain("readonly PGDG_PACKAGE='postgresql-16'\n");
    expect(renderBootstrapScript(standaloneNode({ majorVersion: 15 }))).toContain("readonly PGDG_PACKAGE=''\n");
  });
});
