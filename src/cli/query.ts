/**
 * `laminate query NAME KEY... --master HOST:PORT [--json] [--prefix P |
 * --from K --to K] [--limit N] [--version N]`: the values of keys (a
 * MultiGet), or with --prefix/--from/--to, or no KEY, the entries of a
 * range (a Scan), from one version of the view.
 *
 * A KEY (and P, K) that starts with `[` is a JSON tuple: `'["page", 7]'`;
 * `\[` starts a string key with `[`. --json prints exactly one JSON
 * document, `{ "view", "coverage": { "version", "cut" }, "results": [
 * { "key", "value", "found" } ] }` (a scan's results are the entries it
 * found, found: true; a scan's document is written as its entries arrive,
 * one result per line). Values that JSON cannot hold are written as
 * `{ "$base64": "..." }` (bytes) and decimal strings (integers beyond 2^53).
 * Without --json, a table: the coverage, then one row per key.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { LaminateClient } from '../client/laminate-client.js';
import type { Coverage, KeyResult, ScanOptions } from '../client/view-queries.js';
import { errorMessage, LaminateError } from '../common/errors.js';
import { formatKeyArgument, parseKeyArgument, type ViewKey } from '../common/view-key.js';
import { address, positiveInt } from './arguments.js';
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

function coverageText(view: string, c: Coverage | undefined): string {
  return c === undefined ? `view ${view}` : `view ${view}  version ${c.version}  cut ${c.cut.join(',')}`;
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
  const version = o.version === undefined ? {} : { version: o.version };
  if (o.keys.length > 0) {
    const keys = o.keys.map((k, i) => keyArg(k, `KEY ${i + 1}`));
    const r = await client.multiGet(o.view, keys, version);
    if (o.json) {
      const results = r.results.map((x: KeyResult) => ({ key: x.key, value: jsonValue(x.value), found: x.found }));
      out(JSON.stringify({ view: r.view, coverage: { version: r.coverage.version, cut: r.coverage.cut }, results }));
      return;
    }
    out(coverageText(r.view, r.coverage));
    const table = new Table(out);
    for (const x of r.results) table.row(formatKeyArgument(x.key), x.found ? JSON.stringify(jsonValue(x.value)) : '(not found)');
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
    const head = (): string => JSON.stringify({ view: o.view, coverage: scan.coverage }).slice(0, -1);
    for await (const e of scan) {
      const line = JSON.stringify({ key: e.key, value: jsonValue(e.value), found: true });
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
      out(coverageText(o.view, scan.coverage));
      headed = true;
    }
    table.row(formatKeyArgument(e.key), JSON.stringify(jsonValue(e.value)));
  }
  if (!headed) out(coverageText(o.view, scan.coverage));
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
    .option('--json', 'print one JSON document: { view, coverage: { version, cut }, results: [ { key, value, found } ] }')
    .option('--prefix <p>', 'scan the keys starting with P (a string, or a JSON tuple of the first elements)', keyOption('--prefix'))
    .option('--from <k>', 'scan from key K (inclusive)', keyOption('--from'))
    .option('--to <k>', 'scan up to key K (exclusive)', keyOption('--to'))
    .option('--limit <n>', 'scan at most N entries', positiveInt('--limit'))
    .option('--version <n>', 'read version N (one the serving layer keeps) instead of the current one', positiveInt('--version'))
    .action(async (name: string, keys: string[], o: { master: string; json?: boolean; prefix?: string; from?: string; to?: string; limit?: number; version?: number }) => {
      const client = new LaminateClient(o.master);
      try {
        await queryCommand(client, {
          view: name, keys, json: o.json === true,
          ...(o.prefix !== undefined ? { prefix: o.prefix } : {}), ...(o.from !== undefined ? { from: o.from } : {}), ...(o.to !== undefined ? { to: o.to } : {}),
          ...(o.limit !== undefined ? { limit: o.limit } : {}), ...(o.version !== undefined ? { version: o.version } : {}),
        }, (line) => { process.stdout.write(`${line}\n`); });
      } finally {
        await client.close();
      }
    });
}
