/**
 * PostgreSQL 15 on the Debian 12 image (issue 11: "15 keeps a run on the Debian 12 image"): the
 * distributed example with `majorVersion: 15` (test/twin/apps/pg15-distributed), synthesized and
 * applied to the EC2 twin. Its launch templates reference the Debian 12 AMI (the library's
 * `debian-12-*` lookup for 15), which the twin boots from the bookworm node root
 * (`scripts/build-node-root.sh bookworm`: image/bookworm/ — PostgreSQL 15, Patroni 3.0.2, etcd
 * 3.4, PgBouncer 1.18, HAProxy 2.6, cloud-init 22.4, systemd 252). No render function is called.
 *
 * What the first live harness (the render functions' output on the host's Debian 12 packages,
 * since removed) asserted, now on what Terraform deploys: the formation (leader,
 * synchronous standby, replica), etcd 3 of 3 healthy, one version per secret after the racing
 * first boots, the pooler reading only its own secret and holding no CA key, clients verifying
 * the endpoint with sslmode=verify-full and the CA the nodes published; and the endpoints serve
 * PostgreSQL 15 (a write through rw read back through ro).
 *
 * Root, `sudo npm run setup:system`, terraform and the node roots; fails (never skips) without them.
 */
import { APP_USER } from "./harness/constants";
import { run, waitFor } from "./harness/exec";
import { REPLICA_UP } from "./harness/fault-cluster";
import { PG15_APP } from "../twin/apps/synth";
import { TwinFaultCluster } from "../twin/live";
import type { LaunchedInstance } from "../twin/cluster";
import { PATHS } from "../../src/render";
import { PORTS } from "../../src/cluster-spec";
import { requirePrerequisites } from "../support/prerequisites";

jest.setTimeout(600_000);

let cluster: TwinFaultCluster;
const started = Date.now();

beforeAll(async () => {
  requirePrerequisites({ root: true, commands: ["terraform", "systemd-nspawn", "nft", "ip", "openssl", "debootstrap", "psql"] });
  cluster = await TwinFaultCluster.start({ prefix: "tbk", app: PG15_APP, log: (m) => console.log(`${new Date().toISOString()} twin: ${m}`) });
}, 1_500_000);

afterAll(async () => {
  console.log(`twin pg15: boot ${cluster?.bootSeconds.toFixed(0)} s, suite ${((Date.now() - started) / 1000).toFixed(0)} s`);
  await cluster?.destroy();
}, 300_000);

async function shOk(on: LaunchedInstance, cmd: string): Promise<string> {
  const r = await on.machine.exec(["bash", "-c", cmd], { timeoutMs: 60_000 });
  if (r.status !== 0) throw new Error(`${on.id}: \`${cmd}\` exited ${r.status}: ${r.stderr.slice(-1500)}`);
  return r.stdout.trim();
}

