/** `laminate master`: runs a master until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../common/logger.js';
import { Master } from '../master/master.js';
import { DEFAULT_SPEED_START_GRACE_MS } from '../master/speed-service.js';
import { DEFAULT_HTTP_PORT } from '../master/http-server.js';
import { SPEED_NODE_TIMEOUT_MS } from '../master/speed-registry.js';
import { nonNegativeInt, port, positiveInt, storePath } from './arguments.js';
import { untilSignal } from './signals.js';

export function registerMaster(program: Command): void {
  program.command('master').description('run a master until SIGINT/SIGTERM')
    .option('--host <host>', 'address to bind (loopback unless told otherwise)', '127.0.0.1')
    .option('--port <port>', 'port to bind (0 picks one)', port, 7070)
    .option('--http-port <port>', `HTTP port, on the same host (functions: POST /functions/NAME/invoke; 0 picks one) (default: ${DEFAULT_HTTP_PORT}, or 0 with --port 0)`, port)
    .option('--data <dir>', 'data directory (bundles)', join(tmpdir(), 'laminate', 'master'))
    .option('--heartbeat-timeout <ms>', 'a worker silent this long is lost', positiveInt('--heartbeat-timeout'), 10_000)
    .option('--heartbeat-interval <ms>', 'how often workers heartbeat', positiveInt('--heartbeat-interval'), 1000)
    .option('--retain-jobs <n>', 'finished jobs kept for status', positiveInt('--retain-jobs'), 100)
    .option('--speed-node-timeout <ms>', 'a speed process silent this long loses its partitions to others', positiveInt('--speed-node-timeout'), SPEED_NODE_TIMEOUT_MS)
    .option('--speed-start-grace <ms>', 'after a start, how long speed processes wait while serving nodes report what they serve',
      nonNegativeInt('--speed-start-grace'), DEFAULT_SPEED_START_GRACE_MS)
    .option('--views <dir>', 'where view versions are kept: a folder, or an object store (s3://bucket/prefix/); serving nodes copy them from there (default: <data>/views)', storePath('--views'))
    .option('--function-code <dir>', "where functions' code is kept, encrypted: a folder or s3://bucket/prefix/ (default: <views>/_function-code when --views is on S3, else <data>/functions/code)", storePath('--function-code'))
    .option('--key-file <file>', 'the 256-bit key (32 bytes, 64 hex digits or base64) that encrypts function code at rest (default: one generated in <data>/functions/master.key, mode 0600)')
    .option('--function-idle-stop <ms>', 'a function container idle this long is stopped', positiveInt('--function-idle-stop'), 300_000)
    .option('--function-retry-backoff <ms>', 'first retry backoff of an asynchronous function event (doubled each retry)', positiveInt('--function-retry-backoff'), 1000)
    .option('--function-files-poll <ms>', 'how often a files: trigger lists its folder', positiveInt('--function-files-poll'), 1000)
    .option('--archive <path>', 'copy sealed dataset segments to this s3://bucket/prefix/ or folder; batch jobs read them from there')
    .option('--archive-interval <ms>', 'how often the archive looks for newly sealed segments', positiveInt('--archive-interval'), 5000)
    .option('--segment-bytes <n>', 'a dataset segment is sealed at this size (default: 64 MiB)', positiveInt('--segment-bytes'))
    .action(async (o: {
      host: string; port: number; httpPort?: number; data: string; heartbeatTimeout: number; heartbeatInterval: number; retainJobs: number; speedNodeTimeout: number; speedStartGrace: number;
      keyFile?: string; functionIdleStop: number; functionRetryBackoff: number; views?: string; functionCode?: string;
      archive?: string; archiveInterval: number; segmentBytes?: number; functionFilesPoll: number;
    }) => {
      const logger = createLogger();
      // A crash-test hook (like Hadoop's fault injection): SIGKILL this process right after the named
      // step of a view publish or of archiving a segment, e.g. LAMINATE_FAULT_KILL_AT=current:renamed or archive:uploaded. Unset in normal runs.
      const killAt = process.env.LAMINATE_FAULT_KILL_AT;
      const master = new Master({
        host: o.host, port: o.port, ...(o.httpPort === undefined ? {} : { httpPort: o.httpPort }), dataDir: resolve(o.data), logger, heartbeatIntervalMs: o.heartbeatInterval, retainJobs: o.retainJobs,
        scheduler: { heartbeatTimeoutMs: o.heartbeatTimeout }, speedNodeTimeoutMs: o.speedNodeTimeout, speedStartGraceMs: o.speedStartGrace,
        ...(o.keyFile === undefined ? {} : { functionKeyFile: resolve(o.keyFile) }),
        ...(o.views === undefined ? {} : { viewDir: o.views }),
        ...(o.functionCode === undefined ? {} : { functionCodeDir: o.functionCode }),
        functions: { idleStopMs: o.functionIdleStop, retryBackoffMs: o.functionRetryBackoff }, filesPollMs: o.functionFilesPoll,
        ...(killAt ? { onViewPublishStep: (step: string) => { if (step === killAt) process.kill(process.pid, 'SIGKILL'); } } : {}),
        ...(o.segmentBytes === undefined ? {} : { datasetSegmentBytes: o.segmentBytes }),
        ...(o.archive === undefined ? {} : {
          archive: { path: o.archive, intervalMs: o.archiveInterval, ...(killAt ? { onStep: (step: string) => { if (step === killAt) process.kill(process.pid, 'SIGKILL'); } } : {}) },
        }),
      });
      await master.start();
      // The bound address on stdout, for scripts that start a master on port 0.
      process.stdout.write(`master listening on ${master.address}\n`);
      process.stdout.write(`master http on ${master.httpAddress}\n`);
      untilSignal(() => master.stop(), logger);
    });
}

