/**
 * The Functions service at the edge (hosted by the master): deploy, list,
 * versions, delete, invoke (sync and async) and logs (with follow). The
 * server hands domain-shaped requests to handlers; the client gives one
 * promise per RPC (an async iterable for logs). Wire defaults become absent
 * values here and nowhere else: 0 memory, timeout or concurrency mean "the
 * default", an absent retries too, '' dead letter none, version 0 the live one.
 * Payloads and results travel as JSON text. Synchronous invocations from a
 * client ride one long-lived stream (InvokeStream, call-stream.ts: a message
 * each way instead of a unary call's HTTP/2 stream, headers, trailers and
 * set-up on both ends, on every warm invocation's path), falling back to the
 * unary Invoke on a master without it; asynchronous ones stay unary.
 */
import * as grpc from '@grpc/grpc-js';
import { LaminateError } from '../common/errors.js';
import {
  INVOCATION_ERROR_CODES, type FunctionConfig, type FunctionLogLine, type FunctionMetrics, type FunctionSummary, type FunctionVersionInfo,
  type InvocationErrorCode, type InvocationOutcome, type TriggerSpec,
} from '../common/function-shapes.js';
import { CallStreamMux, callStreamHandler, type StreamAnswer, type StreamRequest } from './call-stream.js';
import { CHANNEL_OPTIONS, services } from './load.js';
import { parseAddress, type ServiceRegistration } from './master-rpc.js';
import { callUnary, messageStreamHandler, readMessages, unaryHandler } from './rpc.js';
import { channelCredentials, clientOptions } from './security.js';

/** What a deploy may leave out (the master fills the defaults). */
export interface FunctionConfigRequest {
  readonly memoryMb?: number;
  readonly timeoutMs?: number;
  readonly concurrency?: number;
  readonly retries?: number;
  readonly deadLetter?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly triggers?: readonly TriggerSpec[];
}

export interface DeployFunctionCall {
  readonly name: string;
  readonly code: Buffer;
  readonly config: FunctionConfigRequest;
}

export interface FunctionLogsQuery {
  readonly sinceMs?: number;
  readonly limit?: number;
  readonly follow?: boolean;
}

/** What the server side calls; see src/master/functions-host.ts. */
export interface FunctionsHandlers {
  deploy(req: DeployFunctionCall): Promise<FunctionVersionInfo>;
  list(): FunctionSummary[];
  versions(name: string): FunctionVersionInfo[];
  delete(name: string): Promise<void>;
  /** `jsonBytes`: the payload's size as the client sent it (JSON text), not measured again. */
  invoke(name: string, payload: unknown, version: number | undefined, jsonBytes?: number): Promise<InvocationOutcome>;
  invokeAsync(name: string, payload: unknown): Promise<{ eventId: string }>;
  logs(name: string, query: FunctionLogsQuery, signal: AbortSignal): AsyncIterable<FunctionLogLine>;
}

// ---- wire shapes -----------------------------------------------------------------

interface WTrigger { kind: string; dataset: string; batchSize: number; view: string; dir: string; expression: string }
interface WConfig {
  memoryMb: number; timeoutMs: number; concurrency: number; retries?: number | null; deadLetter: string; env: Record<string, string>; triggers: WTrigger[];
}
interface WVersion { name: string; version: number; codeSha256: string; codeBytes: number; config: WConfig | null; createdAtMs: number }
interface WMetrics {
  invocations: number; errors: number; throttles: number; coldStarts: number; initMsMean: number; durationP50Ms: number; durationP99Ms: number;
  deadLetters: number; running: number; queued: number; containers: number; iteratorAgeMs?: number | null;
}
interface WInvokeRequest { name: string; payloadJson: string; async: boolean; version: number }
interface WInvokeResponse {
  ok: boolean; resultJson?: string | null; errorCode: string; errorMessage: string; durationMs: number; coldStart: boolean; eventId: string;
}
interface WLogsRequest { name: string; sinceMs: number; limit: number; follow: boolean }
interface WLogEntry { at: number; function: string; version: number; requestId: string; eventId: string; level: string; message: string }

