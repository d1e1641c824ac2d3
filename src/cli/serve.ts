/** `laminate serve`: runs a serving node until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../common/logger.js';
import { DEFAULT_CACHE_BYTES, SERVING_PORT, ServingNode } from '../serving/serving-node.js';
import { DEFAULT_ROW_CACHE_BYTES, MAX_ROW_CACHE_BYTES } from '../serving/row-cache.js';
import { address, intUpTo, nonNegativeInt, port, positiveInt } from './arguments.js';
import { untilSignal } from './signals.js';
import { addMetricsOption, startMetrics } from './metrics-option.js';

export function registerServe(program: Command): void {
  const cmd = program.command('serve')
    .description('run a serving node: it loads the published versions of every view, verifies them, and answers queries (laminate query)')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--host <host>', 'address to bind and to be known by (loopback unless told otherwise)', '127.0.0.1')
    .option('--port <port>', 'port to bind (0 picks one)', port, SERVING_PORT)
    .option('--data <dir>', 'its folder: its id and local copies of the versions it serves (one folder per serving node)',
      join(tmpdir(), 'laminate', 'serve'))
    .option('--heartbeat-interval <ms>', 'how often it heartbeats the master (and so hears of new versions)', positiveInt('--heartbeat-interval'), 1000)
    .option('--cache-mb <mb>', 'memory for cached blocks of every view, in MB', nonNegativeInt('--cache-mb'), DEFAULT_CACHE_BYTES / (1024 * 1024))
    .option('--row-cache-mb <mb>', 'memory for hot keys\' values kept apart from their blocks (Gets of them skip the block lookup), for every view, in MB; 0: none',
      intUpTo('--row-cache-mb', MAX_ROW_CACHE_BYTES / (1024 * 1024)), DEFAULT_ROW_CACHE_BYTES / (1024 * 1024));
  addMetricsOption(cmd)
    .action(async (o: { master: string; host: string; port: number; data: string; heartbeatInterval: number; cacheMb: number; rowCacheMb: number; metricsPort: number }) => {
      const logger = createLogger();
      const node = new ServingNode({
        master: o.master, host: o.host, port: o.port, dataDir: resolve(o.data), cacheBytes: o.cacheMb * 1024 * 1024, rowCacheBytes: o.rowCacheMb * 1024 * 1024,
        heartbeatIntervalMs: o.heartbeatInterval, logger,
      });
      await node.start();
      // The bound address on stdout, for scripts that start a node on port 0.
      process.stdout.write(`serving node ${node.nodeId} listening on ${node.address}\n`);
      const metrics = await startMetrics(o.host, o.metricsPort, logger);
      untilSignal(() => node.stop().then(() => metrics.close()), logger);
    });
}
