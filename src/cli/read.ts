/**
 * `laminate read NAME --master HOST:PORT --partition P [--from O] [--end O]
 * [--limit N] [--follow]`: prints one JSON line per record,
 * `{ "partition", "offset", "record" }` (with or without --json). Without
 * --follow it stops at the partition's end (or --end); with it, it waits for
 * new records until --limit is reached or the signal (Ctrl-C) aborts.
 */
import type { LaminateClient } from '../client/laminate-client.js';
import type { Print } from './dataset.js';

export interface ReadCommandOptions {
  readonly dataset: string;
  readonly partition: number;
  /** Default 0. */
  readonly from?: number;
  /** Stop before this offset. */
  readonly endOffset?: number;
  /** Stop after this many records. */
  readonly limit?: number;
  readonly follow?: boolean;
}

/** Resolves when done: at the end, after `limit` records, or once `signal` aborts. */
export async function readCommand(client: LaminateClient, o: ReadCommandOptions, out: Print, signal?: AbortSignal): Promise<void> {
  if (o.limit === 0) return;
  let printed = 0;
  const records = client.read(o.dataset, {
    partition: o.partition, from: o.from ?? 0, follow: o.follow ?? false,
    ...(o.endOffset === undefined ? {} : { endOffset: o.endOffset }), ...(signal ? { signal } : {}),
  });
  for await (const r of records) {
    out(JSON.stringify({ partition: r.partition, offset: r.offset, record: r.record }));
    // Leaving the loop ends the stream on the master too.
    if (o.limit !== undefined && ++printed >= o.limit) break;
  }
}
