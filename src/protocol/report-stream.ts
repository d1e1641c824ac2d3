/**
 * Invocation reports on one long-lived stream (StreamInvocationReports), both
 * ends. A warm invocation's answer travels worker -> master on its return
 * path; as a unary call it paid a new HTTP/2 stream, headers, trailers and
 * the call's set-up on both sides, about a third of what the worker did per
 * invocation. On an open stream it is one message, and the master's
 * acknowledgement (by request id) is off the caller's path, gathered with
 * the others of the same few ms into one message.
 *
 * Nothing is lost when the stream breaks: every report not yet acknowledged
 * is rejected UNAVAILABLE, the worker's report loop sends it again (on a new
 * stream), and the master ignores a report of an attempt it has already
 * ended, so a report taken just before the break and sent again is harmless.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage, isErrorCode, LaminateError } from '../common/errors.js';
import type * as M from './messages.js';
import { fromServiceError } from './status-codes.js';

/** How long a report may wait for its acknowledgement before it is sent again (TIMEOUT), ms: the unary call's deadline. */
export const REPORT_ACK_TIMEOUT_MS = 30_000;

interface Waiting {
  readonly resolve: () => void;
  readonly reject: (err: LaminateError) => void;
  readonly timer: NodeJS.Timeout;
}

type ReportCall = grpc.ClientDuplexStream<M.InvocationReport, M.InvocationReportAck>;

/**
 * The worker's end: send() resolves when the master acknowledged the report
 * and rejects (UNAVAILABLE, TIMEOUT, or the code the master refused it with)
 * otherwise. One per MasterClient; the stream opens at the first report and
 * again after a break.
 */
export class ReportStream {
  private call: ReportCall | undefined;
  /** Reports sent and not acknowledged, by request id (a resend after a break may share an id: oldest first). */
  private readonly waiting = new Map<string, Waiting[]>();
  private closed = false;

  constructor(private readonly open: () => ReportCall, private readonly what: string) {}

  send(report: M.InvocationReport): Promise<void> {
    if (this.closed) return Promise.reject(new LaminateError('UNAVAILABLE', `${this.what}: the client is closed`));
    const call = this.call ?? this.start();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.take(report.requestId, w)?.reject(new LaminateError('TIMEOUT', `${this.what}: no acknowledgement of report ${report.requestId} within ${REPORT_ACK_TIMEOUT_MS} ms`));
      }, REPORT_ACK_TIMEOUT_MS);
      timer.unref();
      const w: Waiting = { resolve, reject, timer };
      const list = this.waiting.get(report.requestId);
      if (list) list.push(w);
      else this.waiting.set(report.requestId, [w]);
      // Back-pressure is not needed: one report per invocation, each small and bounded by the container count.
      call.write(report);
    });
  }

  /** Ends the stream; reports still waiting are rejected UNAVAILABLE. Safe to repeat. */
  close(): void {
    this.closed = true;
    const call = this.call;
    this.broken(call, new LaminateError('UNAVAILABLE', `${this.what}: the client is closing`));
    call?.cancel();
  }

  private start(): ReportCall {
    const call = this.open();
    this.call = call;
    call.on('data', (ack: M.InvocationReportAck) => {
      const w = this.take(ack.requestId);
      if (w) {
        if (ack.errorCode === '') w.resolve();
        else w.reject(new LaminateError(isErrorCode(ack.errorCode) ? ack.errorCode : 'INTERNAL', ack.errorMessage));
      }
      // The others the master took in the same few ms.
      for (const id of ack.moreRequestIds ?? []) this.take(id)?.resolve();
    });
    call.on('error', (err) => this.broken(call, fromServiceError(err, this.what)));
    call.on('end', () => this.broken(call, new LaminateError('UNAVAILABLE', `${this.what}: the master ended the stream`)));
    return call;
  }

  /** The stream ended: what waits on it is rejected; the next report opens a new one. */
  private broken(call: ReportCall | undefined, err: LaminateError): void {
    if (call === undefined || this.call !== call) return;
    this.call = undefined;
    const all = [...this.waiting.values()].flat();
    this.waiting.clear();
    for (const w of all) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  private take(requestId: string, which?: Waiting): Waiting | undefined {
    const list = this.waiting.get(requestId);
    if (!list) return undefined;
    const i = which ? list.indexOf(which) : 0;
    if (i < 0) return undefined;
    const [w] = list.splice(i, 1);
    if (list.length === 0) this.waiting.delete(requestId);
    if (w) clearTimeout(w.timer);
    return w;
  }
}

/** How long the master gathers acknowledgements before it sends them in one message, ms (far below REPORT_ACK_TIMEOUT_MS). */
export const ACK_DELAY_MS = 20;
/** Acknowledgements in one message at most; more are sent at once. */
export const MAX_ACKS_PER_MESSAGE = 1_000;

/**
 * The master's end: hands each report to `handle` and acknowledges it with
 * its request id, or with the error `handle` threw. Reports taken are
 * acknowledged together, ACK_DELAY_MS after the first of them (or at once
 * past MAX_ACKS_PER_MESSAGE): one message per few ms rather than one per
 * invocation, each of which cost both ends an HTTP/2 frame's write, read,
 * encoding and decoding. Nothing waits for an acknowledgement but the
 * worker's resend after a break, so the delay costs nothing; and none is on
 * the path of the answer the report settled. A refusal is sent alone, in the
 * next check phase. `track` keeps the open calls so that a stopping master
 * can end them (a server waits for open calls before it shuts down).
 */
export function reportStreamHandler(
  handle: (report: M.InvocationReport) => Promise<void> | void,
  track: Set<grpc.ServerDuplexStream<M.InvocationReport, M.InvocationReportAck>>,
): grpc.handleBidiStreamingCall<M.InvocationReport, M.InvocationReportAck> {
  return (call) => {
    track.add(call);
    let open = true;
    /** Request ids of reports taken and not yet acknowledged. */
    let taken: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      clearTimeout(timer);
      timer = undefined;
      const ids = taken;
      taken = [];
      if (open && ids.length > 0) call.write({ requestId: ids[0]!, errorCode: '', errorMessage: '', moreRequestIds: ids.slice(1) });
    };
    const done = (): void => {
      open = false;
      clearTimeout(timer);
      track.delete(call);
    };
    call.on('data', (report: M.InvocationReport) => {
      const ack = (errorCode: string, message: string): void => {
        if (errorCode !== '') {
          setImmediate(() => {
            if (open) call.write({ requestId: report.requestId, errorCode, errorMessage: message, moreRequestIds: [] });
          });
          return;
        }
        taken.push(report.requestId);
        // Off the path of what `handle` settled: the answer's continuations run first.
        if (taken.length >= MAX_ACKS_PER_MESSAGE) setImmediate(flush);
        else if (timer === undefined) {
          timer = setTimeout(flush, ACK_DELAY_MS);
          timer.unref();
        }
      };
      let handled: Promise<void> | void;
      try {
        handled = handle(report);
      } catch (err) {
        ack(err instanceof LaminateError ? err.code : 'INTERNAL', errorMessage(err));
        return;
      }
      if (handled === undefined) ack('', '');
      else handled.then(() => ack('', ''), (err: unknown) => ack(err instanceof LaminateError ? err.code : 'INTERNAL', errorMessage(err)));
    });
    call.on('end', () => {
      if (open) {
        flush();
        call.end();
      }
      done();
    });
    call.on('cancelled', done);
    call.on('error', done);
  };
}
