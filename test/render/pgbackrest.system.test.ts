import {
  PATHS,
  PGBACKREST_TLS_SERVER_PORT,
  renderPgBackRestConfig,
  } from "../../src/render";
import { distributedNode, standaloneNode, TEST_ADDRESSES } from "./fixtures";
import { runSandbox } from "./sandbox";
import { requireTools } from "./tools";

/**
 * Runs pgBackRest on a rendered file inside an isolated network namespace (nothing is routed
 * out: the S3 endpoint and the instance metadata service are unreachable). `backup` parses and
 * validates every option it uses, then fails only when it reaches the repository: error [049].
 */
function pgbackrest(content: string, command: string) {
  return runSandbox({
    addresses: [],
    tls: true,
    timeoutSec: 60,
    roots: [
      [
        { path: PATHS.pgbackrestConfig, content },
        { path: `${PATHS.pgbackrestConfigIncludeDir}/secret.conf`, content: "[global]\nrepo1-cipher-pass=test-only-pass\n" },
      ],
    ],
    script: `${requireTools("pgbackrest")}
chroot "$ROOT0" pgbackrest --stanza=orders --log-level-console=warn --log-level-file=off --io-timeout=1 --db-timeout=1 --protocol-timeout=2 ${command} 2>&1
echo "rc=$?"
`,
  });
}

describe("pgBackRest 2.45 accepts the rendered files", () => {
  test.each([
    ["distributed", () => renderPgBackRestConfig(distributedNode(0))],
    ["standalone", () => renderPgBackRestConfig(standaloneNode())],
  ])("%s: backup parses every option and only fails on the unreachable repository", (_n, render) => {
    const r = pgbackrest(render(), "backup");
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(r.stdout).not.toContain("invalid option");
    expect(r.stdout).toContain("rc=49");
  });

  test("the check is not vacuous: an unknown option is reported", () => {
    const r = pgbackrest(renderPgBackRestConfig(standaloneNode()).replace("[global]\n", "[global]\nrepo1-not-an-option=1\n"), "backup");
    expect(r.stdout).toContain("configuration file contains invalid option 'repo1-not-an-option'");
  });

  test("the check is not vacuous: an invalid value stops pgBackRest before it does anything", () => {
    const r = pgbackrest(renderPgBackRestConfig(standaloneNode()).replace("compress-type=zst", "compress-type=nope"), "backup");
    expect(r.stdout).toContain("'nope' is not allowed for 'compress-type' option");
    expect(r.stdout).toContain("rc=32");
  });

  test("distributed: the TLS server starts on the member address with the rendered settings and speaks TLS 1.3", () => {
    const r = runSandbox({
      addresses: TEST_ADDRESSES,
      tls: true,
      timeoutSec: 120,
      roots: [[{ path: PATHS.pgbackrestConfig, content: renderPgBackRestConfig(distributedNode(0)) }]],
      script: `${requireTools("pgbackrest", "openssl")}
chroot --userspec=postgres:postgres "$ROOT0" pgbackrest --log-level-console=info --log-level-file=off server > "$STAGE/server.log" 2>&1 & PID=$!
up=0
for n in $(seq 1 50); do
  if (exec 3<>/dev/tcp/${TEST_ADDRESSES[0]}/${PGBACKREST_TLS_SERVER_PORT}) 2>/dev/null; then up=1; break; fi
  kill -0 $PID 2>/dev/null || break
  sleep 0.2
done
echo "listening=$up"
# Up to 3 handshakes of at most 20 s each: on a loaded machine one may not finish in time.
for try in 1 2 3; do
  hs=$(echo | timeout 20 openssl s_client -connect ${TEST_ADDRESSES[0]}:${PGBACKREST_TLS_SERVER_PORT} -CAfile "$ROOT0${PATHS.caCert}" \\
    -cert "$ROOT0${PATHS.serverCert}" -key "$ROOT0${PATHS.serverKey}" 2>&1 | grep -E "^(New|Verify return code)")
  case "$hs" in *"New, TLS"*) break ;; esac
done
echo "$hs"
kill $PID; wait $PID
cat "$STAGE/server.log"
`,
    });
    expect(r.stderr).not.toContain("MISSING TOOL");
    expect(r.stdout).toContain("listening=1");
    expect(r.stdout).toMatch(/New, TLSv1\.3/);
    expect(r.stdout).toContain("Verify return code: 0 (ok)");
    expect(r.stdout).not.toContain("invalid option");
  });
});
