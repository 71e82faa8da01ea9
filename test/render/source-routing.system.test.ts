/**
 * Connections a node opens to the other members leave from its slot address (issue 10,
 * defect 2), for real, in network namespaces created for the run: a "switch" namespace with
 * two bridges (subnet 10.77.0.0/24, gateway .1, and subnet 10.78.0.0/24, gateway .1, routed
 * between them), a "node" namespace with two interfaces in the first subnet (primary
 * 10.77.0.5 with the default route, slot 10.77.0.12: the hot-attached ENI), a peer in the same
 * subnet (10.77.0.20) and one in the other subnet (10.78.0.20). The node runs the real
 * `ensure_source_routing` of src/render/scripts/node-bootstrap.sh; each peer's TCP listener
 * reports the source address it sees. Needs root, ip and python3: fails, never skips,
 * without them. Every namespace is deleted at the end.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderBootstrapScript } from "../../src/render/bootstrap";
import { distributedNode, standaloneNode } from "./fixtures";
import { requirePrerequisites } from "../support/prerequisites";

const LISTENER = `import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 2380)); s.listen(1); s.settimeout(20)
c, a = s.accept(); open(sys.argv[2], "w").write(a[0]); c.close()
`;

/**
 * Runs the real ensure_source_routing of `script` in the namespaces above, then connects from
 * the node to each peer. @returns the driver's status, stdout (route get, then what each peer
 * saw) and stderr (the script's log)
 */
function routeAndConnect(script: string, tag: string): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "mp-srcroute-"));
  try {
    const lines = script.trimEnd().split("\n");
    writeFileSync(join(dir, "lib.sh"), lines.slice(0, -1).join("\n") + "\n");
    writeFileSync(join(dir, "listen.py"), LISTENER);
    const driver = `set -euo pipefail
T=${JSON.stringify(dir)}
SW=${tag}sw NODE=${tag}node P1=${tag}p1 P2=${tag}p2
cleanup() { for n in $SW $NODE $P1 $P2; do ip netns del $n 2>/dev/null || true; done; }
trap cleanup EXIT
for n in $SW $NODE $P1 $P2; do ip netns add $n; ip -n $n link set lo up; done
ip -n $SW link add br0 type bridge; ip -n $SW link add br1 type bridge
ip -n $SW addr add 10.77.0.1/24 dev br0; ip -n $SW addr add 10.78.0.1/24 dev br1
ip -n $SW link set br0 up; ip -n $SW link set br1 up
ip netns exec $SW sysctl -qw net.ipv4.ip_forward=1
# plug NS IFACE BRIDGE ADDRESS
k=0
plug() {
  k=$((k + 1))
  ip link add ${tag}x type veth peer name ${tag}y
  ip link set ${tag}x netns $1; ip -n $1 link set ${tag}x name $2
  ip link set ${tag}y netns $SW; ip -n $SW link set ${tag}y name port$k; ip -n $SW link set port$k master $3 up
  ip -n $1 addr add $4 dev $2; ip -n $1 link set $2 up
}
plug $NODE eth0 br0 10.77.0.5/24
plug $NODE eth1 br0 10.77.0.12/24
plug $P1 eth0 br0 10.77.0.20/24
plug $P2 eth0 br1 10.78.0.20/24
ip -n $NODE route add default via 10.77.0.1 dev eth0
ip -n $P1 route add default via 10.77.0.1
ip -n $P2 route add default via 10.78.0.1
# like EC2: replies must not be dropped by reverse-path filtering on the peers' side
for n in $NODE $P1 $P2 $SW; do ip netns exec $n sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0; done
ip netns exec $NODE bash -c "source $T/lib.sh; ensure_source_routing"
echo "=== route get"
ip netns exec $NODE ip route get 10.77.0.20
ip netns exec $NODE ip route get 10.78.0.20
echo "=== seen"
for p in "$P1 10.77.0.20" "$P2 10.78.0.20"; do
  set -- $p
  ip netns exec $1 python3 $T/listen.py $2 $T/seen-$2 & l=$!
  for i in $(seq 1 50); do ip netns exec $1 ss -ltn | grep -q ":2380 " && break; sleep 0.1; done
  ip netns exec $NODE python3 -c "import socket; socket.create_connection(('$2', 2380), timeout=10).close()"
  wait $l
  echo "$2 sees $(cat $T/seen-$2)"
done
`;
    writeFileSync(join(dir, "driver.sh"), driver);
    return spawnSync("bash", [join(dir, "driver.sh")], { encoding: "utf8", timeout: 120_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same-subnet address 10.77.0.20 is routed directly and 10.78.0.20 via the subnet router, both
 * from the slot address 10.77.0.12 (`ip route get`), and both servers saw 10.77.0.12 connect.
 */
function expectSlotSourced(r: { stdout: string }): void {
  const routes = r.stdout.split("=== route get")[1]!.split("=== seen")[0]!;
  expect(routes).toMatch(/^10\.77\.0\.20 dev eth1 src 10\.77\.0\.12 /m);
  expect(routes).toMatch(/^10\.78\.0\.20 via 10\.77\.0\.1 dev eth1 src 10\.77\.0\.12 /m);
  expect(r.stdout).toContain("10.77.0.20 sees 10.77.0.12");
  expect(r.stdout).toContain("10.78.0.20 sees 10.77.0.12");
}

function requireRoot(): void {
  requirePrerequisites({ commands: ["ip", "python3", "bash"] });
  if (process.getuid?.() !== 0) throw new Error("the source-routing test needs root (network namespaces)");
}

test("after ensure_source_routing the peers (same subnet and routed) see the slot address, and ip route get says src <slot>", () => {
  requireRoot();
  {
    // Members: slot 0 = the same-subnet peer, slot 1 = this node, slot 2 = the routed peer.
    const r = routeAndConnect(renderBootstrapScript(distributedNode(1, {}, ["10.77.0.20", "10.77.0.12", "10.78.0.20"])), `mpsr${process.pid % 100000}`);
    expect(r.stderr).toContain("connections to the members (10.77.0.20 10.78.0.20) leave from 10.77.0.12 on eth1");
    expect(r.status).toBe(0);
    expectSlotSourced(r);
  }
});

// Issue 15, found on the EC2 twin: a green cluster's node reached blue's nodes from its primary
// ENI's address, which blue's pg_hba (upgradeTo: green's slot /32s) rejects. A standalone green
// (no other member) whose blue has a node in its subnet and one routed.
test("a green node (upgradeFrom) reaches blue's nodes from its slot address too", () => {
  requireRoot();
  const green = standaloneNode(
    {
      name: "shop-green",
      majorVersion: 17,
      upgradeFrom: { clusterName: "shop", majorVersion: 15, secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-AbCdEf", nodeAddresses: ["10.77.0.20", "10.78.0.20"], securityGroupId: "sg-0abc12345" },
    },
    ["10.77.0.12"],
  );
  const r = routeAndConnect(renderBootstrapScript(green), `mpsg${process.pid % 100000}`);
  expect(r.stderr).toContain("connections to the upgrade source's nodes (10.77.0.20 10.78.0.20) leave from 10.77.0.12 on eth1");
  expect(r.status).toBe(0);
  expectSlotSourced(r);
});
