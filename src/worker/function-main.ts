/**
 * The entry of a function container: a child process of the worker that
 * loads one function version's code (sent over IPC, imported from a data:
 * URL, so that no plain code touches the disk) and runs its handler once per
 * `invoke`, one at a time, answering each with its result or error and the
 * console output it wrote. Failures it can see (a throw, a result that is not
 * JSON) are answered; those it cannot (a hang, process.exit, running out of
 * memory) end the process, and the worker tells them from how it ended.
 */
import { format } from 'node:util';
import { pack, unpack } from 'msgpackr';
import { isFunctionDefinition, type FunctionContext, type FunctionHandler } from '../api/function.js';
import type { InvocationLogLine } from '../common/function-invocation.js';
import { FUNCTION_LIMITS } from '../common/function-shapes.js';
import type { FromFunctionContainer, ToFunctionContainer } from './function-messages.js';

type Invoke = Extract<ToFunctionContainer, { type: 'invoke' }>;

// Set by `load`: the process may be started blank, before its function is known.
let functionName = '';
let functionVersion = 0;
let memoryLimitMb = 0;

function send(msg: FromFunctionContainer): void {
  process.send?.(msg);
}

// ---- console capture -----------------------------------------------------------

/**
 * Lines of one invocation, at most `maxBytes` of messages; the rest is
 * counted and said. Sent to the worker in batches as they come (so that the
 * lines before a timeout or an exit are kept), the last with the result.
 */
class LogCollector {
  private batch: InvocationLogLine[] = [];
  private bytes = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastSent = -Infinity;

  /** `requestId` '': between invocations (module load, stray timers); kept for the next one. */
  constructor(private readonly maxBytes: number, private requestId = '') {}

  get empty(): boolean {
    return this.batch.length === 0 && this.dropped === 0;
  }

  /** Lines written between invocations become this invocation's first. */
  adopt(requestId: string): void {
    // Not sent yet: they leave with this invocation's first line, or its result.
    this.requestId = requestId;
  }

  add(level: InvocationLogLine['level'], message: string): void {
    const size = Buffer.byteLength(message);
    if (this.dropped > 0 || this.bytes + size > this.maxBytes) {
      this.dropped += size;
      return;
    }
    this.batch.push({ at: Date.now(), level, message });
    this.bytes += size;
    this.schedule();
  }

  /**
   * Sends at once after a quiet spell (a line written just before the event
   * loop blocks still leaves: the pipe write is tried synchronously), else
   * batches lines for LOG_FLUSH_MS, so that a chatty handler costs the worker
   * a few messages a second rather than one a line.
   */
  private schedule(): void {
    if (this.requestId === '' || this.timer) return;
    const wait = this.lastSent + LOG_FLUSH_MS - performance.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    this.lastSent = performance.now();
    send({ type: 'logs', requestId: this.requestId, lines: this.take() });
  }

  private take(): InvocationLogLine[] {
    const lines = this.batch;
    this.batch = [];
    return lines;
  }

  /** The lines not yet sent, with a last one saying how much was cut, if any. */
  finish(): InvocationLogLine[] {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.take();
    if (this.dropped > 0) {
      lines.push({ at: Date.now(), level: 'warn', message: `[log cut: ${this.dropped} more bytes past the limit of ${this.maxBytes} bytes per invocation]` });
    }
    return lines;
  }
}

/** How long a written line may wait before it is sent to the worker, ms. */
const LOG_FLUSH_MS = 25;

/** Output of the running invocation; between invocations (module load, stray timers), kept for the next one. */
let current = new LogCollector(FUNCTION_LIMITS.maxLogBytesPerInvocation);

function capture(level: InvocationLogLine['level']) {
  return (...args: unknown[]): void => current.add(level, format(...args));
}

// Replaced rather than wrapped: console.log would otherwise reach the patched stream write too.
console.log = capture('info');
console.info = capture('info');
console.debug = capture('info');
console.warn = capture('warn');
console.error = capture('error');
console.trace = capture('error');
function captureStream(stream: NodeJS.WriteStream, level: InvocationLogLine['level']): void {
  stream.write = ((chunk: unknown, encodingOrCb?: unknown, cb?: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encodingOrCb === 'string' ? encodingOrCb as BufferEncoding : 'utf8');
    current.add(level, text.endsWith('\n') ? text.slice(0, -1) : text);
    const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof stream.write;
}
captureStream(process.stdout, 'info');
captureStream(process.stderr, 'error');

// ---- results -------------------------------------------------------------------

/** JSON text of a result ('' for undefined); throws TypeError for what JSON cannot hold (cycles, BigInt, functions, symbols). */
function strictJson(value: unknown): string {
  const json = JSON.stringify(value, (key, v: unknown) => {
    if (typeof v === 'function' || typeof v === 'symbol') throw new TypeError(`a ${typeof v} at ${key === '' ? 'the top' : `key '${key}'`}`);
    return v;
  }) as string | undefined;
  return json ?? '';
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const stack = err.stack ? `\n${err.stack.split('\n').slice(1, 6).join('\n')}` : '';
    return `${err.name}: ${err.message}${stack}`;
  }
  return `thrown: ${format(err)}`;
}

