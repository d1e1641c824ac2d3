/**
 * Growable byte buffers that encoders write into directly: an in-memory one
 * here, a file-backed one in buffered-file-writer.ts.
 */

/**
 * Where encoders append bytes. Encoders call `reserve(n)`, write into the
 * returned buffer from `pos`, then advance `pos`. The buffer may be replaced
 * by a bigger one on `reserve`, so re-read `buf` after each call.
 */
export interface ByteSink {
  buf: Buffer;
  pos: number;
  /** Makes room for `n` more bytes after `pos`; returns the (possibly new) buffer. */
  reserve(n: number): Buffer;
}

/** Grows `buf` to hold at least `needed` bytes, keeping its first `keep` bytes. */
export function grow(buf: Buffer, keep: number, needed: number): Buffer {
  let size = buf.length * 2;
  while (size < needed) size *= 2;
  const bigger = Buffer.allocUnsafe(size);
  buf.copy(bigger, 0, 0, keep);
  return bigger;
}

/** Strings up to this many UTF-16 code units are written by writeUtf8 in JavaScript when ASCII. */
const SHORT_STRING = 16;

/**
 * Writes `s` as UTF-8 into `buf` at `pos` and returns the bytes written,
 * exactly as `buf.write(s, pos)` would; the caller has made room for
 * `3 * s.length` bytes. Short ASCII strings are copied in JavaScript, which
 * costs a fraction of the native call (keys are often short). Pure apart
 * from `buf`.
 */
export function writeUtf8(buf: Buffer, s: string, pos: number): number {
  const n = s.length;
  if (n <= SHORT_STRING) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos + i] = c;
    }
    if (i === n) return n;
  }
  return buf.write(s, pos);
}

/**
 * The bytes of `s` as UTF-8, as `Buffer.byteLength(s)` returns; short ASCII
 * strings are measured in JavaScript, saving the native call. Pure.
 */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n <= SHORT_STRING) {
    let i = 0;
    while (i < n && s.charCodeAt(i) < 0x80) i++;
    if (i === n) return n;
  }
  return Buffer.byteLength(s);
}

/**
 * An in-memory ByteSink that grows as needed: used by tests and callers that
 * build a sorted run in memory (bufferRun reads what it holds).
 */
export class GrowableBuffer implements ByteSink {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  reserve(n: number): Buffer {
    if (this.pos + n > this.buf.length) this.buf = grow(this.buf, this.pos, this.pos + n);
    return this.buf;
  }

  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
