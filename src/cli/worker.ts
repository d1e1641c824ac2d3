/** `laminate worker`: runs a worker that registers with a master, until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../common/logger.js';
import { WORKER_DEFAULTS, WorkerNode } from '../worker/worker.js';
import { address, port, positiveInt, shuffleServiceAddress } from './arguments.js';
import { untilSignal } from './signals.js';
import { addMetricsOption, startMetrics } from './metrics-option.js';

export function registerWorker(program: Command): void {
  const cmd = program.command('worker').description('run a worker that registers with a master')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--slots <n>', 'task attempts run at once', positiveInt('--slots'), WORKER_DEFAULTS.slots)
    .option('--memory <mb>', 'memory for containers, in MB', positiveInt('--memory'), WORKER_DEFAULTS.memoryMb)
    .option('--data <dir>', 'data directory (map outputs, bundles)')
    .option('--host <host>', 'address the shuffle server binds and advertises', '127.0.0.1')
    .option('--shuffle-port <port>', 'shuffle server port (0 picks one)', port, 0)
    .option('--shuffle-service <host:port>', 'the shuffle service of this node: map outputs are written to it and served by it, and outlive this worker',
      shuffleServiceAddress)
    .option('--no-host-local-reads', 'have every map output and dataset segment sent over gRPC, even those on this host that could be read from their files')
    .option('--no-warm-up', 'do not have containers started ahead for the next job run the engine\'s map and reduce on synthetic records while they wait (about 1 s of a core each)');
  addMetricsOption(cmd)
    .action(async (o: { master: string; slots: number; memory: number; data?: string; host: string; shufflePort: number; shuffleService?: string; hostLocalReads: boolean; warmUp: boolean; metricsPort: number }) => {
      const logger = createLogger();
      const worker = new WorkerNode({
        master: o.master, slots: o.slots, memoryMb: o.memory, host: o.host, shufflePort: o.shufflePort, hostLocalReads: o.hostLocalReads, warmUp: o.warmUp, logger,
        dataDir: resolve(o.data ?? join(tmpdir(), 'laminate', `worker-${process.pid}`)),
        ...(o.shuffleService !== undefined ? { shuffleService: o.shuffleService } : {}),
      });
      const metrics = await startMetrics(o.host, o.metricsPort, logger);
      const stop = (): Promise<void> => worker.stop().then(() => metrics.close());
      untilSignal(stop, logger);
      try {
        await worker.start();
      } catch (err) {
        // Its shuffle server is open by now: close it, or the process would stay up doing nothing.
        await stop();
        throw err;
      }
    });
}
