/**
 * The one place where wire messages (messages.ts) become domain types
 * (src/common/) and back, as Temporal's SDK maps its protos: string fields
 * that stand for unions are checked on the way in, so the rest of the code
 * only ever sees the domain's unions. Called by the servers and clients of
 * this folder, once per message; pure.
 */
import { isErrorCode, LaminateError, type ErrorCode } from '../common/errors.js';
import type { TaskKind } from '../common/ids.js';
import { INPUT_FORMATS, type InputFormat } from '../common/input-format.js';
import type { InputSplit } from '../common/input-split.js';
import {
  ATTEMPT_STATES, JOB_STATES, TASK_STATES, type AttemptStatus, type JobStatus, type StatusFailure, type TaskStatus, type WorkerStatus,
} from '../common/job-status.js';
import { INVOCATION_ERROR_CODES, type InvocationErrorCode, type InvocationReport, type ReportedLogLine } from '../common/function-shapes.js';
import type { AttemptLaunch, AttemptOutcome, AttemptReport, OutputFileSummary, WorkerCommand } from '../common/task-attempt.js';
import type * as M from './messages.js';

/** `value` if it is one of `allowed`; else INVALID_ARGUMENT naming `what`. */
function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new LaminateError('INVALID_ARGUMENT', `Expected ${what} to be one of ${allowed.join(', ')}, got '${value}'`);
}

const TASK_KINDS: readonly TaskKind[] = ['map', 'reduce'];

// ---- commands: master -> worker ----------------------------------------------

export function toWireSplit(s: InputSplit): M.WireInputSplit {
  return s.kind === 'file'
    ? { file: { path: s.path, start: s.start, length: s.length } }
    : {
      dataset: {
        dataset: s.dataset, partition: s.partition, startOffset: s.startOffset, endOffset: s.endOffset,
        ...(s.archive ? { archivePath: s.archive.path, archiveStart: s.archive.start, archiveEnd: s.archive.end } : {}),
      },
    };
}

/** @throws LaminateError INVALID_ARGUMENT for a split of neither kind (a newer master's, say). */
export function fromWireSplit(w: M.WireInputSplit, attemptId: string): InputSplit {
  if (w.file) return { kind: 'file', path: w.file.path, start: w.file.start, length: w.file.length };
  if (w.dataset) {
    const d = w.dataset;
    const split = { kind: 'dataset' as const, dataset: d.dataset, partition: d.partition, startOffset: d.startOffset, endOffset: d.endOffset };
    // An empty path is "not archived" (proto3 defaults).
    return d.archivePath ? { ...split, archive: { path: d.archivePath, start: d.archiveStart ?? 0, end: d.archiveEnd ?? 0 } } : split;
  }
  throw new LaminateError('INVALID_ARGUMENT', `Expected the input split of ${attemptId} to be a file or a dataset split, got neither`);
}

export function toWireLaunch(l: AttemptLaunch): M.LaunchAttempt {
  return {
    attemptId: l.attemptId,
    jobId: l.jobId,
    bundleHash: l.bundleHash,
    kind: l.kind,
    index: l.index,
    memoryMb: l.memoryMb,
    timeoutMs: l.timeoutMs,
    reducers: l.reducers,
    format: l.format,
    outputDir: l.outputDir,
    split: l.split ? toWireSplit(l.split) : null,
    sources: l.sources.map((s) => ({
      mapIndex: s.mapIndex, attemptId: s.attemptId, workerId: s.workerId, shuffleAddress: s.shuffleAddress,
      partition: { offset: s.partition.offset, length: s.partition.length, records: s.partition.records },
    })),
    splitPoints: [...l.splitPoints],
    sortBufferBytes: l.sortBufferBytes,
    workerId: l.workerId,
    mergeBase: l.mergeBase ?? '',
  };
}

/** @throws LaminateError INVALID_ARGUMENT when the kind or format is not one Laminate knows. */
export function fromWireLaunch(w: M.LaunchAttempt): AttemptLaunch {
  const format: InputFormat = oneOf(w.format, INPUT_FORMATS, `the input format of ${w.attemptId}`);
  return {
    attemptId: w.attemptId,
    jobId: w.jobId,
    workerId: w.workerId,
    bundleHash: w.bundleHash,
    kind: oneOf(w.kind, TASK_KINDS, `the task kind of ${w.attemptId}`),
    index: w.index,
    memoryMb: w.memoryMb,
    timeoutMs: w.timeoutMs,
    reducers: w.reducers,
    format,
    outputDir: w.outputDir,
    ...(w.split ? { split: fromWireSplit(w.split, w.attemptId) } : {}),
    sources: w.sources.map((s) => ({
      mapIndex: s.mapIndex, attemptId: s.attemptId, workerId: s.workerId, shuffleAddress: s.shuffleAddress,
      partition: s.partition ? { offset: s.partition.offset, length: s.partition.length, records: s.partition.records } : { offset: 0, length: 0, records: 0 },
    })),
    splitPoints: w.splitPoints,
    sortBufferBytes: w.sortBufferBytes,
    ...(w.mergeBase ? { mergeBase: w.mergeBase } : {}),
  };
}

