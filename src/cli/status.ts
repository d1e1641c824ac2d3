/** `laminate status`: the workers, jobs and views, or one job in detail. */
import type { Command } from 'commander';
import { JobClient } from '../client/job-client.js';
import { formatJobDetail, formatJobSummary, formatWorker } from '../client/status-format.js';
import { ViewsClient } from '../protocol/view-rpc.js';
import { address } from './arguments.js';
import { viewLine } from './view.js';

export function registerStatus(program: Command): void {
  program.command('status').description('workers, jobs and views (a failed build shows on its view), or one job in detail')
    .requiredOption('--master <host:port>', 'the master', address)
    .argument('[job]', 'a job id')
    .action(async (jobId: string | undefined, o: { master: string }) => {
      const client = new JobClient(o.master);
      const views = new ViewsClient(o.master);
      try {
        if (jobId) process.stdout.write(`${formatJobDetail(await client.status(jobId))}\n`);
        else {
          const [jobs, workers, viewList] = await Promise.all([client.list(), client.workers(), views.listViews()]);
          process.stdout.write(`workers\n${workers.length === 0 ? '  none registered' : workers.map((w) => `  ${formatWorker(w)}`).join('\n')}\n`);
          process.stdout.write(`jobs\n${jobs.length === 0 ? '  none' : jobs.map((j) => `  ${formatJobSummary(j)}`).join('\n')}\n`);
          process.stdout.write(`views\n${viewList.length === 0 ? '  none' : viewList.map((v) => `  ${viewLine(v)}`).join('\n')}\n`);
        }
      } finally {
        client.close();
        views.close();
      }
    });
}