function toWireTrigger(t: TriggerSpec): WTrigger {
  const w: WTrigger = { kind: t.kind, dataset: '', batchSize: 0, view: '', dir: '', expression: '' };
  switch (t.kind) {
    case 'dataset': return { ...w, dataset: t.dataset, batchSize: t.batchSize };
    case 'view': return { ...w, view: t.view };
    case 'files': return { ...w, dir: t.dir };
    case 'http': return w;
    case 'schedule': return { ...w, expression: t.expression };
  }
}

/** @throws LaminateError INVALID_ARGUMENT for a kind Laminate does not know. */
function fromWireTrigger(w: WTrigger): TriggerSpec {
  switch (w.kind) {
    case 'dataset': return { kind: 'dataset', dataset: w.dataset, batchSize: w.batchSize };
    case 'view': return { kind: 'view', view: w.view };
    case 'files': return { kind: 'files', dir: w.dir };
    case 'http': return { kind: 'http' };
    case 'schedule': return { kind: 'schedule', expression: w.expression };
    default: throw new LaminateError('INVALID_ARGUMENT', `Unknown trigger kind '${w.kind}': expected dataset, view, files, http or schedule`);
  }
}

function toWireConfig(c: FunctionConfigRequest): WConfig {
  return {
    memoryMb: c.memoryMb ?? 0, timeoutMs: c.timeoutMs ?? 0, concurrency: c.concurrency ?? 0, ...(c.retries === undefined ? {} : { retries: c.retries }),
    deadLetter: c.deadLetter ?? '', env: { ...c.env }, triggers: (c.triggers ?? []).map(toWireTrigger),
  };
}

function fromWireConfigRequest(w: WConfig | null): FunctionConfigRequest {
  if (!w) return {};
  return {
    ...(w.memoryMb !== 0 ? { memoryMb: w.memoryMb } : {}), ...(w.timeoutMs !== 0 ? { timeoutMs: w.timeoutMs } : {}),
    ...(w.concurrency !== 0 ? { concurrency: w.concurrency } : {}), ...(w.retries !== undefined && w.retries !== null ? { retries: w.retries } : {}),
    ...(w.deadLetter !== '' ? { deadLetter: w.deadLetter } : {}), env: { ...w.env }, triggers: w.triggers.map(fromWireTrigger),
  };
}

function fromWireConfig(w: WConfig | null): FunctionConfig {
  const c = w ?? { memoryMb: 0, timeoutMs: 0, concurrency: 0, retries: 0, deadLetter: '', env: {}, triggers: [] };
  return {
    memoryMb: c.memoryMb, timeoutMs: c.timeoutMs, concurrency: c.concurrency, retries: c.retries ?? 0,
    ...(c.deadLetter !== '' ? { deadLetter: c.deadLetter } : {}), env: { ...c.env }, triggers: c.triggers.map(fromWireTrigger),
  };
}

function toWireVersion(v: FunctionVersionInfo): WVersion {
  return { name: v.name, version: v.version, codeSha256: v.codeSha256, codeBytes: v.codeBytes, config: toWireConfig(v.config), createdAtMs: v.createdAt };
}

function fromWireVersion(w: WVersion): FunctionVersionInfo {
  return { name: w.name, version: w.version, codeSha256: w.codeSha256, codeBytes: w.codeBytes, config: fromWireConfig(w.config), createdAt: w.createdAtMs };
}

function toWireMetrics(m: FunctionMetrics): WMetrics {
  const { name: _name, iteratorAgeMs, ...rest } = m;
  return { ...rest, ...(iteratorAgeMs === undefined ? {} : { iteratorAgeMs }) };
}

function fromWireMetrics(name: string, w: WMetrics | null): FunctionMetrics {
  const m = w ?? { invocations: 0, errors: 0, throttles: 0, coldStarts: 0, initMsMean: 0, durationP50Ms: 0, durationP99Ms: 0, deadLetters: 0, running: 0, queued: 0, containers: 0 };
  return {
    name, invocations: m.invocations, errors: m.errors, throttles: m.throttles, coldStarts: m.coldStarts, initMsMean: m.initMsMean,
    durationP50Ms: m.durationP50Ms, durationP99Ms: m.durationP99Ms, deadLetters: m.deadLetters, running: m.running, queued: m.queued, containers: m.containers,
    ...(m.iteratorAgeMs !== undefined && m.iteratorAgeMs !== null ? { iteratorAgeMs: m.iteratorAgeMs } : {}),
  };
}

