/**
 * `laminate view deploy|build|list|versions`: the bodies of the commands,
 * each given a LaminateClient and its parsed options, printing through
 * `out`; registerView wires them to their flags.
 *
 *   laminate view deploy FILE --master ADDR [--name NAME] [--every 5m] [--keep 3] [--partitions 4] [--json]
 *   laminate view build NAME --master ADDR [--cut latest|OFFSETS] [--full] [--wait] [--json]
 *   laminate view list --master ADDR [--json]
 *   laminate view versions NAME --master ADDR [--json]
 *   laminate view rollback NAME --to N --master ADDR [--json]
 *   laminate view diff NAME A B --master ADDR [--json]
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { LaminateClient } from '../client/laminate-client.js';
import type { BuildViewOptions, DeployViewOptions } from '../client/view-admin.js';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { ViewBuild, ViewHistoryEntry, ViewInfo, ViewVersionInfo } from '../common/view-shapes.js';
import { formatKeyArgument, type ViewKey } from '../common/view-key.js';
import { parseCut } from '../dataset/cut.js';
import { parseDuration } from '../api/view.js';
import { address, nonNegativeInt, positiveInt } from './arguments.js';
import { print, withClient, type Print } from './client-command.js';
import { formatBytes } from './dataset.js';

/** Pads the cells of rows into columns under a header, two spaces apart, indented by two. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}`;
  return [line(header), ...rows.map(line)];
}

const every = (ms: number): string => (ms === 0 ? 'on demand' : `every ${ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`}`);

/** One view as `view list` and `status` print it: source, merge, schedule, current version, and the last build's error if it failed. */
export function viewLine(v: ViewInfo): string {
  const current = v.currentVersion === 0 ? 'no version published' : `version ${v.currentVersion} over cut ${v.currentCut.join(',')}`;
  const failed = v.lastBuildError === '' ? '' : `; last build failed: ${v.lastBuildError}`;
  return `${v.name}  source ${v.source}  merge ${v.merge}  ${v.partitions} partitions  builds ${every(v.everyMs)}  keeps ${v.keep}  ${current}${failed}`;
}

export async function viewDeploy(client: LaminateClient, o: DeployViewOptions & { readonly file: string; readonly json?: boolean }, out: Print): Promise<void> {
  const { file, json, ...options } = o;
  const d = await client.deployView(file, options);
  if (json) {
    out(JSON.stringify({ view: d.view, sampled: d.sampled, lawCheck: { monoid: d.lawCheck.monoid, values: d.lawCheck.values, checks: d.lawCheck.checks, ...(d.lawCheck.untested ? { untested: d.lawCheck.untested } : {}) } }));
    return;
  }
  out(`deployed view ${d.view.name}: source ${d.view.source}, merge ${d.view.merge}, ${d.view.partitions} partitions, builds ${every(d.view.everyMs)}, keeps ${d.view.keep} previous versions`);
  out(d.lawCheck.untested
    ? `monoid laws not checked: ${d.lawCheck.untested}`
    : `monoid laws hold on ${d.lawCheck.values} distinct value${d.lawCheck.values === 1 ? '' : 's'} (${d.lawCheck.checks} checks) from ${d.sampled} sampled records`);
}

function buildLine(b: ViewBuild): string {
  const how = b.incremental ? `incremental from version ${b.baseVersion}` : 'full';
  const end = b.state === 'FAILED' ? `FAILED: ${b.error}` : b.state === 'PUBLISHED' ? 'published' : 'running';
  return `view ${b.view} version ${b.version} over cut ${b.cut.join(',')} (${how}, job ${b.jobId}): ${end}`;
}

export async function viewBuild(client: LaminateClient, o: BuildViewOptions & { readonly name: string; readonly json?: boolean }, out: Print): Promise<void> {
  const { name, json, ...options } = o;
  const b = await client.buildView(name, options);
  if (json) out(JSON.stringify({ view: b.view, version: b.version, cut: b.cut, state: b.state, jobId: b.jobId, ...(b.error ? { error: b.error } : {}) }));
  else out(buildLine(b));
  if (b.state === 'FAILED') throw new LaminateError('FAILED_PRECONDITION', `Version ${b.version} of view ${b.view} was not published: ${b.error}`);
}

