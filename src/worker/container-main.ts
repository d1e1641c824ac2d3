/**
 * The entry of a container thread: runs the attempts its worker sends, one
 * at a time, and answers each with its outcome. Errors from user code become
 * failures with a cause; nothing thrown here reaches the worker process.
 */
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { ContainerData, ContainerOutcome, ContainerTask, FromContainer, ToContainer } from './container-messages.js';
import { warmUp, WARM_UP_DELAY_MS } from './container-warm-up.js';
import { FetchFailure } from './fetch-failure.js';
import { loadJob } from './job-module.js';
import { runMap } from './map-runner.js';
import { runReduce } from './reduce-runner.js';
import { configureSecurity } from '../protocol/security-config.js';

/**
 * The outcome of an attempt that threw `err`. `kind` is the task's kind
 * ('map' or 'reduce'), named in the advice on running out of memory. A
 * stack overflow ("Maximum call stack size exceeded", a RangeError too) is
 * the user code's fault, not memory's: more memory would not help.
 */
function outcomeOf(err: unknown, kind: string): ContainerOutcome {
  if (err instanceof FetchFailure) {
    return { outcome: 'FETCH_FAILED', message: err.message, mapIndex: err.mapIndex, mapAttemptId: err.mapAttemptId };
  }
  if (err instanceof LaminateError) return { outcome: 'FAILED', code: err.code, message: err.message };
  // Bundles carry their own copy of NonRetryableError, so match by name.
  if (err instanceof Error && err.name === 'NonRetryableError') {
    return { outcome: 'FAILED', code: 'NON_RETRYABLE', message: err.message };
  }
  if (err instanceof RangeError && /allocation failed|heap/i.test(err.message)) {
    const flag = kind === 'reduce' ? '--reduce-memory' : '--map-memory';
    return { outcome: 'FAILED', code: 'OUT_OF_MEMORY', message: `${err.message}: the ${kind} task ran out of memory; raise ${flag}` };
  }
  const stack = err instanceof Error && err.stack ? `\n${err.stack.split('\n').slice(1, 4).join('\n')}` : '';
  return { outcome: 'FAILED', code: 'USER_CODE_ERROR', message: `${errorMessage(err)}${stack}` };
}

async function run(task: ContainerTask): Promise<ContainerOutcome> {
  try {
    const job = await loadJob(task.bundlePath).catch((err: unknown) => {
      if (err instanceof LaminateError) throw new LaminateError('NON_RETRYABLE', err.message);
      throw new LaminateError('NON_RETRYABLE', `The job module does not load: ${errorMessage(err)}`);
    });
    mkdirSync(task.workDir, { recursive: true });
    return task.launch.kind === 'map' ? await runMap(job, task.launch, task.workDir, { masterAddress: task.masterAddress, hostLocal: task.hostLocalReads }) : await runReduce(job, task.launch, task.workDir, { hostLocal: task.hostLocalReads });
  } catch (err) {
    return outcomeOf(err, task.launch.kind);
  }
}

const data = (workerData ?? {}) as ContainerData;
// Calls from this thread carry its process's token and TLS settings.
configureSecurity(data.security ?? {});

const port = parentPort;
if (!port) throw new Error('container-main must run in a worker thread');

// A blank container warms up once it has waited a while for a job (container-warm-up.ts); a task stops it.
const warm = new AbortController();
let warmTimer: NodeJS.Timeout | undefined;
if (data.warmUpDir !== undefined) {
  const dir = data.warmUpDir;
  warmTimer = setTimeout(() => {
    warmTimer = undefined;
    void warmUp(dir, warm.signal).then((report) => port.postMessage({ type: 'warmed-up', report } satisfies FromContainer));
  }, WARM_UP_DELAY_MS);
  warmTimer.unref();
}

port.on('message', (msg: ToContainer) => {
  if (msg.type !== 'run') return;
  warm.abort();
  if (warmTimer !== undefined) clearTimeout(warmTimer);
  void run(msg.task).then((result) => {
    const reply: FromContainer = { type: 'result', attemptId: msg.task.launch.attemptId, result };
    port.postMessage(reply);
  });
});
