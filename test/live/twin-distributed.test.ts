/**
 * The distributed example, synthesized and applied to the EC2 twin (test/twin/cluster.ts): three
 * slot Auto Scaling groups and the PgBouncer tier's group launch their instances from the launch
 * templates; each node takes its slot's ENI (a second interface in the same subnet as its
 * primary one, under EC2's source/destination check) and data volume through the twin's EC2 API
 * with its instance role's credentials. No render function is called.
 *
 * What this proves against EC2's documented behaviour: the cluster forms although every node has
 * two interfaces in one subnet (connections a node opens to its peers must leave from its slot
 * address: etcd checks peer certificates' addresses, pg_hba admits members' /32s), and the
 * PgBouncer tier reaches the primary and the replicas.
 *
 * Root, `sudo npm run setup:system`, terraform and the node root; fails (never skips) without them.
 */
import { synthesizeApp, TWIN_APPS } from "../twin/apps/synth";
import { TwinCluster, type LaunchedInstance } from "../twin/cluster";
import { requirePrerequisites } from "../support/prerequisites";

jest.setTimeout(1_800_000);

let twin: TwinCluster;
let nodes: LaunchedInstance[] = [];
let poolers: LaunchedInstance[] = [];
const started = Date.now();

async function sh(on: LaunchedInstance, cmd: string, timeoutMs = 60_000): Promise<string> {
  const r = await on.machine.exec(["bash", "-c", cmd], { timeoutMs });
  if (r.status !== 0) throw new Error(`${on.id} (${on.group}): \`${cmd}\` exited ${r.status}: ${r.stderr.slice(-1500)}`);
  return r.stdout.trim();
}

const slotAddress = (i: LaunchedInstance) =>
  twin.world.networkInterfaces.find((e) => e.tags["managed-postgres:slot-resource"] === "network-interface" && e.attachment?.instanceId === i.id)?.privateIp;

interface Member {
  Member: string;
  Host: string;
  Role: string;
  State: string;
}

async function members(): Promise<Member[]> {
  return JSON.parse(await sh(nodes[0], "set -a; . /etc/patroni/secrets.env; set +a; patronictl -c /etc/patroni/patroni.yml list -f json")) as Member[];
}

beforeAll(async () => {
  requirePrerequisites({ root: true, commands: ["terraform", "systemd-nspawn", "nft", "ip", "openssl", "debootstrap"] });
  const { distributed } = synthesizeApp(TWIN_APPS.distributed);
  twin = await TwinCluster.start({ stackDir: distributed, prefix: "twd", log: (m) => console.log(`twin: ${m}`) });
  const all = [...twin.instances.values()];
  nodes = all.filter((i) => !/pooler/.test(i.group));
  poolers = all.filter((i) => /pooler/.test(i.group));
  try {
    await twin.waitForCloudInit(1_200_000);
  } catch (e) {
    for (const i of all) {
      const r = await i.machine.exec(["bash", "-c", "tail -n 40 /var/log/cloud-init-output.log"], { timeoutMs: 30_000 });
      console.log(`--- ${i.id} (${i.group})\n${r.stdout}`);
    }
    throw e;
  }
  const deadline = Date.now() + 300_000;
  for (;;) {
    const ms = await members().catch(() => [] as Member[]);
    // formed: both replicas streaming and one of them the synchronous standby (Patroni names it
    // one loop after the replica starts streaming)
    if (ms.length === 3 && ms.filter((m) => m.State === "streaming").length === 2 && ms.some((m) => m.Role === "Sync Standby")) break;
    if (Date.now() > deadline) throw new Error(`the cluster did not form: ${JSON.stringify(ms)}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  console.log(`twin: apply → 3 members streaming (one synchronous standby) in ${((Date.now() - started) / 1000).toFixed(0)} s; AWS calls: ${twin.aws!.calls.length}`);
}, 1_800_000);

afterAll(async () => {
  await twin?.destroy();
}, 300_000);

test("three slot groups and the PgBouncer tier launched their instances, one database node per availability zone", () => {
  expect(nodes).toHaveLength(3);
  expect(poolers.length).toBeGreaterThanOrEqual(2);
  expect(new Set(nodes.map((n) => n.availabilityZone)).size).toBe(3);
});

test("one leader, one synchronous standby and one replica, all on PostgreSQL 17", async () => {
  const ms = await members();
  expect(ms.map((m) => m.Role).sort()).toEqual(["Leader", "Replica", "Sync Standby"]);
  for (const n of nodes) expect(await sh(n, "runuser -u postgres -- psql -XAtc 'SHOW server_version_num' -h /var/run/postgresql")).toMatch(/^17/);
});

test("every node holds its own slot ENI on a second interface of the same subnet, and /data on its volume", async () => {
  for (const n of nodes) {
    const addr = slotAddress(n)!;
    expect(addr).toBeDefined();
    expect(addr).not.toBe(n.address);
    expect(await sh(n, `ip -o -4 addr show | awk '$4 ~ /^${addr.replace(/\./g, "\\.")}\\//{print $2}'`)).toBe("ens6");
    expect(await sh(n, "findmnt -n -o SOURCE /data")).toBe("/dev/nvme1n1");
  }
});

test("connections between members leave from the slot addresses (streaming replication and etcd peers)", async () => {
  const slots = nodes.map((n) => slotAddress(n)!);
  const leader = (await members()).find((m) => m.Role === "Leader")!;
  const primary = nodes[slots.indexOf(leader.Host)];
  const clients = (await sh(primary, "runuser -u postgres -- psql -XAtc 'SELECT client_addr FROM pg_stat_replication ORDER BY 1' -h /var/run/postgresql")).split("\n");
  expect(clients.sort()).toEqual(slots.filter((a) => a !== leader.Host).sort());
  for (const [i, n] of nodes.entries()) {
    const peers = (await sh(n, "ss -Htn state established '( dport = :2380 )' | awk '{print $3}'")).split("\n").filter(Boolean);
    expect(peers.length).toBeGreaterThan(0);
    for (const local of peers) expect(local.replace(/:\d+$/, "")).toBe(slots[i]);
  }
});

test("the PgBouncer tier reaches the primary on the read-write port and a replica on the read-only port", async () => {
  const q = (port: number) =>
    `PGPASSWORD="$(awk '{gsub(/"/, ""); print $2}' /etc/pgbouncer/userlist.txt)" psql -XAt "host=127.0.0.1 port=${port} dbname=postgres user=pgbouncer_auth sslmode=require" -c 'SELECT pg_is_in_recovery()'`;
  for (const p of poolers) {
    expect(await sh(p, q(6432))).toBe("f");
    expect(await sh(p, q(6433))).toBe("t");
  }
});