/** @throws LaminateError INVALID_ARGUMENT for text that is not JSON. */
function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${what} to be JSON, got ${JSON.stringify(text.slice(0, 60))}${text.length > 60 ? '...' : ''}: ${(err as Error).message}`);
  }
}

function toWireOutcome(o: InvocationOutcome): WInvokeResponse {
  const base = { durationMs: o.durationMs, coldStart: o.coldStart, eventId: '' };
  if (!o.ok) return { ok: false, errorCode: o.code, errorMessage: o.message, ...base };
  const json = JSON.stringify(o.result) as string | undefined;
  return { ok: true, errorCode: '', errorMessage: '', ...(json === undefined ? {} : { resultJson: json }), ...base };
}

function fromWireOutcome(w: WInvokeResponse): InvocationOutcome {
  const base = { durationMs: w.durationMs, coldStart: w.coldStart };
  if (w.ok) return { ok: true, result: w.resultJson === undefined || w.resultJson === null ? undefined : parseJson(w.resultJson, 'the result'), ...base };
  const code = (INVOCATION_ERROR_CODES as readonly string[]).includes(w.errorCode) ? w.errorCode as InvocationErrorCode : 'HANDLER_ERROR';
  return { ok: false, code, message: w.errorMessage, ...base };
}

const LEVELS = new Set(['info', 'warn', 'error']);

function toWireLog(l: FunctionLogLine): WLogEntry {
  return { ...l };
}

function fromWireLog(w: WLogEntry): FunctionLogLine {
  return { ...w, level: (LEVELS.has(w.level) ? w.level : 'info') as FunctionLogLine['level'] };
}

// ---- server --------------------------------------------------------------------

/** The Functions service, for serveMaster's `extra`. */
export function functionsService(h: FunctionsHandlers): ServiceRegistration {
  /** One Invoke, unary or on the stream. */
  const invoke = async (r: WInvokeRequest): Promise<WInvokeResponse> => {
    const payload = r.payloadJson === '' ? undefined : parseJson(r.payloadJson, 'the payload');
    if (r.async) {
      const { eventId } = await h.invokeAsync(r.name, payload);
      return { ok: true, errorCode: '', errorMessage: '', durationMs: 0, coldStart: false, eventId };
    }
    return toWireOutcome(await h.invoke(r.name, payload, r.version > 0 ? r.version : undefined, Buffer.byteLength(r.payloadJson)));
  };
  return (server) => {
    server.addService(services().functions, {
      deployFunction: unaryHandler(async (r: { name: string; code: Buffer; config: WConfig | null }) =>
        toWireVersion(await h.deploy({ name: r.name, code: Buffer.from(r.code ?? []), config: fromWireConfigRequest(r.config) }))),
      listFunctions: unaryHandler(() => ({
        functions: h.list().map((s) => ({ live: toWireVersion(s.live), metrics: toWireMetrics(s.metrics) })),
      })),
      functionVersions: unaryHandler((r: { name: string }) => ({ versions: h.versions(r.name).map(toWireVersion) })),
      deleteFunction: unaryHandler(async (r: { name: string }) => { await h.delete(r.name); return {}; }),
      invoke: unaryHandler(invoke),
      invokeStream: callStreamHandler('invoke', invoke),
      functionLogs: messageStreamHandler(async function* (r: WLogsRequest, signal: AbortSignal) {
        const query = { ...(r.sinceMs > 0 ? { sinceMs: r.sinceMs } : {}), ...(r.limit > 0 ? { limit: r.limit } : {}), follow: r.follow };
        for await (const line of h.logs(r.name, query, signal)) yield toWireLog(line);
      }),
    });
  };
}

// ---- client --------------------------------------------------------------------

/** Sync invocations wait up to the longest timeout (15 min) and a queue wait. */
const INVOKE_CALL_MS = 32 * 60_000;

export class FunctionsClient {
  private readonly client: grpc.Client;
  /** Synchronous invocations go on one stream (call-stream.ts), not a unary call each. */
  private readonly mux: CallStreamMux<'invoke', WInvokeRequest, WInvokeResponse>;

  constructor(readonly address: string) {
    parseAddress(address);
    this.client = new (services().functionsCtor)(address, channelCredentials(), clientOptions(CHANNEL_OPTIONS));
    this.mux = new CallStreamMux((md) => (this.client as unknown as {
      invokeStream(md: grpc.Metadata, o: grpc.CallOptions): grpc.ClientDuplexStream<StreamRequest<'invoke', WInvokeRequest>, StreamAnswer<WInvokeResponse>>;
    }).invokeStream(md, {}), 'invoke');
  }

  private call<Req, Res>(method: string, req: Req, timeoutMs = 60_000): Promise<Res> {
    return callUnary<Req, Res>(this.client, method, req, timeoutMs, `master ${this.address} ${method}`);
  }

  async deploy(req: DeployFunctionCall): Promise<FunctionVersionInfo> {
    return fromWireVersion(await this.call<object, WVersion>('deployFunction', { name: req.name, code: req.code, config: toWireConfig(req.config) }, 120_000));
  }

  async list(): Promise<FunctionSummary[]> {
    const res = await this.call<object, { functions: { live: WVersion | null; metrics: WMetrics | null }[] }>('listFunctions', {});
    return res.functions.filter((f) => f.live).map((f) => ({ live: fromWireVersion(f.live!), metrics: fromWireMetrics(f.live!.name, f.metrics) }));
  }

  async versions(name: string): Promise<FunctionVersionInfo[]> {
    return (await this.call<object, { versions: WVersion[] }>('functionVersions', { name })).versions.map(fromWireVersion);
  }

  async delete(name: string): Promise<void> {
    await this.call('deleteFunction', { name });
  }

  /**
   * A synchronous invocation: the outcome (an error outcome is not thrown),
   * on the client's invoke stream (call-stream.ts), or as a unary Invoke on a
   * master without the stream. @throws LaminateError NOT_FOUND, INVALID_ARGUMENT.
   */
  async invoke(name: string, payload: unknown, version?: number): Promise<InvocationOutcome> {
    const req: WInvokeRequest = { name, payloadJson: payloadJson(payload), async: false, version: version ?? 0 };
    const what = `master ${this.address} invoke of '${name}'`;
    if (this.mux.unsupported) return fromWireOutcome(await this.call<WInvokeRequest, WInvokeResponse>('invoke', req, INVOKE_CALL_MS));
    try {
      return fromWireOutcome(await this.mux.call(req, INVOKE_CALL_MS, what));
    } catch (err) {
      // A master older than InvokeStream: this invocation, and every later one, as a unary call.
      if (!this.mux.unsupported) throw err;
      return fromWireOutcome(await this.call<WInvokeRequest, WInvokeResponse>('invoke', req, INVOKE_CALL_MS));
    }
  }

  /** An asynchronous invocation, journaled by the master before it answers: its event id. */
  async invokeAsync(name: string, payload: unknown): Promise<{ eventId: string }> {
    const res = await this.call<WInvokeRequest, WInvokeResponse>('invoke', { name, payloadJson: payloadJson(payload), async: true, version: 0 });
    return { eventId: res.eventId };
  }

  /** The kept log lines of a function, then (follow) each new one until `signal` aborts or the loop is left. */
  async *logs(name: string, query: FunctionLogsQuery = {}, signal?: AbortSignal): AsyncGenerator<FunctionLogLine> {
    const req: WLogsRequest = { name, sinceMs: query.sinceMs ?? 0, limit: query.limit ?? 0, follow: query.follow ?? false };
    const stream = (this.client as unknown as { functionLogs(r: WLogsRequest): grpc.ClientReadableStream<WLogEntry> }).functionLogs(req);
    const cancel = (): void => stream.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const w of readMessages(stream, `master ${this.address} functionLogs`)) yield fromWireLog(w);
    } catch (err) {
      if (signal?.aborted && err instanceof LaminateError && err.code === 'CANCELLED') return;
      throw err;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  close(): void {
    this.mux.close();
    this.client.close();
  }
}

/** A payload as JSON text ('' for undefined). @throws LaminateError INVALID_ARGUMENT for one JSON cannot hold. */
function payloadJson(payload: unknown): string {
  try {
    return (JSON.stringify(payload) as string | undefined) ?? '';
  } catch (err) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a JSON payload, got one that does not serialise: ${(err as Error).message}`);
  }
}
