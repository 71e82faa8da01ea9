/**
 * Bounded reading of input files (spec files, plans, synth output): a path must name a
 * regular file no larger than a limit, checked with `stat` before the file is opened (so a
 * device such as `/dev/zero` or a FIFO is refused at once, and a huge file is never read whole).
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";

/** Largest Terraform plan (`terraform show -json`) or `cdk.tf.json` read, in bytes: 256 MiB (a 10k-resource plan is about 10 MiB). */
export const MAX_TERRAFORM_FILE_BYTES = 256 * 1024 * 1024;

/** Thrown by {@link readBoundedText}: the message names the file and what is wrong with it. */
export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputFileError";
  }
}

function mib(bytes: number): string {
  return bytes < 1024 * 1024 ? `${+(bytes / 1024).toFixed(2)} KiB` : `${+(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/**
 * The UTF-8 text of a regular file of at most `maxBytes` bytes.
 * @param path the file
 * @param maxBytes the limit, in bytes
 * @throws InputFileError `<path>: no such file`, `<path>: not a regular file`,
 *   `<path>: too large: N bytes; at most M (… MiB)`, or `<path>: cannot read: <reason>`
 */
export function readBoundedText(path: string, maxBytes: number): string {
  let fd: number | undefined;
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined) throw new InputFileError(`${path}: no such file`);
    // stat before opening: opening a FIFO would wait for a writer
    if (!st.isFile()) throw new InputFileError(`${path}: not a regular file`);
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new InputFileError(`${path}: too large: ${size} bytes; at most ${maxBytes} (${mib(maxBytes)})`);
    // read one byte more than announced, to catch a file growing meanwhile
    const buf = Buffer.alloc(size + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    if (n > maxBytes) throw new InputFileError(`${path}: too large: more than ${maxBytes} bytes (${mib(maxBytes)})`);
    return buf.subarray(0, n).toString("utf8");
  } catch (err) {
    if (err instanceof InputFileError) throw err;
    throw new InputFileError(`${path}: cannot read: ${(err as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
