import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { byKey, readOutput, runSequential } from './reference.js';
import {
  CLI, EXAMPLES, FIXTURES, freePort, GUTENBERG, JobClient, removeDir, startMasterProc, startWorkerProc, tempDir, waitForStatus,
  type Proc,
} from './harness.js';

/** Polls `get` until it returns a value, failing after timeoutMs with `context()` in the message. */
async function until<T>(get: () => T | undefined, timeoutMs: number, context: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out; ${context().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a master that restarts', () => {
  let dir: string;
  const procs: Proc[] = [];
  const clients: JobClient[] = [];
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const c of clients.splice(0)) c.close();
    for (const p of procs.splice(0)) await p.kill();
    await removeDir(dir);
  });

  it('resumes its unfinished job from the journal after a SIGKILL, keeping committed reduces; waiting clients reconnect and see the end', async () => {
    dir = await tempDir();
    const port = await freePort();
    const master = await startMasterProc(dir, { port });
    procs.push(master);
    const workers = await Promise.allSettled([0, 1].map(() => startWorkerProc(master.address, dir, { slots: 2 })));
    for (const w of workers) if (w.status === 'fulfilled') procs.push(w.value);
    for (const w of workers) if (w.status === 'rejected') throw w.reason;
    const before = new JobClient(master.address);
    clients.push(before);

    const book = join(GUTENBERG, 'pg-being_ernest.txt');
    const quickOut = join(dir, 'quick');
    const quick = await before.submit({ job: join(EXAMPLES, 'wordcount.ts'), inputs: [book], output: quickOut, speculation: false });
    expect((await before.wait(quick)).state).toBe('SUCCEEDED');

    const job = join(FIXTURES, 'jobs', 'res-slow-second-reducer.ts');
    const out = join(dir, 'out');
    // Two clients wait through the crash: `laminate submit --wait` in a process
    // of its own, and a JobClient in this one. Both must see the job's end.
    const submitter = spawn(process.execPath, [CLI, 'submit', '--master', master.address, '--job', job, '--input', book,
      '--output', out, '--reducers', '2', '--speculation', 'off', '--wait'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(submitter);
    let submitterOut = '';
    let submitterErr = '';
    submitter.stdout.on('data', (d: Buffer) => { submitterOut += d.toString(); });
    submitter.stderr.on('data', (d: Buffer) => { submitterErr += d.toString(); });
    const submitterExit = new Promise<number | null>((r) => submitter.once('exit', (code) => r(code)));
    const slow = await until(() => /^(job-\d+)$/m.exec(submitterOut)?.[1], 30_000, () => submitterErr);
    const waiting = before.wait(slow, undefined, 100);
    await waitForStatus(before, slow, (s) => s.reduces?.succeeded === 1, 60_000);
    const committed = await stat(join(out, 'part-00000'));
    expect((await before.status(slow)).state).toBe('RUNNING');
    await master.kill('SIGKILL');

    const again = await startMasterProc(dir, { port });
    procs.push(again);
    // The workers, not told of the restart, find the new master by themselves.
    const after = new JobClient(again.address);
    clients.push(after);
    const s = await waiting;
    expect(s.state).toBe('SUCCEEDED');
    expect(await submitterExit).toBe(0);
    expect(submitterOut).toContain(`${slow} SUCCEEDED`);
    expect((await after.workers()).filter((w) => w.alive).length).toBe(2);
    const full = await after.status(slow);
    // The reduce that had committed was not run again: no attempts, and its part file untouched.
    const r0 = full.tasks.find((t) => t.taskId === `${slow}-r-00000`)!;
    expect(r0.state).toBe('SUCCEEDED');
    expect(r0.attempts).toEqual([]);
    expect((await stat(join(out, 'part-00000'))).mtimeMs).toBe(committed.mtimeMs);
    expect(full.tasks.find((t) => t.taskId === `${slow}-r-00001`)!.attempts.some((a) => a.state === 'SUCCEEDED')).toBe(true);
    expect((await readOutput(out)).lines.sort(byKey)).toEqual(await runSequential(job, [book]));
    // The job finished before the crash is still known, with its outcome, and ids carry on.
    expect((await after.status(quick)).state).toBe('SUCCEEDED');
    const next = await after.submit({ job: join(EXAMPLES, 'wordcount.ts'), inputs: [book], output: join(dir, 'next'), speculation: false });
    expect(next).toBe('job-0003');
    expect((await after.wait(next)).state).toBe('SUCCEEDED');
  });
});

describe('a master that retains a bounded number of finished jobs', () => {
  it('forgets the oldest finished jobs beyond --retain-jobs, and a restart keeps only those it retained', async () => {
    const { Master } = await import('../../src/master/master.js');
    const { WorkerNode } = await import('../../src/worker/worker.js');
    const { silentLogger } = await import('../../src/common/logger.js');
    const dir = await tempDir();
    const masterDir = join(dir, 'master');
    const book = join(GUTENBERG, 'pg-metamorphosis.txt');
    let master = new Master({ port: 0, dataDir: masterDir, logger: silentLogger(), retainJobs: 2 });
    await master.start();
    const worker = new WorkerNode({ master: master.address, dataDir: join(dir, 'w'), logger: silentLogger(), slots: 2, warmUp: false });
    await worker.start();
    let client = new JobClient(master.address);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = await client.submit({ job: join(EXAMPLES, 'wordcount.ts'), inputs: [book], output: join(dir, `o${i}`), speculation: false });
        expect((await client.wait(id)).state).toBe('SUCCEEDED');
        ids.push(id);
      }
      const err = await client.status(ids[0]!).then(() => undefined, (e: { code?: string; message?: string }) => e);
      expect(err?.code).toBe('NOT_FOUND');
      expect(err?.message).toMatch(/2 most recent/);
      expect((await client.list()).map((j) => j.jobId)).toEqual([ids[1], ids[2]]);

      client.close();
      await worker.stop();
      await master.stop();
      master = new Master({ port: 0, dataDir: masterDir, logger: silentLogger(), retainJobs: 2 });
      await master.start();
      client = new JobClient(master.address);
      expect((await client.list()).map((j) => [j.jobId, j.state])).toEqual([[ids[1], 'SUCCEEDED'], [ids[2], 'SUCCEEDED']]);
      // The journal holds only what is retained, and job ids carry on.
      const journal = (await readFile(join(masterDir, 'journal.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; jobId?: string });
      expect(new Set(journal.filter((e) => e.jobId).map((e) => e.jobId))).toEqual(new Set([ids[1], ids[2]]));
    } finally {
      client.close();
      await worker.stop();
      await master.stop();
      await removeDir(dir);
    }
  });
});
