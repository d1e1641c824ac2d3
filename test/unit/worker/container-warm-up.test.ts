/**
 * A blank container's warm-up (container-warm-up.ts): it runs the engine's
 * map and reduce over synthetic records, stops at the next record when a
 * task arrives, fails without harm, and leaves no file behind in any case.
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADAPTIVE_COMBINE } from '../../../src/storage/map-output-collector.js';
import { silentLogger } from '../../../src/common/logger.js';
import { Container } from '../../../src/worker/container.js';
import { syntheticKey, warmUp } from '../../../src/worker/container-warm-up.js';
import { useTempDirs } from '../dataset/helpers.js';

/**
 * A signal aborted at its n-th check (the warm-up checks once per 1,000
 * records it writes, once per record of its map and of its reduce, and
 * between steps), as a task arriving then would abort it.
 */
function abortedAtCheck(n: number): AbortSignal & { checks: number } {
  const signal = {
    checks: 0,
    aborted: false,
    throwIfAborted(): void {
      if (++signal.checks >= n) {
        signal.aborted = true;
        throw new DOMException('a task arrived', 'AbortError');
      }
    },
  };
  return signal as unknown as AbortSignal & { checks: number };
}

const running = (): AbortSignal => new AbortController().signal;

describe('a container warm-up', () => {
  const dirs = useTempDirs();

  it('runs the map (combining, then plain) and the reduce over its synthetic records, and removes its folder', async () => {
    const dir = join(await dirs(), 'warm-up');
    const records = 30_000;
    const r = await warmUp(dir, running(), records);
    expect(r.outcome).toBe('done');
    const keys = Array.from({ length: records }, (_, i) => syntheticKey(i, records));
    const judged = new Set(keys.slice(0, ADAPTIVE_COMBINE.minRecords)).size;
    // The combiner ran over the records judged, then stopped (too few repeats) and the rest went plain.
    expect(judged / ADAPTIVE_COMBINE.minRecords).toBeGreaterThan(ADAPTIVE_COMBINE.maxDistinctRatio);
    expect(r.counters).toMatchObject({
      MAP_INPUT_RECORDS: records,
      COMBINE_INPUT_RECORDS: ADAPTIVE_COMBINE.minRecords,
      COMBINE_OUTPUT_RECORDS: judged,
      SPILLED_RECORDS: judged + records - ADAPTIVE_COMBINE.minRecords,
      // One view entry per distinct key: the reduce merged the map output's partitions.
      REDUCE_OUTPUT_RECORDS: new Set(keys).size,
    });
    expect(await readdir(dirname(dir))).toEqual([]);
  });

  it('stops at its next check when a task arrives, writing, in the map or in the reduce, and removes its folder', async () => {
    const root = await dirs();
    const dir = join(root, 'warm-up');
    const records = 5_000;
    // Before it writes, while it writes its segment, in the map, in the reduce.
    for (const n of [1, 3, 100, records + 50]) {
      const signal = abortedAtCheck(n);
      const r = await warmUp(dir, signal, records);
      expect(r.outcome).toBe('stopped');
      // Stopped at the check that said so: nothing checked after it.
      expect(signal.checks).toBe(n);
      expect(r.counters).toBeUndefined();
      expect(await readdir(root)).toEqual([]);
    }
  });

  it('fails without throwing when it cannot write, and says why', async () => {
    const root = await dirs();
    await writeFile(join(root, 'a-file'), 'not a folder');
    const r = await warmUp(join(root, 'a-file', 'warm-up'), running(), 1_000);
    expect(r.outcome).toBe('failed');
    expect(r.message).toMatch(/ENOTDIR|EEXIST/);
    expect((await warmUp(join(root, 'ok'), running(), 1_000)).outcome).toBe('done');
  });

  it('has the folder of a warm-up cut short by a terminated thread removed by the container', async () => {
    const dir = join(await dirs(), 'container-1');
    const container = new Container('', 256, silentLogger(), dir);
    const until = async (what: string, done: () => Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    // The warm-up has begun writing (after WARM_UP_DELAY_MS): terminate the thread in the middle of it.
    await until('the warm-up writes', async () => (await readdir(dir).catch(() => [])).length > 0);
    await container.destroy();
    await until('the folder is removed', () => Promise.resolve(!existsSync(dir)));
    expect(existsSync(dir)).toBe(false);
  });
});