// ---- emits ---------------------------------------------------------------------

let nextEmitId = 1;
const emits = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

function emit(requestId: string, dataset: string, record: unknown): Promise<void> {
  if (typeof dataset !== 'string' || dataset === '') return Promise.reject(new TypeError(`ctx.emit expects a dataset name, got ${format(dataset)}`));
  let plain: unknown;
  try {
    plain = JSON.parse(strictJson(record) || 'null');
  } catch (err) {
    return Promise.reject(new TypeError(`ctx.emit expects a JSON-serialisable record: ${(err as Error).message}`));
  }
  const id = nextEmitId++;
  return new Promise((resolve, reject) => {
    emits.set(id, { resolve, reject });
    send({ type: 'emit', requestId, id, dataset, record: plain });
  });
}

// ---- the handler ---------------------------------------------------------------

let handler: FunctionHandler | undefined;

/** The bundler's banner builds `require` from import.meta.url, which a data: URL module cannot: give it a file URL instead. */
const BANNER_REQUIRE = '__lamCreateRequire(import.meta.url)';

/** The handler's environment is its function's only (the process was started with an empty one). */
function takeEnvironment(env: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(process.env)) Reflect.deleteProperty(process.env, key);
  Object.assign(process.env, env);
  functionName = env.LAMINATE_FUNCTION_NAME ?? '';
  functionVersion = Number(env.LAMINATE_FUNCTION_VERSION ?? 0);
  memoryLimitMb = Number(env.LAMINATE_FUNCTION_MEMORY_MB ?? 0);
}

async function load(code: string, env: Readonly<Record<string, string>>): Promise<void> {
  takeEnvironment(env);
  let mod: { default?: unknown };
  try {
    const source = code.includes(BANNER_REQUIRE) ? code.replace(BANNER_REQUIRE, `__lamCreateRequire(${JSON.stringify(`file://${process.cwd()}/laminate-function.mjs`)})`) : code;
    mod = await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`) as { default?: unknown };
  } catch (err) {
    send({ type: 'loadFailed', code: 'HANDLER_ERROR', message: `The function's module failed to load: ${describe(err)}` });
    return;
  }
  if (!isFunctionDefinition(mod.default)) {
    const got = mod.default === undefined ? 'no default export' : `a default export of type ${typeof mod.default}`;
    send({ type: 'loadFailed', code: 'NO_HANDLER', message: `Expected the function's module to export default defineFunction(handler), got ${got}` });
    return;
  }
  handler = mod.default.handler;
  send({ type: 'loaded' });
}

async function invoke(msg: Invoke): Promise<void> {
  const logs = current;
  logs.adopt(msg.requestId);
  const started = performance.now();
  const endsAt = Date.now() + msg.timeoutMs;
  const ctx: FunctionContext = {
    requestId: msg.requestId, eventId: msg.eventId, functionName, functionVersion, memoryLimitMb,
    getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()),
    emit: (dataset, record) => emit(msg.requestId, dataset, record),
    log: { info: capture('info'), warn: capture('warn'), error: capture('error') },
  };
  let outcome: Extract<FromFunctionContainer, { type: 'result' }>['outcome'];
  try {
    const event = msg.payload.byteLength === 0 ? undefined : unpack(msg.payload) as unknown;
    const result = await handler!(event, ctx);
    try {
      const json = strictJson(result);
      // Packed here, not in the worker: a large result costs this process's time, not the worker's.
      outcome = Buffer.byteLength(json) > msg.maxResultBytes
        ? { ok: false, code: 'PAYLOAD_TOO_LARGE', message: `The handler's result is ${Buffer.byteLength(json)} bytes of JSON, over the limit of ${msg.maxResultBytes}` }
        : { ok: true, result: json === '' ? new Uint8Array(0) : pack(JSON.parse(json)) };
    } catch (err) {
      outcome = { ok: false, code: 'RESULT_NOT_SERIALIZABLE', message: `The handler's result cannot be serialised as JSON: ${(err as Error).message}` };
    }
  } catch (err) {
    outcome = { ok: false, code: 'HANDLER_ERROR', message: describe(err) };
  }
  const durationMs = performance.now() - started;
  current = new LogCollector(msg.maxLogBytes);
  send({ type: 'result', requestId: msg.requestId, durationMs, maxRssKb: process.resourceUsage().maxRSS, logs: logs.finish(), outcome });
}

process.on('message', (msg: ToFunctionContainer) => {
  switch (msg.type) {
    case 'load':
      void load(msg.code, msg.env);
      return;
    case 'invoke':
      if (!handler) return;
      // Lines written since the last invocation (module load, stray timers) go with this one.
      if (current.empty) current = new LogCollector(msg.maxLogBytes);
      void invoke(msg);
      return;
    case 'emitted': {
      const waiting = emits.get(msg.id);
      emits.delete(msg.id);
      if (msg.error === '') waiting?.resolve();
      else waiting?.reject(new Error(msg.error));
      return;
    }
  }
});
// The worker is gone (or closed the channel): nothing more will be asked.
process.on('disconnect', () => process.exit(0));
send({ type: 'booted' });