export async function viewList(client: LaminateClient, o: { readonly json?: boolean }, out: Print): Promise<void> {
  const views = await client.listViews();
  if (o.json) out(JSON.stringify({ views }));
  else if (views.length === 0) out('no views');
  else for (const v of views) out(viewLine(v));
}

function versionRow(v: ViewVersionInfo): string[] {
  return [
    `${v.version}${v.current ? ' (current)' : ''}`, v.cut.join(','), String(v.records), String(v.keys), formatBytes(v.bytes), v.jobId,
    new Date(v.builtAt).toISOString(), v.servedBy.length === 0 ? '-' : v.servedBy.join(','),
  ];
}

/** The refusals of a version's loading by serving nodes, for `view versions`. */
function refusalLines(l: { readonly versions: readonly ViewVersionInfo[] }): string[] {
  return l.versions.flatMap((v) => v.refusedBy.map((r) => `  version ${v.version} refused by ${r}`));
}

export async function viewVersions(client: LaminateClient, o: { readonly name: string; readonly json?: boolean }, out: Print): Promise<void> {
  const l = await client.viewVersions(o.name);
  if (o.json) {
    out(JSON.stringify(l));
    return;
  }
  out(`view ${l.view}: ${l.versions.length} version${l.versions.length === 1 ? '' : 's'}`);
  if (l.versions.length > 0) for (const line of table(['version', 'cut', 'records', 'keys', 'bytes', 'job', 'built at', 'served by'], l.versions.map(versionRow))) out(line);
  const refused = refusalLines(l);
  if (refused.length > 0) {
    out('versions serving nodes refused to load (the version before keeps serving there):');
    for (const line of refused) out(line);
  }
  const failed = l.builds.filter((b) => b.state !== 'PUBLISHED');
  if (failed.length > 0) {
    out('builds not published:');
    for (const b of failed) out(`  ${buildLine(b)}`);
  }
  if (l.history.length > 0) {
    out('history (newest first):');
    for (const e of l.history.slice(0, HISTORY_SHOWN)) out(`  ${historyLine(e)}`);
    if (l.history.length > HISTORY_SHOWN) out(`  ... ${l.history.length - HISTORY_SHOWN} earlier (--json lists every one kept)`);
  }
}

/** History events `view versions` prints (the newest); --json gives all the master keeps. */
const HISTORY_SHOWN = 10;

/** One event of a view's history: when, what, and to which version. */
function historyLine(e: ViewHistoryEntry): string {
  const when = new Date(e.at).toISOString();
  const what = e.event === 'rolled back' ? `rolled back to version ${e.version ?? '?'}`
    : e.event === 'deployed' ? 'deployed'
      : `${e.event}: version ${e.version ?? '?'}`;
  return `${when}  ${what}${e.detail !== undefined ? ` (${e.detail})` : ''}`;
}

export async function viewRollback(client: LaminateClient, o: { readonly name: string; readonly to: number; readonly json?: boolean }, out: Print): Promise<void> {
  const v = await client.rollbackView(o.name, o.to);
  if (o.json) out(JSON.stringify(v));
  else out(`view ${v.name} rolled back: version ${v.currentVersion} (cut ${v.currentCut.join(',')}) is current`);
}

export async function viewDiff(client: LaminateClient, o: { readonly name: string; readonly a: number; readonly b: number; readonly json?: boolean }, out: Print): Promise<void> {
  const d = await client.diffView(o.name, o.a, o.b);
  if (o.json) {
    out(JSON.stringify(d));
    return;
  }
  out(`view ${d.view}, version ${d.a} -> ${d.b}: ${d.added} added, ${d.removed} removed, ${d.changed} changed, ${d.unchanged} unchanged`);
  const show = (what: string, keys: readonly ViewKey[], n: number): void => {
    if (keys.length > 0) out(`  ${what}: ${keys.map(formatKeyArgument).join('  ')}${n > keys.length ? '  ...' : ''}`);
  };
  show('added', d.addedKeys, d.added);
  show('removed', d.removedKeys, d.removed);
  show('changed', d.changedKeys, d.changed);
}

