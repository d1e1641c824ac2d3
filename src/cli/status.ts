/** `laminate status`: the workers and jobs, or one job in detail. */
import type { Command } from 'commander';
import { JobClient } from '../client/job-client.js';
import { formatJobDetail, formatJobSummary, formatWorker } from '../client/status-format.js';
import { address } from './arguments.js';

export function registerStatus(program: Command): void {
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
}
