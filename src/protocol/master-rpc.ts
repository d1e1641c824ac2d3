/**
 * The Master service at the edge: a server that hands requests to plain
 * handlers, and a client with one promise-returning method per RPC.
 */
import * as grpc from '@grpc/grpc-js';
import { LaminateError } from '../common/errors.js';
import type { FunctionCode, InvocationReport } from '../common/function-shapes.js';
import type { JobStatus, WorkerStatus } from '../common/job-status.js';
import type { AttemptReport, WorkerCommand } from '../common/task-attempt.js';
import { CHANNEL_OPTIONS, services } from './load.js';
import { newServer } from './flow-control.js';
import type * as M from './messages.js';
import { ReportStream, reportStreamHandler } from './report-stream.js';
import { callUnary, readChunks, streamHandler, unaryHandler } from './rpc.js';
import { fromServiceError, toServiceError } from './status-codes.js';
import {
  fromWireCommand, fromWireInvocationReport, fromWireJobStatus, fromWireReport, fromWireWorkerStatus, toWireCommand, toWireInvocationReport, toWireJobStatus,
  toWireReport, toWireWorkerStatus,
} from './wire-mapping.js';
import { channelCredentials, clientOptions, serverCredentials } from './security.js';

/** The master side of an Attach stream: commands go down it until either end closes. */
export interface CommandChannel {
  send(command: WorkerCommand): void;
  /** Called once when the worker goes away or the stream is ended. */
  onClose(listener: () => void): void;
  end(): void;
}

export interface MasterHandlers {
  registerWorker(req: M.RegisterWorkerRequest): Promise<M.RegisterWorkerResponse> | M.RegisterWorkerResponse;
  heartbeat(req: M.HeartbeatRequest): Promise<M.HeartbeatResponse> | M.HeartbeatResponse;
  leave(req: M.LeaveRequest): void;
  attach(req: M.AttachRequest, channel: CommandChannel): void;
  reportAttempt(report: AttemptReport): Promise<void> | void;
  getBundle(req: M.GetBundleRequest, signal: AbortSignal): AsyncIterable<Buffer>;
  submitJob(req: M.SubmitJobRequest): Promise<M.SubmitJobResponse>;
  getJob(req: M.GetJobRequest): Promise<JobStatus> | JobStatus;
  waitJob(req: M.WaitJobRequest): Promise<JobStatus>;
  listJobs(): JobStatus[];
  killJob(req: M.KillJobRequest): Promise<M.KillJobResponse> | M.KillJobResponse;
  listWorkers(): WorkerStatus[];
  /** A worker's report of a function invocation attempt (functions, issue 10). */
  reportInvocation(report: InvocationReport): Promise<void> | void;
  /** A function version's code, encrypted, with its data key, for the worker that runs it. */
  getFunctionCode(req: M.GetFunctionCodeRequest): Promise<FunctionCode> | FunctionCode;
}

export interface BoundServer {
  readonly server: grpc.Server;
  readonly port: number;
  /** Stops accepting calls and ends open ones after graceMs. Safe to call twice. */
  close(graceMs?: number): Promise<void>;
}

export async function bindServer(server: grpc.Server, host: string, port: number): Promise<BoundServer> {
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, serverCredentials(), (err, p) => {
      if (err) reject(new LaminateError('UNAVAILABLE', `Could not listen on ${host}:${port}: ${err.message}`, { cause: err }));
      else resolve(p);
    });
  });
  let closed: Promise<void> | undefined;
  return {
    server,
    port: bound,
    close(graceMs = 1000) {
      closed ??= new Promise<void>((resolve) => {
        const t = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
        t.unref();
        server.tryShutdown(() => { clearTimeout(t); resolve(); });
      });
      return closed;
    },
  };
}

/**
 * Adds a service to a server before it binds, so that no call can reach the
 * address before the service is there (a retrying client would otherwise be
 * told UNIMPLEMENTED by a master that is still starting).
 */
export type ServiceRegistration = (server: grpc.Server) => void;

