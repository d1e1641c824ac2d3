/**
 * Warm-ups of blank containers on a real cluster (worker threads, real
 * files): a job whose attempts arrive while containers warm up gives the
 * sequential run's output, the warm-ups under way are stopped by the
 * attempts, and no warm-up file outlives the workers (nor a killed
 * predecessor's: removed at start); with warm-ups off, none runs.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/local/index.js';
import { WARM_UP_DELAY_MS } from '../../src/worker/container-warm-up.js';
import { byKey, readOutput, runSequential } from './reference.js';
import { EXAMPLES, GUTENBERG, JobClient, removeDir, startLocal, tempDir } from './harness.js';

/** A debug logger whose JSON lines are kept. */
function capturingLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const kept: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      kept.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines: () => kept.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The files under a worker's warm-up folders (`<data>/warm-up/<worker's id>/<container's id>/...`). */
async function warmUpFiles(workerDir: string): Promise<string[]> {
  const entries = await readdir(join(workerDir, 'warm-up'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
}

describe('container warm-ups on a cluster', () => {
  let dir: string;
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await removeDir(dir);
  });

  it('runs a job submitted while containers warm up as a sequential run does; the attempts stop the warm-ups, which leave no files', async () => {
    dir = await tempDir();
    const { logger, lines } = capturingLogger();
    // A leftover of a worker killed during a warm-up: removed when the worker starts.
    const leftover = join(dir, 'worker-1', 'warm-up', 'an-earlier-process', 'a-container', 'segment.log');
    await mkdir(dirname(leftover), { recursive: true });
    await writeFile(leftover, 'x');
    cluster = await startLocal({ dataDir: dir, workers: 2, slots: 1, warmUp: true, logger });
    expect(existsSync(dirname(dirname(leftover)))).toBe(false);
    const client = new JobClient(cluster.address);
    const workerDirs = [1, 2].map((i) => join(dir, `worker-${i}`));
    try {
      // Wait for a warm-up to be under way (its files exist), then submit: the attempts take the warming containers.
      const deadline = Date.now() + 20_000;
      while ((await Promise.all(workerDirs.map(warmUpFiles))).every((f) => f.length === 0)) {
        if (Date.now() > deadline) throw new Error('no warm-up started');
        await new Promise((r) => setTimeout(r, 10));
      }
      const job = join(EXAMPLES, 'wordcount.ts');
      const out = join(dir, 'out');
      const jobId = await client.submit({ job, inputs: [GUTENBERG], output: out, reducers: 2, splitSize: 512 * 1024, speculation: false });
      expect((await client.wait(jobId)).state).toBe('SUCCEEDED');
      const { lines: output } = await readOutput(out);
      expect([...output].sort(byKey)).toEqual(await runSequential(job, [GUTENBERG]));
      // The warm-ups under way when the attempts came were stopped by them; none failed.
      const ended = lines().filter((l) => String(l['msg']).startsWith('container warm-up'));
      expect(ended.some((l) => l['outcome'] === 'stopped')).toBe(true);
      for (const l of ended) expect(['stopped', 'done']).toContain(l['outcome']);
    } finally {
      client.close();
    }
    // Stopped, the workers leave no warm-up file (the blank containers started at the job's end may be warming up now).
    await cluster.stop();
    cluster = undefined;
    for (const w of workerDirs) expect(await warmUpFiles(w)).toEqual([]);
  });

  it('runs no warm-up when they are off', async () => {
    dir = await tempDir();
    const { logger, lines } = capturingLogger();
    cluster = await startLocal({ dataDir: dir, workers: 1, slots: 1, warmUp: false, logger });
    // Longer than a blank container waits before it warms up (WARM_UP_DELAY_MS), and than a warm-up's first write.
    await new Promise((r) => setTimeout(r, WARM_UP_DELAY_MS + 700));
    expect(existsSync(join(dir, 'worker-1', 'warm-up'))).toBe(false);
    expect(lines().filter((l) => String(l['msg']).startsWith('container warm-up'))).toEqual([]);
  });
});
