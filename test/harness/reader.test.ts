/**
 * The live suite's dirty-read check (test/live/harness/reader.ts, issue 11): an id a reader
 * saw that the cluster no longer has after the heal is a dirty read. Pure; no cluster.
 */
import { dirtyReads, type Read } from "../live/harness/reader";

const read = (at: number, ids: number[], inRecovery = false): Read => ({ sentAt: at - 5, at, inRecovery, server: "10.0.0.1", ids });

describe("dirtyReads", () => {
  const present = new Set([1, 2, 3, 5]);

  test("an id that was read and is missing afterwards is a dirty read; ids the cluster kept are not", () => {
    const d = dirtyReads([read(100, [1, 2]), read(200, [1, 2, 3, 4]), read(300, [5])], present);
    expect(d.ids).toEqual([4]);
    expect(d.reads.map((r) => r.at)).toEqual([200]);
  });

  test("counts each lost id once, sorted, however often it was read", () => {
    const d = dirtyReads([read(100, [7, 4]), read(200, [4, 7, 6]), read(300, [6])], present);
    expect(d.ids).toEqual([4, 6, 7]);
    expect(d.reads).toHaveLength(3);
  });

  test("the filter selects the reads that count (e.g. answered as a primary, not in recovery)", () => {
    const reads = [read(100, [4]), read(200, [6], true)];
    expect(dirtyReads(reads, present, (r) => !r.inRecovery).ids).toEqual([4]);
    expect(dirtyReads(reads, present, (r) => r.inRecovery).ids).toEqual([6]);
  });

  test("no reads, or reads of kept rows only: no dirty read", () => {
    expect(dirtyReads([], present)).toEqual({ ids: [], reads: [] });
    expect(dirtyReads([read(100, [1, 2, 3, 5]), read(200, [])], present).ids).toEqual([]);
  });
});
