/**
 * A continuous reader (issue 11, the Jepsen-style read checks): one persistent psql session
 * that reads the ids of the `writes` rows in given id ranges, over and over, and records
 * every answer with its timestamps, whether the answering server was in recovery, and its
 * address. After a fault, {@link dirtyReads} compares what was read with what the cluster
 * kept: an id that was read but is gone later was a dirty read (a row the cluster lost).
 *
 * Each query reads only ids above the highest one seen in its range minus
 * {@link RE_READ_WINDOW} (a writer inserts its ids in increasing order), so a read stays
 * small however long the run. Bounded in time and in count; reconnects after an error,
 * a timeout or a lost connection.
 */
import { spawn } from "child_process";
import { APP_USER } from "./constants";
import { sleep } from "./exec";

/** Ids below the highest seen id that every read reads again (rows committed out of order). */
export const RE_READ_WINDOW = 200;

/** Ids of one writer: `lo < id <= hi`. */
export interface IdRange {
  readonly lo: number;
  readonly hi: number;
}

/** One answered read. */
export interface Read {
  /** ms since the epoch when the query was sent. */
  readonly sentAt: number;
  /** ms since the epoch when the answer arrived. */
  readonly at: number;
  /** `pg_is_in_recovery()` of the answering server. */
  readonly inRecovery: boolean;
  /** `inet_server_addr()` of the answering server (`local` over a Unix socket). */
  readonly server: string;
  readonly ids: readonly number[];
}

export interface ReaderOptions {
  /** Command prefix that runs psql (default: psql on this machine), e.g. nsenter … psql. */
  readonly psql?: readonly string[];
  /** libpq connection string. */
  readonly connInfo: string;
  /** Name (application_name `reader-<name>`). */
  readonly name: string;
  readonly ranges: readonly IdRange[];
  /** Give up on a read after this long (then reconnect). @default 3000 */
  readonly statementTimeoutMs?: number;
  /** Pause between two reads (the machine is small). @default 100 */
  readonly pauseMs?: number;
  /** Hard stop after this long. @default 600000 */
  readonly maxDurationMs?: number;
  /** Hard stop after this many reads. @default 20000 */
  readonly maxReads?: number;
}

/** What a reader saw. */
export interface ReaderResult {
  readonly name: string;
  readonly reads: Read[];
  /** ms since the epoch of every failed read (error, timeout, lost connection). */
  readonly failures: number[];
}

/** Runs until {@link stop} (or its bounds). */
export class ContinuousReader {
  private readonly reads: Read[] = [];
  private readonly failures: number[] = [];
  private readonly highest: number[];
  private stopping = false;
  private loop?: Promise<void>;

  constructor(private readonly options: ReaderOptions) {
    this.highest = options.ranges.map((r) => r.lo);
  }

  start(): this {
    this.loop = this.run();
    return this;
  }

  /** Answered reads so far. */
  get readCount(): number {
    return this.reads.length;
  }

  async stop(): Promise<ReaderResult> {
    this.stopping = true;
    await this.loop;
    return { name: this.options.name, reads: [...this.reads], failures: [...this.failures] };
  }

  private query(seq: number): string {
    const where = this.options.ranges
      .map((r, i) => `(id > ${Math.max(r.lo, this.highest[i] - RE_READ_WINDOW)} AND id <= ${r.hi})`)
      .join(" OR ");
    // One line per answer: R<seq>|<in recovery 0/1>|<server address>|<ids comma-separated>
    return (
      `SELECT 'R${seq}|' || pg_is_in_recovery()::int || '|' || coalesce(host(inet_server_addr()), 'local') || '|' || ` +
      `coalesce((SELECT string_agg(id::text, ',') FROM writes WHERE ${where}), '');\n`
    );
  }

  private async run(): Promise<void> {
    const timeoutMs = this.options.statementTimeoutMs ?? 3000;
    const deadline = Date.now() + (this.options.maxDurationMs ?? 600_000);
    const max = this.options.maxReads ?? 20_000;
    let session: Session | undefined;
    for (let seq = 1; !this.stopping && Date.now() < deadline && seq <= max; seq++) {
      if (!session || session.closed) session = openSession(this.options);
      const sentAt = Date.now();
      session.child.stdin.write(this.query(seq));
      const line = await session.next(`R${seq}|`, timeoutMs);
      if (line === undefined) {
        this.failures.push(Date.now());
        session.child.kill("SIGKILL");
        session = undefined;
        await sleep(200);
        continue;
      }
      const [, rec, server, list] = line.split("|");
      const ids = list ? list.split(",").map(Number) : [];
      this.options.ranges.forEach((r, i) => {
        for (const id of ids) if (id > r.lo && id <= r.hi && id > this.highest[i]) this.highest[i] = id;
      });
      this.reads.push({ sentAt, at: Date.now(), inRecovery: rec === "1", server, ids });
      await sleep(this.options.pauseMs ?? 100);
    }
    if (session) {
      session.child.stdin.end();
      session.child.kill("SIGKILL");
    }
  }
}

interface Session {
  readonly child: ReturnType<typeof spawn> & { stdin: NodeJS.WritableStream };
  readonly closed: boolean;
  /** The next output line starting with `prefix` (older lines are dropped), or undefined after `timeoutMs` or when psql exits. */
  next(prefix: string, timeoutMs: number): Promise<string | undefined>;
}

function openSession(o: ReaderOptions): Session {
  const argv = [...(o.psql ?? ["psql"]), "-X", "-A", "-t", "-q", "-d", o.connInfo];
  const child = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, PGPASSWORD: APP_USER.password, PGAPPNAME: `reader-${o.name}` },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let closed = false;
  let buf = "";
  const wake = () => waiters.splice(0).forEach((w) => w());
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      lines.push(buf.slice(0, i).trim());
      buf = buf.slice(i + 1);
    }
    wake();
  });
  child.stderr!.on("data", () => undefined);
  child.stdin!.on("error", () => undefined);
  const close = () => {
    closed = true;
    wake();
  };
  child.on("close", close);
  child.on("error", close);
  return {
    child: child as Session["child"],
    get closed() {
      return closed;
    },
    async next(prefix: string, timeoutMs: number): Promise<string | undefined> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const idx = lines.findIndex((l) => l.startsWith(prefix));
        if (idx >= 0) return lines.splice(0, idx + 1)[idx];
        if (closed) return undefined;
        const left = until - Date.now();
        if (left <= 0) return undefined;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
  };
}

/** Dirty reads of one reader: ids it read that the cluster no longer has. */
export interface DirtyReads {
  /** Distinct ids read and later lost. */
  readonly ids: number[];
  /** Reads that returned at least one lost id. */
  readonly reads: Read[];
}

/** The reads (optionally only those matching `filter`) that returned ids missing from `present`. */
export function dirtyReads(reads: readonly Read[], present: ReadonlySet<number>, filter: (r: Read) => boolean = () => true): DirtyReads {
  const ids = new Set<number>();
  const dirty: Read[] = [];
  for (const r of reads) {
    if (!filter(r)) continue;
    const lost = r.ids.filter((id) => !present.has(id));
    if (lost.length) {
      dirty.push(r);
      lost.forEach((id) => ids.add(id));
    }
  }
  return { ids: [...ids].sort((a, b) => a - b), reads: dirty };
}
