/**
 * `laminate local`: on an embedded cluster, by default the Lambda
 * Architecture demo (src/cli/demo/lambda-demo.ts: a clickstream, a view the
 * batch layer rebuilds, the speed layer's part of every answer, each answer
 * checked against the log at the end); with --job (or --input), runs that
 * job (word count over the sample texts when only --input is given) and
 * prints the top of its output; with --serve, runs nothing and keeps the
 * cluster up for `laminate submit` until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { JobClient } from '../client/job-client.js';
import { progressView } from '../client/progress.js';
import { formatCounters, formatFailure } from '../client/status-format.js';
import { createLogger } from '../common/logger.js';
import { packageRoot } from '../common/package-root.js';
import { LocalCluster } from '../local/local-cluster.js';
import { LaminateClient } from '../client/laminate-client.js';
import { runLambdaDemo, type DemoResult } from './demo/lambda-demo.js';
import { rm } from 'node:fs/promises';
import { port, positiveInt } from './arguments.js';
import { untilSignal } from './signals.js';

export function registerLocal(program: Command): void {
  program.command('local').description('run the Lambda demo, or a job, on an embedded cluster (master, workers, serving node and speed process in this process)')
    .option('--workers <n>', 'workers to start', positiveInt('--workers'), 2)
    .option('--job <file>', 'run this job module instead of the Lambda demo')
    .option('--input <path...>', 'the job\'s input files or folders (default: the sample texts; with no --job, word count)')
    .option('--output <dir>', 'output folder (default: a new one under the data directory)')
    .option('--reducers <r>', 'reduce tasks', positiveInt('--reducers'), 2)
    .option('--data <dir>', 'data directory', '.laminate/local')
    .option('--top <n>', 'print the n largest values of the output', positiveInt('--top'), 10)
    .option('--serve', 'run no job: keep the cluster up for `laminate submit` until SIGINT/SIGTERM')
    .option('--port <port>', 'with --serve: the master\'s port (0 picks one)', port, 0)
    .option('--http-port <port>', 'with --serve: the master\'s HTTP port (0 picks one)', port, 0)
    .option('--speed', 'with --serve: run a speed process too (queries merge its realtime views)')
    .option('--seconds <s>', 'the demo: how long the clickstream runs', positiveInt('--seconds'), 60)
    .option('--rate <n>', 'the demo: clicks appended per second', positiveInt('--rate'), 2000)
    .action(async (o: {
      workers: number; job?: string; input?: string[]; output?: string; reducers: number; data: string; top: number; serve?: boolean; port: number; httpPort: number; speed?: boolean;
      seconds: number; rate: number;
    }) => {
      const logger = createLogger({ level: process.env['LAMINATE_LOG_LEVEL'] ?? (o.serve ? 'info' : 'warn') });
      const root = packageRoot();
      const dataDir = resolve(o.data);
      if (o.serve) {
        const cluster = await LocalCluster.start({ workers: o.workers, dataDir, logger, port: o.port, httpPort: o.httpPort, speed: o.speed === true });
        process.stdout.write(`master listening on ${cluster.address} with ${o.workers} workers\n`);
        process.stdout.write(`master http on ${cluster.master.httpAddress}\n`);
        untilSignal(() => cluster.stop(), logger);
        return;
      }
      if (o.job === undefined && o.input === undefined) {
        process.exitCode = (await demo(dataDir, o.workers, o.seconds, o.rate)).exact ? 0 : 1;
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
}

/**
 * The Lambda demo on an embedded cluster of its own, in <data>/lambda-demo
 * (emptied first: the demo's log and view start from nothing each run).
 */
async function demo(dataDir: string, workers: number, seconds: number, rate: number): Promise<DemoResult> {
  const logger = createLogger({ level: process.env['LAMINATE_LOG_LEVEL'] ?? 'warn' });
  const dir = join(dataDir, 'lambda-demo');
  await rm(dir, { recursive: true, force: true });
  const started = Date.now();
  const cluster = await LocalCluster.start({ workers, dataDir: dir, logger, speed: true });
  const client = new LaminateClient(cluster.address);
  try {
    process.stdout.write(`Embedded cluster: master ${cluster.address}, ${workers} workers, a serving node and a speed process (started in ${Date.now() - started} ms)\n`);
    process.stdout.write(`Appending ${rate} clicks/s for ${seconds} s to dataset 'clicks'; view 'page-views-per-minute' rebuilt by the batch layer every 20 s.\n\n`);
    return await runLambdaDemo({
      client, viewFile: join(packageRoot(), 'examples', 'views', 'page-views-per-minute.ts'), seconds, rate, buildEvery: '20s', out: process.stdout,
    });
  } finally {
    await client.close();
    await cluster.stop();
  }
}

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
