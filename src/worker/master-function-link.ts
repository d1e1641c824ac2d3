/**
 * The worker's link to the master for functions, over the master's own
 * services: code through GetFunctionCode (answered only to the worker the
 * master placed the container on), `ctx.emit` through the Dataset service's
 * Append, and reports through ReportInvocation, turned from the host's flat
 * report into the master's shape here.
 *
 * Emitted records are not sent one Append each: the records emitted to a
 * dataset while a batch is on its way (from every container of the worker)
 * wait and go together in the next Append, up to MAX_BATCH_RECORDS, to one
 * partition chosen in turn (the partition count is asked once per dataset).
 * Each `emit` resolves when its batch is durable, as a producer's send does;
 * an attempt retried after a failure may append a record again (at least
 * once: records carry the event id to dedupe).
 */
import { LaminateError } from '../common/errors.js';
import type { InvocationErrorCode, InvocationReport } from '../common/function-shapes.js';
import type { FunctionInvocationReport } from '../common/function-invocation.js';
import type { DatasetClient } from '../protocol/dataset-rpc.js';
import type { MasterClient } from '../protocol/master-rpc.js';
import { encodeRecord } from '../storage/record-body.js';
import type { DatasetRecord } from '../storage/record-body.js';
import type { WorkerFunctionLink } from './function-host.js';

/** The master's report from the host's. */
export function toMasterReport(r: FunctionInvocationReport): InvocationReport {
  return {
    requestId: r.requestId, workerId: r.workerId, containerId: r.containerId,
    outcome: r.ok
      ? { ok: true, result: Buffer.from(r.result.buffer, r.result.byteOffset, r.result.byteLength) }
      : { ok: false, code: (r.errorCode === '' ? 'HANDLER_ERROR' : r.errorCode) as InvocationErrorCode, message: r.errorMessage },
    durationMs: r.durationMs, coldStart: r.coldStart, initMs: r.initMs, containerGone: r.containerGone,
    logs: r.logs.map((l) => ({ at: l.at, level: l.level, message: l.message })), maxMemoryUsedMb: r.maxMemoryUsedMb,
  };
}

/** Records per Append of emitted records; more wait for the next. */
const MAX_BATCH_RECORDS = 1000;

interface PendingEmit {
  /** Encoded at the emit, so that a record refused (too large, not JSON) fails its own emit only. */
  readonly frame: Buffer;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export function masterFunctionLink(master: () => MasterClient, datasets: () => DatasetClient, workerId: () => string): WorkerFunctionLink {
  const partitions = new Map<string, Promise<number>>();
  let turn = 0;
  /** Per dataset: records waiting, and whether an Append of its records is on its way. */
  const queues = new Map<string, { waiting: PendingEmit[]; sending: boolean }>();
  const partitionCount = (dataset: string): Promise<number> => {
    let p = partitions.get(dataset);
    if (!p) {
      p = datasets().describeDataset(dataset).then((d) => d.partitions.length);
      partitions.set(dataset, p);
      p.catch(() => partitions.delete(dataset));
    }
    return p;
  };
  /** Sends the dataset's waiting records, a batch at a time, until none wait. */
  const send = async (dataset: string, q: { waiting: PendingEmit[]; sending: boolean }): Promise<void> => {
    q.sending = true;
    // Let the emits of the same turn of the event loop join the first batch.
    await new Promise<void>((r) => setImmediate(r));
    while (q.waiting.length > 0) {
      const batch = q.waiting.splice(0, MAX_BATCH_RECORDS);
      try {
        const n = await partitionCount(dataset);
        if (n <= 0) throw new LaminateError('FAILED_PRECONDITION', `Dataset '${dataset}' has no partitions`);
        const body = Buffer.concat(batch.map((p) => p.frame));
        await datasets().append([{ dataset, partition: turn++ % n, body, count: batch.length }]);
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    q.sending = false;
  };
  return {
    async getFunctionCode(name, version) {
      return master().getFunctionCode(name, version, workerId());
    },
    appendToDataset(dataset, record) {
      return new Promise<void>((resolve, reject) => {
        const frame = encodeRecord(record as DatasetRecord);
        let q = queues.get(dataset);
        if (!q) queues.set(dataset, (q = { waiting: [], sending: false }));
        q.waiting.push({ frame, resolve, reject });
        if (!q.sending) void send(dataset, q);
      });
    },
    async reportInvocation(report) {
      await master().reportInvocation(toMasterReport(report));
    },
  };
}
