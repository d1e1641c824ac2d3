/**
 * The worker's function host with real child processes and a fake master
 * link: every way an invocation can end, what a handler sees (its context,
 * its environment only), console capture, emits, warm reuse, and CPU shares
 * in proportion to memory. Needs `npm run build` (the child's entry is
 * compiled under dist/).
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { pack, unpack } from 'msgpackr';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildBundle } from '../../../src/client/bundler.js';
import type { FunctionInvocation, FunctionInvocationReport } from '../../../src/common/function-invocation.js';
import { FUNCTION_LIMITS } from '../../../src/common/function-shapes.js';
import { silentLogger } from '../../../src/common/logger.js';
import { niceForMemory } from '../../../src/worker/cpu-share.js';
import type { FunctionCodeEnvelope } from '../../../src/worker/function-code-cache.js';
import { FunctionHost, type FunctionMasterLink } from '../../../src/worker/function-host.js';

/** One module for most cases: `event.op` chooses what the handler does. */
const MAIN = `
let count = 0;
console.log('module loaded');
const ops = {
  echo: (event, ctx) => ({ event, requestId: ctx.requestId, eventId: ctx.eventId, name: ctx.functionName, version: ctx.functionVersion,
    memory: ctx.memoryLimitMb, remaining: ctx.getRemainingTimeInMillis(), pid: process.pid }),
  env: () => ({ ...process.env }),
  count: () => ++count,
  log: (event, ctx) => {
    console.log('plain %d', 1); console.info('info'); console.warn('careful'); console.error('bad');
    process.stdout.write('raw out\\n'); process.stderr.write('raw err\\n'); ctx.log.info('via ctx', { a: 1 });
    return 'logged';
  },
  bigLog: () => { for (let i = 0; i < 100; i++) console.log(String(i).padStart(4, '0') + 'x'.repeat(1020)); },
  throw: () => { throw new Error('boom'); },
  reject: async () => { await null; throw new TypeError('late boom'); },
  circular: () => { const o = { a: 1 }; o.self = o; return o; },
  bigint: () => ({ n: 10n }),
  fn: () => ({ f() {} }),
  emit: async (event, ctx) => {
    await ctx.emit('alerts', { eventId: ctx.eventId, n: 1 });
    await ctx.emit('alerts', { eventId: ctx.eventId, n: 2 });
    let refused = '';
    try { await ctx.emit('missing', { n: 3 }); } catch (err) { refused = err.message; }
    return { refused };
  },
  exit: () => { console.log('leaving'); process.exit(3); },
  crash: () => { setImmediate(() => { throw new Error('stray crash'); }); return new Promise(() => {}); },
  hang: () => { console.log('about to hang'); for (;;) {} },
  heap: () => { const keep = []; for (;;) keep.push(new Array(1 << 17).fill(1.5)); },
  buffers: () => { const keep = []; for (;;) keep.push(Buffer.alloc(8 << 20, 1)); },
  cpu: (event) => {
    // Spins until this process has used event.ms of CPU (process-wide, as /proc counts it).
    const until = event.ms * 1000;
    for (;;) { const u = process.cpuUsage(); if (u.user + u.system >= until) break; for (let i = 0; i < 1e5; i++); }
    return process.cpuUsage();
  },
};
export default { kind: 'laminate-function', handler: (event, ctx) => ops[event.op](event, ctx) };
`;

interface Deployed { readonly name: string; readonly version: number; readonly sha: string; readonly envelope: FunctionCodeEnvelope }

function deploy(name: string, version: number, code: string): Deployed {
  const plain = Buffer.from(code);
  const dataKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const sha = createHash('sha256').update(plain).digest('hex');
  return { name, version, sha, envelope: { ciphertext, iv, authTag: cipher.getAuthTag(), dataKey, codeSha256: sha } };
}

/** The fake master: code by (name, version), appends recorded, dataset 'missing' refused. */
class FakeLink implements FunctionMasterLink {
  readonly fetches: string[] = [];
  readonly appended: Array<{ dataset: string; record: unknown }> = [];
  constructor(private readonly fns: Deployed[]) {}
  getFunctionCode(name: string, version: number): Promise<FunctionCodeEnvelope> {
    this.fetches.push(`${name}@${version}`);
    const fn = this.fns.find((f) => f.name === name && f.version === version);
    return fn ? Promise.resolve(fn.envelope) : Promise.reject(new Error(`no function ${name}@${version}`));
  }
  appendToDataset(dataset: string, record: unknown): Promise<void> {
    if (dataset === 'missing') return Promise.reject(new Error(`Dataset 'missing' does not exist`));
    this.appended.push({ dataset, record });
    return Promise.resolve();
  }
}

