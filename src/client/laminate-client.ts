/**
 * The library API of a Laminate cluster: `import { LaminateClient } from
 * 'laminate/client'`. Datasets (create, describe, list, append, produce,
 * read) over the master's Dataset service, jobs through `jobs`, and
 * queries of views (get, multiGet, scan) on the serving nodes the master
 * knows.
 *
 * One client holds one channel to the master; its methods may be called
 * concurrently. close() flushes the producers it made, then closes the
 * channel.
 */
import { LaminateError, describe } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { requirePositiveInt } from '../common/validate.js';
import { decodeBody, type DatasetRecord } from '../storage/record-body.js';
import type { ViewKey } from '../common/view-key.js';
import { DatasetClient, type DatasetDescription } from '../protocol/dataset-rpc.js';
import { ViewsClient } from '../protocol/view-rpc.js';
import { AppendedRanges, type AppendedRange } from './appended-ranges.js';
import { JobClient } from './job-client.js';
import { isRetriable, Producer, type PreparedRecord, type RecordAck } from './producer.js';
import type { PartitionKey, ProducerOptions } from './producer-options.js';
import type { ViewBuild, ViewInfo, ViewVersionList } from '../common/view-shapes.js';
import { ViewAdmin, type BuildViewOptions, type DeployedView, type DeployViewOptions, type ViewDiffResult } from './view-admin.js';
import { ServingDirectory } from './serving-directory.js';
import type { FunctionLogLine, FunctionSummary, FunctionVersionInfo, InvocationOutcome } from '../common/function-shapes.js';
import { FunctionsClient, type FunctionLogsQuery } from '../protocol/functions-rpc.js';
import { deployFunction, type DeployFunctionOptions } from './function-admin.js';
import { ViewQueries, type GetResult, type MultiGetResult, type QueryOptions, type ScanOptions, type ViewScan } from './view-queries.js';

export interface LaminateClientOptions {
  /** Where producers log their retries. Default silent. */
  readonly logger?: Logger;
}

export interface CreateDatasetOptions {
  /** Partitions, fixed for the dataset's life. Default the store's (4). */
  readonly partitions?: number;
}

export interface AppendOptions {
  /** Partition by this field of each record, or this function of it; default sticky (see Producer). */
  readonly key?: PartitionKey;
}

export interface ReadOptions {
  readonly partition: number;
  /** First offset to read. Default 0. */
  readonly from?: number;
  /** Stop before this offset (a cut). Without follow it must not pass the partition's end (OUT_OF_RANGE). */
  readonly endOffset?: number;
  /** At the end, wait for new records (until endOffset, or until `signal` aborts). Default false. */
  readonly follow?: boolean;
  /** Ends the iteration quietly. */
  readonly signal?: AbortSignal;
  /**
   * A read cut off by a lost connection (a master restarting) resumes from
   * the next offset; it gives up once it has failed to reopen for this long.
   * Default 2 minutes.
   */
  readonly retryTimeoutMs?: number;
}

/** One record as a reader gets it. */
export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly record: DatasetRecord;
}

