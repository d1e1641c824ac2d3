/**
 * `laminate query NAME KEY... --master HOST:PORT [--json] [--prefix P |
 * --from K --to K] [--limit N] [--version N] [--batch-only] [--at-least
 * OFFSETS] [--wait MS]`: the values of keys (a MultiGet), or with
 * --prefix/--from/--to, or no KEY, the entries of a range (a Scan), from
 * one version of the view, merged with its speed side where one runs
 * (unless --batch-only); --at-least waits (up to --wait ms, default 5000)
 * until the answer counts every record before those offsets.
 *
 * A KEY (and P, K) that starts with `[` is a JSON tuple: `'["page", 7]'`;
 * `\[` starts a string key with `[`. --json prints exactly one JSON
 * document, `{ "view", "coverage": { "version", "cut", "speed", "lag",
 * "freshnessMs", "uncovered", "watermark" }, "results": [ { "key",
 * "value", "found", "final" } ] }` (the speed fields only when a speed side
 * was merged; final only for windowed views then; a scan's results are the
 * entries it found, found: true; a scan's document is written as its
 * entries arrive, one result per line). Values that JSON cannot hold are
 * written as `{ "$base64": "..." }` (bytes) and decimal strings (integers
 * beyond 2^53). Without --json, a table: the coverage (and each uncovered
 * partition), then one row per key, `final`/`open` after the value of a
 * windowed view's key.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { LaminateClient } from '../client/laminate-client.js';
import type { Coverage, KeyResult, ScanOptions } from '../client/view-queries.js';
import { parseOffsetList } from '../common/dataset-input.js';
import { errorMessage, LaminateError } from '../common/errors.js';
import { formatKeyArgument, parseKeyArgument, type ViewKey } from '../common/view-key.js';
import { address, nonNegativeInt, positiveInt } from './arguments.js';
import type { Print } from './dataset.js';

export interface QueryCommandOptions {
  readonly view: string;
  /** Keys as typed (parseKeyArgument); none with scan bounds, or for a whole scan. */
  readonly keys: readonly string[];
  readonly prefix?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
  readonly version?: number;
  readonly json?: boolean;
  readonly batchOnly?: boolean;
  /** Offsets as typed: comma-separated, one per source partition. */
  readonly atLeast?: string;
  readonly waitMs?: number;
}

/** A value as JSON can carry it: bytes as base64, big integers as strings, Maps as objects. */
export function jsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return { $base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), jsonValue(x)]));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v;
}

function keyArg(text: string, what: string): ViewKey {
  try {
    return parseKeyArgument(text);
  } catch (err) {
    throw new LaminateError('INVALID_ARGUMENT', `${what}: ${errorMessage(err)}`, { cause: err });
  }
}

/** The coverage as --json prints it: its fields in a fixed order, the speed ones only when present. */
function coverageJson(c: Coverage | undefined): unknown {
  if (c === undefined) return undefined;
  return {
    version: c.version, cut: c.cut,
    ...(c.speed !== undefined ? { speed: c.speed, lag: c.lag, freshnessMs: c.freshnessMs ?? null, uncovered: c.uncovered ?? [] } : {}),
    ...(c.watermark !== undefined ? { watermark: c.watermark } : {}),
  };
}

/** The coverage as the table's head: one line, then one per uncovered partition. */
function coverageLines(view: string, c: Coverage | undefined): string[] {
  if (c === undefined) return [`view ${view}`];
  let head = `view ${view}  version ${c.version}  cut ${c.cut.join(',')}`;
  if (c.speed === undefined) return [head];
  head += `  speed ${c.speed.join(',')}  lag ${c.lag ?? 0}  freshness ${c.freshnessMs === undefined ? 'unknown' : `${c.freshnessMs} ms`}`;
  if (c.watermark !== undefined) head += `  watermark ${new Date(c.watermark).toISOString()}`;
  return [head, ...(c.uncovered ?? []).map((u) => `uncovered partition ${u.partition}: ${u.reason}`)];
}

function finalText(final: boolean | undefined): string {
  return final === undefined ? '' : final ? '  final' : '  open';
}

/** Rows of the table: keys padded to the widest of the first rows (later, longer ones overflow). */
class Table {
  private readonly held: Array<[string, string]> = [];
  private width: number | undefined;

  constructor(private readonly out: Print, private readonly holdRows = 1000) {}

  row(key: string, value: string): void {
    if (this.width === undefined) {
      this.held.push([key, value]);
      if (this.held.length >= this.holdRows) this.flush();
      return;
    }
    this.print(key, value);
  }

  flush(): void {
    if (this.width === undefined) {
      this.width = Math.max(3, ...this.held.map(([k]) => k.length));
      this.print('KEY', 'VALUE');
    }
    for (const [k, v] of this.held.splice(0)) this.print(k, v);
  }

  private print(key: string, value: string): void {
    this.out(`${key.padEnd(this.width!)}  ${value}`);
  }
}