/** `--cut latest|OFFSETS`. */
function cutOption(value: string): readonly number[] | 'latest' {
  if (value === 'latest') return value;
  try {
    return parseCut(value);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
}

function durationOption(value: string): number {
  try {
    return parseDuration(/^\d+$/.test(value) ? Number(value) : value, '--every');
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
}

/** `laminate view ...`. */
export function registerView(program: Command): void {
  const view = program.command('view').description('deploy, build and inspect views (the serving layer\'s precomputed answers)');
  view.command('deploy').description('deploy a view module (its default export a defineView), checking its merge\'s monoid laws on a sample of the source')
    .argument('<file>', 'the view module (.ts, .mts, .js, .mjs)')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--name <name>', 'the view\'s name (default: the file name without extension)')
    .option('--every <duration>', 'build every so often, e.g. 5m (default: only when asked)', durationOption)
    .option('--keep <n>', 'previous versions kept beside the current one (default 3)', nonNegativeInt('--keep'))
    .option('--partitions <n>', 'view files per version, fixed for the view\'s life (default 4)', positiveInt('--partitions'))
    .option('--json', 'print JSON')
    .action((file: string, o: { master: string; name?: string; every?: number; keep?: number; partitions?: number; json?: boolean }) => withClient(o.master, (c) =>
      viewDeploy(c, {
        file, ...(o.name === undefined ? {} : { name: o.name }), ...(o.every === undefined ? {} : { every: o.every }),
        ...(o.keep === undefined ? {} : { keep: o.keep }), ...(o.partitions === undefined ? {} : { partitions: o.partitions }), ...(o.json ? { json: true } : {}),
      }, print)));
  view.command('build').description('build a version of a view over a cut of its source and publish it')
    .argument('<name>', 'the view')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--cut <offsets>', "'latest' (default: every record durable now) or one offset per partition, e.g. 1200,0,310,77", cutOption)
    .option('--full', 'recompute from scratch')
    .option('--wait', 'wait until the version is published (or the build fails)')
    .option('--json', 'print JSON: { "view", "version", "cut" }')
    .action((name: string, o: { master: string; cut?: readonly number[] | 'latest'; full?: boolean; wait?: boolean; json?: boolean }) => withClient(o.master, (c) =>
      viewBuild(c, {
        name, ...(o.cut === undefined || o.cut === 'latest' ? {} : { cut: o.cut }), ...(o.full ? { full: true } : {}), ...(o.wait ? { wait: true } : {}), ...(o.json ? { json: true } : {}),
      }, print)));
  view.command('list').description('every view, with its current version')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--json', 'print JSON')
    .action((o: { master: string; json?: boolean }) => withClient(o.master, (c) => viewList(c, o.json ? { json: true } : {}, print)));
  view.command('rollback').description('make an older kept version current again (recorded in the view\'s history)')
    .argument('<name>', 'the view')
    .requiredOption('--to <version>', 'the version to serve', positiveInt('--to'))
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--json', 'print JSON')
    .action((name: string, o: { master: string; to: number; json?: boolean }) => withClient(o.master, (c) => viewRollback(c, { name, to: o.to, ...(o.json ? { json: true } : {}) }, print)));
  view.command('diff').description('keys added, removed and changed from version A to version B (counts, and the first few)')
    .argument('<name>', 'the view')
    .argument('<a>', 'the older version', positiveInt('A'))
    .argument('<b>', 'the newer version', positiveInt('B'))
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--json', 'print JSON')
    .action((name: string, a: number, b: number, o: { master: string; json?: boolean }) => withClient(o.master, (c) => viewDiff(c, { name, a, b, ...(o.json ? { json: true } : {}) }, print)));
  view.command('versions').description('a view\'s versions: cut, records, keys, bytes, job, built at, serving nodes; and failed builds')
    .argument('<name>', 'the view')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--json', 'print JSON')
    .action((name: string, o: { master: string; json?: boolean }) => withClient(o.master, (c) => viewVersions(c, { name, ...(o.json ? { json: true } : {}) }, print)));
}
