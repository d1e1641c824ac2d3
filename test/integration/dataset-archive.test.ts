/**
 * `laminate master --archive s3://...` with real processes and a real S3
 * API server (s3rver on 127.0.0.1): a master SIGKILLed between a segment's
 * upload and its record copies it again after a restart and leaves an
 * archive equal to its sealed segments; a word count over a dataset cut
 * whose early segments are archived equals a sequential count of exactly
 * the records before the cut, and the master's Dataset service streamed
 * only the records past the archived part (the maps read the rest from
 * S3); a bucket that does not exist stops the master at start with a clear
 * error. One s3rver, one master (restarted once), one worker. Segments of
 * 64 KiB (--segment-bytes) so that they seal quickly.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import { archiveManifestKey, parseManifest, type PartitionManifest } from '../../src/dataset/archive-manifest.js';
import { segmentFileName } from '../../src/dataset/layout.js';
import { S3ObjectStore } from '../../src/storage/s3-object-store.js';
import { seededRandom } from '../support/seeded-random.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';
import { runCli } from './fault-support.js';
import { FIXTURES, freePort, JobClient, removeDir, startMasterProc, startWorkerProc, tempDir, type MasterProc, type Proc } from './harness.js';
import { readOutput } from './reference.js';

const JOB = join(FIXTURES, 'jobs', 'dataset-count.ts');
const DATASET = 'events';
const PARTITIONS = 3;
const PREFIX = 'datasets/';
const ARGS = ['--archive', `s3://lake/${PREFIX}`, '--archive-interval', '100', '--segment-bytes', String(64 * 1024)];
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];

interface Event { id: number; user: string; text: string }

let s3: TestS3Server;
let lake: S3ObjectStore;
let dir: string;
let port: number;
let master: MasterProc;
let worker: Proc | undefined;
const random = seededRandom(405);
let nextId = 0;

/** Seeded events of about 120 bytes. */
function events(count: number): Event[] {
  return Array.from({ length: count }, () => ({
    id: nextId++,
    user: `user-${Math.floor(random() * 30)}`,
    text: Array.from({ length: 4 + Math.floor(random() * 12) }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' '),
  }));
}

function partitionDir(p: number): string {
  return join(dir, 'master', 'datasets', DATASET, `p-${String(p).padStart(4, '0')}`);
}

async function manifest(p: number): Promise<PartitionManifest | undefined> {
  const key = archiveManifestKey(PREFIX, DATASET, p);
  if ((await lake.stat(key)) === undefined) return undefined;
  return parseManifest((await lake.read(key)).toString('utf8'), DATASET, p, key);
}

/**
 * The manifest, or undefined while it is being replaced: s3rver writes an
 * object in place, so a GET racing a PUT may see part of it (S3 itself
 * shows the old object or the new one whole). Only for waiting: the checks
 * read the manifests again once the archive is caught up and still.
 */
async function manifestWhileWriting(p: number): Promise<PartitionManifest | undefined> {
  return manifest(p).catch((err: unknown) => {
    if ((err as { code?: string }).code === 'DATA_LOSS') return undefined;
    throw err;
  });
}

