import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { byKey, readOutput, runSequential } from './reference.js';
import { CLI, EXAMPLES, FIXTURES, GUTENBERG, JobClient, removeDir, startLocal, tempDir } from './harness.js';

const run = promisify(execFile);
const BOOK = join(GUTENBERG, 'pg-being_ernest.txt');
const WC = join(EXAMPLES, 'wordcount.ts');

describe('the command line', () => {
  it('prints help listing every command', async () => {
    const { stdout } = await run(process.execPath, [CLI, '--help']);
    for (const cmd of ['master', 'worker', 'submit', 'status', 'kill', 'local']) expect(stdout).toContain(cmd);
  });

  it('rejects --reducers that is not a positive integer, saying what it got', async () => {
    const err = await run(process.execPath, [CLI, 'submit', '--master', '127.0.0.1:1', '--job', 'x.ts', '--input', 'x', '--output', 'y', '--reducers', 'ten'])
      .then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(err?.code).not.toBe(0);
    expect(err?.stderr).toContain("Expected --reducers to be a positive integer, got 'ten'");
  });

  it('keeps an embedded cluster up with local --serve, runs submitted jobs, and stops cleanly on SIGTERM', async () => {
    const dir = await tempDir();
    const proc = spawn(process.execPath, [CLI, 'local', '--serve', '--workers', '2', '--data', join(dir, 'local')], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const address = await new Promise<string>((resolvePromise, reject) => {
        let out = '';
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /master listening on (\S+) with 2 workers/.exec(out);
          if (m) resolvePromise(m[1]!);
        });
        proc.once('exit', (code) => reject(new Error(`local --serve exited with ${code}`)));
      });
      const c = new JobClient(address);
      try {
        const out = join(dir, 'out');
        const id = await c.submit({ job: WC, inputs: [BOOK], output: out, reducers: 2 });
        expect((await c.wait(id)).state).toBe('SUCCEEDED');
        expect((await readOutput(out)).lines.sort(byKey)).toEqual(await runSequential(WC, [BOOK]));
        expect((await c.workers()).filter((w) => w.alive)).toHaveLength(2);
      } finally {
        c.close();
      }
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await removeDir(dir);
    }
  });

  it('kills a running job with laminate kill: it ends KILLED, leaving no _SUCCESS and no temporary output', async () => {
    const dir = await tempDir();
    const cluster = await startLocal({ dataDir: join(dir, 'c'), workers: 2, slots: 1 });
    const c = new JobClient(cluster.address);
    try {
      const input = join(dir, 'lines.txt');
      await writeFile(input, Array.from({ length: 3000 }, (_, i) => `line ${i} of words`).join('\n'));
      const out = join(dir, 'out');
      const id = await c.submit({ job: join(FIXTURES, 'jobs', 'res-slow-count.ts'), inputs: [input], output: out, splitSize: 4000, reducers: 2 });
      const killed = await run(process.execPath, [CLI, 'kill', '--master', cluster.address, id]);
      expect(killed.stdout).toBe(`${id} killed\n`);
      const s = await c.wait(id);
      expect(s.state).toBe('KILLED');
      expect(s.message).toBe('killed by a client');
      expect(s.maps!.succeeded).toBeLessThan(s.maps!.total);
      expect((await readdir(out)).filter((f) => f === '_SUCCESS' || f === '_temporary')).toEqual([]);
      const again = await run(process.execPath, [CLI, 'kill', '--master', cluster.address, id]);
      expect(again.stdout).toBe(`${id} had already finished\n`);
    } finally {
      c.close();
      await cluster.stop();
      await removeDir(dir);
    }
  });

  it('prints plain progress lines while it waits when stderr is not a terminal', async () => {
    const dir = await tempDir();
    const cluster = await startLocal({ dataDir: join(dir, 'c'), workers: 1, slots: 1 });
    try {
      // About 1.2 s of map work at 2 ms a line: long enough for the first progress line (after 500 ms).
      const input = join(dir, 'lines.txt');
      await writeFile(input, Array.from({ length: 600 }, (_, i) => `line ${i} of words`).join('\n'));
      const job = join(FIXTURES, 'jobs', 'res-slow-count.ts');
      const { stderr } = await run(process.execPath, [CLI, 'submit', '--master', cluster.address, '--job', job, '--input', input, '--output', join(dir, 'out'), '--split-size', '4000', '--wait']);
      // ISO time, job, state, maps done/total (running), reduces likewise.
      expect(stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z job-0001 (PENDING|RUNNING) maps \d+\/\d+ \(\d+ running\) reduces \d+\/1 \(\d+ running\)/m);
      expect(stderr).not.toMatch(/\u001b\[/);
    } finally {
      await cluster.stop();
      await removeDir(dir);
    }
  });

  it('submits with --wait, prints the job id and counters, and status shows the job', async () => {
    const dir = await tempDir();
    const cluster = await startLocal({ dataDir: join(dir, 'c'), workers: 1 });
    try {
      const out = join(dir, 'out');
      const { stdout } = await run(process.execPath, [CLI, 'submit', '--master', cluster.address, '--job', WC, '--input', BOOK, '--output', out, '--reducers', '2', '--wait']);
      expect(stdout).toMatch(/^job-0001\n/);
      expect(stdout).toMatch(/job-0001 SUCCEEDED/);
      expect(stdout).toMatch(/REDUCE_OUTPUT_RECORDS\s+\d+/);
      const status = await run(process.execPath, [CLI, 'status', '--master', cluster.address, 'job-0001']);
      expect(status.stdout).toMatch(/state\s+SUCCEEDED/);
      expect(status.stdout).toContain('job-0001-r-00001-a1');
      const overview = await run(process.execPath, [CLI, 'status', '--master', cluster.address]);
      expect(overview.stdout).toMatch(/worker-0001\s+127\.0\.0\.1:\d+\s+slots 0\/2/);
      expect(overview.stdout).toMatch(/job-0001\s+SUCCEEDED/);
      expect((await readOutput(out)).lines.sort(byKey)).toEqual(await runSequential(WC, [BOOK]));
    } finally {
      await cluster.stop();
      await removeDir(dir);
    }
  });
});
