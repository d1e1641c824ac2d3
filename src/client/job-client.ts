/**
 * The library API for submitting and watching jobs: what `laminate submit`
 * and `laminate status` use, and what a Node.js program calls directly.
 */
import { absoluteStorePath } from '../storage/store-path.js';
import { isDatasetInput } from '../common/dataset-input.js';
import type { InputFormat } from '../common/input-format.js';
import { JOB_DEFAULTS } from '../common/defaults.js';
import { describe, LaminateError } from '../common/errors.js';
import type { JobStatus, WorkerStatus } from '../common/job-status.js';
import { requirePositiveInt } from '../common/validate.js';
import { MasterClient } from '../protocol/master-rpc.js';
import { bundleJob } from './bundler.js';
import { SamplingDatasets } from './dataset-inputs.js';
import { sampleSplitPoints } from './sampler.js';

export interface SubmitOptions {
  /** Path of the job module (.ts, .mts, .js, .mjs). */
  job: string;
  /**
   * Files or folders (their files, not recursing); or datasets: `dataset:NAME`
   * (every record durable when the master takes the job) or
   * `dataset:NAME@CUT` (exactly the records before CUT, one offset per
   * partition, comma-separated). One kind per job.
   */
  inputs: string[];
  /** Output folder; must not already hold output. */
  output: string;
  /** Reduce tasks. Default 1. */
  reducers?: number;
  /** Default 'text' for files; dataset inputs need none ('dataset'). */
  format?: InputFormat;
  /** Bytes per input split. Default 64 MiB (master's default). */
  splitSize?: number;
  /** Speculative execution. Default true. */
  speculation?: boolean;
  mapMemoryMb?: number;
  reduceMemoryMb?: number;
  taskTimeoutMs?: number;
  /** Sample keys so that part files read in order are globally sorted. Default: the job's totalOrder. */
  totalOrder?: boolean;
  name?: string;
}

export const FINISHED_STATES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'KILLED']);

/**
 * The format a submission asks for: 'dataset' for dataset inputs, else the
 * given one or text. The master judges the request again; refusing a mix
 * here saves bundling and sampling first.
 */
function jobFormat(inputs: readonly string[], format: InputFormat | undefined): InputFormat {
  const datasets = inputs.filter(isDatasetInput).length;
  if (datasets === 0) return format ?? 'text';
  if (datasets < inputs.length) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected every --input to be a dataset (dataset:NAME[@CUT]) or every one a path, got both: ${describe(inputs.find(isDatasetInput))} and ${describe(inputs.find((i) => !isDatasetInput(i)))}`);
  }
  if (format !== undefined && format !== 'dataset') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected no --format with dataset inputs (their records are the JSON values appended), got ${describe(format)}`);
  }
  return 'dataset';
}

function checkPositive(flag: string, v: number | undefined): void {
  if (v !== undefined) requirePositiveInt(flag, v);
}

export interface JobClientOptions {
  /**
   * How long wait() keeps trying to reach a master that has gone away (it
   * may be restarting: jobs resume from its journal) before it gives up with
   * UNAVAILABLE. Default 120 000 ms, Kafka's delivery.timeout.ms.
   */
  readonly reconnectTimeoutMs?: number;
  /** Told each time wait() lost the master and is trying again. */
  readonly onReconnecting?: (err: LaminateError) => void;
}

/** Errors after which the master may come back: it is down, restarting, or the call timed out on the way. */
const RETRYABLE_WAIT_CODES: ReadonlySet<string> = new Set(['UNAVAILABLE', 'TIMEOUT']);

export class JobClient {
  private readonly master: MasterClient;
  private readonly reconnectTimeoutMs: number;
  private readonly onReconnecting: ((err: LaminateError) => void) | undefined;

  constructor(readonly address: string, options: JobClientOptions = {}) {
    this.master = new MasterClient(address);
    this.reconnectTimeoutMs = options.reconnectTimeoutMs ?? 120_000;
    requirePositiveInt('reconnectTimeoutMs', this.reconnectTimeoutMs);
    this.onReconnecting = options.onReconnecting;
  }

