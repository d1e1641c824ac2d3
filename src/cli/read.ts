/**
 * `laminate read NAME --master HOST:PORT --partition P [--from O] [--end O]
 * [--limit N] [--follow]`: prints one JSON line per record,
 * `{ "partition", "offset", "record" }` (with or without --json). Without
 * --follow it stops at the partition's end (or --end); with it, it waits for
 * new records until --limit is reached or the signal (Ctrl-C) aborts.
 */
import type { Command } from 'commander';
import { LaminateClient } from '../client/laminate-client.js';
import { address, nonNegativeInt } from './arguments.js';
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

/** `laminate read NAME --partition P`. */
export function registerRead(program: Command): void {
  program.command('read').description('print records of a dataset partition as JSON lines; --follow tails it')
    .argument('<dataset>', 'dataset name')
    .requiredOption('--master <host:port>', 'the master', address)
    .requiredOption('--partition <p>', 'the partition', nonNegativeInt('--partition'))
    .option('--from <offset>', 'first offset (default 0)', nonNegativeInt('--from'))
    .option('--end <offset>', 'stop before this offset', nonNegativeInt('--end'))
    .option('--limit <n>', 'stop after this many records', nonNegativeInt('--limit'))
    .option('--follow', 'wait for new records (until --limit or Ctrl-C)')
    .option('--json', 'print JSON lines (read always does)')
    .action(async (dataset: string, o: { master: string; partition: number; from?: number; end?: number; limit?: number; follow?: boolean }) => {
      const client = new LaminateClient(o.master);
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await readCommand(client, {
          dataset, partition: o.partition, ...(o.from === undefined ? {} : { from: o.from }), ...(o.end === undefined ? {} : { endOffset: o.end }),
          ...(o.limit === undefined ? {} : { limit: o.limit }), ...(o.follow ? { follow: true } : {}),
        }, (line) => { process.stdout.write(`${line}\n`); }, ac.signal);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await client.close();
      }
    });
}