export function toWireCommand(c: WorkerCommand): M.WorkerCommand {
  switch (c.type) {
    case 'launch': return { launch: toWireLaunch(c.launch) };
    case 'kill': return { kill: { attemptId: c.attemptId, reason: c.reason } };
    case 'cleanup': return { cleanup: { jobId: c.jobId } };
    case 'invoke': return { invoke: { ...c.invoke, env: { ...c.invoke.env } } };
    case 'stopContainer': return { stopContainer: { containerId: c.containerId, reason: c.reason } };
  }
}

/**
 * The command, or undefined for a message that carries none a worker knows
 * (ignored, as a newer master's command would be).
 * @throws LaminateError INVALID_ARGUMENT for a launch that does not map (see fromWireLaunch).
 */
export function fromWireCommand(w: M.WorkerCommand): WorkerCommand | undefined {
  if (w.launch) return { type: 'launch', launch: fromWireLaunch(w.launch) };
  if (w.kill) return { type: 'kill', attemptId: w.kill.attemptId, reason: w.kill.reason };
  if (w.cleanup) return { type: 'cleanup', jobId: w.cleanup.jobId };
  if (w.invoke) {
    const i = w.invoke;
    return {
      type: 'invoke',
      invoke: {
        requestId: i.requestId, eventId: i.eventId, function: i.function, version: i.version, codeSha256: i.codeSha256, containerId: i.containerId,
        memoryMb: i.memoryMb, timeoutMs: i.timeoutMs, payload: Buffer.from(i.payload ?? []), env: { ...(i.env ?? {}) }, deadline: i.deadline,
      },
    };
  }
  if (w.stopContainer) return { type: 'stopContainer', containerId: w.stopContainer.containerId, reason: w.stopContainer.reason };
  return undefined;
}

// ---- reports: worker -> master -----------------------------------------------

export function toWireReport(r: AttemptReport): M.AttemptReport {
  const { attemptId, workerId, result } = r;
  const wire: M.AttemptReport = {
    attemptId, workerId, outcome: result.outcome, failure: null, partitions: [], counters: [], failedMapIndex: 0, failedMapAttemptId: '', outputFile: null,
  };
  if (result.outcome === 'SUCCEEDED') {
    wire.partitions = (result.partitions ?? []).map((p) => ({ offset: p.offset, length: p.length, records: p.records }));
    wire.counters = Object.entries(result.counters).map(([name, value]) => ({ name, value }));
    const f = result.outputFile;
    if (f) wire.outputFile = { records: f.records, bytes: f.bytes, checksum: f.checksum, firstKey: f.firstKey ?? '', lastKey: f.lastKey ?? '' };
  } else if (result.outcome === 'FAILED') {
    wire.failure = { code: result.code, message: result.message, attemptId, workerId };
  } else {
    wire.failure = { code: 'FETCH_FAILED', message: result.message, attemptId, workerId };
    wire.failedMapIndex = result.mapIndex;
    wire.failedMapAttemptId = result.mapAttemptId;
  }
  return wire;
}

/**
 * A report's outcome in domain terms. A failure code Laminate does not know
 * becomes INTERNAL; a missing cause says so.
 * @throws LaminateError INVALID_ARGUMENT for an outcome other than SUCCEEDED, FAILED or FETCH_FAILED.
 */
export function fromWireOutcome(w: M.AttemptReport): AttemptOutcome {
  switch (w.outcome) {
    case 'SUCCEEDED':
      return {
        outcome: 'SUCCEEDED',
        counters: Object.fromEntries((w.counters ?? []).map((c) => [c.name, c.value])),
        partitions: (w.partitions ?? []).map((p) => ({ offset: p.offset, length: p.length, records: p.records })),
        ...(w.outputFile ? { outputFile: fromWireOutputFile(w.outputFile) } : {}),
      };
    case 'FAILED':
      return {
        outcome: 'FAILED',
        code: w.failure && isErrorCode(w.failure.code) ? w.failure.code : 'INTERNAL',
        message: w.failure?.message ?? 'no cause reported',
      };
    case 'FETCH_FAILED':
      return { outcome: 'FETCH_FAILED', message: w.failure?.message ?? 'fetch failed', mapIndex: w.failedMapIndex, mapAttemptId: w.failedMapAttemptId };
    default:
      throw new LaminateError('INVALID_ARGUMENT', `Expected outcome SUCCEEDED, FAILED or FETCH_FAILED, got '${w.outcome}'`);
  }
}

/** A reported file summary; no keys when it has no record (the wire's empty strings). */
function fromWireOutputFile(f: M.WireOutputFileSummary): OutputFileSummary {
  const keys = f.records > 0;
  return { records: f.records, bytes: f.bytes, checksum: f.checksum, firstKey: keys ? f.firstKey : undefined, lastKey: keys ? f.lastKey : undefined };
}

export function fromWireReport(w: M.AttemptReport): AttemptReport {
  return { attemptId: w.attemptId, workerId: w.workerId, result: fromWireOutcome(w) };
}

