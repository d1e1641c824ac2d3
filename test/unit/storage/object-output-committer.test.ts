/**
 * The commit-without-rename protocol (object-output-committer.ts), on both
 * stores of the port: parts appear only when the master completes an
 * attempt's upload, one attempt per task, `_SUCCESS` last; killed, losing
 * and late attempts leave nothing visible.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LaminateError } from '../../../src/common/errors.js';
import { ObjectOutputCommitter as C } from '../../../src/storage/object-output-committer.js';
import { locate } from '../../../src/storage/store-path.js';
import { startS3Server, type TestS3Server } from '../../support/s3-server.js';

let s3: TestS3Server;
let localDir: string;
let n = 0;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('committer');
  localDir = await mkdtemp(join(tmpdir(), 'laminate-committer-'));
});
afterAll(async () => {
  await s3?.stop();
  await rm(localDir, { recursive: true, force: true });
});

const roots = [
  { name: 'local file system', out: () => `${join(localDir, `job-${++n}`)}/` },
  { name: 'S3 (s3rver)', out: () => `s3://committer/job-${++n}/` },
];

/** Every object under the output, as names relative to it. */
async function names(out: string): Promise<string[]> {
  const { store, key } = await locate(out);
  const prefix = key.endsWith('/') ? key : `${key}/`;
  return (await store.listAll(prefix)).map((o) => o.key.slice(prefix.length));
}

async function text(path: string): Promise<string> {
  const { store, key } = await locate(path);
  return (await store.read(key)).toString('utf8');
}

async function write(out: string, attemptDir: string, partition: number, lines: Array<[string, unknown]>): Promise<void> {
  const w = await C.openTaskOutput(out, attemptDir, partition);
  for (const [k, v] of lines) w.write(k, v);
  await w.close();
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'resolved', (err: unknown) => (err instanceof LaminateError ? err.code : String(err)));
}

describe.each(roots)('the object-store output committer on the $name', (root) => {
  it('shows a part only once its attempt is committed, keeps the loser out, and writes _SUCCESS last', async () => {
    const out = root.out();
    await C.setupJob(out);
    await write(out, 'a1.w1', 0, [['apple', 1], ['pear', 2]]);
    await write(out, 'a2.w2', 0, [['apple', 9]]);
    expect((await names(out)).filter((k) => !k.startsWith('_temporary/'))).toEqual([]);
    await C.commitTask(out, 'a1.w1', 0);
    await C.commitTask(out, 'a1.w1', 0);
    await C.abortTask(out, 'a2.w2', 0);
    expect(await text(`${out}part-00000`)).toBe('apple\t1\npear\t2\n');
    await write(out, 'b1.w1', 1, []);
    await C.commitTask(out, 'b1.w1', 1);
    await C.commitJob(out);
    expect(await names(out)).toEqual(['_SUCCESS', 'part-00000', 'part-00001']);
    expect(await text(`${out}part-00001`)).toBe('');
  });

  it('refuses an output that already has objects', async () => {
    const out = root.out();
    await C.setupJob(out);
    await write(out, 'a1.w1', 0, [['k', 'v']]);
    await C.commitTask(out, 'a1.w1', 0);
    await C.commitJob(out);
    expect(await codeOf(C.setupJob(out))).toBe('ALREADY_EXISTS');
  });

  it('leaves nothing visible of an attempt killed mid-upload, nor of a job aborted', async () => {
    const out = root.out();
    await C.setupJob(out);
    const killed = await C.openTaskOutput(out, 'a1.w1', 0);
    killed.write('half', 'written');
    await killed.flush();
    // Never closed, as after a SIGKILL: the master cannot commit it.
    expect(await codeOf(C.commitTask(out, 'a1.w1', 0))).toBe('FAILED_PRECONDITION');
    await write(out, 'b1.w2', 1, [['done', 1]]);
    await C.abortJob(out);
    expect(await names(out)).toEqual([]);
  });

  it('lets no attempt write once its job has ended, whether it starts or finishes late', async () => {
    const out = root.out();
    await C.setupJob(out);
    const slow = await C.openTaskOutput(out, 'a1.w1', 0);
    slow.write('late', 1);
    await write(out, 'a2.w2', 0, [['on', 'time']]);
    await C.commitTask(out, 'a2.w2', 0);
    await C.commitJob(out);
    expect(await codeOf(slow.close())).toBe('FAILED_PRECONDITION');
    expect(await codeOf(C.openTaskOutput(out, 'a3.w1', 0))).toBe('FAILED_PRECONDITION');
    expect(await names(out)).toEqual(['_SUCCESS', 'part-00000']);
    expect(await text(`${out}part-00000`)).toBe('on\ttime\n');
  });

  it('drops the uploads of attempts before a master restart, and the job goes on', async () => {
    const out = root.out();
    await C.setupJob(out);
    await write(out, 'a1.w1', 0, [['before', 'restart']]);
    expect(await C.recoverJob(out)).toBeGreaterThanOrEqual(1);
    expect(await codeOf(C.commitTask(out, 'a1.w1', 0))).toBe('NOT_FOUND');
    await write(out, 'a2.w1', 0, [['after', 'restart']]);
    await C.commitTask(out, 'a2.w1', 0);
    await C.commitJob(out);
    expect(await names(out)).toEqual(['_SUCCESS', 'part-00000']);
    expect(await text(`${out}part-00000`)).toBe('after\trestart\n');
  });
});
