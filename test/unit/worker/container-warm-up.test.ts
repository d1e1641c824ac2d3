/**
 * A blank container's warm-up (container-warm-up.ts): it runs the engine's
 * map and reduce over synthetic records, stops at the next record when a
 * task arrives, fails without harm, and leaves no file behind in any case.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADAPTIVE_COMBINE } from '../../../src/storage/map-output-collector.js';
import { syntheticKey, warmUp, type WarmUpSignal } from '../../../src/worker/container-warm-up.js';
import { useTempDirs } from '../dataset/helpers.js';

/** A signal that turns to stopped at its n-th read (the warm-up reads it once per record and between phases). */
function stopAtRead(n: number): WarmUpSignal & { reads: number } {
  return {
    reads: 0,
    get stopped() {
      return ++this.reads >= n;
    },
    set stopped(_v: boolean) {},
  };
}

describe('a container warm-up', () => {
  const dirs = useTempDirs();

  it('runs the map (combining, then plain) and the reduce over its synthetic records, and removes its folder', async () => {
    const dir = join(await dirs(), 'warm-up');
    const records = 30_000;
    const r = await warmUp(dir, { stopped: false }, records);
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
    expect(await readdir(dir)).toEqual([]);
  });

  it('stops at its next record when a task arrives, in the map or in the reduce, and removes its folder', async () => {
    const dir = join(await dirs(), 'warm-up');
    const records = 5_000;
    for (const n of [1, 2, 100, records + 50]) {
      const signal = stopAtRead(n);
      const r = await warmUp(dir, signal, records);
      expect(r.outcome).toBe('stopped');
      // Stopped at the read that said so: no record processed after it.
      expect(signal.reads).toBe(n);
      expect(r.counters).toBeUndefined();
      expect(await readdir(dir).catch(() => [])).toEqual([]);
    }
  });

  it('fails without throwing when it cannot write, and says why', async () => {
    const root = await dirs();
    await writeFile(join(root, 'a-file'), 'not a folder');
    const r = await warmUp(join(root, 'a-file', 'warm-up'), { stopped: false }, 1_000);
    expect(r.outcome).toBe('failed');
    expect(r.message).toMatch(/ENOTDIR|EEXIST/);
    await mkdir(join(root, 'ok'));
    expect((await warmUp(join(root, 'ok'), { stopped: false }, 1_000)).outcome).toBe('done');
  });
});
