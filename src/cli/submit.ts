/** `laminate submit`: bundles a job module and submits it; with --wait, shows progress until it ends. */
import { Option, type Command } from 'commander';
import { JobClient, type SubmitOptions } from '../client/job-client.js';
import { progressView } from '../client/progress.js';
import { elapsed, formatCounters, formatCuts, formatFailure } from '../client/status-format.js';
import { JOB_DEFAULTS } from '../common/defaults.js';
import { FILE_INPUT_FORMATS, type FileInputFormat } from '../common/input-format.js';
import { address, onOff, positiveInt } from './arguments.js';

export function registerSubmit(program: Command): void {
  program.command('submit').description('bundle a job module and submit it')
    .requiredOption('--master <host:port>', 'the master', address)
    .requiredOption('--job <file>', 'job module (.ts, .mts, .js, .mjs)')
    .requiredOption('--input <path...>', 'input files or folders (local paths, or s3://BUCKET/PREFIX), or datasets: dataset:NAME (every record now) or dataset:NAME@CUT (the records before CUT, one offset per partition)')
    .requiredOption('--output <dir>', 'output folder, a local path or s3://BUCKET/PREFIX (must not hold output)')
    .option('--reducers <r>', 'reduce tasks', positiveInt('--reducers'), 1)
    .addOption(new Option('--format <format>', 'input format of files (default text; datasets need none)').choices(FILE_INPUT_FORMATS))
    .option('--split-size <bytes>', `bytes per input split (default ${JOB_DEFAULTS.splitSize})`, positiveInt('--split-size'))
    .option('--speculation <on|off>', 'speculative execution', onOff, true)
    .option('--map-memory <mb>', `memory of a map container (default ${JOB_DEFAULTS.mapMemoryMb})`, positiveInt('--map-memory'))
    .option('--reduce-memory <mb>', `memory of a reduce container (default ${JOB_DEFAULTS.reduceMemoryMb})`, positiveInt('--reduce-memory'))
    .option('--task-timeout <ms>', `kill an attempt running longer (default ${JOB_DEFAULTS.taskTimeoutMs})`, positiveInt('--task-timeout'))
    .option('--total-order', 'sample keys so part files read in order are globally sorted')
    .option('--name <name>', 'job name')
    .option('--wait', 'wait for the job, showing progress; exit 0 only if it committed')
    .action(async (o: {
      master: string; job: string; input: string[]; output: string; reducers: number; format?: FileInputFormat;
      splitSize?: number; speculation: boolean; mapMemory?: number; reduceMemory?: number; taskTimeout?: number;
      totalOrder?: boolean; name?: string; wait?: boolean;
    }) => {
      const client = new JobClient(o.master);
      try {
        const opts: SubmitOptions = {
          job: o.job, inputs: o.input, output: o.output, reducers: o.reducers, speculation: o.speculation, ...(o.format ? { format: o.format } : {}),
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
        const cuts = final.cuts.length > 0 ? `${formatCuts(final)}\n` : '';
        if (final.state !== 'SUCCEEDED') {
          process.stderr.write(`${formatFailure(final)}\n${cuts}`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${jobId} SUCCEEDED in ${(elapsed(final) / 1000).toFixed(2)} s; output in ${final.outputDir}\n${cuts}${formatCounters(final)}\n`);
      } finally {
        client.close();
      }
    });
}
