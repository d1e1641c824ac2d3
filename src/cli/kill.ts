/** `laminate kill`: kills a job. */
import type { Command } from 'commander';
import { JobClient } from '../client/job-client.js';
import { address } from './arguments.js';

export function registerKill(program: Command): void {
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
}
