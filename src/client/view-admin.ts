/**
 * Deploying and building views from a client: what `laminate view ...` and
 * LaminateClient's view methods do. Deploy bundles the view module, runs its
 * map on a sample of the source dataset and checks its merge's monoid laws
 * on what the map gives (refusing the deploy with the counterexample), then
 * sends the bundle to the master's catalog.
 */
import { basename, extname } from 'node:path';
import { checkViewLaws, parseDuration, type Duration } from '../api/view.js';
import type { LawCheckResult } from '../api/monoid-laws.js';
import { describe, LaminateError } from '../common/errors.js';
import type { BuildViewRequest, ViewBuild, ViewDiff, ViewInfo, ViewVersionList } from '../common/view-shapes.js';
import { decodeViewKey, type ViewKey } from '../common/view-key.js';
import type { DatasetClient } from '../protocol/dataset-rpc.js';
import type { ViewsClient } from '../protocol/view-rpc.js';
import { decodeBody } from '../storage/record-body.js';
import { bundleView } from './view-bundle.js';

export interface DeployViewOptions {
  /** Default: the module's file name without its extension. */
  readonly name?: string;
  /** Build every so often ('5m', or ms); default only when asked. */
  readonly every?: Duration;
  /** Previous versions kept beside the current one. Default 3. */
  readonly keep?: number;
  /** View files per version (the build's reducers), fixed for the view's life. Default 4. */
  readonly partitions?: number;
  /** Source records the law check runs the map on, spread over the partitions. Default 1,000. */
  readonly sampleRecords?: number;
}

export interface DeployedView {
  readonly view: ViewInfo;
  /** What the monoid law check found (a violation refuses the deploy instead). */
  readonly lawCheck: Extract<LawCheckResult, { ok: true }>;
  /** Source records the map ran on. */
  readonly sampled: number;
}

export interface BuildViewOptions {
  /** The cut to build over (one offset per partition of the source); default its end now. */
  readonly cut?: readonly number[];
  /** Recompute from scratch rather than from the previous version. */
  readonly full?: boolean;
  /** Resolve once published (or failed) rather than at the start. */
  readonly wait?: boolean;
}

/**
 * How many records to take from the start of each partition: `n` spread as
 * evenly as the partitions' sizes allow (a small partition gives what it
 * has, the others make up for it).
 */
export function sampleShares(sizes: readonly number[], n: number): number[] {
  const shares = sizes.map(() => 0);
  let left = Math.min(n, sizes.reduce((a, b) => a + b, 0));
  while (left > 0) {
    const open = sizes.map((s, p) => p).filter((p) => shares[p]! < sizes[p]!);
    const each = Math.max(1, Math.floor(left / open.length));
    for (const p of open) {
      const take = Math.min(each, sizes[p]! - shares[p]!, left);
      shares[p]! += take;
      left -= take;
      if (left === 0) break;
    }
  }
  return shares;
}

/** About `n` records from the starts of the source's partitions (see sampleShares). */
async function sampleOf(datasets: DatasetClient, source: string, n: number): Promise<unknown[]> {
  const d = await datasets.describeDataset(source);
  const shares = sampleShares(d.partitions.map((p) => p.endOffset), n);
  const records: unknown[] = [];
  for (const p of d.partitions) {
    const endOffset = shares[p.partition]!;
    if (endOffset === 0) continue;
    for await (const chunk of datasets.read({ dataset: source, partition: p.partition, from: 0, endOffset, follow: false })) {
      records.push(...decodeBody(chunk.body));
    }
  }
  return records;
}

/** A diff with its example keys decoded (strings or tuples, as the view's map emitted them). */
export interface ViewDiffResult extends Omit<ViewDiff, 'addedKeys' | 'removedKeys' | 'changedKeys'> {
  readonly addedKeys: ViewKey[];
  readonly removedKeys: ViewKey[];
  readonly changedKeys: ViewKey[];
}

/** The view commands of a LaminateClient, over its channels (it closes them). */
export class ViewAdmin {
  constructor(private readonly views: ViewsClient, private readonly datasets: DatasetClient) {}

  async deployView(file: string, options: DeployViewOptions = {}): Promise<DeployedView> {
    const name = options.name ?? basename(file, extname(file));
    const sampleRecords = options.sampleRecords ?? 1000;
    if (!Number.isSafeInteger(sampleRecords) || sampleRecords < 0) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected sampleRecords to be a non-negative integer, got ${describe(sampleRecords)}`);
    }
    const bundle = await bundleView(file);
    const { view } = bundle.job;
    const sample = await sampleOf(this.datasets, view.source, sampleRecords);
    let lawCheck: DeployedView['lawCheck'];
    try {
      lawCheck = checkViewLaws(view, sample);
    } catch (err) {
      if (err instanceof LaminateError) throw new LaminateError(err.code, `View '${name}' not deployed: ${err.message}`, { cause: err });
      throw err;
    }
    const info = await this.views.deployView({
      name, bundle: bundle.code, source: view.source, definitionHash: bundle.definitionHash, merge: view.monoid.name,
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
      ...(options.every === undefined ? {} : { everyMs: parseDuration(options.every, 'every') }),
      ...(options.keep === undefined ? {} : { keep: options.keep }),
      windowSizeMs: view.window?.sizeMs ?? 0,
    });
    return { view: info, lawCheck, sampled: sample.length };
  }

  buildView(name: string, options: BuildViewOptions = {}): Promise<ViewBuild> {
    const req: BuildViewRequest = { name, full: options.full === true, wait: options.wait === true, ...(options.cut === undefined ? {} : { cut: options.cut }) };
    return this.views.buildView(req);
  }

  listViews(): Promise<ViewInfo[]> {
    return this.views.listViews();
  }

  viewVersions(name: string): Promise<ViewVersionList> {
    return this.views.viewVersions(name);
  }

  rollbackView(name: string, to: number): Promise<ViewInfo> {
    return this.views.rollbackView(name, to);
  }

  async diffView(name: string, a: number, b: number, examples?: number): Promise<ViewDiffResult> {
    const d = await this.views.diffView(name, a, b, examples);
    return { ...d, addedKeys: d.addedKeys.map(decodeViewKey), removedKeys: d.removedKeys.map(decodeViewKey), changedKeys: d.changedKeys.map(decodeViewKey) };
  }

}