const main = deploy('main', 1, MAIN);
const noHandler = deploy('no-handler', 1, 'export default 42;');
const badModule = deploy('bad-module', 1, "throw new Error('cannot start');");
const tampered = deploy('tampered', 1, `${MAIN}\n// another version`);
(tampered.envelope.ciphertext as Buffer)[10]! ^= 1;
const link = new FakeLink([main, noHandler, badModule, tampered]);
const host = new FunctionHost({ link, logger: silentLogger(), workerId: () => 'worker-0001' });
afterAll(() => host.close());

let seq = 0;
function invocation(fn: Deployed, containerId: string, event: unknown, over: Partial<FunctionInvocation> = {}): FunctionInvocation {
  seq++;
  return {
    requestId: `req-${seq}`, eventId: `ev-${seq}`, function: fn.name, version: fn.version, codeSha256: fn.sha, containerId,
    memoryMb: 128, timeoutMs: 5_000, payload: pack(event), env: { GREETING: 'hello' }, deadline: 0, ...over,
  };
}

function resultOf(r: FunctionInvocationReport): unknown {
  expect(r.errorMessage).toBe('');
  expect(r.ok).toBe(true);
  return r.result.byteLength === 0 ? undefined : unpack(r.result);
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat)
}

describe('function host', () => {
  it('cold-starts a container, then reuses it warm with module state kept, passing the event and the context', async () => {
    const first = await host.invoke(invocation(main, 'c-main', { op: 'echo', n: [1, 2] }, { requestId: 'r-1', eventId: 'e-1' }));
    const echo = resultOf(first) as Record<string, unknown>;
    expect(echo).toMatchObject({ event: { op: 'echo', n: [1, 2] }, requestId: 'r-1', eventId: 'e-1', name: 'main', version: 1, memory: 128 });
    expect(echo.remaining).toBeGreaterThan(0);
    expect(echo.remaining).toBeLessThanOrEqual(5_000);
    expect(first).toMatchObject({ coldStart: true, containerGone: false, workerId: 'worker-0001', containerId: 'c-main' });
    expect(first.initMs).toBeGreaterThan(0);
    expect(first.maxMemoryUsedMb).toBeGreaterThan(10);
    // Output of the module's load goes with the first invocation.
    expect(first.logs.map((l) => l.message)).toEqual(['module loaded']);

    const counts: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await host.invoke(invocation(main, 'c-main', { op: 'count' }));
      expect(r).toMatchObject({ coldStart: false, initMs: 0 });
      counts.push(resultOf(r));
    }
    expect(counts).toEqual([1, 2, 3]);
    expect(resultOf(await host.invoke(invocation(main, 'c-main', { op: 'echo' }))))
      .toMatchObject({ pid: echo.pid });
    expect(host.containerIds()).toContain('c-main');
    expect(link.fetches).toEqual(['main@1']);
    // One invocation at a time: a second one sent while a container starts is refused, not queued.
    const [a, b] = await Promise.all([host.invoke(invocation(main, 'c-twice', { op: 'count' })), host.invoke(invocation(main, 'c-twice', { op: 'count' }))]);
    expect(resultOf(a)).toBe(1);
    expect(b).toMatchObject({ ok: false, errorCode: 'THROTTLED', containerGone: false });
    host.stop('c-twice', 'test done');
  });

  it('gives the handler only its function\'s environment, never the worker\'s', async () => {
    process.env.LAMINATE_TEST_WORKER_SECRET = 'worker-token';
    try {
      const env = resultOf(await host.invoke(invocation(main, 'c-env', { op: 'env' }, { env: { API_URL: 'http://x', GREETING: 'hi' } })));
      expect(env).toEqual({ API_URL: 'http://x', GREETING: 'hi', LAMINATE_FUNCTION_NAME: 'main', LAMINATE_FUNCTION_VERSION: '1', LAMINATE_FUNCTION_MEMORY_MB: '128' });
      // The other container, of another environment, does not see this one's.
      const other = resultOf(await host.invoke(invocation(main, 'c-main', { op: 'env' }))) as Record<string, string>;
      expect(other.API_URL).toBeUndefined();
      expect(other.GREETING).toBe('hello');
    } finally {
      delete process.env.LAMINATE_TEST_WORKER_SECRET;
    }
  });

  it('captures console and stream output per invocation, with levels, and cuts it at the limit saying so', async () => {
    const r = await host.invoke(invocation(main, 'c-main', { op: 'log' }));
    expect(resultOf(r)).toBe('logged');
    expect(r.logs.map((l) => [l.level, l.message])).toEqual([
      ['info', 'plain 1'], ['info', 'info'], ['warn', 'careful'], ['error', 'bad'], ['info', 'raw out'], ['error', 'raw err'], ['info', "via ctx { a: 1 }"],
    ]);
    const big = await host.invoke(invocation(main, 'c-main', { op: 'bigLog' }));
    expect(resultOf(big)).toBeUndefined();
    const kept = big.logs.slice(0, -1);
    // Lines of 1,024 bytes: as many as fit in the limit, in order, then the note of the cut.
    expect(kept.map((l) => l.message.slice(0, 4))).toEqual(Array.from({ length: Math.floor(FUNCTION_LIMITS.maxLogBytesPerInvocation / 1024) }, (_, i) => String(i).padStart(4, '0')));
    expect(big.logs.at(-1)!.message).toMatch(/log cut: \d+ more bytes past the limit of 65536/);
    // The next invocation starts afresh.
    expect((await host.invoke(invocation(main, 'c-main', { op: 'count' }))).logs).toEqual([]);
  });

  it('appends emitted records through the link, resolving each, and rejects an emit the link refuses', async () => {
    const before = link.appended.length;
    const r = await host.invoke(invocation(main, 'c-main', { op: 'emit' }, { eventId: 'ev-emit' }));
    expect(resultOf(r)).toEqual({ refused: "Dataset 'missing' does not exist" });
    expect(link.appended.slice(before)).toEqual([
      { dataset: 'alerts', record: { eventId: 'ev-emit', n: 1 } }, { dataset: 'alerts', record: { eventId: 'ev-emit', n: 2 } },
    ]);
  });

  it('reports a throw or a rejection as HANDLER_ERROR and a result JSON cannot hold as RESULT_NOT_SERIALIZABLE, keeping the container', async () => {
    const pid = host.pidOf('c-main');
    for (const [op, code, message] of [
      ['throw', 'HANDLER_ERROR', /Error: boom/], ['reject', 'HANDLER_ERROR', /TypeError: late boom/],
      ['circular', 'RESULT_NOT_SERIALIZABLE', /circular/], ['bigint', 'RESULT_NOT_SERIALIZABLE', /BigInt/], ['fn', 'RESULT_NOT_SERIALIZABLE', /a function at key 'f'/],
    ] as const) {
      const r = await host.invoke(invocation(main, 'c-main', { op }));
      expect(r).toMatchObject({ ok: false, errorCode: code, containerGone: false, coldStart: false });
      expect(r.errorMessage).toMatch(message);
    }
    expect(host.pidOf('c-main')).toBe(pid);
    expect(resultOf(await host.invoke(invocation(main, 'c-main', { op: 'count' })))).toBeGreaterThan(3);
  });

  it('reports process.exit and an uncaught exception as PROCESS_EXITED; the container is gone and the next invocation starts cold', async () => {
    const r = await host.invoke(invocation(main, 'c-exit', { op: 'exit' }));
    expect(r).toMatchObject({ ok: false, errorCode: 'PROCESS_EXITED', containerGone: true });
    expect(r.errorMessage).toMatch(/exited with code 3/);
    expect(r.logs.map((l) => l.message)).toContain('leaving');
    expect(host.containerIds()).not.toContain('c-exit');
    expect(await host.invoke(invocation(main, 'c-exit', { op: 'count' }))).toMatchObject({ ok: true, coldStart: true });
    // An exception thrown outside the handler's promise ends the process too, and its message says why.
    const crash = await host.invoke(invocation(main, 'c-exit', { op: 'crash' }));
    expect(crash).toMatchObject({ ok: false, errorCode: 'PROCESS_EXITED', containerGone: true });
    expect(crash.errorMessage).toMatch(/stray crash/);
  });

  it('kills a handler that blocks its event loop at the timeout (TIMEOUT), keeping the lines it wrote', async () => {
    const r = await host.invoke(invocation(main, 'c-hang', { op: 'hang' }, { timeoutMs: 1_000 }));
    expect(r).toMatchObject({ ok: false, errorCode: 'TIMEOUT', containerGone: true, durationMs: 1_000 });
    expect(r.errorMessage).toMatch(/timeout of 1000 ms/);
    expect(r.logs.map((l) => l.message)).toContain('about to hang');
    expect(host.containerIds()).not.toContain('c-hang');
  });

  it('reports OUT_OF_MEMORY for a heap past the limit and for Buffers past it outside the heap; the container is gone', async () => {
    const ops = ['heap', 'buffers'];
    const reports = await Promise.all(ops.map((op) => host.invoke(invocation(main, `c-${op}`, { op }, { timeoutMs: 40_000 }))));
    for (const r of reports) {
      expect(r).toMatchObject({ ok: false, errorCode: 'OUT_OF_MEMORY', containerGone: true });
      expect(r.errorMessage).toMatch(/memory limit of 128 MB/);
      expect(r.maxMemoryUsedMb).toBeGreaterThan(100);
    }
    expect(host.containerIds()).toEqual(expect.not.arrayContaining(['c-heap', 'c-buffers']));
  });

  it('refuses a module without a defineFunction default export (NO_HANDLER), one that throws as it loads, and code that does not decrypt', async () => {
    const none = await host.invoke(invocation(noHandler, 'c-none', { op: 'echo' }));
    expect(none).toMatchObject({ ok: false, errorCode: 'NO_HANDLER', containerGone: true, coldStart: true });
    expect(none.errorMessage).toMatch(/export default defineFunction\(handler\), got a default export of type number/);
    const bad = await host.invoke(invocation(badModule, 'c-bad', { op: 'echo' }));
    expect(bad).toMatchObject({ ok: false, errorCode: 'HANDLER_ERROR', containerGone: true });
    expect(bad.errorMessage).toMatch(/failed to load: Error: cannot start/);
    const altered = await host.invoke(invocation(tampered, 'c-tampered', { op: 'echo' }));
    expect(altered).toMatchObject({ ok: false, errorCode: 'WORKER_LOST', containerGone: true });
    expect(altered.errorMessage).toMatch(/does not decrypt/);
    expect(host.containerIds()).toEqual(expect.not.arrayContaining(['c-none', 'c-bad', 'c-tampered']));
  });

  it('runs a module bundled as deploy bundles it (defineFunction imported, require banner)', async () => {
    const code = await buildBundle({
      stdin: {
        contents: "import { defineFunction } from './src/api/function.js'; import { createHash } from 'node:crypto';\n"
          + "export default defineFunction((e: { s: string }) => createHash('sha256').update(e.s).digest('hex') + require('node:os').EOL.length);",
        resolveDir: process.cwd(), loader: 'ts',
      },
    }, 'test function');
    const fn = deploy('bundled', 1, code.toString());
    const bundledHost = new FunctionHost({ link: new FakeLink([fn]), logger: silentLogger(), workerId: () => 'w' });
    try {
      const r = await bundledHost.invoke(invocation(fn, 'c-bundled', { s: 'abc' }));
      expect(resultOf(r)).toBe(`${createHash('sha256').update('abc').digest('hex')}1`);
    } finally {
      bundledHost.close();
    }
  });

  it('stops a container on request: gone from the list, and an invocation running in it ends PROCESS_EXITED', async () => {
    await host.invoke(invocation(main, 'c-stop', { op: 'count' }));
    expect(host.containerIds()).toContain('c-stop');
    const running = host.invoke(invocation(main, 'c-stop', { op: 'hang' }, { timeoutMs: 30_000 }));
    expect(host.stop('c-stop', 'idle')).toBe(true);
    expect(await running).toMatchObject({ ok: false, errorCode: 'PROCESS_EXITED', containerGone: true });
    expect(host.containerIds()).not.toContain('c-stop');
    expect(host.stop('c-stop', 'again')).toBe(false);
  });

  it('runs a cold start in a spare started ahead (blank, unlisted, given the function\'s environment only at load), then starts the next', async () => {
    const spared = new FunctionHost({ link, logger: silentLogger(), workerId: () => 'w', spares: 1 });
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      expect(spared.sparePids()).toEqual([]);
      spared.startSpares();
      spared.startSpares(); // once
      expect(spared.sparePids()).toHaveLength(1);
      const [spare128] = spared.sparePids();
      expect(spare128).toBeDefined();
      expect(spared.containerIds()).toEqual([]);
      const env = await spared.invoke(invocation(main, 's-1', { op: 'env' }, { env: { ONLY: 'this' } }));
      expect(env.coldStart).toBe(true);
      expect(resultOf(env)).toEqual({ ONLY: 'this', LAMINATE_FUNCTION_NAME: 'main', LAMINATE_FUNCTION_VERSION: '1', LAMINATE_FUNCTION_MEMORY_MB: '128' });
      expect(spared.pidOf('s-1')).toBe(spare128);
      expect(spared.containerIds()).toEqual(['s-1']);
      // The next spare of that size comes after the cold start, as another process.
      await vi.waitFor(() => expect(spared.sparePids()).toHaveLength(1), { timeout: 10_000, interval: 20 });
      const [next128] = spared.sparePids();
      expect(next128).not.toBe(spare128);
      // No spare of 256 MB: a process of its own; then the one spare kept is of 256 MB, and the 128 MB one is stopped.
      const big = await spared.invoke(invocation(main, 's-2', { op: 'count' }, { memoryMb: 256 }));
      expect(big.coldStart).toBe(true);
      expect(spared.pidOf('s-2')).not.toBe(next128);
      await vi.waitFor(() => expect(alive(next128!)).toBe(false), { timeout: 10_000, interval: 20 });
      const [spare256] = spared.sparePids();
      expect(spare256).not.toBe(spared.pidOf('s-2'));
      const third = await spared.invoke(invocation(main, 's-3', { op: 'count' }, { memoryMb: 256 }));
      expect(third.coldStart).toBe(true);
      expect(spared.pidOf('s-3')).toBe(spare256);
    } finally {
      spared.close();
    }
  });

  it('gives a 256 MB container about twice the CPU of a 128 MB one on a shared core', async () => {
    expect(niceForMemory(128) - niceForMemory(256)).toBe(3);
    await host.invoke(invocation(main, 'c-cpu-128', { op: 'count' }, { memoryMb: 128 }));
    await host.invoke(invocation(main, 'c-cpu-256', { op: 'count' }, { memoryMb: 256 }));
    const small = host.pidOf('c-cpu-128')!;
    const large = host.pidOf('c-cpu-256')!;
    // The nice values the kernel has for them (field 19 of /proc/PID/stat).
    const nice = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[16]);
    expect([nice(small), nice(large)]).toEqual([niceForMemory(128, getPriority()), niceForMemory(256, getPriority())]);
    // Both on one core (all their threads), so they contend whatever else the machine runs.
    for (const pid of [small, large]) execFileSync('taskset', ['-a', '-cp', '0', String(pid)], { stdio: 'ignore' });
    // Both spin far longer than the window, which opens once both are spinning and closes when the large one has
    // used 400 ms of CPU in it: time either spends alone (before the other's invocation reaches it, or after the other
    // ends, until its ticks are read) would count for it alone and skew the ratio, as it did under heavy load.
    const spin = (id: string, memoryMb: number): Promise<FunctionInvocationReport> =>
      host.invoke(invocation(main, id, { op: 'cpu', ms: 60_000 }, { timeoutMs: 50_000, memoryMb }));
    const ticks0 = [cpuTicks(small), cpuTicks(large)] as const;
    const runs = [spin('c-cpu-128', 128), spin('c-cpu-256', 256)];
    // A tick (10 ms) of each once its invocation arrived: each is spinning.
    await vi.waitFor(() => expect(cpuTicks(small) > ticks0[0] && cpuTicks(large) > ticks0[1]).toBe(true), { timeout: 20_000, interval: 5 });
    const before = [cpuTicks(small), cpuTicks(large)] as const;
    await vi.waitFor(() => expect(cpuTicks(large) - before[1]).toBeGreaterThanOrEqual(40), { timeout: 40_000, interval: 10 });
    const smallUsed = cpuTicks(small) - before[0];
    const largeUsed = cpuTicks(large) - before[1];
    host.stop('c-cpu-128', 'test done');
    host.stop('c-cpu-256', 'test done');
    // Stopped mid-spin: neither ran to its end.
    expect((await Promise.all(runs)).map((r) => r.ok)).toEqual([false, false]);
    const ratio = largeUsed / smallUsed;
    expect(ratio).toBeGreaterThan(1.5);
    expect(ratio).toBeLessThan(2.6);
  });
});
