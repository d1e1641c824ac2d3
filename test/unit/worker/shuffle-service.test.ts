import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { ShuffleClient, ShuffleHostClient } from '../../../src/protocol/shuffle-rpc.js';
import { writeIndex } from '../../../src/storage/map-output-file.js';
import { mapOutputDir, mapOutputPath } from '../../../src/worker/shuffle-layout.js';
import { ShuffleServiceLink } from '../../../src/worker/shuffle-service-link.js';
import { hostIdentity } from '../../../src/worker/host-local.js';
import { ShuffleService } from '../../../src/worker/shuffle-service.js';
import { useTempDirs } from '../storage/helpers.js';

const ATTEMPT = 'job-0002-m-00001-a1';
const WORKER = 'worker-0003';

/** Writes a map output file as a worker would: the partitions back to back, then the index footer. */
async function writeOutput(jobsDir: string, workerId: string, attemptId: string, parts: readonly Buffer[]): Promise<Array<{ offset: number; length: number }>> {
  const path = mapOutputPath(jobsDir, workerId, attemptId);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, Buffer.concat(parts));
  let offset = 0;
  const index = parts.map((p) => {
    const info = { offset, length: p.length, records: 1 };
    offset += p.length;
    return info;
  });
  writeIndex(path, index);
  return index;
}

async function fetchAll(client: ShuffleClient, req: { mapAttemptId: string; workerId: string; partition: number; offset: number; length: number }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of client.fetch(req, 5000)) chunks.push(c);
  return Buffer.concat(chunks);
}

async function rejection(p: Promise<unknown>): Promise<LaminateError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LaminateError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('ShuffleService', () => {
  const tempDir = useTempDirs();
  const open: Array<{ stop(): unknown } | { close(): unknown }> = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await ('stop' in o ? o.stop() : o.close());
  });

  async function started(dataDir: string): Promise<ShuffleService> {
    const s = new ShuffleService({ dataDir, port: 0, logger: silentLogger() });
    await s.start();
    open.push(s);
    return s;
  }

  it('serves a partition of a map output written into its folder, checked against the file\'s index', async () => {
    const service = await started(await tempDir());
    const parts = [Buffer.from('first partition'), Buffer.alloc(300_000, 7)];
    const index = await writeOutput(service.jobsDir, WORKER, ATTEMPT, parts);
    const client = new ShuffleClient(service.address);
    open.push(client);
    for (const p of [0, 1]) {
      const got = await fetchAll(client, { mapAttemptId: ATTEMPT, workerId: WORKER, partition: p, ...index[p]! });
      // Buffer.equals: a deep toEqual of 300 KB takes seconds.
      expect(got.length).toBe(parts[p]!.length);
      expect(got.equals(parts[p]!)).toBe(true);
    }
    // Another worker's attempt of the same id is another file: there is none.
    expect((await rejection(fetchAll(client, { mapAttemptId: ATTEMPT, workerId: 'worker-0004', partition: 0, ...index[0]! }))).code).toBe('NOT_FOUND');
    // A range other than the index's is not this file's partition.
    expect((await rejection(fetchAll(client, { mapAttemptId: ATTEMPT, workerId: WORKER, partition: 1, offset: 0, length: 10 }))).code).toBe('INVALID_ARGUMENT');
    // Ids that are not ids name no file, in the folder or out of it.
    expect((await rejection(fetchAll(client, { mapAttemptId: '../../etc/passwd', workerId: WORKER, partition: 0, offset: 0, length: 1 }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(fetchAll(client, { mapAttemptId: ATTEMPT, workerId: '..', partition: 0, offset: 0, length: 1 }))).code).toBe('INVALID_ARGUMENT');
  });

  it('says where a partition\'s file is, for a reducer on this host, checked as a fetch is', async () => {
    const service = await started(await tempDir());
    const index = await writeOutput(service.jobsDir, WORKER, ATTEMPT, [Buffer.from('first partition'), Buffer.from('second')]);
    const client = new ShuffleClient(service.address);
    open.push(client);
    const path = mapOutputPath(service.jobsDir, WORKER, ATTEMPT);
    const s = await stat(path, { bigint: true });
    expect(await client.locate({ mapAttemptId: ATTEMPT, workerId: WORKER, partition: 1, ...index[1]! }, 5000))
      .toEqual({ host: hostIdentity(), path, dev: s.dev.toString(), ino: s.ino.toString(), stamp: `f:${s.birthtimeNs}:${s.mtimeNs}:${s.size}` });
    expect((await rejection(client.locate({ mapAttemptId: ATTEMPT, workerId: 'worker-0004', partition: 0, ...index[0]! }, 5000))).code).toBe('NOT_FOUND');
    expect((await rejection(client.locate({ mapAttemptId: ATTEMPT, workerId: WORKER, partition: 1, offset: 0, length: 10 }, 5000))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(client.locate({ mapAttemptId: '../../etc/passwd', workerId: WORKER, partition: 0, offset: 0, length: 1 }, 5000))).code).toBe('INVALID_ARGUMENT');
  });

  it('removes, when the master says which jobs live, the folders of ended jobs it numbered, and no other', async () => {
    const service = await started(await tempDir());
    for (const job of ['job-0001', 'job-0002', 'job-0003', 'job-0007']) await mkdir(mapOutputDir(service.jobsDir, job, WORKER), { recursive: true });
    await mkdir(join(service.jobsDir, 'not-a-job'));
    const host = new ShuffleHostClient(service.address);
    open.push(host);
    // Jobs 1..6 were numbered, job 2 still runs; job 7 is newer than this word.
    expect(await host.retainJobs({ liveJobIds: ['job-0002'], nextJobNumber: 7 }, 5000)).toEqual({ removed: 2 });
    expect((await readdir(service.jobsDir)).sort()).toEqual(['job-0002', 'job-0007', 'not-a-job']);
    // Saying it again removes nothing more.
    expect(await host.retainJobs({ liveJobIds: ['job-0002'], nextJobNumber: 7 }, 5000)).toEqual({ removed: 0 });
  });

  it('removes at its start what an earlier run left, which it no longer hears of', async () => {
    const dataDir = await tempDir();
    const first = await started(dataDir);
    await writeOutput(first.jobsDir, WORKER, ATTEMPT, [Buffer.from('x')]);
    await first.stop();
    const second = await started(dataDir);
    expect(second.jobsDir).toBe(first.jobsDir);
    expect(await readdir(second.jobsDir)).toEqual([]);
  });

  it('names its folder to an attaching worker, which hears at once when the service goes away', async () => {
    const service = await started(await tempDir());
    let losses = 0;
    let onLost = (): void => {};
    const gone = new Promise<void>((r) => { onLost = r; });
    const link = new ShuffleServiceLink(service.address, 'test worker', silentLogger(), () => { losses++; onLost(); });
    open.push(link);
    await link.attach(() => false, true);
    expect(link).toMatchObject({ attached: true, jobsDir: service.jobsDir, epoch: 1 });
    expect(losses).toBe(0);
    await service.stop();
    await gone;
    expect(losses).toBe(1);
    expect(link.attached).toBe(false);
    // Once a service is back on the address, the link attaches again, in a new epoch.
    const again = new ShuffleService({ dataDir: join(service.jobsDir, '..'), port: Number(service.address.split(':')[1]), logger: silentLogger() });
    await again.start();
    open.push(again);
    await link.attach(() => false, true);
    expect(link).toMatchObject({ attached: true, epoch: 2 });
    expect(existsSync(link.jobsDir)).toBe(true);
  });
});
