/** `laminate shuffle-service`: runs a node's shuffle service until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../common/logger.js';
import { SHUFFLE_SERVICE_PORT, ShuffleService } from '../worker/shuffle-service.js';
import { port } from './arguments.js';
import { untilSignal } from './signals.js';
import { addMetricsOption, startMetrics } from './metrics-option.js';

export function registerShuffleService(program: Command): void {
  const cmd = program.command('shuffle-service')
    .description('run a node\'s shuffle service: it serves the map outputs that workers started with --shuffle-service write to it, after they are gone')
    .option('--host <host>', 'address to bind and to be known by (loopback unless told otherwise)', '127.0.0.1')
    .option('--port <port>', 'port to bind (0 picks one)', port, SHUFFLE_SERVICE_PORT)
    .option('--data <dir>', 'its folder, on the disk of the workers that use it (what an earlier run left there is removed at start)',
      join(tmpdir(), 'laminate', 'shuffle-service'));
  addMetricsOption(cmd)
    .action(async (o: { host: string; port: number; data: string; metricsPort: number }) => {
      const logger = createLogger();
      const service = new ShuffleService({ host: o.host, port: o.port, dataDir: resolve(o.data), logger });
      await service.start();
      // The bound address on stdout, for scripts that start a service on port 0.
      process.stdout.write(`shuffle service listening on ${service.address}\n`);
      const metrics = await startMetrics(o.host, o.metricsPort, logger);
      untilSignal(() => service.stop().then(() => metrics.close()), logger);
    });
}
