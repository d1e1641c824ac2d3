/**
 * `laminate append NAME [FILE] --master HOST:PORT [--key FIELD] [--json]`:
 * appends the JSON lines of a file, or of stdin, through one idempotent
 * producer (batched, retried through a master restart).
 *
 * A malformed line (or a record too large, or a key that cannot be hashed)
 * is an INVALID_ARGUMENT error naming the file (or stdin) and line:
 * - from a file, every line is checked before any is sent, so nothing of the
 *   file is appended;
 * - from stdin, which cannot be read twice, the lines before the bad one are
 *   appended, and the error says exactly which offsets they got.
 *
 * With `--producer-id ID` the append can be run again after it stopped
 * half way (killed, a lost connection): the producer replays the input from
 * its start under that id, and the store skips the records that id had
 * stored, so each line is stored once (see ProducerOptions.replay). The
 * input must be the same lines in the same order, with the same --key.
 *
 * Prints, with --json, `{ "appended": N, "partitions": [ { "partition",
 * "firstOffset", "count" } ] }` (plus `"alreadyStored": M` with
 * --producer-id: lines an earlier run had stored); without, a sentence of
 * the same.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { errorMessage, LaminateError } from '../common/errors.js';
import { AppendedRanges } from '../client/appended-ranges.js';
import type { Command } from 'commander';
import { LaminateClient } from '../client/laminate-client.js';
import { address } from './arguments.js';
import type { PreparedRecord, Producer } from '../client/producer.js';
import type { Print } from './dataset.js';

export interface AppendCommandOptions {
  readonly dataset: string;
  /** A file of JSON lines; absent: `stdin`. */
  readonly file?: string;
  /** Partition by this field of each record. */
  readonly key?: string;
  /** Replay under this producer id: a re-run stores each record once. */
  readonly producerId?: string;
  readonly json?: boolean;
}

/** A line of input that cannot be appended. */
class BadLine extends Error {
  constructor(readonly where: string, readonly line: number, reason: string) {
    super(`${where} line ${line}: ${reason}`);
  }
}

/** The records of `input`'s lines, prepared by `producer` (blank lines skipped); throws BadLine. */
async function* preparedLines(input: Readable, where: string, producer: Producer): AsyncGenerator<PreparedRecord> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(text) as unknown;
    } catch (err) {
      throw new BadLine(where, n, `malformed JSON: ${errorMessage(err)}`);
    }
    try {
      yield producer.prepare(record);
    } catch (err) {
      throw new BadLine(where, n, errorMessage(err));
    }
  }
}

export async function appendCommand(client: LaminateClient, o: AppendCommandOptions, stdin: Readable, out: Print): Promise<void> {
  const producer = client.producer(o.dataset, {
    ...(o.key === undefined ? {} : { key: o.key }),
    ...(o.producerId === undefined ? {} : { producerId: o.producerId, replay: true }),
  });
  const where = o.file ?? 'stdin';
  const open = (): Readable => (o.file === undefined ? stdin : createReadStream(o.file));
  if (o.file !== undefined) {
    // A first pass checks every line, so that a bad one appends nothing.
    try {
      for await (const _ of preparedLines(open(), where, producer)) { /* checked */ }
    } catch (err) {
      await producer.close();
      if (err instanceof BadLine) throw new LaminateError('INVALID_ARGUMENT', `${err.message}; nothing of ${where} was appended`);
      throw err;
    }
  }
  const ranges = new AppendedRanges();
  const acks: Array<Promise<void>> = [];
  let bad: BadLine | undefined;
  try {
    for await (const prepared of preparedLines(open(), where, producer)) {
      await producer.ready();
      acks.push(producer.sendPrepared(prepared).then((ack) => ranges.add(ack)));
      // Settled acks are let go of, so a long file holds no promise per line.
      if (acks.length >= 16_384) await Promise.all(acks.splice(0));
    }
  } catch (err) {
    if (!(err instanceof BadLine)) {
      await Promise.allSettled([producer.close(), ...acks]);
      throw err;
    }
    bad = err;
  }
  await producer.close();
  await Promise.all(acks);
  if (bad) {
    const before = ranges.alreadyStored > 0 ? ` (and ${ranges.alreadyStored} found stored by an earlier run)` : '';
    throw new LaminateError('INVALID_ARGUMENT', `${bad.message}; the ${ranges.count} records before it were appended${ranges.count > 0 ? ` (partition:offset+count ${ranges.toString()})` : ''}${before}`);
  }
  const replayed = o.producerId === undefined ? {} : { alreadyStored: ranges.alreadyStored };
  if (o.json) out(JSON.stringify({ appended: ranges.count, ...replayed, partitions: ranges.list() }));
  else {
    const parts = ranges.list().map((r) => `partition ${r.partition} offsets ${r.firstOffset}-${r.firstOffset + r.count - 1}`);
    const before = o.producerId === undefined ? '' : ` (${ranges.alreadyStored} stored before by producer ${o.producerId}, skipped)`;
    out(`appended ${ranges.count} records to ${o.dataset}${before}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`);
  }
}

/** `laminate append NAME [FILE]`. */
export function registerAppend(program: Command): void {
  program.command('append').description('append the JSON lines of a file (or of stdin) to a dataset, durably')
    .argument('<dataset>', 'dataset name')
    .argument('[file]', 'a file of JSON lines (default: stdin)')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--key <field>', 'partition by this field of each record (default: sticky partitioning)')
    .option('--producer-id <id>', 'replay under this producer id: running the same append again stores each record once')
    .option('--json', 'print JSON')
    .action(async (dataset: string, file: string | undefined, o: { master: string; key?: string; producerId?: string; json?: boolean }) => {
      const client = new LaminateClient(o.master);
      try {
        await appendCommand(client, {
          dataset, ...(file === undefined ? {} : { file }), ...(o.key === undefined ? {} : { key: o.key }),
          ...(o.producerId === undefined ? {} : { producerId: o.producerId }), ...(o.json ? { json: true } : {}),
        }, process.stdin, (line) => { process.stdout.write(`${line}\n`); });
      } finally {
        await client.close();
      }
    });
}
