/**
 * A continuous writer: one persistent psql session that inserts ids 1, 2, 3, … one
 * statement (one transaction) at a time and records each acknowledgement (the RETURNING
 * row arrived). On any error, timeout or lost connection it reconnects and goes on with
 * the next id. Bounded in time and in count.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "child_process";
import { APP_USER } from "./constants";
import { sleep } from "./exec";

/** One acknowledged write. */
export interface Ack {
  readonly id: number;
  /** ms since the epoch when the acknowledgement arrived. */
  readonly at: number;
}

/** What a writer did. */
export interface WriterResult {
  readonly tag: string;
  readonly acks: Ack[];
  /** Statements sent whose outcome is unknown (error, timeout, lost connection). */
  readonly unacknowledged: number;
  /** ms since the epoch of every failed attempt. */
  readonly failures: number[];
  /** What psql printed on stderr (the error the client saw), with when it arrived; the first {@link MAX_ERRORS}. */
  readonly errors: { readonly at: number; readonly message: string }[];
}

/** How many stderr messages a writer keeps. */
const MAX_ERRORS = 200;

export interface WriterOptions {
  /** Command prefix that runs psql (default: psql on this machine). E.g. nsenter … psql. */
  readonly psql?: readonly string[];
  /** libpq connection string. */
  readonly connInfo: string;
  /** Tag stored with each row (the `writer` column), so writers never collide. */
  readonly tag: string;
  /** First id. Ids are `idBase + n`. */
  readonly idBase: number;
  /** Give up on a statement after this long (then reconnect). @default 5000 */
  readonly statementTimeoutMs?: number;
  /** Hard stop after this long. @default 300000 */
  readonly maxDurationMs?: number;
  /** Hard stop after this many statements. @default 200000 */
  readonly maxStatements?: number;
  /** Environment for psql (PGPASSWORD is set to the application password unless given). */
  readonly env?: Record<string, string>;
}

/** Runs until {@link stop} (or its bounds). */
export class ContinuousWriter {
  private readonly acks: Ack[] = [];
  private readonly failures: number[] = [];
  private readonly errors: { at: number; message: string }[] = [];
  private unacknowledged = 0;
  private stopping = false;
  private loop?: Promise<void>;
  private child?: ChildProcessWithoutNullStreams;

  constructor(private readonly options: WriterOptions) {}

  start(): this {
    this.loop = this.run();
    return this;
  }

  /** Acknowledgements so far. */
  get ackCount(): number {
    return this.acks.length;
  }

  /** Time of the first acknowledgement after `t` (ms since the epoch), if any. */
  firstAckAfter(t: number): number | undefined {
    return this.acks.find((a) => a.at > t)?.at;
  }

  /** How many acknowledgements arrived after `t` (ms since the epoch). */
  acksAfter(t: number): number {
    return this.acks.filter((a) => a.at > t).length;
  }

  /** The first error message (psql's stderr) after `after` (ms since the epoch) matching `pattern`, with when it arrived, if any. */
  firstError(pattern: RegExp, after = 0): { readonly at: number; readonly message: string } | undefined {
    return this.errors.find((e) => e.at > after && pattern.test(e.message));
  }

  async stop(): Promise<WriterResult> {
    this.stopping = true;
    await this.loop;
    return { tag: this.options.tag, acks: [...this.acks], unacknowledged: this.unacknowledged, failures: [...this.failures], errors: [...this.errors] };
  }

  private spawnPsql(): { child: ChildProcessWithoutNullStreams; lines: string[]; waiters: (() => void)[]; closed: { v: boolean } } {
    const argv = [...(this.options.psql ?? ["psql"]), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", this.options.connInfo];
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...process.env, PGPASSWORD: APP_USER.password, PGAPPNAME: `writer-${this.options.tag}`, ...(this.options.env ?? {}) },
    });
    const state = { child, lines: [] as string[], waiters: [] as (() => void)[], closed: { v: false } };
    let buf = "";
    const wake = () => state.waiters.splice(0).forEach((w) => w());
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        state.lines.push(buf.slice(0, i).trim());
        buf = buf.slice(i + 1);
      }
      wake();
    });
    child.stderr.on("data", (d: Buffer) => {
      const message = d.toString().trim();
      if (message && this.errors.length < MAX_ERRORS) this.errors.push({ at: Date.now(), message });
    });
    child.stdin.on("error", () => undefined);
    child.on("close", () => {
      state.closed.v = true;
      wake();
    });
    child.on("error", () => {
      state.closed.v = true;
      wake();
    });
    return state;
  }

  private async run(): Promise<void> {
    const timeoutMs = this.options.statementTimeoutMs ?? 5000;
    const deadline = Date.now() + (this.options.maxDurationMs ?? 300_000);
    const max = this.options.maxStatements ?? 200_000;
    let n = 0;
    let session: ReturnType<ContinuousWriter["spawnPsql"]> | undefined;
    while (!this.stopping && Date.now() < deadline && n < max) {
      if (!session || session.closed.v) {
        session = this.spawnPsql();
        this.child = session.child;
      }
      n++;
      const id = this.options.idBase + n;
      session.child.stdin.write(`INSERT INTO writes (id, writer) VALUES (${id}, '${this.options.tag}') RETURNING id;\n`);
      const got = await waitLine(session, String(id), timeoutMs);
      if (got) {
        this.acks.push({ id, at: Date.now() });
      } else {
        this.unacknowledged++;
        this.failures.push(Date.now());
        session.child.kill("SIGKILL");
        session = undefined;
        await sleep(100);
      }
    }
    if (session) {
      session.child.stdin.end();
      session.child.kill("SIGKILL");
    }
    void this.child;
  }
}

async function waitLine(
  s: { lines: string[]; waiters: (() => void)[]; closed: { v: boolean } },
  expected: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const idx = s.lines.indexOf(expected);
    if (idx >= 0) {
      s.lines.splice(0, idx + 1);
      return true;
    }
    if (s.closed.v) return false;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      s.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

/** Ids of `acks` missing from `present`. */
export function lostWrites(acks: readonly Ack[], present: ReadonlySet<number>): number[] {
  return acks.filter((a) => !present.has(a.id)).map((a) => a.id);
}

/**
 * Longest time (ms) between two consecutive acknowledgements around an event: over the
 * pairs whose later acknowledgement came after `from` and whose earlier one before `to`.
 * This is the write-unavailability window the event caused.
 */
export function longestGap(acks: readonly Ack[], from: number, to: number): number {
  const b = longestGapBounds(acks, from, to);
  return b.to - b.from;
}

/** The two acknowledgement times (ms since the epoch) that bound {@link longestGap}; `{ from: 0, to: 0 }` without such a pair. */
export function longestGapBounds(acks: readonly Ack[], from: number, to: number): { from: number; to: number } {
  let best = { from: 0, to: 0 };
  for (let i = 1; i < acks.length; i++) {
    if (acks[i].at > from && acks[i - 1].at < to && acks[i].at - acks[i - 1].at > best.to - best.from) best = { from: acks[i - 1].at, to: acks[i].at };
  }
  return best;
}
