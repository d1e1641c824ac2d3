/**
 * What handlers wrote, kept per function in the master's memory: the newest
 * lines up to a count and a byte budget per function (the oldest go first),
 * each with its invocation's request and event ids. Lost when the master
 * restarts (CloudWatch keeps Lambda's; here `laminate function logs` reads
 * what this master saw). Followers hear each line as it is kept.
 */
import type { FunctionLogLine } from '../common/function-shapes.js';

export interface FunctionLogOptions {
  /** Lines kept per function. Default 2,000. */
  readonly linesKept?: number;
  /** Bytes of messages kept per function. Default 1 MB. */
  readonly bytesKept?: number;
}

interface Ring {
  lines: FunctionLogLine[];
  bytes: number;
  readonly followers: Set<(line: FunctionLogLine) => void>;
}

export class FunctionLogs {
  private readonly rings = new Map<string, Ring>();
  private readonly linesKept: number;
  private readonly bytesKept: number;

  constructor(options: FunctionLogOptions = {}) {
    this.linesKept = options.linesKept ?? 2_000;
    this.bytesKept = options.bytesKept ?? 1024 * 1024;
  }

  private ring(name: string): Ring {
    let r = this.rings.get(name);
    if (!r) {
      r = { lines: [], bytes: 0, followers: new Set() };
      this.rings.set(name, r);
    }
    return r;
  }

  /** Keeps `line` (the oldest lines go past the bounds) and tells the followers. */
  add(line: FunctionLogLine): void {
    const r = this.ring(line.function);
    r.lines.push(line);
    r.bytes += line.message.length;
    let drop = 0;
    while (r.lines.length - drop > this.linesKept || (r.bytes > this.bytesKept && r.lines.length - drop > 1)) {
      r.bytes -= r.lines[drop]!.message.length;
      drop++;
    }
    if (drop > 0) r.lines = r.lines.slice(drop);
    for (const f of [...r.followers]) f(line);
  }

  /** The kept lines of `name`, oldest first: the last `limit` of those at or after `sinceMs`. */
  lines(name: string, options: { readonly sinceMs?: number; readonly limit?: number } = {}): FunctionLogLine[] {
    const all = this.rings.get(name)?.lines ?? [];
    const since = options.sinceMs === undefined ? all : all.filter((l) => l.at >= options.sinceMs!);
    return options.limit === undefined ? [...since] : since.slice(Math.max(0, since.length - options.limit));
  }

  /** Calls `listener` with each new line of `name`; returns the unsubscribe. */
  follow(name: string, listener: (line: FunctionLogLine) => void): () => void {
    const r = this.ring(name);
    r.followers.add(listener);
    return () => { r.followers.delete(listener); };
  }

  /** Forgets a deleted function's lines (its followers stay, for a function deployed again under the name). */
  forget(name: string): void {
    const r = this.rings.get(name);
    if (!r) return;
    r.lines = [];
    r.bytes = 0;
  }
}
