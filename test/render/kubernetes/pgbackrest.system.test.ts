/**
 * The per-member pgBackRest files of the Kubernetes target, run by the real pgBackRest 2.45 in
 * H1's isolated sandbox (no route out): with the environment the EKS Pod Identity Webhook injects
 * (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) every option parses and pgBackRest goes for web-identity
 * credentials at STS, failing only because nothing is reachable (error 049); without it pgBackRest
 * refuses to start (error 031).
 */
import { resolveClusterSpec } from "../../../src/cluster-spec";
import { renderKubernetesPgBackRestConfig, type KubernetesPlacement } from "../../../src/render/kubernetes";
import { runSandbox } from "../sandbox";
import { requireTools } from "../tools";

const placement: KubernetesPlacement = { namespace: "orders-db", clusterDomain: "cluster.local", podNetworkCidrs: ["10.0.0.0/16"], databaseLabels: {} };
const runtime = {
  region: "eu-west-1",
  backupBucket: "orders-backups-123",
  kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
  secretArn: "",
};
const CONFIG = "/etc/pgbackrest/members/pgbackrest-orders-0.conf";
const TOKEN = "/run/secrets/eks.amazonaws.com/serviceaccount/token";
const PGBACKREST = `pgbackrest --stanza=orders --log-level-console=warn --log-level-file=off --io-timeout=1 --db-timeout=1 --protocol-timeout=2 backup 2>&1; echo "rc=$?"`;

function run(deployment: "standalone" | "distributed") {
  const spec = resolveClusterSpec({ name: "orders", deployment, size: "M", storageGiB: 20, majorVersion: 15 });
  const r = runSandbox({
    addresses: [],
    tls: true,
    timeoutSec: 90,
    roots: [[{ path: CONFIG, content: renderKubernetesPgBackRestConfig(spec, placement, runtime, 0) }, { path: TOKEN, content: "test-token" }]],
    script: `${requireTools("pgbackrest")}
echo "--- with IRSA environment"
chroot "$ROOT0" env PGBACKREST_CONFIG=${CONFIG} PGBACKREST_REPO1_CIPHER_PASS=test-only AWS_ROLE_ARN=arn:aws:iam::123456789012:role/orders-orders-db-backup AWS_WEB_IDENTITY_TOKEN_FILE=${TOKEN} ${PGBACKREST}
echo "--- without"
chroot "$ROOT0" env PGBACKREST_CONFIG=${CONFIG} PGBACKREST_REPO1_CIPHER_PASS=test-only ${PGBACKREST}
`,
  });
  const [, withIrsa = "", without = ""] = r.stdout.split(/^--- .*$/m);
  return { ...r, withIrsa, without };
}

describe.each(["distributed", "standalone"] as const)("%s", (deployment) => {
  let r: ReturnType<typeof run>;
  beforeAll(() => {
    r = run(deployment);
  });

  test("pgBackRest is installed (a missing tool fails)", () => {
    expect(r.stderr).not.toContain("MISSING TOOL");
  });

  test("with the IRSA environment every option parses and pgBackRest asks STS for web-identity credentials", () => {
    expect([r.withIrsa.includes("invalid option"), r.withIrsa.includes("'sts.amazonaws.com'"), /rc=49/.test(r.withIrsa)]).toEqual([false, true, true]);
  });

  test("without it pgBackRest refuses to start: web-id needs AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE", () => {
    expect([r.without.includes("option 'repo1-s3-key-type' is 'web-id' but 'AWS_ROLE_ARN' and 'AWS_WEB_IDENTITY_TOKEN_FILE' are not set"), /rc=31/.test(r.without)]).toEqual([true, true]);
  });
});