/** Runs a query and prints its answer through `out`, one line per call. */
export async function queryCommand(client: LaminateClient, o: QueryCommandOptions, out: Print): Promise<void> {
  const scanning = o.prefix !== undefined || o.from !== undefined || o.to !== undefined;
  if (scanning && o.keys.length > 0) {
    throw new LaminateError('INVALID_ARGUMENT', 'Expected either KEYs (a MultiGet) or --prefix/--from/--to (a scan), got both');
  }
  if (o.limit !== undefined && o.keys.length > 0) {
    throw new LaminateError('INVALID_ARGUMENT', '--limit bounds a scan; with KEYs every key is answered');
  }
  const version = {
    ...(o.version === undefined ? {} : { version: o.version }),
    ...(o.batchOnly === true ? { batchOnly: true } : {}),
    ...(o.atLeast === undefined ? {} : { atLeast: parseOffsetList(o.atLeast, '--at-least') }),
    ...(o.waitMs === undefined ? {} : { waitMs: o.waitMs }),
  };
  if (o.keys.length > 0) {
    const keys = o.keys.map((k, i) => keyArg(k, `KEY ${i + 1}`));
    const r = await client.multiGet(o.view, keys, version);
    if (o.json) {
      const results = r.results.map((x: KeyResult) => ({ key: x.key, value: jsonValue(x.value), found: x.found, ...(x.final !== undefined ? { final: x.final } : {}) }));
      out(JSON.stringify({ view: r.view, coverage: coverageJson(r.coverage), results }));
      return;
    }
    for (const line of coverageLines(r.view, r.coverage)) out(line);
    const table = new Table(out);
    for (const x of r.results) table.row(formatKeyArgument(x.key), x.found ? `${JSON.stringify(jsonValue(x.value))}${finalText(x.final)}` : '(not found)');
    table.flush();
    return;
  }
  const options: ScanOptions = {
    ...version,
    ...(o.prefix !== undefined ? { prefix: keyArg(o.prefix, '--prefix') } : {}),
    ...(o.from !== undefined ? { from: keyArg(o.from, '--from') } : {}),
    ...(o.to !== undefined ? { to: keyArg(o.to, '--to') } : {}),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
  };
  const scan = client.scan(o.view, options);
  if (o.json) {
    // One document, written as entries arrive: the head once the coverage is known.
    let count = 0;
    const head = (): string => JSON.stringify({ view: o.view, coverage: coverageJson(scan.coverage) }).slice(0, -1);
    for await (const e of scan) {
      const line = JSON.stringify({ key: e.key, value: jsonValue(e.value), found: true, ...(e.final !== undefined ? { final: e.final } : {}) });
      out(count === 0 ? `${head()},"results":[\n${line}` : `,${line}`);
      count++;
    }
    out(count === 0 ? `${head()},"results":[]}` : ']}');
    return;
  }
  const table = new Table(out);
  let headed = false;
  for await (const e of scan) {
    if (!headed) {
      for (const line of coverageLines(o.view, scan.coverage)) out(line);
      headed = true;
    }
    table.row(formatKeyArgument(e.key), `${JSON.stringify(jsonValue(e.value))}${finalText(e.final)}`);
  }
  if (!headed) for (const line of coverageLines(o.view, scan.coverage)) out(line);
  table.flush();
}

function keyOption(flag: string) {
  return (value: string): string => {
    try {
      parseKeyArgument(value);
    } catch (err) {
      throw new InvalidArgumentError(`${flag}: ${errorMessage(err)}`);
    }
    return value;
  };
}

/** `laminate query NAME KEY...`. */
export function registerQuery(program: Command): void {
  program.command('query').description('read keys (or a range of keys, a scan) of a view from its serving nodes')
    .argument('<name>', 'view name')
    .argument('[keys...]', 'keys to read; a key starting with [ is a JSON tuple, e.g. \'["page", 7]\' (no KEY: scan the view, within --prefix/--from/--to/--limit)')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--json', 'print one JSON document: { view, coverage: { version, cut, speed, lag, freshnessMs, uncovered, watermark }, results: [ { key, value, found, final } ] }')
    .option('--prefix <p>', 'scan the keys starting with P (a string, or a JSON tuple of the first elements)', keyOption('--prefix'))
    .option('--from <k>', 'scan from key K (inclusive)', keyOption('--from'))
    .option('--to <k>', 'scan up to key K (exclusive)', keyOption('--to'))
    .option('--limit <n>', 'scan at most N entries', positiveInt('--limit'))
    .option('--version <n>', 'read version N (one the serving layer keeps) instead of the current one', positiveInt('--version'))
    .option('--batch-only', 'answer from the batch version alone, without the speed side')
    .option('--at-least <offsets>', 'wait until the answer counts every record before these offsets (one per source partition, comma-separated): read your writes')
    .option('--wait <ms>', 'how long --at-least may wait (default 5000); alone, how long the speed side may wait for partitions not at the version\'s cut yet (default: no wait, they are uncovered)', nonNegativeInt('--wait'))
    .action(async (name: string, keys: string[], o: {
      master: string; json?: boolean; prefix?: string; from?: string; to?: string; limit?: number; version?: number; batchOnly?: boolean; atLeast?: string; wait?: number;
    }) => {
      const client = new LaminateClient(o.master);
      try {
        await queryCommand(client, {
          view: name, keys, json: o.json === true,
          ...(o.prefix !== undefined ? { prefix: o.prefix } : {}), ...(o.from !== undefined ? { from: o.from } : {}), ...(o.to !== undefined ? { to: o.to } : {}),
          ...(o.limit !== undefined ? { limit: o.limit } : {}), ...(o.version !== undefined ? { version: o.version } : {}),
          ...(o.batchOnly === true ? { batchOnly: true } : {}), ...(o.atLeast !== undefined ? { atLeast: o.atLeast } : {}),
          ...(o.wait !== undefined ? { waitMs: o.wait } : {}),
        }, (line) => { process.stdout.write(`${line}\n`); });
      } finally {
        await client.close();
      }
    });
}