  /** Bundles the job module, samples keys for total order, submits; returns the job id. */
  async submit(o: SubmitOptions): Promise<string> {
    const reducers = o.reducers ?? 1;
    checkPositive('--reducers', reducers);
    checkPositive('--split-size', o.splitSize);
    checkPositive('--map-memory', o.mapMemoryMb);
    checkPositive('--reduce-memory', o.reduceMemoryMb);
    checkPositive('--task-timeout', o.taskTimeoutMs);
    if (o.inputs.length === 0) throw new LaminateError('INVALID_ARGUMENT', 'Expected at least one --input path, got none');
    const inputs = o.inputs.map((p) => (isDatasetInput(p) ? p : absoluteStorePath(p)));
    const format = jobFormat(inputs, o.format);
    const { code, job } = await bundleJob(o.job);
    const totalOrder = o.totalOrder ?? job.totalOrder === true;
    const datasets = totalOrder && format === 'dataset' ? new SamplingDatasets(this.address) : undefined;
    let splitPoints: string[] = [];
    try {
      if (totalOrder) {
        splitPoints = await sampleSplitPoints(job, {
          inputs, format, splitSize: o.splitSize ?? JOB_DEFAULTS.splitSize, reducers, ...(datasets ? { datasets } : {}),
        });
      }
    } finally {
      datasets?.close();
    }
    const res = await this.master.submitJob({
      name: o.name ?? o.job.replace(/^.*\//, '').replace(/\.[^.]+$/, ''),
      bundle: code,
      inputs,
      outputDir: absoluteStorePath(o.output),
      reducers,
      format,
      splitSize: o.splitSize ?? 0,
      speculation: o.speculation ?? true,
      mapMemoryMb: o.mapMemoryMb ?? 0,
      reduceMemoryMb: o.reduceMemoryMb ?? 0,
      taskTimeoutMs: o.taskTimeoutMs ?? 0,
      splitPoints,
    });
    return res.jobId;
  }

  /**
   * Waits until the job has finished, calling onProgress with its status every
   * intervalMs or so. Resolves with the final status whatever the outcome.
   * A master that goes away meanwhile (a crash, a restart) is called again
   * with backoff for up to reconnectTimeoutMs: a restarted master resumes the
   * job from its journal, so the wait simply goes on.
   */
  async wait(jobId: string, onProgress?: (s: JobStatus) => void, intervalMs = 500): Promise<JobStatus> {
    let lostSince: number | undefined;
    let backoffMs = 50;
    for (;;) {
      try {
        const s = await this.master.waitJob(jobId, intervalMs);
        lostSince = undefined;
        backoffMs = 50;
        if (FINISHED_STATES.has(s.state)) return await this.master.getJob(jobId);
        onProgress?.(s);
      } catch (err) {
        if (!(err instanceof LaminateError) || !RETRYABLE_WAIT_CODES.has(err.code)) throw err;
        const now = Date.now();
        lostSince ??= now;
        if (now - lostSince >= this.reconnectTimeoutMs) {
          throw new LaminateError('UNAVAILABLE', `Lost the master at ${this.address} while waiting for ${jobId} and could not reach it again within ${this.reconnectTimeoutMs} ms: ${err.message}`, { cause: err, ids: { jobId } });
        }
        this.onReconnecting?.(err);
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(2000, backoffMs * 2);
      }
    }
  }

  status(jobId: string): Promise<JobStatus> {
    return this.master.getJob(jobId);
  }

  list(): Promise<JobStatus[]> {
    return this.master.listJobs();
  }

  /** The workers the master knows, live and lost. */
  workers(): Promise<WorkerStatus[]> {
    return this.master.listWorkers();
  }

  async kill(jobId: string): Promise<boolean> {
    return (await this.master.killJob(jobId)).killed;
  }

  close(): void {
    this.master.close();
  }
}
