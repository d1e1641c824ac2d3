/**
 * Reading the lines of an input split, with the semantics of Hadoop's
 * LineRecordReader: a line belongs to the split holding its first byte, so
 * every line of a file is read by exactly one split.
 */
import { isAscii } from 'node:buffer';
import { open, readFile } from 'node:fs/promises';
import { describe, LaminateError } from '../common/errors.js';
import { isThenable } from '../common/thenable.js';
import type { FileSplit } from '../common/input-split.js';
import { isS3Path, type RangeReader } from './object-store.js';
import { locate } from './store-path.js';

/**
 * Random access to an input file: the file itself for a local path, ranged
 * GETs for an s3:// one (only the bytes a split needs are fetched).
 */
async function openInput(path: string): Promise<RangeReader> {
  if (!isS3Path(path)) return open(path, 'r');
  const { store, key } = await locate(path);
  return store.openRange(key);
}

/** The part of a file split a line reader needs. */
export type FileRange = Pick<FileSplit, 'path' | 'start' | 'length'>;

/** Options of readSplitLines. */
export interface ReadLinesOptions {
  /** Bytes read per syscall; default 1 MiB. Grows for a longer line. */
  readonly chunkSize?: number;
}

const DEFAULT_CHUNK = 1024 * 1024;
/**
 * Text is decoded (and cut into lines) in pieces of about this many bytes,
 * ending at a '\n'. A string this small is an ordinary object of V8's young
 * generation, made by a bump of a pointer; a bigger one goes to the large
 * object space (fresh pages each time) or, past about 1 MB of Latin-1, is
 * made external by Node (memory the collector lets pile up to 64 MB before it
 * looks): either costs five to ten times as much per byte, measured.
 */
const PIECE_BYTES = 64 * 1024;
/** What a read asks for once it nears the split's end (see readSplitLines). */
const TAIL_READ = 64 * 1024;
const NL = 10;
const CR = 13;

/**
 * The file offset where the split's first line starts: 0 for a split at the
 * start of the file, else just after the first '\n' at or after start - 1;
 * `-1` when the file has no such '\n'.
 */
async function firstLineStart(fh: RangeReader, start: number, buf: Buffer): Promise<number> {
  if (start === 0) return 0;
  let at = start - 1;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, at);
    if (bytesRead === 0) return -1;
    const nl = buf.indexOf(NL);
    if (nl >= 0 && nl < bytesRead) return at + nl + 1;
    at += bytesRead;
  }
}

/**
 * Calls `onLine` for every line of `split` (see the file comment), in file
 * order, with the line's index within the split (from 0). Lines come without
 * '\n' and without one trailing '\r'; a last line without '\n' counts. A
 * line crossing the split's end is read in full. Text is decoded as UTF-8 a
 * region of whole lines at a time, so a character is never cut. `onLine` is
 * awaited only when it returns a thenable. Returns the number of lines and
 * the bytes they took (line endings included).
 *
 * Called by the map runner once per map attempt of a text or jsonl split.
 * Reads only; calling it twice reads the same lines.
 */