function nonNegative(flag: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${flag} to be a non-negative integer, got ${describe(v)}`);
  }
  return v;
}

function isIterable(x: unknown): x is Iterable<DatasetRecord> {
  return x !== null && typeof x === 'object' && Symbol.iterator in x;
}

function isAsyncIterable(x: unknown): x is AsyncIterable<DatasetRecord> {
  return x !== null && typeof x === 'object' && Symbol.asyncIterator in x;
}

export class LaminateClient {
  private readonly datasets: DatasetClient;
  private readonly producers = new Set<Producer>();
  private readonly logger: Logger;
  private jobClient: JobClient | undefined;
  /** One channel to the master's Views service, for the view commands and for finding serving nodes. */
  private viewsClient: ViewsClient | undefined;
  private viewAdmin: ViewAdmin | undefined;
  /** One channel to the master's Functions service, made on first use. */
  private functionsClient: FunctionsClient | undefined;
  private viewQueries: { directory: ServingDirectory; queries: ViewQueries } | undefined;
  private closed = false;

  constructor(readonly address: string, options: LaminateClientOptions = {}) {
    this.datasets = new DatasetClient(address);
    this.logger = options.logger ?? silentLogger();
  }

  /** Submitting and watching jobs on the same master (made on first use). */
  get jobs(): JobClient {
    this.jobClient ??= new JobClient(this.address);
    return this.jobClient;
  }

  private get views(): ViewsClient {
    this.viewsClient ??= new ViewsClient(this.address);
    return this.viewsClient;
  }

  private get admin(): ViewAdmin {
    this.viewAdmin ??= new ViewAdmin(this.views, this.datasets);
    return this.viewAdmin;
  }

  /**
   * Deploys the view module `file` (default export a defineView): bundles it,
   * checks its merge's monoid laws on what its map gives for a sample of the
   * source (INVALID_ARGUMENT with the counterexample when broken), and
   * records it in the master's catalog. Deploying again replaces the
   * definition; the next build then recomputes from scratch.
   */
  deployView(file: string, options: DeployViewOptions = {}): Promise<DeployedView> {
    return this.admin.deployView(file, options);
  }

  /** Starts a build of `name` over a cut (default the source's end now); with wait, resolves once it is published or failed. */
  buildView(name: string, options: BuildViewOptions = {}): Promise<ViewBuild> {
    return this.admin.buildView(name, options);
  }

  listViews(): Promise<ViewInfo[]> {
    return this.admin.listViews();
  }

  /** Makes kept version `to` of a view current again (recorded in its history; nothing is deleted). */
  rollbackView(name: string, to: number): Promise<ViewInfo> {
    return this.admin.rollbackView(name, to);
  }

  /** Keys added, removed and changed from version a to version b, with the first few of each (`examples`, default 5). */
  diffView(name: string, a: number, b: number, examples?: number): Promise<ViewDiffResult> {
    return this.admin.diffView(name, a, b, examples);
  }

  /** A view's published versions (newest first) and recent builds. */
  viewVersions(name: string): Promise<ViewVersionList> {
    return this.admin.viewVersions(name);
  }

  private get fns(): FunctionsClient {
    if (this.closed) throw new LaminateError('FAILED_PRECONDITION', 'The client is closed');
    this.functionsClient ??= new FunctionsClient(this.address);
    return this.functionsClient;
  }

  /**
   * Deploys the function module `file` (default export a defineFunction) as a
   * new immutable version, which becomes the live one. The module is bundled
   * and loaded here first: one without a handler is refused (INVALID_ARGUMENT,
   * NO_HANDLER); settings out of range are refused by the master with the range.
   */
  deployFunction(file: string, options: DeployFunctionOptions = {}): Promise<FunctionVersionInfo> {
    return deployFunction(this.fns, file, options);
  }

  /**
   * Invokes a function. Synchronous (default): one attempt, resolving with
   * its outcome (`ok` and the handler's result, or the error's code and
   * message; never rejected for the handler's errors). With `async: true`:
   * resolves with the event id once the master has journaled the event,
   * which then runs with retries and the dead-letter dataset.
   * @throws LaminateError NOT_FOUND for an unknown function, INVALID_ARGUMENT for a payload JSON cannot hold or (async) over 256 KB.
   */
  invoke(name: string, payload: unknown, options: { readonly async: true }): Promise<{ eventId: string }>;
  invoke(name: string, payload: unknown, options?: { readonly async?: false; readonly version?: number }): Promise<InvocationOutcome>;
  invoke(name: string, payload: unknown, options: { readonly async?: boolean; readonly version?: number } = {}): Promise<InvocationOutcome | { eventId: string }> {
    return options.async ? this.fns.invokeAsync(name, payload) : this.fns.invoke(name, payload, options.version);
  }

  /** Every deployed function: its live version and its metrics (invocations, errors, throttles, p50/p99, cold starts). */
  listFunctions(): Promise<FunctionSummary[]> {
    return this.fns.list();
  }

  /** A function's kept versions, oldest first (the last is live). */
  functionVersions(name: string): Promise<FunctionVersionInfo[]> {
    return this.fns.versions(name);
  }

  /** Deletes a function and every version's code. NOT_FOUND for an unknown one. */
  deleteFunction(name: string): Promise<void> {
    return this.fns.delete(name);
  }

  /**
   * What a function's handlers wrote (kept by the master, the newest lines
   * only), each with its request id; with `follow`, then each new line until
   * `signal` aborts or the loop is left.
   */
  functionLogs(name: string, options: FunctionLogsQuery & { readonly signal?: AbortSignal } = {}): AsyncGenerator<FunctionLogLine> {
    const { signal, ...query } = options;
    return this.fns.logs(name, query, signal);
  }

  /** Creates a dataset; repeating with equal settings is a no-op, other settings are ALREADY_EXISTS. */
  async createDataset(name: string, options: CreateDatasetOptions = {}): Promise<DatasetDescription> {
    const partitions = options.partitions === undefined ? undefined : requirePositiveInt('partitions', options.partitions);
    return this.datasets.createDataset(name, partitions);
  }

  /** Partitions with their end offsets, segments, records and bytes. NOT_FOUND for an unknown dataset. */
  async describeDataset(name: string): Promise<DatasetDescription> {
    return this.datasets.describeDataset(name);
  }

  async listDatasets(): Promise<DatasetDescription[]> {
    return this.datasets.listDatasets();
  }

  /**
   * A producer sending records to `name`, batched and retried (see Producer).
   * close() of this client closes it too.
   */
  producer(name: string, options: ProducerOptions = {}): Producer {
    if (this.closed) throw new LaminateError('FAILED_PRECONDITION', 'The client is closed');
    const p = new Producer(this.datasets, name, options, this.logger);
    this.producers.add(p);
    return p;
  }

  /**
   * Appends records and resolves once all are durable, with the offsets they
   * got: one range per run of consecutive offsets, by partition (one per
   * partition unless another writer appended to it at the same time).
   * Without a key, records fill one partition's batch (1 MiB) before
   * moving to the next, starting from a random one: a small append lands in
   * one partition. Goes through an idempotent producer of its own, so a
   * master restart costs only a wait.
   *
   * An array (or any iterable) is checked whole first: a record that is not
   * a JSON value or is too large refuses the append, and nothing is
   * appended. From an async iterable, records stream through; a bad record
   * stops there, what came before it is appended, and the error
   * (INVALID_ARGUMENT) says how many were and where they went.
   */
  async append(name: string, records: Iterable<DatasetRecord> | AsyncIterable<DatasetRecord>, options: AppendOptions = {}): Promise<AppendedRange[]> {
    if (typeof records === 'string' || !(isIterable(records) || isAsyncIterable(records))) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected the records to append as an array or an (async) iterable of records, got ${describe(records)}`);
    }
    const producer = this.producer(name, options.key === undefined ? {} : { key: options.key });
    const ranges = new AppendedRanges();
    const note = (ack: RecordAck): void => ranges.add(ack);
    const acks: Array<Promise<void>> = [];
    let sent = 0;
    let refused: unknown;
    let failure: unknown;
    try {
      if (isIterable(records)) {
        // The whole input is checked before anything is sent.
        const prepared = [...records].map((r, i) => prepareAt(producer, r, i));
        for (const r of prepared) {
          await producer.ready();
          acks.push(producer.sendPrepared(r).then(note));
          sent++;
        }
      } else {
        for await (const r of records) {
          let prepared: PreparedRecord;
          try {
            prepared = prepareAt(producer, r, sent);
          } catch (err) {
            refused = err;
            break;
          }
          await producer.ready();
          acks.push(producer.sendPrepared(prepared).then(note));
          sent++;
        }
      }
    } catch (err) {
      failure = err;
    }
    this.producers.delete(producer);
    await producer.close().catch(() => {});
    // Every ack is awaited, so that none is left rejected and unheard.
    const settled = await Promise.allSettled(acks);
    if (failure !== undefined) throw failure;
    const lost = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (lost) throw lost.reason;
    if (refused !== undefined) {
      const where = ranges.toString();
      const e = refused as LaminateError;
      throw new LaminateError(e.code, `${e.message}; the ${sent} records before it were appended${where ? ` (partition:offset+count ${where})` : ''}`, { cause: refused });
    }
    return ranges.list();
  }

  /**
   * The records of one partition from `from` on, as an async iterator. Ends
   * at endOffset, or at the partition's end without follow; with follow,
   * waits for new records (they arrive within milliseconds of their
   * acknowledgement) until `signal` aborts, which ends it quietly. Records
   * stream in chunks of up to 256 KiB.
   */
  async *read(name: string, options: ReadOptions): AsyncGenerator<ReadRecord> {
    const partition = nonNegative('partition', options.partition);
    let from = nonNegative('from', options.from ?? 0);
    const endOffset = options.endOffset === undefined ? undefined : nonNegative('endOffset', options.endOffset);
    const follow = options.follow ?? false;
    const retryTimeoutMs = requirePositiveInt('retryTimeoutMs', options.retryTimeoutMs ?? 120_000);
    const signal = options.signal;
    // Set while the read cannot be (re)opened; cleared by any chunk, the empty
    // one a follower gets at the end included.
    let failingSince: number | undefined;
    let backoff = 100;
    for (;;) {
      try {
        const chunks = this.datasets.read({ dataset: name, partition, from, follow, ...(endOffset !== undefined ? { endOffset } : {}) }, signal);
        for await (const chunk of chunks) {
          const records = decodeBody(chunk.body);
          for (let i = 0; i < records.length; i++) yield { partition, offset: chunk.firstOffset + i, record: records[i] };
          from = chunk.nextOffset;
          failingSince = undefined;
          backoff = 100;
        }
        return;
      } catch (err) {
        if (signal?.aborted) return;
        failingSince ??= Date.now();
        if (!isRetriable(err) || Date.now() - failingSince > retryTimeoutMs) throw err;
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff);
          signal?.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
        });
        backoff = Math.min(backoff * 2, 1000);
        if (signal?.aborted) return;
      }
    }
  }

  /** The master's Views service and the serving nodes (made on first use). */
  private get queries(): ViewQueries {
    if (this.closed) throw new LaminateError('FAILED_PRECONDITION', 'The client is closed');
    if (this.viewQueries === undefined) {
      const directory = new ServingDirectory(this.views);
      this.viewQueries = { directory, queries: new ViewQueries(directory) };
    }
    return this.viewQueries.queries;
  }

  /**
   * The value of `key` (a string, or a tuple of strings and numbers) in
   * view `view`: its current version, or `version` (one the serving layer
   * keeps). Resolves to `{ key, value, found, coverage }`; a key the view
   * does not hold is `found: false`, while an unknown view or version is
   * NOT_FOUND. Asks a serving node that has loaded the view (found through
   * the master), and another one if it is unavailable.
   */
  async get(view: string, key: ViewKey, options: QueryOptions = {}): Promise<GetResult> {
    return this.queries.get(view, key, options);
  }

  /** The values of several keys, in the order given, all from one version (`{ view, coverage, results }`). */
  async multiGet(view: string, keys: readonly ViewKey[], options: QueryOptions = {}): Promise<MultiGetResult> {
    return this.queries.multiGet(view, keys, options);
  }

  /**
   * The entries of a view in key order, from one version, as an async
   * iterator of `{ key, value }`: those starting with `prefix`, from `from`
   * (inclusive) to `to` (exclusive), at most `limit`. Its `coverage` is
   * known once the first entry (or the end) has arrived. Entries stream in
   * chunks of tens of KB; leaving the loop early ends the scan on the node.
   */
  scan(view: string, options: ScanOptions = {}): ViewScan {
    return this.queries.scan(view, options);
  }

  /** Flushes and closes every producer this client made, then the channels. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A producer's failure has already rejected its records' promises.
    await Promise.all([...this.producers].map((p) => p.close().catch(() => {})));
    this.producers.clear();
    this.datasets.close();
    this.jobClient?.close();
    this.viewQueries?.directory.close();
    this.viewsClient?.close();
    this.functionsClient?.close();
  }
}

/** Producer.prepare, naming the record's position in the input when it refuses it. */
function prepareAt(producer: Producer, record: DatasetRecord, index: number): PreparedRecord {
  try {
    return producer.prepare(record);
  } catch (err) {
    const e = err as LaminateError;
    throw new LaminateError(e.code, `Record ${index}: ${e.message}`, { cause: err });
  }
}
