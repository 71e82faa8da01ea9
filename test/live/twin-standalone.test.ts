/**
 * The standalone example, synthesized and applied to the EC2 twin (test/twin/cluster.ts): no
 * render function is called; the node is what the Auto Scaling group launches from the launch
 * template — the Debian 13 node image under systemd-nspawn, real systemd and cloud-init running
 * the user data, the bootstrap script fetched from the bucket object (SHA-256 checked), the
 * instance role's credentials from IMDSv2, and every AWS call SigV4-checked and authorized
 * against the synthesized policies.
 *
 * Root, the Debian packages of `sudo npm run setup:system`, terraform, and the node root of
 * scripts/build-node-root.sh; fails (never skips) without them.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { bootStandalone } from "../twin/boot";
import type { LaunchedInstance, TwinCluster } from "../twin/cluster";
import { requirePrerequisites } from "../support/prerequisites";

jest.setTimeout(1_200_000);

let twin: TwinCluster;
let node: LaunchedInstance;
const started = Date.now();
let readyAfterS = 0;

const sh = async (cmd: string, timeoutMs = 60_000) => {
  const r = await node.machine.exec(["bash", "-c", cmd], { timeoutMs });
  return { ...r, out: r.stdout.trim() };
};

beforeAll(async () => {
  requirePrerequisites({ root: true, commands: ["terraform", "systemd-nspawn", "nft", "ip", "openssl", "debootstrap"] });
  ({ twin, instance: node } = await bootStandalone("tws"));
  readyAfterS = (Date.now() - started) / 1000;
  console.log(`twin: apply → cloud-init done on the node in ${readyAfterS.toFixed(0)} s; AWS calls: ${twin.aws!.calls.length}`);
}, 1_200_000);

afterAll(async () => {
  await twin?.destroy();
  // no loop device outlives the twin: none is backed by a file of its work directory
  expect(spawnSync("losetup", ["-a"], { encoding: "utf8" }).stdout).not.toContain("/var/tmp/tws-twin/");
}, 300_000);

test("the Auto Scaling group launched one instance from the slot's launch template, on its own primary address", () => {
  expect(twin.instances.size).toBe(1);
  const eni = twin.world.networkInterfaces.find((e) => e.tags["managed-postgres:slot-resource"] === "network-interface")!;
  expect(node.address).not.toBe(eni.privateIp);
});

test("cloud-init received the launch template's user data byte for byte", async () => {
  const lt = twin.state.ofType("aws_launch_template")[0];
  const raw = Buffer.from(String(lt.attributes.user_data), "base64");
  const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
  // cloud-init keeps what the datasource handed it (the gzip bytes) or their decompressed text
  const got = (await sh("sha256sum /var/lib/cloud/instance/user-data.txt | cut -d' ' -f1")).out;
  expect([sha(raw), sha(gunzipSync(raw))]).toContain(got);
  expect((await sh("head -n 1 /var/lib/cloud/instance/cloud-config.txt")).out).toBe("#cloud-config");
});

test("the bootstrap fetched from the bucket and the node is running PostgreSQL 17 under Patroni", async () => {
  // patronictl needs the REST API credentials of the node's environment file
  const r = await sh("set -a; . /etc/patroni/secrets.env; set +a; patronictl -c /etc/patroni/patroni.yml list -f json");
  expect(r.status).toBe(0);
  const members = JSON.parse(r.out) as { Role: string; State: string }[];
  expect(members).toHaveLength(1);
  expect(members[0].Role).toBe("Leader");
  expect(members[0].State).toBe("running");
  expect((await sh("runuser -u postgres -- psql -XAtc 'SHOW server_version_num' -h /var/run/postgresql")).out).toMatch(/^17/);
});

test("the slot ENI and data volume are attached: the slot address on its own interface, /data on the EBS device", async () => {
  const eni = twin.world.networkInterfaces.find((e) => e.tags["managed-postgres:slot-resource"] === "network-interface")!;
  expect(eni.attachment?.instanceId).toBe(node.id);
  expect((await sh(`ip -o -4 addr show | awk '$4 ~ /^${eni.privateIp.replace(/\./g, "\\.")}\\//{print $2}'`)).out).toBe("ens6");
  expect((await sh("findmnt -n -o SOURCE /data")).out).toMatch(/^\/dev\/nvme1n1$/);
});

test("every AWS call the node made was signed with its instance role and allowed by the synthesized policies", () => {
  const denied = twin.aws!.decisions.filter((d) => d.result !== "Allowed").map((d) => `${d.action} on ${d.resource}: ${d.message ?? d.result}`);
  expect(denied).toEqual([]);
  // expected answers: the empty secret before the first boot's race (ResourceNotFoundException),
  // pgBackRest's probes for files it has not written yet (404)
  expect(twin.aws!.calls.filter((c) => c.status >= 400 && c.status !== 404 && !/^ResourceNotFoundException/.test(c.error ?? ""))).toEqual([]);
  // the loader's `s3api get-object --version-id` of the bootstrap object, with the node role
  expect(twin.aws!.decisions.some((d) => d.action === "s3:GetObjectVersion" && d.result === "Allowed" && /\/managed-postgres-bootstrap$/.test(d.resource))).toBe(true);
});
