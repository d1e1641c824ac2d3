import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InvocationOutcome } from '../../../src/common/function-shapes.js';
import { FunctionLogs } from '../../../src/functions/function-logs.js';
import type { DeliveryOutcome } from '../../../src/functions/invoker.js';
import { useTempDirs } from '../storage/helpers.js';
import { Fleet, settle, until } from './fleet.js';

describe('the invocation service', () => {
  const tempDir = useTempDirs();

  it('shows a function\'s dataset triggers\' largest iterator age as they say it at each snapshot, and none without a trigger', async () => {
    const f = await Fleet.start(await tempDir());
    await f.deploy('reader', {});
    await f.deploy('other', {});
    expect(f.service.metrics('reader')?.iteratorAgeMs).toBeUndefined();
    let ages: Record<string, number[]> = { reader: [40, 900, 0] };
    f.service.setIteratorAges((name) => ages[name] ?? []);
    expect(f.service.metrics('reader')?.iteratorAgeMs).toBe(900);
    expect(f.service.metrics('other')?.iteratorAgeMs).toBeUndefined();
    // Caught up, then the trigger gone with a redeploy: the figure follows, nothing stale is kept.
    ages = { reader: [0, 0] };
    expect(f.service.metrics('reader')?.iteratorAgeMs).toBe(0);
    ages = {};
    expect(f.service.allMetrics().find((m) => m.name === 'reader')?.iteratorAgeMs).toBeUndefined();
  });

  it('cold-starts a container, then reuses it warm for the same version, and counts both', async () => {
    const f = await Fleet.start(await tempDir());
    f.addWorker('w1');
    await f.deploy('echo', { memoryMb: 256, env: { K: 'v' } });
    const first = f.service.invoke('echo', { n: 1 }, { source: 'api' });
    const [i1] = f.open();
    expect(i1).toMatchObject({ function: 'echo', version: 1, memoryMb: 256, timeoutMs: 3000, env: { K: 'v' }, workerId: 'w1', deadline: f.clock.now() + 3000 });
    expect(f.scheduler.worker('w1')).toMatchObject({ usedSlots: 1, usedMemoryMb: 256 });
    f.succeed(i1!, { got: 1 }, { coldStart: true });
    expect(await first).toEqual({ ok: true, result: { got: 1 }, durationMs: 5, coldStart: true });

    const second = f.service.invoke('echo', { n: 2 }, { source: 'api' });
    const [i2] = f.open();
    expect(i2!.containerId).toBe(i1!.containerId);
    expect(i2!.eventId).not.toBe(i1!.eventId);
    f.succeed(i2!, { got: 2 });
    expect((await second).ok).toBe(true);
    // Still one container holding one slot.
    expect(f.scheduler.worker('w1')).toMatchObject({ usedSlots: 1, usedMemoryMb: 256 });
    expect(f.service.metrics('echo')).toMatchObject({ invocations: 2, errors: 0, coldStarts: 1, initMsMean: 40, throttles: 0, containers: 1, durationP50Ms: 5 });
    const logs = f.service.logs.lines('echo');
    expect(logs.filter((l) => l.message.startsWith('handled')).map((l) => l.requestId)).toEqual([i1!.requestId, i2!.requestId]);
    expect(logs.find((l) => l.message.startsWith('END') && l.requestId === i1!.requestId)?.message).toMatch(/cold start/);
  });

  it('runs at most the function\'s concurrency at once, queues the rest as throttles, and gives up a sync wait at its limit', async () => {
    const f = await Fleet.start(await tempDir());
    f.addWorker('w1', 8);
    await f.deploy('slow', { concurrency: 2 });
    const results = [1, 2, 3].map((n) => f.service.invoke('slow', n, { source: 'api', maxWaitMs: 10_000 }));
    expect(f.open()).toHaveLength(2);
    expect(f.service.metrics('slow')).toMatchObject({ running: 2, queued: 1, throttles: 1 });
    f.succeed(f.open()[0]!, 'a');
    // The queued one starts in the container just freed.
    expect(f.open()).toHaveLength(2);
    expect(f.scheduler.worker('w1')!.usedSlots).toBe(2);
    const late = f.service.invoke('slow', 4, { source: 'api', maxWaitMs: 1_000 });
    f.advance(999);
    await settle();
    let lateOutcome: InvocationOutcome | undefined;
    void late.then((o) => { lateOutcome = o; });
    await settle();
    expect(lateOutcome).toBeUndefined();
    f.advance(1);
    expect(await late).toMatchObject({ ok: false, code: 'THROTTLED' });
    for (const i of f.open()) f.succeed(i, 'b');
    expect((await Promise.all(results)).map((o) => o.ok)).toEqual([true, true, true]);
    expect(f.service.metrics('slow')).toMatchObject({ invocations: 3, throttles: 2, queued: 0, running: 0 });
  });

  it('retries an async event with exponential backoff, same event id, then dead-letters it with every attempt\'s error', async () => {
    const f = await Fleet.start(await tempDir(), { retryBackoffMs: 1000 });
    f.addWorker('w1');
    await f.deploy('flaky', { retries: 2, deadLetter: 'flaky-dlq' });
    let outcome: DeliveryOutcome | undefined;
    void f.service.deliver('flaky', { order: 7 }, { eventId: 'ev-1', source: 'dataset' }).then((o) => { outcome = o; });
    f.failWith(f.open()[0]!, 'HANDLER_ERROR', 'boom 1');
    await settle();
    expect(f.open()).toHaveLength(0);
    f.advance(999);
    await settle();
    expect(f.open()).toHaveLength(0);
    f.advance(1);
    await settle();
    f.failWith(f.open()[0]!, 'TIMEOUT', 'ran past 3000 ms', true);
    await settle();
    f.advance(1999);
    await settle();
    expect(f.open()).toHaveLength(0);
    f.advance(1);
    await settle();
    f.failWith(f.open()[0]!, 'HANDLER_ERROR', 'boom 3');
    await until(() => outcome !== undefined, 'the delivery to settle');
    expect(f.invokes().map((i) => i.eventId)).toEqual(['ev-1', 'ev-1', 'ev-1']);
    expect(new Set(f.invokes().map((i) => i.requestId)).size).toBe(3);
    expect(outcome).toEqual({ status: 'dead-lettered', attempts: 3, errors: [
      { code: 'HANDLER_ERROR', message: 'boom 1' }, { code: 'TIMEOUT', message: 'ran past 3000 ms' }, { code: 'HANDLER_ERROR', message: 'boom 3' },
    ] });
    expect(f.deadLetters).toEqual([{ dataset: 'flaky-dlq', record: {
      event: { order: 7 }, eventId: 'ev-1', function: 'flaky', version: 1,
      attempts: [
        { code: 'HANDLER_ERROR', message: 'boom 1', at: 1_000_000 }, { code: 'TIMEOUT', message: 'ran past 3000 ms', at: 1_001_000 }, { code: 'HANDLER_ERROR', message: 'boom 3', at: 1_003_000 },
      ],
    } }]);
    expect(f.service.metrics('flaky')).toMatchObject({ invocations: 3, errors: 3, deadLetters: 1 });
    // The container that timed out was released; the one kept after the last error is idle.
    expect(f.scheduler.worker('w1')!.usedSlots).toBe(1);
  });

  it('runs an async event again elsewhere with the same event id when its worker is lost; a sync caller gets WORKER_LOST', async () => {
    const f = await Fleet.start(await tempDir());
    f.addWorker('w1', 4);
    await f.deploy('fn', { retries: 0 });
    let delivered: DeliveryOutcome | undefined;
    void f.service.deliver('fn', 'e', { eventId: 'ev-9', source: 'files' }).then((o) => { delivered = o; });
    const sync = f.service.invoke('fn', 's', { source: 'api' });
    expect(f.open().map((i) => i.workerId)).toEqual(['w1', 'w1']);
    f.addWorker('w2', 1);
    const lost = f.scheduler.removeWorker('w1', 'killed', f.clock.now());
    expect(lost.find((d) => d.type === 'workerLost')).toMatchObject({ containers: expect.arrayContaining(f.open().map((i) => i.containerId)) });
    f.service.workerLost('w1');
    expect(await sync).toMatchObject({ ok: false, code: 'WORKER_LOST' });
    await settle();
    const again = f.open().filter((i) => i.workerId === 'w2');
    expect(again.map((i) => i.eventId)).toEqual(['ev-9']);
    f.succeed(again[0]!, 'done');
    await until(() => delivered !== undefined);
    // Not counted against its retries (0): it succeeded on its second run.
    expect(delivered).toEqual({ status: 'succeeded', attempts: 2 });
  });

  it('shares a worker\'s slots with batch tasks: an invocation waits for a slot a map attempt holds', async () => {
    const f = await Fleet.start(await tempDir());
    f.addWorker('w1', 1);
    const launched = f.scheduler.submitJob({ jobId: 'job-0001', name: 'j', maps: 1, reducers: 0, mapMemoryMb: 100, reduceMemoryMb: 100, speculation: false }, f.clock.now());
    expect(launched.filter((d) => d.type === 'launch')).toHaveLength(1);
    const out = f.service.invoke('fn', 1, { source: 'api' }).catch((e: unknown) => e);
    expect(await out).toMatchObject({ code: 'NOT_FOUND' });
    await f.deploy('fn');
    const p = f.service.invoke('fn', 1, { source: 'api', maxWaitMs: 60_000 });
    expect(f.open()).toHaveLength(0);
    expect(f.service.metrics('fn')).toMatchObject({ queued: 1, throttles: 1 });
    f.scheduler.attemptSucceeded('job-0001-m-00000-a1', { counters: {}, partitions: [] }, f.clock.now());
    f.service.capacityChanged();
    expect(f.open()).toHaveLength(1);
    f.succeed(f.open()[0]!, 42);
    expect(await p).toMatchObject({ ok: true, result: 42 });
  });

  it('stops idle containers after the idle time, releasing their slot, and makes room by stopping idle ones of others', async () => {
    const f = await Fleet.start(await tempDir(), { idleStopMs: 60_000 });
    f.addWorker('w1', 1);
    await f.deploy('a');
    await f.deploy('b');
    const a = f.service.invoke('a', 1, { source: 'api' });
    const ia = f.open()[0]!;
    f.succeed(ia, 1);
    await a;
    // The only slot holds a's idle container: b's cold start stops it.
    const b = f.service.invoke('b', 1, { source: 'api' });
    expect(f.stops()).toEqual([{ workerId: 'w1', containerId: ia.containerId }]);
    const ib = f.open()[0]!;
    expect(ib.function).toBe('b');
    f.succeed(ib, 2);
    await b;
    f.advance(59_999);
    expect(f.stops()).toHaveLength(1);
    f.advance(1);
    expect(f.stops().at(-1)).toEqual({ workerId: 'w1', containerId: ib.containerId });
    expect(f.scheduler.worker('w1')).toMatchObject({ usedSlots: 0, usedMemoryMb: 0 });
  });

  it('reconciles with heartbeats: stops containers it does not know, forgets those the worker lost', async () => {
    const f = await Fleet.start(await tempDir(), { reconcileGraceMs: 5_000 });
    f.addWorker('w1');
    await f.deploy('fn');
    const p = f.service.invoke('fn', 1, { source: 'api' });
    const i = f.open()[0]!;
    // Within the grace a heartbeat that does not list it yet changes nothing.
    f.service.heartbeat('w1', ['stale-1']);
    expect(f.stops()).toEqual([{ workerId: 'w1', containerId: 'stale-1' }]);
    f.advance(5_000);
    f.service.heartbeat('w1', []);
    expect(await p).toMatchObject({ ok: false, code: 'PROCESS_EXITED' });
    expect(f.scheduler.worker('w1')!.usedSlots).toBe(0);
    // Its report, coming late, is ignored.
    f.succeed(i, 'late');
    expect(f.service.metrics('fn')).toMatchObject({ invocations: 1, errors: 1 });
  });

  it('ends a sync attempt TIMEOUT when no report comes well past its deadline, and stops its container', async () => {
    const f = await Fleet.start(await tempDir(), { reportGraceMs: 2_000 });
    f.addWorker('w1');
    await f.deploy('fn', { timeoutMs: 1_000 });
    const p = f.service.invoke('fn', 1, { source: 'api' });
    const i = f.open()[0]!;
    f.advance(3_000);
    expect(f.open()).toHaveLength(1);
    f.advance(1);
    expect(await p).toMatchObject({ ok: false, code: 'TIMEOUT' });
    expect(f.stops()).toEqual([{ workerId: 'w1', containerId: i.containerId }]);
  });

  it('refuses a payload over the limit and a function no worker can hold, and ends a deleted function\'s queued events', async () => {
    const f = await Fleet.start(await tempDir());
    f.addWorker('w1', 1, 512);
    await f.deploy('big', { memoryMb: 1024 });
    expect(await f.service.invoke('big', 1, { source: 'api' })).toMatchObject({ ok: false, code: 'THROTTLED', message: expect.stringMatching(/No worker has 1024 MB/) });
    await f.deploy('fn', { concurrency: 1 });
    expect(await f.service.invoke('fn', 'x'.repeat(6 * 1024 * 1024), { source: 'api' })).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE' });
    // A size the caller measured on the JSON text it had is taken as it is (not measured again on the parsed value).
    expect(await f.service.invoke('fn', 1, { source: 'api', jsonBytes: 6 * 1024 * 1024 + 1 })).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE', message: expect.stringMatching(/got 6291457$/) });
    const first = f.service.invoke('fn', 1, { source: 'api' });
    let queued: DeliveryOutcome | undefined;
    void f.service.deliver('fn', 2, { eventId: 'ev', source: 'api' }).then((o) => { queued = o; });
    await f.catalog.delete('fn');
    await until(() => queued !== undefined);
    expect(queued).toEqual({ status: 'function-deleted', attempts: 0 });
    f.succeed(f.open()[0]!, 1);
    expect((await first).ok).toBe(true);
    // The deleted function's container is stopped, not kept warm.
    expect(f.stops()).toHaveLength(1);
    expect(f.scheduler.worker('w1')!.usedSlots).toBe(0);
  });

  it('journals an async invocation before answering, and delivers it again after a restart with the same event id', async () => {
    const dir = await tempDir();
    const f = await Fleet.start(dir, {}, true);
    f.addWorker('w1');
    await f.deploy('fn');
    const { eventId } = await f.service.invokeAsync('fn', { hello: 1 });
    expect(f.journal!.unsettled().map((e) => e.eventId)).toEqual([eventId]);
    expect(f.open().map((i) => i.eventId)).toEqual([eventId]);
    // The master stops before the event settles.
    f.service.stop();
    await settle();

    const g = await Fleet.start(dir, {}, true);
    g.addWorker('w1');
    expect(g.service.recover()).toBe(1);
    const [again] = g.open();
    expect(again).toMatchObject({ eventId, function: 'fn' });
    g.succeed(again!, 'ok');
    // Settled in memory at once, on disk once its line is written: the next start reads the file.
    await until(() => g.journal!.unsettled().length === 0 && readFileSync(join(dir, 'async-events.jsonl'), 'utf8').includes(JSON.stringify({ type: 'done', eventId })), 'the event to be marked settled on disk');
    const h = await Fleet.start(dir, {}, true);
    expect(h.journal!.unsettled()).toEqual([]);
    await expect(h.service.invokeAsync('fn', 'x'.repeat(300 * 1024))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(h.service.invokeAsync('nope', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('function logs and code', () => {
  const tempDir = useTempDirs();

  it('keep the newest lines per function within a count and a byte budget, and tell followers', () => {
    const logs = new FunctionLogs({ linesKept: 3, bytesKept: 10 });
    const heard: string[] = [];
    const stop = logs.follow('a', (l) => heard.push(l.message));
    const line = (fn: string, message: string, at: number) => ({ at, function: fn, version: 1, requestId: 'r', eventId: 'e', level: 'info' as const, message });
    for (const [i, m] of ['1', '2', '3', '4'].entries()) logs.add(line('a', m, i));
    logs.add(line('b', 'other', 0));
    expect(logs.lines('a').map((l) => l.message)).toEqual(['2', '3', '4']);
    logs.add(line('a', 'x'.repeat(9), 10));
    // 9 + '4' = 10 bytes: fits; anything older goes.
    expect(logs.lines('a').map((l) => l.message)).toEqual(['4', 'x'.repeat(9)]);
    expect(logs.lines('a', { sinceMs: 5 }).map((l) => l.at)).toEqual([10]);
    expect(logs.lines('a', { limit: 1 }).map((l) => l.at)).toEqual([10]);
    stop();
    logs.add(line('a', 'after', 11));
    expect(heard).toEqual(['1', '2', '3', '4', 'x'.repeat(9)]);
    expect(logs.lines('b').map((l) => l.message)).toEqual(['other']);
  });

  it('gives a version\'s code only to a worker holding a container of it', async () => {
    const f = await Fleet.start(await tempDir());
    f.addWorker('w1');
    f.addWorker('w2');
    await f.deploy('fn');
    void f.service.invoke('fn', 1, { source: 'api' });
    const at = f.open()[0]!.workerId;
    const other = at === 'w1' ? 'w2' : 'w1';
    expect(f.service.runsVersion(at, 'fn', 1)).toBe(true);
    expect(f.service.runsVersion(other, 'fn', 1)).toBe(false);
    expect(f.service.runsVersion(at, 'fn', 2)).toBe(false);
  });
});