test("a PgBouncer instance's role reads its own secret but not the cluster secret (AccessDenied from the synthesized policies)", async () => {
  const cluster = twin.world.secrets.find((x) => !x.name.endsWith("/pooler"))!;
  const own = twin.world.secrets.find((x) => x.name.endsWith("/pooler"))!;
  const get = (arn: string) => poolers[0].machine.exec(["aws", "--region", twin.state.region, "secretsmanager", "get-secret-value", "--secret-id", arn, "--query", "ARN", "--output", "text"], { timeoutMs: 60_000 });
  const ownRead = await get(own.arn);
  expect(ownRead.status).toBe(0);
  expect(ownRead.stdout.trim()).toBe(own.arn);
  const clusterRead = await get(cluster.arn);
  expect(clusterRead.status).not.toBe(0);
  expect(clusterRead.stderr).toMatch(/AccessDeniedException.*not authorized to perform: secretsmanager:GetSecretValue/s);
  const decision = twin.aws!.decisions.filter((d) => d.action === "secretsmanager:GetSecretValue" && d.resource === cluster.arn).pop()!;
  expect(decision.result).toBe("ImplicitlyDenied");
  expect(decision.principal).toMatch(/assumed-role\/managed-postgres-orders-pooler\//);
});

test("every AWS call the bootstrap made was signed with an instance role and allowed by the synthesized policies", () => {
  // the previous test's refused read of the cluster secret is the only expected denial
  const cluster = twin.world.secrets.find((x) => !x.name.endsWith("/pooler"))!;
  const denied = twin.aws!.decisions
    .filter((d) => d.result !== "Allowed" && !(d.action === "secretsmanager:GetSecretValue" && d.resource === cluster.arn && /pooler/.test(d.principal)))
    .map((d) => `${d.action} on ${d.resource}: ${d.message ?? d.result}`);
  expect(denied).toEqual([]);
  // Expected refusals: the empty secrets before the first boots' race (ResourceNotFoundException)
  // and the race's losers (ResourceExistsException: same ClientRequestToken, another value),
  // pgBackRest's probes for files it has not written (404), the test's own denied read above,
  // and IMDS answering a request without a token 401 (http_tokens = required).
  const unexpected = twin.aws!.calls.filter(
    (c) =>
      c.status >= 400 &&
      c.status !== 404 &&
      !(c.service === "imds" && c.status === 401) &&
      !/^(ResourceNotFoundException|ResourceExistsException|AccessDeniedException)/.test(c.error ?? ""),
  );
  expect(unexpected).toEqual([]);
});
