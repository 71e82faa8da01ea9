/**
 * What the system tests of the Kubernetes maintenance agent share: the agent
 * (src/render/scripts/k8s-maintenance.py) and the maintenance container's literal environment
 * exactly as the synthesized distributed example ships them (fixtures.ts), a fake API server
 * on loopback (plain HTTP) whose requests the test answers, and agent runs that never block
 * the event loop that server runs on.
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { byName, distributed } from "./fixtures";

/** Answers one request of the fake API server; `raw` is the whole request body. */
export type FakeApiHandler = (req: IncomingMessage, res: ServerResponse, raw: string) => void;

/** What an agent process did. */
export interface AgentRun {
  /** Exit status; null when killed (the time limit). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr interleaved in arrival order. */
  readonly output: string;
}

/** A running harness; {@link AgentHarness.close} in afterAll. */
export interface AgentHarness {
  /** Temporary directory: the agent script and the service-account token file. Removed by close(). */
  readonly dir: string;
  /** Path of maintenance.py, as the ConfigMap ships it. */
  readonly script: string;
  /** The maintenance container's literal environment values, as synthesized. */
  readonly shippedEnv: Record<string, string>;
  /** Base URL of the fake API server, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /**
   * The agent's environment for pod `pod`: PATH, the shipped values, POD_NAME, PATRONI_URL and
   * K8S_API (the server's URL + `paths.patroni` / `paths.k8s`), the REST API password
   * `rest-secret`, the token file, then `extra`.
   */
  env(pod: string, paths: { readonly patroni: string; readonly k8s: string }, extra?: Record<string, string>): Record<string, string>;
  /** Runs `cmd args` in `env`, SIGKILLed after `timeoutMs`; never rejects for a non-zero status. @param timeoutMs @default 30000 */
  run(cmd: string, args: readonly string[], env: Record<string, string>, timeoutMs?: number): Promise<AgentRun>;
  /** Stops the server and removes {@link dir}. */
  close(): Promise<void>;
}

/** Writes the shipped agent into a new temporary directory `<tmp>/<name>-XXXXXX` and starts the fake API server with `handle`. */
export async function startAgentHarness(name: string, handle: FakeApiHandler): Promise<AgentHarness> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const script = join(dir, "maintenance.py");
  const synthesized = distributed();
  writeFileSync(script, byName(synthesized, "kubernetes_config_map_v1", "orders-database").data["maintenance.py"]);
  const container = byName(synthesized, "kubernetes_stateful_set_v1", "orders").spec.template.spec.container.find((c: any) => c.name === "maintenance");
  const shippedEnv: Record<string, string> = Object.fromEntries(container.env.filter((e: any) => typeof e.value === "string").map((e: any) => [e.name, e.value]));
  const token = join(dir, "token");
  writeFileSync(token, "test-token\n");
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => handle(req, res, raw));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    dir,
    script,
    shippedEnv,
    url,
    env: (pod, paths, extra = {}) => ({
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      ...shippedEnv,
      POD_NAME: pod,
      PATRONI_URL: `${url}${paths.patroni}`,
      PATRONI_RESTAPI_PASSWORD: "rest-secret",
      K8S_API: `${url}${paths.k8s}`,
      K8S_TOKEN_FILE: token,
      ...extra,
    }),
    run: (cmd, args, env, timeoutMs = 30_000) =>
      new Promise((resolve) => {
        const p = spawn(cmd, args, { env });
        let [stdout, stderr, output] = ["", "", ""];
        const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
        p.stdout.on("data", (c: Buffer) => ((stdout += c.toString()), (output += c.toString())));
        p.stderr.on("data", (c: Buffer) => ((stderr += c.toString()), (output += c.toString())));
        p.on("error", (e) => ((stderr += `${e.message}\n`), (output += `${e.message}\n`)));
        p.on("close", (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr, output });
        });
      }),
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A JSON response. */
export function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
