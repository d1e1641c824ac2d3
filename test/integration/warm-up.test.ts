/**
 * Warm-ups of blank containers on a real cluster (worker threads, real
 * files): a job whose attempts arrive while containers warm up gives the
 * sequential run's output, the warm-ups end (stopped by the attempts, or
 * done) and leave no files; with warm-ups off, none runs.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/local/index.js';
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

/** The warm-up folders (one per container warming up) under a worker's data folder. */
async function warmUpFolders(workerDir: string): Promise<string[]> {
  const root = join(workerDir, 'warm-up', String(process.pid));
  return readdir(root).catch(() => []);
}

describe('container warm-ups on a cluster', () => {
  let dir: string;
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await removeDir(dir);
  });

  it('runs a job submitted while containers warm up as a sequential run does, and leaves no warm-up files', async () => {
    dir = await tempDir();
    const { logger, lines } = capturingLogger();
    cluster = await startLocal({ dataDir: dir, workers: 2, slots: 1, warmUp: true, logger });
    const client = new JobClient(cluster.address);
    try {
      // Wait for a warm-up to be under way (its folder exists), then submit: the attempts take the warming containers.
      const workerDirs = [1, 2].map((i) => join(dir, `worker-${i}`));
      const deadline = Date.now() + 20_000;
      while ((await Promise.all(workerDirs.map(warmUpFolders))).every((f) => f.length === 0)) {
        if (Date.now() > deadline) throw new Error('no warm-up started');
        await new Promise((r) => setTimeout(r, 10));
      }
      const job = join(EXAMPLES, 'wordcount.ts');
      const out = join(dir, 'out');
      const jobId = await client.submit({ job, inputs: [GUTENBERG], output: out, reducers: 2, splitSize: 512 * 1024, speculation: false });
      expect((await client.wait(jobId)).state).toBe('SUCCEEDED');
      const { lines: output } = await readOutput(out);
      expect([...output].sort(byKey)).toEqual(await runSequential(job, [GUTENBERG]));
      // Every warm-up that began has ended (stopped by an attempt, or done first), none failed, and their folders are gone.
      const ended = lines().filter((l) => l['msg'] === 'container warm-up ended' || l['msg'] === 'container warm-up failed (the container runs attempts as usual)');
      expect(ended.length).toBeGreaterThan(0);
      for (const l of ended) expect(['stopped', 'done']).toContain(l['outcome']);
      for (const w of workerDirs) expect(await warmUpFolders(w)).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('runs no warm-up when they are off', async () => {
    dir = await tempDir();
    const { logger, lines } = capturingLogger();
    cluster = await startLocal({ dataDir: dir, workers: 1, slots: 1, warmUp: false, logger });
    // Longer than a blank container waits before it warms up.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(existsSync(join(dir, 'worker-1', 'warm-up'))).toBe(false);
    expect(lines().filter((l) => String(l['msg']).startsWith('container warm-up'))).toEqual([]);
  });
});
