/**
 * The worker's link to the master for functions, over the master's own
 * services: code through GetFunctionCode (answered only to the worker the
 * master placed the container on), `ctx.emit` through the Dataset service's
 * Append, and reports through ReportInvocation, turned from the host's flat
 * report into the master's shape here.
 *
 * An emitted record goes to one partition of its dataset, chosen in turn
 * (the partition count is asked once per dataset); it is durable when the
 * append answers, as a producer's is, and an attempt retried after a failure
 * may append it again (at least once: records carry the event id to dedupe).
 */
import { LaminateError } from '../common/errors.js';
import type { InvocationErrorCode, InvocationReport } from '../common/function-shapes.js';
import type { FunctionInvocationReport } from '../common/function-invocation.js';
import type { DatasetClient } from '../protocol/dataset-rpc.js';
import type { MasterClient } from '../protocol/master-rpc.js';
import { encodeBody } from '../storage/record-body.js';
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

export function masterFunctionLink(master: () => MasterClient, datasets: () => DatasetClient, workerId: () => string): WorkerFunctionLink {
  const partitions = new Map<string, Promise<number>>();
  let turn = 0;
  const partitionCount = (dataset: string): Promise<number> => {
    let p = partitions.get(dataset);
    if (!p) {
      p = datasets().describeDataset(dataset).then((d) => d.partitions.length);
      partitions.set(dataset, p);
      p.catch(() => partitions.delete(dataset));
    }
    return p;
  };
  return {
    async getFunctionCode(name, version) {
      return master().getFunctionCode(name, version, workerId());
    },
    async appendToDataset(dataset, record) {
      const n = await partitionCount(dataset);
      if (n <= 0) throw new LaminateError('FAILED_PRECONDITION', `Dataset '${dataset}' has no partitions`);
      const body = encodeBody([record as DatasetRecord]);
      await datasets().append([{ dataset, partition: turn++ % n, body, count: 1 }]);
    },
    async reportInvocation(report) {
      await master().reportInvocation(toMasterReport(report));
    },
  };
}
