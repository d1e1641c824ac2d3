#!/usr/bin/env node
/**
 * The `laminate` command: master, worker, submit, status, kill and local.
 * Each command wires the pieces it needs; nothing else reads argv.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { createReadStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { InputFormat } from './api/job.js';
import { JobClient, type SubmitOptions } from './client/job-client.js';
import { progressView } from './client/progress.js';
import { elapsed, formatCounters, formatFailure, formatJobDetail, formatJobSummary, formatWorker } from './client/status-format.js';
import { errorMessage, LaminateError } from './common/errors.js';
import { createLogger, type Logger } from './common/logger.js';
import { packageRoot } from './common/package-root.js';
import { LocalCluster } from './local/local-cluster.js';
import { Master } from './master/master.js';
import { parseAddress } from './protocol/master-rpc.js';
import { WORKER_DEFAULTS, WorkerNode } from './worker/worker.js';
import { JOB_DEFAULTS } from './common/defaults.js';

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
      throw new InvalidArgumentError(`Expected ${flag} to be a positive integer, got '${value}'`);
    }
    return n;
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`Expected --port to be 0..65535, got '${value}'`);
  return n;
}

function onOff(value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new InvalidArgumentError(`Expected --speculation to be on or off, got '${value}'`);
  return value === 'on';
}

function address(value: string): string {
  try {
    parseAddress(value);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
  return value;
}

/** Runs until SIGINT or SIGTERM, then stops cleanly. */
function untilSignal(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const onSignal = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down');
    stop().then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

const program = new Command();
program.name('laminate').description('Laminate: a Lambda-architecture data engine for Node.js (batch MapReduce over gRPC)')
  .showHelpAfterError();

program.command('master').description('run a master until SIGINT/SIGTERM')
  .option('--host <host>', 'address to bind (loopback unless told otherwise)', '127.0.0.1')
  .option('--port <port>', 'port to bind (0 picks one)', port, 7070)
  .option('--data <dir>', 'data directory (bundles)', join(tmpdir(), 'laminate', 'master'))
  .option('--heartbeat-timeout <ms>', 'a worker silent this long is lost', positiveInt('--heartbeat-timeout'), 10_000)
  .option('--heartbeat-interval <ms>', 'how often workers heartbeat', positiveInt('--heartbeat-interval'), 1000)
  .option('--retain-jobs <n>', 'finished jobs kept for status', positiveInt('--retain-jobs'), 100)
  .action(async (o: { host: string; port: number; data: string; heartbeatTimeout: number; heartbeatInterval: number; retainJobs: number }) => {
    const logger = createLogger();
    const master = new Master({
      host: o.host, port: o.port, dataDir: resolve(o.data), logger, heartbeatIntervalMs: o.heartbeatInterval, retainJobs: o.retainJobs,
      scheduler: { heartbeatTimeoutMs: o.heartbeatTimeout },
    });
    await master.start();
    // The bound address on stdout, for scripts that start a master on port 0.
    process.stdout.write(`master listening on ${master.address}\n`);
    untilSignal(() => master.stop(), logger);
  });

program.command('worker').description('run a worker that registers with a master')
  .requiredOption('--master <host:port>', 'the master', address)
  .option('--slots <n>', 'task attempts run at once', positiveInt('--slots'), WORKER_DEFAULTS.slots)
  .option('--memory <mb>', 'memory for containers, in MB', positiveInt('--memory'), WORKER_DEFAULTS.memoryMb)
  .option('--data <dir>', 'data directory (map outputs, bundles)')
  .option('--host <host>', 'address the shuffle server binds and advertises', '127.0.0.1')
  .option('--shuffle-port <port>', 'shuffle server port (0 picks one)', port, 0)
  .action(async (o: { master: string; slots: number; memory: number; data?: string; host: string; shufflePort: number }) => {
    const logger = createLogger();
    const worker = new WorkerNode({
      master: o.master, slots: o.slots, memoryMb: o.memory, host: o.host, shufflePort: o.shufflePort, logger,
      dataDir: resolve(o.data ?? join(tmpdir(), 'laminate', `worker-${process.pid}`)),
    });
    untilSignal(() => worker.stop(), logger);
    await worker.start();
  });

program.command('submit').description('bundle a job module and submit it')
  .requiredOption('--master <host:port>', 'the master', address)
  .requiredOption('--job <file>', 'job module (.ts, .mts, .js, .mjs)')
  .requiredOption('--input <path...>', 'input files or folders')
  .requiredOption('--output <dir>', 'output folder (must not hold output)')
  .option('--reducers <r>', 'reduce tasks', positiveInt('--reducers'), 1)
  .addOption(new Option('--format <format>', 'input format').choices(['text', 'whole', 'jsonl']).default('text'))
  .option('--split-size <bytes>', `bytes per input split (default ${JOB_DEFAULTS.splitSize})`, positiveInt('--split-size'))
  .option('--speculation <on|off>', 'speculative execution', onOff, true)
  .option('--map-memory <mb>', `memory of a map container (default ${JOB_DEFAULTS.mapMemoryMb})`, positiveInt('--map-memory'))
  .option('--reduce-memory <mb>', `memory of a reduce container (default ${JOB_DEFAULTS.reduceMemoryMb})`, positiveInt('--reduce-memory'))
  .option('--task-timeout <ms>', `kill an attempt running longer (default ${JOB_DEFAULTS.taskTimeoutMs})`, positiveInt('--task-timeout'))
  .option('--total-order', 'sample keys so part files read in order are globally sorted')
  .option('--name <name>', 'job name')
  .option('--wait', 'wait for the job, showing progress; exit 0 only if it committed')
  .action(async (o: {
    master: string; job: string; input: string[]; output: string; reducers: number; format: InputFormat;
    splitSize?: number; speculation: boolean; mapMemory?: number; reduceMemory?: number; taskTimeout?: number;
    totalOrder?: boolean; name?: string; wait?: boolean;
  }) => {
    const client = new JobClient(o.master);
    try {
      const opts: SubmitOptions = {
        job: o.job, inputs: o.input, output: o.output, reducers: o.reducers, format: o.format, speculation: o.speculation,
        ...(o.splitSize ? { splitSize: o.splitSize } : {}), ...(o.mapMemory ? { mapMemoryMb: o.mapMemory } : {}),
        ...(o.reduceMemory ? { reduceMemoryMb: o.reduceMemory } : {}), ...(o.taskTimeout ? { taskTimeoutMs: o.taskTimeout } : {}),
        ...(o.totalOrder ? { totalOrder: true } : {}), ...(o.name ? { name: o.name } : {}),
      };
      const jobId = await client.submit(opts);
      process.stdout.write(`${jobId}\n`);
      if (!o.wait) return;
      const view = progressView();
      const final = await client.wait(jobId, (s) => view.update(s));
      view.update(final);
      view.stop();
      if (final.state !== 'SUCCEEDED') {
        process.stderr.write(`${formatFailure(final)}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${jobId} SUCCEEDED in ${(elapsed(final) / 1000).toFixed(2)} s; output in ${final.outputDir}\n${formatCounters(final)}\n`);
    } finally {
      client.close();
    }
  });

program.command('status').description('workers and jobs, or one job in detail')
  .requiredOption('--master <host:port>', 'the master', address)
  .argument('[job]', 'a job id')
  .action(async (jobId: string | undefined, o: { master: string }) => {
    const client = new JobClient(o.master);
    try {
      if (jobId) process.stdout.write(`${formatJobDetail(await client.status(jobId))}\n`);
      else {
        const [jobs, workers] = await Promise.all([client.list(), client.workers()]);
        process.stdout.write(`workers\n${workers.length === 0 ? '  none registered' : workers.map((w) => `  ${formatWorker(w)}`).join('\n')}\n`);
        process.stdout.write(`jobs\n${jobs.length === 0 ? '  none' : jobs.map((j) => `  ${formatJobSummary(j)}`).join('\n')}\n`);
      }
    } finally {
      client.close();
    }
  });

program.command('kill').description('kill a job')
  .requiredOption('--master <host:port>', 'the master', address)
  .argument('<job>', 'a job id')
  .action(async (jobId: string, o: { master: string }) => {
    const client = new JobClient(o.master);
    try {
      const killed = await client.kill(jobId);
      process.stdout.write(killed ? `${jobId} killed\n` : `${jobId} had already finished\n`);
    } finally {
      client.close();
    }
  });

program.command('local').description('run a job on an embedded cluster (a master and workers in this process)')
  .option('--workers <n>', 'workers to start', positiveInt('--workers'), 2)
  .option('--job <file>', 'job module (default: the word count example)')
  .option('--input <path...>', 'input files or folders (default: the sample texts)')
  .option('--output <dir>', 'output folder (default: a new one under the data directory)')
  .option('--reducers <r>', 'reduce tasks', positiveInt('--reducers'), 2)
  .option('--data <dir>', 'data directory', '.laminate/local')
  .option('--top <n>', 'print the n largest values of the output', positiveInt('--top'), 10)
  .option('--serve', 'run no job: keep the cluster up for `laminate submit` until SIGINT/SIGTERM')
  .option('--port <port>', 'with --serve: the master\'s port (0 picks one)', port, 0)
  .action(async (o: { workers: number; job?: string; input?: string[]; output?: string; reducers: number; data: string; top: number; serve?: boolean; port: number }) => {
    const logger = createLogger({ level: process.env['LAMINATE_LOG_LEVEL'] ?? (o.serve ? 'info' : 'warn') });
    const root = packageRoot();
    const dataDir = resolve(o.data);
    if (o.serve) {
      const cluster = await LocalCluster.start({ workers: o.workers, dataDir, logger, port: o.port });
      process.stdout.write(`master listening on ${cluster.address} with ${o.workers} workers\n`);
      untilSignal(() => cluster.stop(), logger);
      return;
    }
    const output = resolve(o.output ?? join(dataDir, 'output', `run-${new Date().toISOString().replace(/[:.]/g, '-')}`));
    await mkdir(dataDir, { recursive: true });
    const started = Date.now();
    const cluster = await LocalCluster.start({ workers: o.workers, dataDir, logger });
    const client = new JobClient(cluster.address);
    try {
      const job = o.job ?? join(root, 'examples', 'wordcount.ts');
      const inputs = o.input ?? [join(root, 'data', 'gutenberg')];
      process.stdout.write(`Embedded cluster: master ${cluster.address}, ${o.workers} workers (started in ${Date.now() - started} ms)\n`);
      process.stdout.write(`Running ${job}\n  over ${inputs.join(', ')}\n`);
      const submitted = Date.now();
      const jobId = await client.submit({ job, inputs, output, reducers: o.reducers, speculation: true });
      const view = progressView();
      const final = await client.wait(jobId, (s) => view.update(s), 250);
      view.stop();
      if (final.state !== 'SUCCEEDED') {
        process.stderr.write(`${formatFailure(final)}\n`);
        process.exitCode = 1;
        return;
      }
      const wall = Date.now() - submitted;
      process.stdout.write(`\n${jobId} SUCCEEDED in ${(wall / 1000).toFixed(2)} s (submit to commit, bundling included)\n`);
      process.stdout.write(`maps ${final.maps?.total}, reduces ${final.reduces?.total}\n${formatCounters(final)}\n`);
      process.stdout.write(`\nTop ${o.top} by value:\n${await topOfOutput(output, o.top)}\n`);
      process.stdout.write(`\nOutput: ${output} (part-* files, _SUCCESS)\n`);
    } finally {
      client.close();
      await cluster.stop();
    }
  });

/**
 * The n lines of an output folder with the largest numeric values. Streams
 * the part files, keeping only the best n rows, so any output size will do.
 */
async function topOfOutput(dir: string, n: number): Promise<string> {
  const before = (a: [string, number], b: [string, number]): number => b[1] - a[1] || (a[0] < b[0] ? -1 : 1);
  let rows: Array<[string, number]> = [];
  for (const f of (await readdir(dir)).filter((x) => x.startsWith('part-')).sort()) {
    for await (const line of createInterface({ input: createReadStream(join(dir, f)), crlfDelay: Infinity })) {
      const tab = line.lastIndexOf('\t');
      if (tab < 0) continue;
      const v = Number(line.slice(tab + 1));
      if (!Number.isFinite(v)) continue;
      rows.push([line.slice(0, tab), v]);
      if (rows.length >= 4 * n) rows = rows.sort(before).slice(0, n);
    }
  }
  return rows.sort(before).slice(0, n).map(([k, v], i) => `${String(i + 1).padStart(3)}. ${k.padEnd(16)} ${v}`).join('\n');
}

program.parseAsync(process.argv).catch((err: unknown) => {
  const msg = err instanceof LaminateError ? `${err.code}: ${err.message}` : errorMessage(err);
  process.stderr.write(`laminate: ${msg}\n`);
  process.exitCode = 2;
});