describe("PostgreSQL 15 on the Debian 12 image", () => {
  test("every instance booted the Debian 12 AMI's root: Debian 12, PostgreSQL 15, Patroni 3.0", async () => {
    const images = cluster.twin.state.account.images;
    const debian12 = images.find((i) => i.release === 12)!;
    for (const lt of cluster.twin.state.ofType("aws_launch_template")) expect(lt.attributes.image_id).toBe(debian12.id);
    for (const i of cluster.twin.instances.values()) {
      expect(await shOk(i, ". /etc/os-release; echo $VERSION_CODENAME")).toBe("bookworm");
    }
    const node = cluster.instanceOf(0);
    expect(await shOk(node, "grep -E '^(postgresql-15|patroni)=' /etc/managed-postgres/image-manifest")).toBe("postgresql-15=15.20-0+deb12u1\npatroni=3.0.2-1");
  });

  test("one leader, one synchronous standby and one replica, all running", async () => {
    const members = await cluster.waitFormed(120_000);
    expect(members.map((m) => m.role).sort()).toEqual(["leader", "replica", "sync_standby"]);
    for (const m of members.filter((x) => x.role !== "leader")) expect(REPLICA_UP).toContain(m.state);
  });

  test("etcd has 3 of 3 members healthy", async () => {
    const endpoints = cluster.members.map((m) => `https://${m.address}:${PORTS.etcdClient}`).join(",");
    const r = await cluster.instanceOf(0).machine.exec(
      ["etcdctl", `--endpoints=${endpoints}`, `--cacert=${PATHS.caCert}`, `--cert=${PATHS.serverCert}`, `--key=${PATHS.serverKey}`, "--command-timeout=5s", "-w", "json", "endpoint", "health"],
      { timeoutMs: 30_000 },
    );
    // etcdctl 3.4 writes the plain health lines to stderr (3.5: stdout); its JSON goes to stdout
    const health = JSON.parse(r.stdout) as { endpoint: string; health: boolean }[];
    expect(health.filter((h) => h.health).map((h) => h.endpoint).sort()).toEqual(endpoints.split(",").sort());
    expect(r.status).toBe(0);
  });

  test("the racing first boots stored exactly one version of the cluster secret and of the pooler's", () => {
    const secrets = cluster.twin.aws!.secrets.snapshot();
    expect(secrets.map((s) => s.arn).sort()).toEqual(cluster.twin.world.secrets.map((s) => s.arn).sort());
    expect(secrets).toHaveLength(2);
    for (const s of secrets) expect(s.versions.map((v) => v.stages)).toEqual([["AWSCURRENT"]]);
  });

  test("the pooler reads its own secret only, and holds no CA key", async () => {
    const own = cluster.twin.world.secrets.find((s) => s.name.endsWith("/pooler"))!;
    const clusterSecret = cluster.twin.world.secrets.find((s) => !s.name.endsWith("/pooler"))!;
    const fromPoolers = cluster.twin.aws!.decisions.filter((d) => /-pooler\//.test(d.principal) && /^(secretsmanager|ssm):/.test(d.action));
    expect(new Set(fromPoolers.map((d) => `${d.action} ${d.resource} ${d.result}`))).toEqual(new Set([`secretsmanager:GetSecretValue ${own.arn} Allowed`]));
    for (const p of cluster.poolers()) {
      // the one private key is its own server key, not the CA's
      expect(await shOk(p, "grep -rls 'PRIVATE KEY' /etc/managed-postgres /etc/pgbouncer | sort")).toBe(PATHS.serverKey);
      const key = await shOk(p, `openssl pkey -in ${PATHS.serverKey} -pubout`);
      expect(key).not.toBe(await shOk(p, `openssl x509 -in ${PATHS.caCert} -noout -pubkey`));
      // the cluster CA key (from the cluster secret) appears in no file of the pooler
      const caKeyLine = (JSON.parse(cluster.twin.aws!.secrets.currentString(clusterSecret.arn)!) as { ca_key_pem: string }).ca_key_pem.split("\n")[1]!;
      const found = await p.machine.exec(["grep", "-rlF", caKeyLine, "/etc", "/run", "/var/lib/managed-postgres"], { timeoutMs: 60_000 });
      expect(found.stdout.trim()).toBe("");
    }
  });

  test("clients verify the endpoint with sslmode=verify-full, the load balancer's name and the CA the nodes published", async () => {
    expect(cluster.caPem).toContain("BEGIN CERTIFICATE");
    // host = the name the certificate is for; hostaddr = a pooler instance (the NLB is not modelled)
    const conninfo = cluster.endpointConnInfo("rw").replace(/host=\S+/, `host=${cluster.endpointName} hostaddr=${cluster.endpointInstance.address}`).replace(/sslmode=\S+/, "sslmode=verify-full");
    const r = await run(["psql", "-X", "-A", "-t", "-d", conninfo, "-c", "SHOW server_version"], { env: { PGPASSWORD: APP_USER.password }, timeoutMs: 20_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toMatch(/^15\.\d+/);
  });

  test("a write through the read-write endpoint is read back through the read-only endpoint", async () => {
    const id = Date.now();
    // a SELECT over the INSERT: psql -t still prints an INSERT's command tag
    const w = await cluster.endpointQuery("rw", `WITH w AS (INSERT INTO writes (id, writer) VALUES (${id}, 'pg15') RETURNING id) SELECT id FROM w`);
    expect(w.stderr).toBe("");
    expect(w.stdout.trim()).toBe(String(id));
    const seen = await waitFor(
      "the write on a replica",
      async () => {
        const r = await cluster.endpointQuery("ro", `SELECT pg_is_in_recovery(), writer FROM writes WHERE id = ${id}`);
        return r.code === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : undefined;
      },
      30_000,
      500,
    );
    expect(seen).toBe("t|pg15");
  });
});
