/**
 * The live 3-AZ cluster (issue 3): the library's user data boots three database nodes
 * (one per availability zone, each a network namespace) and a PgBouncer tier instance on
 * this machine, against s3rver and a local AWS stand-in. The tests share one cluster and
 * run in order. Needs root and the Debian packages listed in docs/live-harness.md; without
 * them the run fails (never skips).
 *
 * Run: sudo npm run test:live
 */
import { writeFileSync } from "fs";
import { join } from "path";
import { LiveCluster, REPLICA_UP } from "./harness/cluster";
import { APP_USER, POOLER, RUN_ROOT } from "./harness/constants";
import { run } from "./harness/exec";

jest.setTimeout(600_000);

const cluster = new LiveCluster();
const measurements: Record<string, unknown> = {};

beforeAll(async () => {
  await cluster.start();
}, 900_000);

afterAll(async () => {
  console.log(`live harness measurements: ${JSON.stringify(measurements, null, 2)}`);
  await cluster.stop();
}, 300_000);

describe("the cluster forms", () => {
  test("the library's rendered files boot it without harness corrections", () => {
    expect([...cluster.workarounds]).toEqual([]);
  });

  test("one primary, one synchronous standby and one replica, all running", async () => {
    const members = await cluster.waitFormed(120_000);
    expect(members.map((m) => m.role).sort()).toEqual(["leader", "replica", "sync_standby"]);
    for (const m of members.filter((x) => x.role !== "leader")) expect(REPLICA_UP).toContain(m.state);
  });

  test("etcd has 3 of 3 members healthy", async () => {
    const health = await cluster.etcdHealth();
    expect(health.filter((h) => h.health)).toHaveLength(3);
  });

  test("the three first boots stored exactly one version of the cluster secret and of the pooler's (ClientRequestToken races)", async () => {
    const state = (await cluster.standinState())!;
    const secrets = state.secrets as { arn: string; versions: { stages: string[] }[] }[];
    expect(secrets.map((x) => x.arn).sort()).toEqual([cluster.runtime.secretArn, cluster.runtime.poolerSecretArn!].sort());
    for (const secret of secrets) {
      expect(secret.versions).toHaveLength(1);
      expect(secret.versions[0].stages).toEqual(["AWSCURRENT"]);
    }
  });

  test("the pooler reads its own secret only, and holds no CA key", async () => {
    const state = (await cluster.standinState())!;
    const fromPooler = state.calls.filter((c) => c.from === POOLER.address && (c.api === "secretsmanager" || c.api === "ssm"));
    expect(fromPooler.filter((c) => c.action === "GetSecretValue" && c.status === 200).length).toBeGreaterThan(0);
    expect(new Set(fromPooler.map((c) => `${c.action} ${c.target}`))).toEqual(new Set([`GetSecretValue ${cluster.runtime.poolerSecretArn}`]));
    // Its credentials files hold the auth user's password, not a key; the one private key is its own.
    const keys = await cluster.pooler.execOk(["bash", "-c", "grep -rls 'PRIVATE KEY' /etc/managed-postgres /etc/pgbouncer | sort"]);
    expect(keys.trim()).toBe("/etc/managed-postgres/tls/server.key");
    const own = await cluster.pooler.execOk(["openssl", "pkey", "-in", "/etc/managed-postgres/tls/server.key", "-pubout"]);
    const ca = await cluster.pooler.execOk(["openssl", "x509", "-in", "/etc/managed-postgres/tls/ca.crt", "-noout", "-pubkey"]);
    expect(own.trim()).not.toBe(ca.trim());
    // the cluster CA key (from the cluster secret) appears in no file of the pooler
    const caKeyLine = JSON.parse(await cluster.secretValue(cluster.runtime.secretArn)).ca_key_pem.split("\n")[1];
    const found = await cluster.pooler.exec(["grep", "-rlF", caKeyLine, "/etc", "/run", "/var/lib/managed-postgres"]);
    expect(found.stdout.trim()).toBe("");
  });

  test("clients verify the pooler with sslmode=verify-full and the CA the nodes published", async () => {
    const state = (await cluster.standinState())!;
    const pem = state.parameters![cluster.runtime.caCertificateParameter!]!.value;
    expect(pem).toContain("BEGIN CERTIFICATE");
    const file = join(RUN_ROOT, "pki", "published-ca.pem");
    writeFileSync(file, pem);
    const r = await run(["psql", "-X", "-A", "-t", "-d", cluster.endpointConnInfo("rw", `sslmode=verify-full sslrootcert=${file}`), "-c", "select 1"], {
      env: { PGPASSWORD: APP_USER.password },
      timeoutMs: 20_000,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("1");
  });
});
