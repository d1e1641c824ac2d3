/**
 * Speed checkpoints in a folder on S3 (s3rver on 127.0.0.1): a speed
 * process SIGKILLed and restarted restores every partition from its
 * checkpoint on S3 rather than refolding from the handoff cut, and its
 * merged answers are exact (compared with a sequential fold of the log).
 * Real processes from dist/ (`npm run build` first), which read the store's
 * endpoint and keys from the environment they inherit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/speed/checkpoint-store.js';
import { S3ObjectStore } from '../../src/storage/s3-object-store.js';
import { seededRandom } from '../support/seeded-random.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';
import { Teardown } from './fault-support.js';
import { removeDir, tempDir } from './harness.js';
import {
  clicks, foldSums, LogMirror, logEnd, scanView, startSpeedCluster, SUMS_MODULE, SUMS_VIEW, until, type SpeedCluster, type SpeedProc,
} from './speed-fault-support.js';

const PARTITIONS = 3;
const CHECKPOINTS = 's3://speed-state/ckpt';
const teardown = new Teardown();
let s3: TestS3Server;
let c: SpeedCluster;
let speed: SpeedProc;
let log: LogMirror;

beforeAll(async () => {
  // Before the processes start: they inherit the store's variables.
  s3 = await startS3Server();
  teardown.add(() => s3.stop());
  await s3.createBucket('speed-state');
  const dir = await tempDir('laminate-speed-s3-');
  teardown.add(() => removeDir(dir));
  c = await startSpeedCluster(dir, teardown, { checkpoints: CHECKPOINTS });
  log = new LogMirror(c.client, 'clicks', PARTITIONS);
  await c.client.createDataset('clicks', { partitions: PARTITIONS });
  await c.client.append('clicks', clicks(seededRandom(1), 0, 900));
  await c.client.deployView(SUMS_MODULE, { partitions: 2 });
  await c.client.buildView(SUMS_VIEW, { wait: true });
  speed = await c.startSpeed('speed-1');
}, 60_000);
afterAll(() => teardown.run());

/** A merged answer covering every partition up to `end`, checked against the sequential fold. */
async function exactAt(end: readonly number[]): Promise<void> {
  const scan = await until(async () => {
    const x = await scanView(c.client, SUMS_VIEW, { atLeast: end, waitMs: 30_000 });
    return x.coverage.speed !== undefined && x.coverage.uncovered!.length === 0 ? x : undefined;
  }, 30_000, 'a merged answer covering every partition');
  expect(scan.coverage.speed).toEqual(end);
  expect(scan.entries).toEqual(foldSums(await log.upTo(end)));
}

describe('speed checkpoints on S3', () => {
  it('survive a speed-process restart: every partition is restored from S3, and answers stay exact', async () => {
    await c.client.append('clicks', clicks(seededRandom(2), 900, 600));
    const end = await logEnd(c.client, 'clicks');
    await exactAt(end);
    // Every partition's checkpoint on S3 has applied all of it (checkpoints every 100 ms).
    const store = new S3ObjectStore(s3.client, 'speed-state');
    const silent = { warn: () => {} };
    await until(async () => {
      const keys = (await store.listAll('ckpt/')).map((o) => o.key);
      if (keys.length !== PARTITIONS) return undefined;
      const [, view, definitionHash] = keys[0]!.split('/');
      for (let p = 0; p < PARTITIONS; p++) {
        const saved = await loadCheckpoint(CHECKPOINTS, { view: view!, definitionHash: definitionHash!, partition: p }, silent);
        if (saved?.applied !== end[p]) return undefined;
      }
      return true;
    }, 30_000, 'checkpoints on S3 of every partition at the log end');

    await speed.kill('SIGKILL');
    speed = await c.startSpeed('speed-1');
    await until(() => ((speed.stderr().match(/restored from its checkpoint/g) ?? []).length === PARTITIONS ? true : undefined), 30_000, 'every partition restored');
    expect(speed.stderr()).not.toContain('no checkpoint: folding from the handoff cut');
    await exactAt(end);
    // And it goes on from there.
    await c.client.append('clicks', clicks(seededRandom(3), 1500, 300));
    await exactAt(await logEnd(c.client, 'clicks'));
  });
});
