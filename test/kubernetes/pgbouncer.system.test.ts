/**
 * The pooler's PgBouncer files as synthesized into the `<cluster>-pooler` ConfigMap, run by the
 * real PgBouncer 1.18 in H1's isolated sandbox as the pod runs them: as UID postgres, config and
 * userlist under /etc/pgbouncer, no log file (stderr).
 */
import { PATHS, pgbouncerRunDir, type PgBouncerPool } from "../../src/render";
import { runSandbox } from "../render/sandbox";
import { requireTools, startPgBouncer } from "../render/tools";
import { byName, distributed } from "./fixtures";

const ADDRESS = "10.10.0.11";

function run(pool: PgBouncerPool, port: number) {
  const content: string = byName(distributed(), "kubernetes_config_map_v1", "orders-pooler").data[`pgbouncer-${pool}.ini`];
  const cfg = `/etc/pgbouncer/pgbouncer-${pool}.ini`;
  return runSandbox({
    addresses: [ADDRESS],
    tls: true,
    roots: [
      [
        { path: cfg, content, mode: "0440", owner: "root:postgres" },
        { path: PATHS.pgbouncerUserlist, content: '"pgbouncer_auth" "not-a-real-secret"\n', mode: "0440", owner: "root:postgres" },
      ],
    ],
    script: `${requireTools("pgbouncer", "openssl")}
${startPgBouncer(cfg, pgbouncerRunDir(pool), ADDRESS, port)}
if [ $up = 1 ]; then
  echo Q | timeout 5 openssl s_client -starttls postgres -connect ${ADDRESS}:${port} -tls1_3 -CAfile "$ROOT0${PATHS.caCert}" 2>&1 | grep -E "^New" | sed 's/^/tls13: /'
  kill -TERM $PID; wait $PID
fi
echo "--- stderr"
cat "$STAGE/pgb.out"
ls "$ROOT0/var/log/pgbouncer" 2>/dev/null | sed 's/^/logfile: /'
`,
  });
}

describe.each([
  ["rw", 6432],
  ["ro", 6433],
] as const)("%s pool", (pool, port) => {
  let r: ReturnType<typeof run>;
  beforeAll(() => {
    r = run(pool, port);
  });

  test("PgBouncer starts on the Kubernetes file and listens on its port", () => {
    expect([r.stderr.includes("MISSING TOOL"), r.stdout.includes("listening=1")]).toEqual([false, true]);
  });

  test("it serves TLS 1.3", () => {
    expect(r.stdout).toMatch(/tls13: New, TLSv1\.3/);
  });

  test("it logs to stderr and writes no log file", () => {
    const [, stderr = ""] = r.stdout.split("--- stderr");
    expect([/LOG/.test(stderr), stderr.includes("logfile: ")]).toEqual([true, false]);
  });
});
