import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileOutputCommitter as C } from '../../../src/storage/output-committer.js';
import { rejectsWith, useTempDirs } from './helpers.js';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function writeAttempt(outDir: string, attemptId: string, partition: number, text: string): Promise<void> {
  await C.setupTask(outDir, attemptId);
  await writeFile(C.taskAttemptPath(outDir, attemptId, partition), text);
}

describe('FileOutputCommitter', () => {
  const tempDir = useTempDirs();

  it('refuses an output directory that already has output', async () => {
    const outDir = join(await tempDir(), 'out');
    await mkdir(outDir);
    await writeFile(join(outDir, 'part-00000'), 'old');
    await rejectsWith(C.setupJob(outDir), 'ALREADY_EXISTS', new RegExp(`Output directory '${outDir}' already has output \\(found 'part-00000'\\)`));
    expect(await readFile(join(outDir, 'part-00000'), 'utf8')).toBe('old');
  });

  it('accepts a missing or empty directory and creates _temporary', async () => {
    const base = await tempDir();
    await C.setupJob(join(base, 'a', 'out'));
    expect(await readdir(join(base, 'a', 'out'))).toEqual(['_temporary']);
    await mkdir(join(base, 'empty'));
    await C.setupJob(join(base, 'empty'));
    expect(await readdir(join(base, 'empty'))).toEqual(['_temporary']);
    await rejectsWith(C.setupJob(join(base, 'empty')), 'ALREADY_EXISTS');
  });

  it('lets exactly one of two concurrent setupJob calls claim the same folder', async () => {
    for (const existing of [false, true]) {
      const outDir = join(await tempDir(), 'out');
      if (existing) await mkdir(outDir);
      const results = await Promise.allSettled([C.setupJob(outDir), C.setupJob(outDir), C.setupJob(outDir)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') {
          await rejectsWith(Promise.reject(r.reason), 'ALREADY_EXISTS', new RegExp(`Output directory '${outDir}' already has output`));
        }
      }
      expect(await readdir(outDir)).toEqual(['_temporary']);
    }
  });

  it('refuses a file at the output path', async () => {
    const outDir = join(await tempDir(), 'out');
    await writeFile(outDir, 'x');
    await rejectsWith(C.setupJob(outDir), 'ALREADY_EXISTS', /a file is at that path/);
    expect(await readFile(outDir, 'utf8')).toBe('x');
  });

  it('places attempt files under _temporary/<attempt>/part-NNNNN', () => {
    expect(C.taskAttemptPath('/o', 'job-0001-r-00003-a2', 3)).toBe(join('/o', '_temporary', 'job-0001-r-00003-a2', 'part-00003'));
  });

  it('publishes the committed attempt only, and _SUCCESS only after commitJob', async () => {
    const outDir = join(await tempDir(), 'out');
    await C.setupJob(outDir);
    await writeAttempt(outDir, 'job-0001-r-00000-a1', 0, 'slow attempt');
    await writeAttempt(outDir, 'job-0001-r-00000-a2', 0, 'winner');
    await writeAttempt(outDir, 'job-0001-r-00001-a1', 1, 'second part');
    expect(await exists(join(outDir, 'part-00000'))).toBe(false);

    await C.commitTask(outDir, 'job-0001-r-00000-a2', 0);
    expect(await readFile(join(outDir, 'part-00000'), 'utf8')).toBe('winner');
    expect(await exists(C.taskAttemptDir(outDir, 'job-0001-r-00000-a2'))).toBe(false);
    // A repeated commit (say, a retried RPC) changes nothing.
    await C.commitTask(outDir, 'job-0001-r-00000-a2', 0);
    expect(await readFile(join(outDir, 'part-00000'), 'utf8')).toBe('winner');

    await C.abortTask(outDir, 'job-0001-r-00000-a1');
    await C.abortTask(outDir, 'job-0001-r-00000-a1');
    expect(await exists(join(outDir, '_temporary', 'job-0001-r-00000-a1'))).toBe(false);

    await C.commitTask(outDir, 'job-0001-r-00001-a1', 1);
    expect(await exists(join(outDir, '_SUCCESS'))).toBe(false);
    await C.commitJob(outDir);
    expect((await readdir(outDir)).sort()).toEqual(['_SUCCESS', 'part-00000', 'part-00001']);
    expect(await readFile(join(outDir, '_SUCCESS'), 'utf8')).toBe('');
    await C.commitJob(outDir);
    expect((await readdir(outDir)).sort()).toEqual(['_SUCCESS', 'part-00000', 'part-00001']);
  });

  it('replaces an earlier committed part when a re-run attempt commits', async () => {
    const outDir = join(await tempDir(), 'out');
    await C.setupJob(outDir);
    await writeAttempt(outDir, 'job-0001-r-00000-a1', 0, 'first');
    await C.commitTask(outDir, 'job-0001-r-00000-a1', 0);
    await writeAttempt(outDir, 'job-0001-r-00000-a3', 0, 'rerun');
    await C.commitTask(outDir, 'job-0001-r-00000-a3', 0);
    expect(await readFile(join(outDir, 'part-00000'), 'utf8')).toBe('rerun');
  });

  it('refuses to commit an attempt that wrote nothing', async () => {
    const outDir = join(await tempDir(), 'out');
    await C.setupJob(outDir);
    await rejectsWith(C.commitTask(outDir, 'job-0001-r-00000-a1', 0), 'NOT_FOUND', /Expected attempt job-0001-r-00000-a1's output/);
  });

  it('aborts a job by removing _temporary and writing no _SUCCESS', async () => {
    const outDir = join(await tempDir(), 'out');
    await C.setupJob(outDir);
    await writeAttempt(outDir, 'job-0001-r-00000-a1', 0, 'done');
    await C.commitTask(outDir, 'job-0001-r-00000-a1', 0);
    await writeAttempt(outDir, 'job-0001-r-00001-a1', 1, 'unfinished');
    await C.abortJob(outDir);
    await C.abortJob(outDir);
    expect(await readdir(outDir)).toEqual(['part-00000']);
  });
});