/** Waits (polling S3, with a deadline) until every partition's sealed segments are all in its manifest. */
async function waitArchived(client: LaminateClient, timeoutMs = 30_000): Promise<PartitionManifest[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const described = (await client.describeDataset(DATASET)).partitions;
    const ms = await Promise.all(described.map((d) => manifestWhileWriting(d.partition)));
    if (described.every((d, i) => (ms[i]?.segments.length ?? 0) === d.segments - 1)) {
      // Caught up: nothing more to write, so a read now is of whole manifests.
      return Promise.all(described.map(async (d) => (await manifest(d.partition))!));
    }
    if (Date.now() > deadline) throw new Error(`archive not caught up: ${JSON.stringify(described)} vs ${ms.map((m) => m?.segments.length ?? 'none').join(',')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function metric(httpAddress: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${httpAddress}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{dataset="${DATASET}"}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('lake');
  lake = new S3ObjectStore(s3.client, 'lake');
  dir = await tempDir('laminate-archive-');
  port = await freePort();
});
afterAll(async () => {
  await worker?.kill();
  await master?.kill();
  await s3?.stop();
  if (dir) await removeDir(dir);
});

describe('the dataset archive on S3', () => {
  it('refuses to start a master whose archive bucket does not exist, naming the bucket', async () => {
    const r = await runCli(['master', '--port', '0', '--http-port', '0', '--data', join(dir, 'refused'), '--archive', 's3://no-such-lake/datasets/']);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/s3:\/\/no-such-lake\/datasets\/ \(--archive\).*bucket 'no-such-lake' to exist/);
  });

  it('copies again, after a master SIGKILLed between an upload and its record, what was not recorded, and the archive equals the sealed segments', async () => {
    master = await startMasterProc(dir, { port, args: ARGS, env: { LAMINATE_FAULT_KILL_AT: 'archive:uploaded' } });
    const exited = new Promise<NodeJS.Signals | null>((r) => master.proc.once('exit', (_code, signal) => r(signal)));
    const client = new LaminateClient(master.address);
    await client.createDataset(DATASET, { partitions: PARTITIONS });
    // Appends until the master kills itself after its first segment upload; the append then in
    // flight is retried by its idempotent producer until the restarted master takes it.
    let dead = false;
    const appending = (async () => {
      for (let i = 0; i < 50 && !dead; i++) await client.append(DATASET, events(500), { key: 'user' });
    })();
    expect(await exited).toBe('SIGKILL');
    dead = true;
    // One object uploaded, none recorded.
    const objects = (await lake.listAll(PREFIX)).map((o) => o.key);
    expect(objects.filter((k) => k.endsWith('.log'))).toHaveLength(1);
    expect(objects.filter((k) => k.endsWith('manifest.json'))).toEqual([]);

    master = await startMasterProc(dir, { port, args: ARGS });
    await appending;
    await client.close();
    // Every record not in the archive comes through the master (none read in place), so that the master's count of
    // records served tells exactly which came from the archive.
    worker = await startWorkerProc(master.address, dir, { slots: 2, hostLocalReads: false });
    const again = new LaminateClient(master.address);
    try {
      for (let i = 0; i < 4; i++) await again.append(DATASET, events(1500), { key: 'user' });
      const ms = await waitArchived(again);
      for (let p = 0; p < PARTITIONS; p++) {
        expect(ms[p]!.segments.length).toBeGreaterThan(1);
        for (const s of ms[p]!.segments) {
          const local = await readFile(join(partitionDir(p), segmentFileName(s.baseOffset)));
          const archived = await lake.read(`${PREFIX}${DATASET}/p-${String(p).padStart(4, '0')}/${segmentFileName(s.baseOffset)}`);
          expect(archived.equals(local)).toBe(true);
          expect(s.crc32).toBe(crc32(local));
        }
      }
    } finally {
      await again.close();
    }
  });

  it('counts a cut whose early segments are archived as a sequential count of the records before it, the archived part read from S3', async () => {
    const http = (await master.waitFor(/master http on (\S+)/)).replace('master http on ', '');
    const client = new LaminateClient(master.address);
    const jobs = new JobClient(master.address);
    try {
      const ms = await waitArchived(client);
      const ends = (await client.describeDataset(DATASET)).partitions.map((p) => p.endOffset);
      // Inside the live tail on two partitions; inside an archived segment on the third.
      const archivedEnds = ms.map((m) => m.segments.at(-1)!.endOffset);
      const cut = ends.map((e, p) => (p === 2 ? ms[2]!.segments.at(-1)!.baseOffset + 5 : e - 3));
      const servedBefore = await metric(http, 'laminate_dataset_served_records_total');
      const out = join(dir, 'cut-out');
      const jobId = await jobs.submit({ job: JOB, inputs: [`dataset:${DATASET}@${cut.join(',')}`], output: out, reducers: 2, splitSize: 32 * 1024 });
      const final = await jobs.wait(jobId);
      expect(final.state).toBe('SUCCEEDED');
      expect(final.counters.find((c) => c.name === 'MAP_INPUT_RECORDS')?.value).toBe(cut.reduce((a, b) => a + b, 0));
      // Only the records past the archived end of each partition came through the master.
      const served = (await metric(http, 'laminate_dataset_served_records_total')) - servedBefore;
      const viaMaster = cut.reduce((n, c, p) => n + Math.max(0, c - archivedEnds[p]!), 0);
      expect(viaMaster).toBeGreaterThan(0);
      expect(viaMaster).toBeLessThan(cut.reduce((a, b) => a + b, 0) / 2);
      expect(served).toBe(viaMaster);
      expect((await readOutput(out)).lines.sort()).toEqual(await expectedOutput(client, cut));
    } finally {
      jobs.close();
      await client.close();
    }
  });
});

/** The job's output computed independently: the records before `cut`, read back in order, counted in a plain loop. */
async function expectedOutput(client: LaminateClient, cut: readonly number[]): Promise<string[]> {
  const counts = new Map<string, number>();
  const add = (k: string): void => { counts.set(k, (counts.get(k) ?? 0) + 1); };
  const lines: string[] = [];
  for (let partition = 0; partition < cut.length; partition++) {
    let offset = 0;
    for await (const r of client.read(DATASET, { partition, endOffset: cut[partition]! })) {
      expect(r.offset).toBe(offset++);
      const e = r.record as Event;
      add(`user:${e.user}`);
      for (const w of e.text.split(' ')) add(`word:${w}`);
      lines.push(`at:${DATASET}/${partition}/${String(r.offset).padStart(8, '0')}\t[${e.id}]`);
    }
    expect(offset).toBe(cut[partition]);
  }
  for (const [k, n] of counts) lines.push(`${k}\t${n}`);
  return lines.sort();
}