/** Serves the Master service, and with it any `extra` services (the Dataset service, say) on the same port. */
export async function serveMaster(handlers: MasterHandlers, host: string, port: number, extra: readonly ServiceRegistration[] = []): Promise<BoundServer> {
  const server = newServer();
  for (const register of extra) register(server);
  const reportStreams = new Set<grpc.ServerDuplexStream<M.InvocationReport, M.InvocationReportAck>>();
  server.addService(services().master, {
    registerWorker: unaryHandler(handlers.registerWorker),
    heartbeat: unaryHandler(handlers.heartbeat),
    leave: unaryHandler((req: M.LeaveRequest) => { handlers.leave(req); return {}; }),
    attach: (call: grpc.ServerWritableStream<M.AttachRequest, M.WorkerCommand>) => {
      const listeners: Array<() => void> = [];
      let open = true;
      const close = (): void => {
        if (!open) return;
        open = false;
        for (const l of listeners) l();
      };
      call.on('cancelled', close);
      call.on('close', close);
      call.on('error', close);
      try {
        handlers.attach(call.request, {
          send: (cmd) => { if (open) call.write(toWireCommand(cmd)); },
          onClose: (l) => { listeners.push(l); },
          end: () => {
            if (!open) return;
            close();
            call.end();
          },
        });
      } catch (err) {
        call.emit('error', toServiceError(err));
      }
    },
    reportAttempt: unaryHandler(async (req: M.AttemptReport) => { await handlers.reportAttempt(fromWireReport(req)); return {}; }),
    getBundle: streamHandler(handlers.getBundle),
    submitJob: unaryHandler(handlers.submitJob),
    getJob: unaryHandler(async (req: M.GetJobRequest) => toWireJobStatus(await handlers.getJob(req))),
    waitJob: unaryHandler(async (req: M.WaitJobRequest) => toWireJobStatus(await handlers.waitJob(req))),
    listJobs: unaryHandler((): M.JobList => ({ jobs: handlers.listJobs().map(toWireJobStatus) })),
    killJob: unaryHandler(handlers.killJob),
    listWorkers: unaryHandler((): M.WorkerList => ({ workers: handlers.listWorkers().map(toWireWorkerStatus) })),
    reportInvocation: unaryHandler(async (req: M.InvocationReport) => { await handlers.reportInvocation(fromWireInvocationReport(req)); return {}; }),
    streamInvocationReports: reportStreamHandler((req) => handlers.reportInvocation(fromWireInvocationReport(req)), reportStreams),
    getFunctionCode: unaryHandler(async (req: M.GetFunctionCodeRequest): Promise<M.FunctionCode> => ({ ...(await handlers.getFunctionCode(req)) })),
  });
  const bound = await bindServer(server, host, port);
  return {
    ...bound,
    close(graceMs) {
      // Workers keep their report streams open for good: end them, or the shutdown would wait out its grace.
      for (const call of reportStreams) call.end();
      reportStreams.clear();
      return bound.close(graceMs);
    },
  };
}

