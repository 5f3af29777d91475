// One synchronous write of a whole buffer: writeSync may write less than it is given (a pipe,
// a signal, a nearly full disk), so it is called until every byte is out.
import { writeSync } from 'node:fs';

/** Writes all of `b` to `fd`, synchronously; throws what writeSync throws (EPIPE, ENOSPC...). */
export function writeAllSync(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length;) off += writeSync(fd, b, off);
}