// ---- function invocations: worker -> master -----------------------------------

const LOG_LEVELS: readonly ReportedLogLine['level'][] = ['info', 'warn', 'error'];

export function toWireInvocationReport(r: InvocationReport): M.InvocationReport {
  return {
    requestId: r.requestId, workerId: r.workerId, containerId: r.containerId, ok: r.outcome.ok,
    result: r.outcome.ok ? r.outcome.result : Buffer.alloc(0),
    errorCode: r.outcome.ok ? '' : r.outcome.code, errorMessage: r.outcome.ok ? '' : r.outcome.message,
    durationMs: r.durationMs, coldStart: r.coldStart, initMs: r.initMs, containerGone: r.containerGone,
    logs: r.logs.map((l) => ({ at: l.at, level: l.level, message: l.message })), maxMemoryUsedMb: r.maxMemoryUsedMb,
  };
}

/**
 * A report in domain terms. An error code Laminate does not know becomes
 * HANDLER_ERROR (with the code in the message), a log level it does not
 * know becomes info: a newer worker's report still lands.
 */
export function fromWireInvocationReport(w: M.InvocationReport): InvocationReport {
  const known = (INVOCATION_ERROR_CODES as readonly string[]).includes(w.errorCode);
  return {
    requestId: w.requestId, workerId: w.workerId, containerId: w.containerId,
    outcome: w.ok
      ? { ok: true, result: Buffer.from(w.result ?? []) }
      : { ok: false, code: known ? w.errorCode as InvocationErrorCode : 'HANDLER_ERROR', message: known ? w.errorMessage : `${w.errorCode || 'no code'}: ${w.errorMessage}` },
    durationMs: w.durationMs, coldStart: w.coldStart, initMs: w.initMs, containerGone: w.containerGone,
    logs: (w.logs ?? []).map((l) => ({ at: l.at, level: (LOG_LEVELS as readonly string[]).includes(l.level) ? l.level as ReportedLogLine['level'] : 'info', message: l.message })),
    maxMemoryUsedMb: w.maxMemoryUsedMb,
  };
}

// ---- status: master -> clients -----------------------------------------------

const wireFailure = (f: StatusFailure): M.WireFailure => ({ code: f.code, message: f.message, attemptId: f.attemptId, workerId: f.workerId });
const failureCode = (code: string): ErrorCode => (isErrorCode(code) ? code : 'INTERNAL');
const statusFailure = (f: M.WireFailure): StatusFailure => ({ code: failureCode(f.code), message: f.message, attemptId: f.attemptId, workerId: f.workerId });

export function toWireJobStatus(s: JobStatus): M.JobStatus {
  return {
    jobId: s.jobId, name: s.name, state: s.state, message: s.message, submitMs: s.submitMs, startMs: s.startMs, finishMs: s.finishMs,
    outputDir: s.outputDir, maps: s.maps && { ...s.maps }, reduces: s.reduces && { ...s.reduces },
    counters: s.counters.map((c) => ({ name: c.name, value: c.value })),
    failures: s.failures.map(wireFailure),
    tasks: s.tasks.map((t) => ({
      taskId: t.taskId, kind: t.kind, state: t.state,
      attempts: t.attempts.map((a) => ({ ...a, failure: a.failure && wireFailure(a.failure) })),
    })),
    cuts: s.cuts.map((c) => ({ dataset: c.dataset, offsets: [...c.offsets], from: [...(c.from ?? [])] })),
  };
}

/** @throws LaminateError INVALID_ARGUMENT for a state or task kind Laminate does not know. */
export function fromWireJobStatus(w: M.JobStatus): JobStatus {
  return {
    jobId: w.jobId, name: w.name, state: oneOf(w.state, JOB_STATES, `the state of ${w.jobId}`), message: w.message,
    submitMs: w.submitMs, startMs: w.startMs, finishMs: w.finishMs, outputDir: w.outputDir, maps: w.maps, reduces: w.reduces,
    counters: w.counters, failures: w.failures.map(statusFailure),
    tasks: w.tasks.map((t): TaskStatus => ({
      taskId: t.taskId, kind: oneOf(t.kind, TASK_KINDS, `the kind of ${t.taskId}`), state: oneOf(t.state, TASK_STATES, `the state of ${t.taskId}`),
      attempts: t.attempts.map((a): AttemptStatus => ({
        attemptId: a.attemptId, workerId: a.workerId, state: oneOf(a.state, ATTEMPT_STATES, `the state of ${a.attemptId}`),
        startMs: a.startMs, finishMs: a.finishMs, speculative: a.speculative, failure: a.failure && statusFailure(a.failure),
      })),
    })),
    cuts: (w.cuts ?? []).map((c) => ({ dataset: c.dataset, offsets: c.offsets, ...((c.from ?? []).length > 0 ? { from: c.from } : {}) })),
  };
}

export function toWireWorkerStatus(s: WorkerStatus): M.WorkerStatus {
  return { ...s, runningAttemptIds: [...s.runningAttemptIds] };
}

export function fromWireWorkerStatus(w: M.WorkerStatus): WorkerStatus {
  return { ...w };
}
