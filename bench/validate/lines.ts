/**
 * Reads a file's lines as byte ranges of a buffer, in big chunks, for
 * validators that go through gigabytes without making a string per line.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Calls onLine(buf, start, end) for every line of path ('\n' excluded; a last line without '\n' counts). */
export function forEachLine(path: string, onLine: (buf: Buffer, start: number, end: number) => void): void {
  let buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  const fd = openSync(path, 'r');
  try {
    let filled = 0;
    for (;;) {
      if (filled === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const n = readSync(fd, buf, filled, buf.length - filled, null);
      if (n === 0) {
        if (filled > 0) onLine(buf, 0, filled);
        return;
      }
      filled += n;
      let from = 0;
      for (let nl = buf.indexOf(10, from); nl >= 0 && nl < filled; nl = buf.indexOf(10, from)) {
        onLine(buf, from, nl);
        from = nl + 1;
      }
      buf.copyWithin(0, from, filled);
      filled -= from;
    }
  } finally {
    closeSync(fd);
  }
}
