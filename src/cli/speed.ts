/** `laminate speed`: runs a speed process until SIGINT/SIGTERM (a graceful leave). */
import type { Command } from 'commander';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../common/logger.js';
import { loadSpeedEngineFactory } from '../speed/engine-loader.js';
import { DEFAULT_CHECKPOINT_INTERVAL_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_VIEW_MEMORY_MB, SpeedNode } from '../speed/speed-node.js';
import { address, port, positiveInt, storePath } from './arguments.js';
import { untilSignal } from './signals.js';
import { addMetricsOption, startMetrics } from './metrics-option.js';

export function registerSpeed(program: Command): void {
  const cmd = program.command('speed')
    .description('run a speed process: it folds the records after the served batch version of every view, for queries to merge (the master splits partitions between speed processes)')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--host <host>', 'address to bind and to be known by (loopback unless told otherwise)', '127.0.0.1')
    .option('--port <port>', 'port to bind (0 picks one)', port, 0)
    .option('--data <dir>', 'its folder: its id, fetched view bundles and, by default, checkpoints (one folder per speed process)',
      join(tmpdir(), 'laminate', 'speed'))
    .option('--checkpoints <dir>', 'checkpoint folder, a local path or s3://BUCKET/PREFIX, shared by every speed process that may take a partition over (default <data>/checkpoints)', storePath('--checkpoints'))
    .option('--view-memory <mb>', 'heap limit of each view\'s thread, in MB', positiveInt('--view-memory'), DEFAULT_VIEW_MEMORY_MB)
    .option('--checkpoint-interval <ms>', 'how often changed state is checkpointed', positiveInt('--checkpoint-interval'), DEFAULT_CHECKPOINT_INTERVAL_MS)
    .option('--idle-timeout <ms>', 'a partition without a record for this long does not hold a windowed view\'s watermark back',
      positiveInt('--idle-timeout'), DEFAULT_IDLE_TIMEOUT_MS)
    .option('--heartbeat-interval <ms>', 'how often it heartbeats the master (which moves its partitions after 3 s of silence)', positiveInt('--heartbeat-interval'), 1000);
  addMetricsOption(cmd)
    .action(async (o: {
      master: string; host: string; port: number; data: string; checkpoints?: string; viewMemory: number; checkpointInterval: number; idleTimeout: number;
      heartbeatInterval: number; metricsPort: number;
    }) => {
      const logger = createLogger();
      // A crash-test hook (as the master's): SIGKILL this process right after the named step of a
      // checkpoint write, e.g. LAMINATE_FAULT_KILL_AT=checkpoint:temp-written. Unset in normal runs.
      const killAt = process.env.LAMINATE_FAULT_KILL_AT;
      // LAMINATE_SPEED_ENGINE: tests only, a module exporting a fake createSpeedEngine.
      const engineFactory = await loadSpeedEngineFactory(process.env.LAMINATE_SPEED_ENGINE);
      const node = new SpeedNode({
        master: o.master, host: o.host, port: o.port, dataDir: resolve(o.data), viewMemoryMb: o.viewMemory, checkpointIntervalMs: o.checkpointInterval,
        heartbeatIntervalMs: o.heartbeatInterval, idleTimeoutMs: o.idleTimeout, engineFactory, logger,
        ...(killAt ? { faultKillAt: killAt } : {}),
        ...(o.checkpoints === undefined ? {} : { checkpointDir: o.checkpoints }),
      });
      await node.start();
      // The bound address on stdout, for scripts that start a process on port 0.
      process.stdout.write(`speed process ${node.nodeId} listening on ${node.address}\n`);
      const metrics = await startMetrics(o.host, o.metricsPort, logger);
      untilSignal(() => node.stop().then(() => metrics.close()), logger);
    });
}
