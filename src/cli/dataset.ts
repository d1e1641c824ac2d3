/**
 * `laminate dataset create|describe|list`: the bodies of the commands, each
 * given a LaminateClient and its parsed options, printing through `out`
 * (one call per line, without the newline); registerDataset wires them to
 * their flags, opening and closing the client.
 *
 *   laminate dataset create NAME --master HOST:PORT [--partitions N] [--json]
 *   laminate dataset describe NAME --master HOST:PORT [--json]
 *   laminate dataset list --master HOST:PORT [--json]
 */
import type { Command } from 'commander';
import type { LaminateClient } from '../client/laminate-client.js';
import { print, withClient, type Print } from './client-command.js';
import { address, positiveInt } from './arguments.js';
import type { DatasetDescription } from '../protocol/dataset-rpc.js';

export type { Print } from './client-command.js';

/** The JSON form the issue gives for `describe --json`: name and partitions. */
export function datasetJson(d: DatasetDescription): { name: string; partitions: Array<{ partition: number; endOffset: number; segments: number; records: number; bytes: number }> } {
  return {
    name: d.name,
    partitions: d.partitions.map((p) => ({ partition: p.partition, endOffset: p.endOffset, segments: p.segments, records: p.records, bytes: p.bytes })),
  };
}

/** "1.5 MiB": bytes for people. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

function totals(d: DatasetDescription): { records: number; bytes: number; segments: number } {
  return d.partitions.reduce((t, p) => ({ records: t.records + p.records, bytes: t.bytes + p.bytes, segments: t.segments + p.segments }), { records: 0, bytes: 0, segments: 0 });
}

/** One line for `list`: name, partitions, records, bytes. */
export function formatDatasetSummary(d: DatasetDescription): string {
  const t = totals(d);
  return `${d.name}  ${d.partitions.length} partitions  ${t.records} records  ${formatBytes(t.bytes)}`;
}

/** The lines of `describe`: a heading, then a table of partitions. */
export function formatDatasetDetail(d: DatasetDescription): string[] {
  const t = totals(d);
  const rows = d.partitions.map((p) => [String(p.partition), String(p.endOffset), String(p.segments), String(p.records), formatBytes(p.bytes)]);
  const header = ['partition', 'end offset', 'segments', 'records', 'bytes'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}`;
  return [
    `dataset ${d.name}: ${d.partitions.length} partitions, ${t.records} records in ${t.segments} segments, ${formatBytes(t.bytes)}, created ${new Date(d.createdAt).toISOString()}`,
    line(header),
    ...rows.map(line),
  ];
}

export interface DatasetCreateOptions {
  readonly name: string;
  /** Default the store's (4). */
  readonly partitions?: number;
  readonly json?: boolean;
}

/** Creates a dataset (or finds it there with the same settings) and prints it. */
export async function datasetCreate(client: LaminateClient, o: DatasetCreateOptions, out: Print): Promise<void> {
  const d = await client.createDataset(o.name, o.partitions === undefined ? {} : { partitions: o.partitions });
  if (o.json) out(JSON.stringify(datasetJson(d)));
  else out(`dataset ${d.name}: ${d.partitions.length} partitions, ${totals(d).records} records`);
}

export async function datasetDescribe(client: LaminateClient, o: { readonly name: string; readonly json?: boolean }, out: Print): Promise<void> {
  const d = await client.describeDataset(o.name);
  if (o.json) out(JSON.stringify(datasetJson(d)));
  else for (const line of formatDatasetDetail(d)) out(line);
}

/** With --json, one line: `{ "datasets": [ describe's JSON, ... ] }`. */
export async function datasetList(client: LaminateClient, o: { readonly json?: boolean }, out: Print): Promise<void> {
  const all = await client.listDatasets();
  if (o.json) out(JSON.stringify({ datasets: all.map(datasetJson) }));
  else if (all.length === 0) out('no datasets');
  else for (const d of all) out(formatDatasetSummary(d));
}

/** `laminate dataset create|describe|list`. */
export function registerDataset(program: Command): void {
  const dataset = program.command('dataset').description('create, describe and list datasets (partitioned, append-only logs)');
  dataset.command('create').description('create a dataset (a no-op if it exists with the same settings)')
    .argument('<name>', 'dataset name')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--partitions <p>', 'partitions, fixed for the dataset\'s life (default 4)', positiveInt('--partitions'))
    .option('--json', 'print JSON')
    .action((name: string, o: { master: string; partitions?: number; json?: boolean }) => withClient(o.master, (c) =>
      datasetCreate(c, { name, ...(o.partitions === undefined ? {} : { partitions: o.partitions }), ...(o.json ? { json: true } : {}) }, print)));
  dataset.command('describe').description('partitions, end offsets, segments, records and bytes of a dataset')
    .argument('<name>', 'dataset name')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--json', 'print JSON')
    .action((name: string, o: { master: string; json?: boolean }) => withClient(o.master, (c) => datasetDescribe(c, { name, ...(o.json ? { json: true } : {}) }, print)));
  dataset.command('list').description('every dataset')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--json', 'print JSON')
    .action((o: { master: string; json?: boolean }) => withClient(o.master, (c) => datasetList(c, o.json ? { json: true } : {}, print)));
}
