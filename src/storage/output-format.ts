/**
 * The text output of a job: one `key<TAB>value` line per record in the part
 * file of each reducer, written through a big buffer.
 */
import { BufferedFileWriter } from './buffered-file-writer.js';
import { writeUtf8, type ByteSink } from './byte-sink.js';

/**
 * Where an OutputWriter's bytes go: a file (BufferedFileWriter), or an
 * upload to an object store (object-output-committer.ts).
 */
export interface OutputSink extends ByteSink {
  needsFlush(): boolean;
  flush(): Promise<void>;
  /** Writes the rest and ends the output; returns the bytes written. */
  close(options?: { fsync?: boolean }): Promise<number>;
  /** Ends without writing the rest, dropping what it can. */
  abandon(): Promise<void>;
}

/** Whether `s` holds a tab, '\n' or '\r'. Called for every key and string value written. */
function needsQuoting(s: string): boolean {
  const n = s.length;
  if (n <= 16) {
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c <= 13 && (c === 9 || c === 10 || c === 13)) return true;
    }
    return false;
  }
  return s.indexOf('\t') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0;
}

function textOf(s: string): string {
  return needsQuoting(s) ? JSON.stringify(s) : s;
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return textOf(value);
  // What JSON.stringify gives for a number (non-finite ones are null), without its generic path.
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'bigint') return value.toString();
  // JSON has no undefined (nor functions): write what JSON would inside an array.
  return JSON.stringify(value) ?? 'null';
}

/**
 * Formats one output record as `key\tvalue\n`. A string value is written as
 * is, anything else as JSON; a key or string value holding a tab, '\n' or
 * '\r' is written as a JSON string, so each record stays one line with one
 * tab. Pure; called for every record reduce emits.
 */
export function formatOutputLine(key: string, value: unknown): string {
  return `${textOf(key)}\t${valueText(value)}\n`;
}

/**
 * Writes a part file of formatted records. `write` is sync (reduce's emit
 * calls it); the caller awaits `flush()` when `needsFlush()` says so, between
 * reduce calls, and `close()` once at the end.
 */
export class OutputWriter {
  private records = 0;

  private constructor(private readonly w: OutputSink) {}

  /** Creates (or truncates) the part file at `path`. Called once per reduce attempt. */
  static async open(path: string): Promise<OutputWriter> {
    return new OutputWriter(await BufferedFileWriter.open(path));
  }

  /** Writes into `sink` (an upload, say). Called once per reduce attempt. */
  static over(sink: OutputSink): OutputWriter {
    return new OutputWriter(sink);
  }

  /** Appends one record (formatOutputLine). Sync; may grow the buffer. */
  write(key: string, value: unknown): void {
    const k = textOf(key);
    const v = valueText(value);
    const w = this.w;
    const buf = w.reserve(3 * (k.length + v.length) + 2);
    let p = w.pos;
    p += writeUtf8(buf, k, p);
    buf[p++] = 9;
    p += writeUtf8(buf, v, p);
    buf[p++] = 10;
    w.pos = p;
    this.records++;
  }

  /** True when at least 1 MiB is buffered. */
  needsFlush(): boolean {
    return this.w.needsFlush();
  }

  /** Hands the buffer to the OS; at most one write in flight. Safe to call any time. */
  flush(): Promise<void> {
    return this.w.flush();
  }

  /**
   * Writes the rest and closes the file (with `fsync`, waits for the disk).
   * Returns the records and bytes written. Safe to call twice.
   */
  async close(options: { fsync?: boolean } = {}): Promise<{ records: number; bytes: number }> {
    const bytes = await this.w.close(options);
    return { records: this.records, bytes };
  }

  /** Closes without writing the rest, after a failure. Safe to call twice. */
  abort(): Promise<void> {
    return this.w.abandon();
  }
}
