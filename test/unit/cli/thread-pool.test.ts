import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const PRELOAD = resolve('bin/thread-pool.cjs');
const LAUNCHER = resolve('bin/laminate.cjs');
const { DEFAULT_THREAD_POOL_SIZE } = createRequire(import.meta.url)(PRELOAD) as { DEFAULT_THREAD_POOL_SIZE: number };
/** Pool threads the test blocks: more than libuv's default 4, fewer than the size the command sets. */
const BLOCKED = 6;
const dir = mkdtempSync(join(tmpdir(), 'laminate-thread-pool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string | undefined>): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, UV_THREADPOOL_SIZE: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', rej);
    child.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`child exited ${code}: ${out}${err}`))));
  });
}

/**
 * An ES module entry, as the command's is, started with thread-pool.cjs
 * preloaded: it blocks BLOCKED pool threads in open() of FIFOs nobody
 * writes, asks for a stat (another pool task), says whether the stat
 * finished within `waitMs` while they were blocked, then releases them. No
 * timing decides a starved answer: a starved stat cannot finish before the
 * FIFOs are opened for writing, which happens only after the answer is
 * printed; the finished case waits as long as a loaded machine may need.
 */
function statBesideBlockedThreads(env: Record<string, string | undefined>, waitMs: number): Promise<string> {
  const fifos = Array.from({ length: BLOCKED }, (_, i) => join(dir, `fifo-${Math.random().toString(36).slice(2)}-${i}`));
  for (const f of fifos) execFileSync('mkfifo', [f]);
  const script = `
import { constants, openSync, closeSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
const fifos = ${JSON.stringify(fifos)};
const readers = fifos.map((f) => open(f, 'r'));
let statted = false;
stat(${JSON.stringify(dir)}).then(() => { statted = true; });
const until = Date.now() + ${waitMs};
while (!statted && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
process.stdout.write(statted ? 'stat finished' : 'stat starved');
// A FIFO opens for writing without blocking once its reader is in open(); a reader still queued in libuv gets there
// once another is released.
const pending = new Set(fifos);
while (pending.size > 0) {
  for (const f of [...pending]) {
    try { closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK)); pending.delete(f); } catch (err) { if (err.code !== 'ENXIO') throw err; }
  }
  await new Promise((r) => setTimeout(r, 10));
}
for (const r of readers) await (await r).close();
`;
  return run(['--require', PRELOAD, '--input-type=module', '-e', script], env);
}

describe("libuv's thread pool of a laminate process", () => {
  it('is sized before an ES module entry loads: a stat finishes while more threads than libuv\'s default 4 are blocked in the disk', async () => {
    expect(DEFAULT_THREAD_POOL_SIZE).toBeGreaterThan(BLOCKED);
    expect(await statBesideBlockedThreads({}, 10_000)).toBe('stat finished');
    expect(await statBesideBlockedThreads({ UV_THREADPOOL_SIZE: ' ' }, 10_000)).toBe('stat finished');
  });

  it("keeps the user's size: with the 4 threads asked for, the stat starves (the case the setting exists for)", async () => {
    expect(await statBesideBlockedThreads({ UV_THREADPOOL_SIZE: '4' }, 500)).toBe('stat starved');
  });

  it('is set by the laminate command, which then runs the compiled CLI', async () => {
    const help = await run([LAUNCHER, '--help'], {});
    expect(help).toContain('Usage: laminate');
    const probe = `require(${JSON.stringify(PRELOAD)}); process.stdout.write(process.env.UV_THREADPOOL_SIZE);`;
    expect(await run(['-e', probe], {})).toBe(String(DEFAULT_THREAD_POOL_SIZE));
    expect(await run(['-e', probe], { UV_THREADPOOL_SIZE: '7' })).toBe('7');
  });
});
