/**
 * The entry of a view's thread (one per view on a speed process, with a
 * heap limit): loads the view's bundle, runs its ViewRuntime, and answers
 * the engine's messages. User code (map, merge, window.time) runs only
 * here; an error in it is reported, and nothing thrown here reaches the
 * speed process. Reports go to the engine whenever something they show
 * changed, at most every REPORT_MS.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { CompiledView } from '../api/view.js';
import { describe, errorMessage, LaminateError } from '../common/errors.js';
import { DatasetClient } from '../protocol/dataset-rpc.js';
import { ViewRuntime, type RuntimeLog } from './view-runtime.js';
import type { FromViewThread, ToViewThread, ViewThreadInit } from './view-thread-messages.js';
import { configureSecurity, type SecurityConfig } from '../protocol/security.js';

const REPORT_MS = 100;

// Calls from this thread carry its process's token and TLS settings.
configureSecurity((workerData as { security?: SecurityConfig } | null)?.security ?? {});

const port = parentPort;
if (!port) throw new Error('view-thread-main must run in a worker thread');
const post = (m: FromViewThread): void => port.postMessage(m);

const log: RuntimeLog = {
  debug: (fields, msg) => post({ type: 'log', level: 'debug', fields, msg }),
  info: (fields, msg) => post({ type: 'log', level: 'info', fields, msg }),
  warn: (fields, msg) => post({ type: 'log', level: 'warn', fields, msg }),
  error: (fields, msg) => post({ type: 'log', level: 'error', fields, msg }),
};

/** The compiled view of a deployed bundle (default export: a ViewBuildJob). */
async function loadView(bundlePath: string): Promise<CompiledView> {
  const mod = (await import(pathToFileURL(bundlePath).href)) as { default?: { view?: Partial<CompiledView> } };
  const view = mod.default?.view;
  if (view === undefined || typeof view.mapRecord !== 'function' || view.monoid === undefined) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the view's bundle to export default a view build job with its compiled view, got ${describe(mod.default)}`);
  }
  return view as CompiledView;
}

let runtime: ViewRuntime | undefined;
/** Messages that came before the bundle loaded, replayed in order after. */
let queued: ToViewThread[] | undefined = [];

function errorReply(id: number, err: unknown): FromViewThread {
  const code = err instanceof LaminateError ? err.code : 'INTERNAL';
  return { type: 'answer', id, error: { code, message: errorMessage(err) } };
}

/**
 * Posts an answer, after the report when it is due: the engine then never
 * holds an answer newer than its report (a caller that got an answer sees
 * at least that state in report()).
 */
function answer(rt: ViewRuntime, m: FromViewThread): void {
  if (rt.takeReportDue()) post({ type: 'report', report: rt.report() });
  post(m);
}

function handle(rt: ViewRuntime, m: ToViewThread): void {
  switch (m.type) {
    case 'init':
      return;
    case 'assign':
      rt.assign(m.assignment);
      return;
    case 'get':
      try {
        rt.get(m, (a) => answer(rt, { type: 'answer', id: m.id, answer: a }), (err) => post(errorReply(m.id, err)));
      } catch (err) {
        post(errorReply(m.id, err));
      }
      return;
    case 'scan':
      try {
        answer(rt, { type: 'answer', id: m.id, answer: rt.scan(m) });
      } catch (err) {
        post(errorReply(m.id, err));
      }
      return;
    case 'close':
      void rt.close().then(() => {
        post({ type: 'report', report: rt.report() });
        post({ type: 'closed', id: m.id });
      });
      return;
  }
}

async function start(init: ViewThreadInit): Promise<void> {
  let view: CompiledView;
  try {
    view = await loadView(init.bundlePath);
  } catch (err) {
    post({ type: 'fatal', message: `the view's bundle does not load: ${errorMessage(err)}` });
    return;
  }
  const rt = new ViewRuntime(init, view, new DatasetClient(init.masterAddress), log);
  runtime = rt;
  for (const m of queued ?? []) handle(rt, m);
  queued = undefined;
  const timer = setInterval(() => {
    if (rt.takeReportDue()) post({ type: 'report', report: rt.report() });
  }, REPORT_MS);
  timer.unref();
}

port.on('message', (m: ToViewThread) => {
  if (m.type === 'init') {
    void start(m.init);
    return;
  }
  if (runtime === undefined) {
    queued?.push(m);
    return;
  }
  handle(runtime, m);
});
