/**
 * Speed checkpoints in a folder on S3 (s3rver on 127.0.0.1), through the
 * storage port: written whole with one PutObject, loaded back by whichever
 * process takes the partition over; a missing checkpoint is none, a damaged
 * or foreign one is ignored with a warning, as on disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Checkpoint } from '../../../src/speed/checkpoint-codec.js';
import { checkpointPath, loadCheckpoint, removeOtherDefinitions, writeCheckpoint } from '../../../src/speed/checkpoint-store.js';
import { startS3Server, type TestS3Server } from '../../support/s3-server.js';
import { SpeedNode } from '../../../src/speed/speed-node.js';
import { silentLogger } from '../../../src/common/logger.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('laminate-speed-s3-');

let s3: TestS3Server;
beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('speed-state');
});
afterAll(async () => {
  await s3?.stop();
});

const dir = 's3://speed-state/checkpoints/';
const id = { view: 'pages', definitionHash: 'ab'.repeat(32), partition: 3 };

function sample(applied: number): Checkpoint {
  return {
    ...id, start: 100, applied,
    segments: [{ from: 100, to: applied, entries: new Map<string, unknown>([['home', applied], ['about', [1, 'x']]]) }],
    watermark: { maxEventTime: 1_700_000_000_000, lastRecordAt: 1_700_000_000_500 },
  };
}

function memoryLog(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => { out.push(s); } });
  return { log, lines: () => out.map((s) => JSON.parse(s) as Record<string, unknown>) };
}

describe('speed checkpoints on S3', () => {
  it('are saved whole and loaded back, the latest replacing the earlier; a damaged one is ignored with a warning', async () => {
    const { log, lines } = memoryLog();
    expect(checkpointPath(dir, id)).toBe(`s3://speed-state/checkpoints/pages/${'ab'.repeat(32)}/p3.ckpt`);
    expect(await loadCheckpoint(dir, id, log)).toBeUndefined();
    await writeCheckpoint(dir, sample(150));
    await writeCheckpoint(dir, sample(190));
    const back = await loadCheckpoint(dir, id, log);
    expect(back?.applied).toBe(190);
    expect([...back!.segments[0]!.entries]).toEqual([['home', 190], ['about', [1, 'x']]]);
    expect(lines()).toEqual([]);
    await s3.client.send(new PutObjectCommand({ Bucket: 'speed-state', Key: `checkpoints/pages/${'ab'.repeat(32)}/p3.ckpt`, Body: 'not a checkpoint' }));
    expect(await loadCheckpoint(dir, id, log)).toBeUndefined();
    expect(lines()).toHaveLength(1);
  });

  it('of a view\'s earlier definitions are removed when a new one starts, and the kept one stays', async () => {
    const old = { ...id, view: 'moved', definitionHash: 'cd'.repeat(32) };
    const kept = { ...id, view: 'moved', definitionHash: 'ef'.repeat(32) };
    await writeCheckpoint(dir, { ...sample(150), ...old });
    await writeCheckpoint(dir, { ...sample(160), ...kept });
    expect(await removeOtherDefinitions(dir, 'moved', kept.definitionHash)).toEqual([old.definitionHash]);
    const { log } = memoryLog();
    expect(await loadCheckpoint(dir, old, log)).toBeUndefined();
    expect((await loadCheckpoint(dir, kept, log))?.applied).toBe(160);
    expect(await removeOtherDefinitions(dir, 'moved', kept.definitionHash)).toEqual([]);
  });

  it('in a bucket that does not exist stop a speed process at its start, naming --checkpoints and the bucket', async () => {
    let engines = 0;
    const node = new SpeedNode({
      master: '127.0.0.1:1', dataDir: await tempDir(), checkpointDir: 's3://no-such-bucket/state/', logger: silentLogger(),
      engineFactory: () => { engines++; throw new Error('not reached'); },
    });
    await expect(node.start()).rejects.toThrow(/Expected a usable checkpoint folder at s3:\/\/no-such-bucket\/state\/ \(--checkpoints\), got: .*no-such-bucket/);
    expect(engines).toBe(0);
    // The folder's lock was let go: the same folder can start again.
    await expect(node.start()).rejects.toThrow(/--checkpoints/);
  });
});