export async function readSplitLines(
  split: FileRange,
  onLine: (line: string, lineIndex: number) => void | Promise<void>,
  options: ReadLinesOptions = {},
): Promise<{ lines: number; bytes: number }> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected chunkSize to be a positive integer, got ${describe(chunkSize)}`);
  }
  const end = split.start + split.length;
  const fh = await openInput(split.path);
  try {
    // A small split needs no big buffer: it grows if a line is longer.
    let buf = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(64 * 1024, split.length + 1)));
    const first = await firstLineStart(fh, split.start, buf);
    if (first < 0 || first >= end) return { lines: 0, bytes: 0 };
    // buf[0, filled) holds the file from bufAt on; bufAt is always the start
    // of the next line to deliver, which lies before `end`.
    let bufAt = first;
    let filled = 0;
    let lines = 0;
    let bytes = 0;
    for (;;) {
      if (filled === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      // Past the split's end only the rest of its last line is wanted: read on
      // in small steps there, so a ranged GET on S3 fetches little beyond the split.
      const readAt = bufAt + filled;
      const want = readAt + TAIL_READ >= end ? Math.min(buf.length - filled, TAIL_READ) : buf.length - filled;
      const { bytesRead } = await fh.read(buf, filled, want, readAt);
      if (bytesRead === 0) {
        // End of file: what is left is a last line without '\n'.
        if (filled > 0) {
          const last = buf[filled - 1] === CR ? filled - 1 : filled;
          const r = onLine(decodeText(buf, 0, last), lines++);
          if (isThenable(r)) await r;
          bytes += filled;
        }
        return { lines, bytes };
      }
      const scanFrom = filled;
      filled += bytesRead;
      // Our last line is the one holding byte end - 1: it ends at the first
      // '\n' at or after it. Before that, every '\n' ends one of our lines.
      const stopFrom = Math.max(end - 1 - bufAt, scanFrom);
      const stop = stopFrom < filled ? buf.indexOf(NL, stopFrom) : -1;
      const done = stop >= 0 && stop < filled;
      const regionEnd = done ? stop + 1 : buf.lastIndexOf(NL, filled - 1) + 1;
      if (regionEnd > 0) {
        const delivered = deliverRegion(buf, 0, regionEnd - 1, lines, onLine);
        lines = typeof delivered === 'number' ? delivered : await delivered;
        bytes += regionEnd;
        if (done) return { lines, bytes };
        buf.copyWithin(0, regionEnd, filled);
        bufAt += regionEnd;
        filled -= regionEnd;
      }
    }
  } finally {
    await fh.close();
  }
}

/**
 * `buf[start, end)` decoded as UTF-8. Text that is all ASCII (the common
 * case, checked at memory speed) is decoded as Latin-1 instead, which gives
 * the same string for about a third of the cost (V8's UTF-8 decoder works a
 * byte at a time; Latin-1 is a copy).
 */
export function decodeText(buf: Buffer, start: number, end: number): string {
  return buf.toString(isAscii(buf.subarray(start, end)) ? 'latin1' : 'utf8', start, end);
}

/**
 * Calls onLine for each '\n'-separated line of `buf[start, end)` (decoded as
 * decodeText does), a piece of about PIECE_BYTES at a time, cut at a '\n';
 * returns the next line index, or a promise of it once an onLine returned a
 * thenable. `buf` must stay unchanged until then.
 */
function deliverRegion(
  buf: Buffer,
  start: number,
  end: number,
  index: number,
  onLine: (line: string, lineIndex: number) => void | Promise<void>,
): number | Promise<number> {
  for (;;) {
    const cut = pieceEnd(buf, start, end);
    const delivered = deliverLines(decodeText(buf, start, cut), 0, index, onLine);
    if (typeof delivered !== 'number') return resumeRegion(delivered, buf, cut, end, onLine);
    index = delivered;
    if (cut === end) return index;
    start = cut + 1;
  }
}

/**
 * Where the piece of `buf[start, end)` from `start` ends: at the last '\n'
 * within PIECE_BYTES, or, for a longer line, at the first '\n' after; at
 * `end` when the rest fits. `buf[end]` is a '\n'.
 */
function pieceEnd(buf: Buffer, start: number, end: number): number {
  if (end - start <= PIECE_BYTES) return end;
  const nl = buf.lastIndexOf(NL, start + PIECE_BYTES);
  return nl >= start ? nl : buf.indexOf(NL, start + PIECE_BYTES);
}

/** deliverRegion once a line's onLine returned a thenable: awaits it, then every piece left. */
async function resumeRegion(
  pending: Promise<number>,
  buf: Buffer,
  cut: number,
  end: number,
  onLine: (line: string, lineIndex: number) => void | Promise<void>,
): Promise<number> {
  let index = await pending;
  while (cut < end) {
    const start = cut + 1;
    cut = pieceEnd(buf, start, end);
    const delivered = deliverLines(decodeText(buf, start, cut), 0, index, onLine);
    index = typeof delivered === 'number' ? delivered : await delivered;
  }
  return index;
}

/**
 * Calls onLine for each '\n'-separated line of `text` from `from` on; returns
 * the next line index, or a promise of it once an onLine returned a thenable
 * (the lines are delivered synchronously until then).
 */
function deliverLines(
  text: string,
  from: number,
  index: number,
  onLine: (line: string, lineIndex: number) => void | Promise<void>,
): number | Promise<number> {
  const n = text.length;
  for (;;) {
    const nl = text.indexOf('\n', from);
    const to = nl < 0 ? n : nl;
    const line = to > from && text.charCodeAt(to - 1) === CR ? text.slice(from, to - 1) : text.slice(from, to);
    const r = onLine(line, index++);
    if (r !== undefined && isThenable(r)) return resumeLines(r, text, nl, index, onLine);
    if (nl < 0) return index;
    from = nl + 1;
  }
}

/**
 * Awaits `pending`, then delivers the lines of `text` after the '\n' at `nl`
 * (none when nl < 0), awaiting each onLine that returns a thenable: once a
 * map is asynchronous, the rest of the region goes this way.
 */
async function resumeLines(
  pending: PromiseLike<unknown>,
  text: string,
  nl: number,
  index: number,
  onLine: (line: string, lineIndex: number) => void | Promise<void>,
): Promise<number> {
  await pending;
  const n = text.length;
  while (nl >= 0) {
    const from = nl + 1;
    nl = text.indexOf('\n', from);
    const to = nl < 0 ? n : nl;
    const line = to > from && text.charCodeAt(to - 1) === CR ? text.slice(from, to - 1) : text.slice(from, to);
    const r = onLine(line, index++);
    if (r !== undefined && isThenable(r)) await r;
  }
  return index;
}

/**
 * Reads a whole file as UTF-8: the one record of a `whole` split. Called by
 * the map runner; reads only.
 */
export async function readWholeFile(path: string): Promise<string> {
  if (!isS3Path(path)) return readFile(path, 'utf8');
  const { store, key } = await locate(path);
  return (await store.read(key)).toString('utf8');
}

/**
 * The 1-based line number in the file of the split's line number
 * `lineIndex` (as passed to onLine), counting the '\n' bytes before the
 * split's first line in chunks. Called only to word error messages such as
 * "malformed JSON at /x/y.jsonl line 17"; reads only.
 */
export async function fileLineNumber(split: FileRange, lineIndex: number): Promise<number> {
  const fh = await openInput(split.path);
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    const first = await firstLineStart(fh, split.start, buf);
    let before = 0;
    if (first > 0) {
      // Count every '\n' in [0, first): the one at first - 1 included.
      for (let at = 0; at < first;) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, first - at), at);
        if (bytesRead === 0) break;
        for (let i = buf.indexOf(NL); i >= 0 && i < bytesRead; i = buf.indexOf(NL, i + 1)) before++;
        at += bytesRead;
      }
    }
    return before + lineIndex + 1;
  } finally {
    await fh.close();
  }
}
