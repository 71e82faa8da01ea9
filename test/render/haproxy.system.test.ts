import { PATHS, renderHaproxyConfig } from "../../src/render";
import { pooler, TEST_ADDRESSES } from "./fixtures";
import { runSandbox } from "./sandbox";
import { requireTools } from "./tools";

describe("HAProxy 2.6 accepts and runs the rendered file", () => {
  test("haproxy -c validates it with the CA file at its real path", () => {
    const r = runSandbox({
      addresses: [],
      tls: true,
      roots: [[{ path: PATHS.haproxyConfig, content: renderHaproxyConfig(pooler()) }]],
      script: `${requireTools("haproxy")}\nchroot "$ROOT0" haproxy -c -f ${PATHS.haproxyConfig} 2>&1; echo "rc=$?"`,
    });
    expect(r.stdout).toContain("Configuration file is valid");
    expect(r.stdout).not.toContain("[WARNING]");
    expect(r.stdout).toContain("rc=0");
  });

  test("the check is not vacuous: a missing CA file is an error", () => {
    const r = runSandbox({
      addresses: [],
      roots: [[{ path: PATHS.haproxyConfig, content: renderHaproxyConfig(pooler()) }]],
      script: `${requireTools("haproxy")}\nchroot "$ROOT0" haproxy -c -f ${PATHS.haproxyConfig} 2>&1; echo "rc=$?"`,
    });
    expect(r.stdout).toMatch(/rc=[1-9]/);
    expect(r.stdout).toContain(PATHS.caCert);
  });

  test("routes rw to the primary and ro to the replicas, following Patroni's TLS health endpoints; the NLB health endpoint follows them", () => {
    // Three fake members: a TLS "Patroni REST API" on :8008 answering as Patroni does, and a
    // TCP "PostgreSQL" on :5432 that writes its member name. Member 1 is the primary.
    const fake = `
import socket, ssl, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
addr, role = sys.argv[1], sys.argv[2]
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        ok = (self.path == "/primary" and role == "primary") or (self.path.startswith("/replica") and role == "replica")
        self.send_response(200 if ok else 503); self.end_headers()
    do_OPTIONS = do_GET
    def log_message(self, *a): pass
httpd = ThreadingHTTPServer((addr, 8008), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain("${PATHS.serverCert}", "${PATHS.serverKey}")
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, 5432)); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall((addr + "\\n").encode()); c.close()
`;
    const r = runSandbox({
      addresses: TEST_ADDRESSES,
      tls: true,
      timeoutSec: 120,
      roots: [[{ path: PATHS.haproxyConfig, content: renderHaproxyConfig(pooler()) }, { path: "/opt/fake-member.py", content: fake }]],
      script: `${requireTools("haproxy", "python3", "curl")}
chroot "$ROOT0" python3 /opt/fake-member.py 10.10.0.11 replica & P1=$!
chroot "$ROOT0" python3 /opt/fake-member.py 10.10.0.12 primary & P2=$!
chroot "$ROOT0" python3 /opt/fake-member.py 10.10.0.13 replica & P3=$!
mkdir -p "$ROOT0/run/haproxy"
chroot "$ROOT0" haproxy -db -f ${PATHS.haproxyConfig} > "$STAGE/haproxy.log" 2>&1 & HP=$!
read_from() { chroot "$ROOT0" python3 -c "import socket; s=socket.create_connection(('127.0.0.1', $1), 2); print(s.recv(64).decode().strip())" 2>/dev/null; }
# Wait (at most 60 polls, ~45 s) until HAProxy's health checks have settled: 4 reads in a row
# from each endpoint land where they should. A wrong configuration never settles and the
# reads below show where it routes.
for i in $(seq 1 60); do
  settled=1
  for n in 1 2 3 4; do
    [ "$(read_from 15432)" = 10.10.0.12 ] || settled=0
    case "$(read_from 15433)" in 10.10.0.11|10.10.0.13) ;; *) settled=0 ;; esac
  done
  [ $settled = 1 ] && break
  sleep 0.5
done
for n in 1 2 3 4; do echo "rw: $(read_from 15432)"; done
for n in 1 2 3 4; do echo "ro: $(read_from 15433)"; done
health() { chroot "$ROOT0" curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:8404$1"; }
echo "health rw: $(health /read-write) ro: $(health /read-only) other: $(health /)"
# Both replicas stop: the read-only endpoint's health turns 503 (at most 40 polls, ~20 s),
# the read-write one stays 200.
kill $P1 $P3
for i in $(seq 1 40); do [ "$(health /read-only)" = 503 ] && break; sleep 0.5; done
echo "no replica: rw: $(health /read-write) ro: $(health /read-only)"
kill $P2
for i in $(seq 1 40); do [ "$(health /read-write)" = 503 ] && break; sleep 0.5; done
echo "nothing: rw: $(health /read-write) ro: $(health /read-only)"
kill $HP
`,
    });
    expect(r.stderr).not.toContain("MISSING TOOL");
    const rw = r.stdout.split("\n").filter((l) => l.startsWith("rw: "));
    const ro = r.stdout.split("\n").filter((l) => l.startsWith("ro: "));
    expect(rw).toEqual(Array(4).fill("rw: 10.10.0.12"));
    expect(ro).toHaveLength(4);
    expect(new Set(ro)).toEqual(new Set(["ro: 10.10.0.11", "ro: 10.10.0.13"]));
    // The load balancer's health endpoint follows the backends.
    expect(r.stdout).toContain("health rw: 200 ro: 200 other: 404");
    expect(r.stdout).toContain("no replica: rw: 200 ro: 503");
    expect(r.stdout).toContain("nothing: rw: 503 ro: 503");
  });
});