/** Parses HOST:PORT, as given to --master. */
export function parseAddress(address: string, flag = '--master'): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${flag} to be HOST:PORT, got '${address}'`);
  }
  return { host: m[1]!, port };
}

export class MasterClient {
  private readonly client: grpc.Client;
  private reports: ReportStream | undefined;

  constructor(readonly address: string) {
    parseAddress(address);
    const Ctor = services().masterCtor;
    this.client = new Ctor(address, channelCredentials(), clientOptions(CHANNEL_OPTIONS));
  }

  private call<Req, Res>(method: string, req: Req, timeoutMs = 30_000): Promise<Res> {
    return callUnary<Req, Res>(this.client, method, req, timeoutMs, `master ${this.address} ${method}`);
  }

  registerWorker(req: M.RegisterWorkerRequest): Promise<M.RegisterWorkerResponse> {
    return this.call('registerWorker', req, 10_000);
  }
  heartbeat(req: M.HeartbeatRequest, timeoutMs: number): Promise<M.HeartbeatResponse> {
    return this.call('heartbeat', req, timeoutMs);
  }
  leave(workerId: string, timeoutMs: number): Promise<void> {
    return this.call('leave', { workerId }, timeoutMs);
  }
  reportAttempt(report: AttemptReport): Promise<void> {
    return this.call('reportAttempt', toWireReport(report));
  }
  submitJob(req: M.SubmitJobRequest): Promise<M.SubmitJobResponse> {
    return this.call('submitJob', req, 120_000);
  }
  async getJob(jobId: string): Promise<JobStatus> {
    return fromWireJobStatus(await this.call<M.GetJobRequest, M.JobStatus>('getJob', { jobId }));
  }
  /** Returns when the job has finished, or after timeoutMs with its status then. */
  async waitJob(jobId: string, timeoutMs: number): Promise<JobStatus> {
    return fromWireJobStatus(await this.call<M.WaitJobRequest, M.JobStatus>('waitJob', { jobId, timeoutMs }, timeoutMs + 30_000));
  }
  async listJobs(): Promise<JobStatus[]> {
    return (await this.call<object, M.JobList>('listJobs', {})).jobs.map(fromWireJobStatus);
  }
  killJob(jobId: string): Promise<M.KillJobResponse> {
    return this.call('killJob', { jobId });
  }
  async listWorkers(): Promise<WorkerStatus[]> {
    return (await this.call<object, M.WorkerList>('listWorkers', {})).workers.map(fromWireWorkerStatus);
  }

  /**
   * Reports how a function invocation attempt ended (the worker side of
   * InvokeFunction), on the client's report stream (report-stream.ts):
   * resolves once the master acknowledged it; rejects UNAVAILABLE when the
   * stream broke first (send it again: the master ignores a repeat).
   */
  reportInvocation(report: InvocationReport): Promise<void> {
    this.reports ??= new ReportStream(
      () => (this.client as unknown as { streamInvocationReports(): grpc.ClientDuplexStream<M.InvocationReport, M.InvocationReportAck> }).streamInvocationReports(),
      `master ${this.address} streamInvocationReports`,
    );
    return this.reports.send(toWireInvocationReport(report));
  }
  /** A function version's code, still encrypted, with its data key: fetched once per version, decrypted in memory only. */
  getFunctionCode(fn: string, version: number, workerId: string): Promise<FunctionCode> {
    return this.call<M.GetFunctionCodeRequest, M.FunctionCode>('getFunctionCode', { function: fn, version, workerId });
  }

  /** Streams a bundle; gives up after timeoutMs so a stalled stream cannot hold an attempt forever. */
  getBundle(hash: string, timeoutMs = 60_000): AsyncGenerator<Buffer> {
    const stream = (this.client as unknown as {
      getBundle(r: M.GetBundleRequest, o: grpc.CallOptions): grpc.ClientReadableStream<{ data: Buffer }>;
    }).getBundle({ hash }, { deadline: Date.now() + timeoutMs });
    return readChunks(stream, `master ${this.address} getBundle`);
  }

  /**
   * Opens the command stream. `onCommand` gets every command; `onEnd` is
   * called once when the stream ends for any reason, with the error if any.
   * A command that does not map to the domain's (a launch of an unknown
   * task kind, say) ends the stream with that error: this worker and the
   * master do not speak the same protocol.
   */
  attach(workerId: string, onCommand: (cmd: WorkerCommand) => void, onEnd: (err?: LaminateError) => void): () => void {
    const stream = (this.client as unknown as { attach(r: M.AttachRequest): grpc.ClientReadableStream<M.WorkerCommand> }).attach({ workerId });
    let ended = false;
    const end = (err?: unknown): void => {
      if (ended) return;
      ended = true;
      onEnd(err === undefined ? undefined : fromServiceError(err, `master ${this.address} attach`));
    };
    stream.on('data', (msg: M.WorkerCommand) => {
      if (ended) return;
      let cmd: WorkerCommand | undefined;
      try {
        cmd = fromWireCommand(msg);
      } catch (err) {
        end(err);
        stream.cancel();
        return;
      }
      if (cmd) onCommand(cmd);
    });
    stream.on('error', (err) => end(err));
    stream.on('end', () => end());
    return () => { ended = true; stream.cancel(); };
  }

  close(): void {
    this.reports?.close();
    this.client.close();
  }
}
