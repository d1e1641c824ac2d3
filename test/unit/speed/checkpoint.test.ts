import { readdir, readFile, writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../../src/speed/checkpoint-codec.js';
import { checkpointPath, loadCheckpoint, removeOtherDefinitions, writeCheckpoint } from '../../../src/speed/checkpoint-store.js';
import { useTempDirs as useTempDirsWithPrefix } from '../../support/temp-dirs.js';
import { seededRandom } from '../../support/seeded-random.js';

const tempDir = useTempDirsWithPrefix('laminate-ckpt-');
const id = { view: 'pages', definitionHash: 'ab'.repeat(32), partition: 3 };

function sample(): Checkpoint {
  const random = seededRandom(5);
  const acc = (): unknown => [Math.floor(random() * 1000), { top: [['x', 2]], bytes: Buffer.from([1, 2, 3]) /* msgpackr gives bin back as a Buffer */ }, null, 'é', -1.5];
  return {
    ...id, start: 100, applied: 190,
    segments: [
      { from: 100, to: 150, entries: new Map(Array.from({ length: 200 }, (_, i) => [`k${i}`, acc()])) },
      { from: 150, to: 190, entries: new Map([['\u0000\u0001tuple', 7]]) },
    ],
    watermark: { maxEventTime: 1_700_000_000_000, lastRecordAt: 1_700_000_000_500 },
  };
}

/** Warnings as they are logged, to assert on. */
function memoryLog(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => { out.push(s); } });
  return { log, lines: () => out.map((s) => JSON.parse(s) as Record<string, unknown>) };
}

describe('checkpoints', () => {
  it('of a view\'s earlier definitions are removed, and only those (the current one, other views and foreign names stay)', async () => {
    const dir = await tempDir();
    const current = 'cd'.repeat(32);
    await writeCheckpoint(dir, sample());
    await writeCheckpoint(dir, { ...sample(), definitionHash: current });
    await writeCheckpoint(dir, { ...sample(), view: 'other' });
    await writeFile(`${dir}/pages/notes.txt`, 'an operator\'s file');
    expect(await removeOtherDefinitions(dir, 'pages', current)).toEqual(['ab'.repeat(32)]);
    expect((await readdir(`${dir}/pages`)).sort()).toEqual([current, 'notes.txt']);
    expect(await readdir(`${dir}/other`)).toEqual(['ab'.repeat(32)]);
    expect(await loadCheckpoint(dir, { ...id, definitionHash: current }, memoryLog().log)).toBeDefined();
    expect(await removeOtherDefinitions(dir, 'pages', current)).toEqual([]);
    expect(await removeOtherDefinitions(dir, 'never-deployed', current)).toEqual([]);
  });

  it('round-trip state, applied and watermark exactly', () => {
    const c = sample();
    const back = decodeCheckpoint(encodeCheckpoint(c), id);
    expect(back.segments.map((s) => [s.from, s.to, [...s.entries]])).toEqual(c.segments.map((s) => [s.from, s.to, [...s.entries]]));
    expect({ ...back, segments: [] }).toEqual({ ...c, segments: [] });
    const empty = { ...c, start: 7, applied: 7, segments: [], watermark: { maxEventTime: undefined, lastRecordAt: 0 } };
    expect(decodeCheckpoint(encodeCheckpoint(empty), id)).toEqual(empty);
  });

  it('refuse every flipped byte, a truncated file and another definition', () => {
    const bytes = encodeCheckpoint(sample());
    const random = seededRandom(11);
    for (let i = 0; i < 300; i++) {
      const at = i < 16 ? i : Math.floor(random() * bytes.length);
      const bad = Buffer.from(bytes);
      bad[at] = bad[at]! ^ (1 << Math.floor(random() * 8));
      expect(() => decodeCheckpoint(bad, id), `byte ${at}`).toThrow(/Expected a checkpoint file/);
    }
    for (const n of [0, 10, 16, bytes.length - 1]) expect(() => decodeCheckpoint(bytes.subarray(0, n), id)).toThrow(/Expected a checkpoint file/);
    expect(() => decodeCheckpoint(bytes, { ...id, definitionHash: 'cd'.repeat(32) })).toThrow(/Expected the checkpoint of view 'pages' \(definition cdcdcdcdcdcd\) partition 3, got view 'pages' \(definition abababababab\) partition 3/);
    expect(() => decodeCheckpoint(bytes, { ...id, partition: 4 })).toThrow(/partition 4, got/);
  });

  it('are written atomically and loaded back; damaged or foreign files are ignored with a warning', async () => {
    const dir = await tempDir();
    const { log, lines } = memoryLog();
    expect(await loadCheckpoint(dir, id, log)).toBeUndefined();
    expect(lines()).toEqual([]);
    await writeCheckpoint(dir, sample());
    expect(checkpointPath(dir, id)).toBe(`${dir}/pages/${'ab'.repeat(32)}/p3.ckpt`);
    const back = await loadCheckpoint(dir, id, log);
    expect(back?.applied).toBe(190);
    const bytes = await readFile(checkpointPath(dir, id));
    await writeFile(checkpointPath(dir, id), bytes.subarray(0, bytes.length - 3));
    expect(await loadCheckpoint(dir, id, log)).toBeUndefined();
    // A checkpoint of partition 4 copied over partition 3's: sound but foreign.
    await writeCheckpoint(dir, { ...sample(), partition: 4 });
    await writeFile(checkpointPath(dir, id), await readFile(checkpointPath(dir, { ...id, partition: 4 })));
    expect(await loadCheckpoint(dir, id, log)).toBeUndefined();
    expect(lines().map((l) => l.reason)).toEqual([
      expect.stringMatching(/torn write/),
      expect.stringMatching(/partition 3, got view 'pages' .* partition 4/),
    ]);
  });
});
