import {
  PATHS,
  pgbouncerConfigPath,
  pgbouncerLogFile,
  pgbouncerRunDir,
  renderPgBouncerConfig,
  type PgBouncerPool,
  } from "../../src/render";
import { pooler, standaloneNode, TEST_ADDRESSES } from "./fixtures";
import { runSandbox } from "./sandbox";
import { requireTools, startPgBouncer } from "./tools";

/** Starts PgBouncer (as postgres) on a rendered pool file, probes TLS, stops it by PID. */
function runPgBouncer(content: string, pool: PgBouncerPool, port: number) {
  const cfg = pgbouncerConfigPath(pool);
  return runSandbox({
    addresses: [TEST_ADDRESSES[0]],
    tls: true,
    roots: [
      [
        { path: cfg, content, mode: "0640", owner: "postgres:postgres" },
        { path: PATHS.pgbouncerUserlist, content: '"pgbouncer_auth" "not-a-real-secret"\n', mode: "0600", owner: "postgres:postgres" },
      ],
    ],
    script: `${requireTools("pgbouncer", "openssl")}
${startPgBouncer(cfg, pgbouncerRunDir(pool), TEST_ADDRESSES[0], port)}
if [ $up = 1 ]; then
  echo Q | timeout 5 openssl s_client -starttls postgres -connect ${TEST_ADDRESSES[0]}:${port} -tls1_3 -CAfile "$ROOT0${PATHS.caCert}" 2>&1 | grep -E "^(New|Verify return code)" | sed 's/^/tls13: /'
  echo Q | timeout 5 openssl s_client -starttls postgres -connect ${TEST_ADDRESSES[0]}:${port} -tls1_2 -CAfile "$ROOT0${PATHS.caCert}" >/dev/null 2>&1; echo "tls12_rc=$?"
  kill -TERM $PID; wait $PID; echo "exit=$?"
else
  wait $PID; echo "exit=$?"
fi
echo "--- log"; cat "$ROOT0${pgbouncerLogFile(pool)}" 2>/dev/null; cat "$STAGE/pgb.out"
`,
  });
}

describe("PgBouncer 1.18 runs the rendered files", () => {
  test.each([
    ["distributed rw", () => renderPgBouncerConfig(pooler(), "rw"), "rw", 6432],
    ["distributed ro", () => renderPgBouncerConfig(pooler(), "ro"), "ro", 6433],
    ["standalone rw", () => renderPgBouncerConfig(standaloneNode(), "rw"), "rw", 6432],
  ] as const)("%s: starts, serves TLS 1.3, refuses TLS 1.2, logs no configuration warning", (_name, render, pool, port) => {
    const r = runPgBouncer(render(), pool, port);
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(r.stdout).toContain("listening=1");
    expect(r.stdout).toMatch(/tls13: New, TLSv1\.3/);
    expect(r.stdout).toContain("tls13: Verify return code: 0 (ok)");
    expect(r.stdout).toMatch(/tls12_rc=[1-9]/);
    const log = r.stdout.split("--- log")[1]!;
    expect(log).toContain("process up: PgBouncer 1.18");
    // The only warning allowed is the refused TLS 1.2 handshake this test provoked.
    const other = log.split("\n").filter((l) => /WARNING|ERROR|FATAL/.test(l) && !l.includes("TLS handshake error"));
    expect(other).toEqual([]);
  });

  test("the check is not vacuous: PgBouncer refuses a file with an unknown setting", () => {
    const bad = renderPgBouncerConfig(pooler(), "rw").replace("[pgbouncer]\n", "[pgbouncer]\nnot_a_pgbouncer_setting = 1\n");
    const r = runPgBouncer(bad, "rw", 6432);
    expect(r.stdout).toContain("listening=0");
    expect(r.stdout).toMatch(/unknown parameter.*not_a_pgbouncer_setting/i);
  });
});
