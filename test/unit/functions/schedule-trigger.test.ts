import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { ScheduleTrigger } from '../../../src/functions/triggers/schedule-trigger.js';
import { TriggerState } from '../../../src/functions/triggers/trigger.js';
import { FakeFunctions } from '../../support/fake-functions.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { throwsWith } from '../storage/helpers.js';

const tempDir = useTempDirs('laminate-schedule-trigger-');
const triggers: ScheduleTrigger[] = [];
afterEach(async () => {
  await Promise.all(triggers.splice(0).map((t) => t.stop()));
});

async function start(statePath: string, fns: FakeFunctions, expression: string): Promise<ScheduleTrigger> {
  const t = new ScheduleTrigger({ functionName: 'fn', invoker: fns, state: new TriggerState(statePath), clock: systemClock, log: silentLogger() }, expression);
  triggers.push(t);
  await t.start();
  return t;
}

interface Saved { anchor: number; lastDue: number; inFlight: number[] }

describe('the schedule trigger', () => {
  it('runs a rate at the deploy time plus whole periods, on the master clock, with an event id per due time', async () => {
    const statePath = join(await tempDir(), 'schedule.json');
    const fns = new FakeFunctions();
    fns.deploy('fn', [{ kind: 'schedule', expression: 'every 1s' }]);
    const before = Date.now();
    await start(statePath, fns, 'every 1s');
    const [a, b] = await fns.waitForDeliveries(2);
    const { anchor } = JSON.parse(await readFile(statePath, 'utf8')) as Saved;
    expect(anchor).toBeGreaterThanOrEqual(before);
    expect(a!.event).toEqual({ type: 'schedule', scheduledAt: anchor + 1000, expression: 'every 1s' });
    expect(b!.event).toEqual({ type: 'schedule', scheduledAt: anchor + 2000, expression: 'every 1s' });
    expect([a!.eventId, b!.eventId]).toEqual([`fn:schedule:${anchor + 1000}`, `fn:schedule:${anchor + 2000}`]);
    expect(a!.source).toBe('schedule');
  });

  it('after a restart, runs the runs missed while down once (the latest), and again the one in flight at the crash', async () => {
    const statePath = join(await tempDir(), 'fn', 'schedule.json');
    const now = Date.now();
    const anchor = now - 10 * 60_000 - 30_000;
    // Saved by a master that started the run due at anchor+2m (not settled) and went down.
    await mkdir(dirname(statePath), { recursive: true });
    await writeFile(statePath, JSON.stringify({ expression: 'every 1m', anchor, lastDue: anchor + 120_000, inFlight: [anchor + 120_000] }));
    const fns = new FakeFunctions();
    fns.deploy('fn', [{ kind: 'schedule', expression: 'every 1m' }]);
    const t = await start(statePath, fns, 'every 1m');
    const [again, missed] = await fns.waitForDeliveries(2);
    expect(again!.eventId).toBe(`fn:schedule:${anchor + 120_000}`);
    expect(missed!.event).toEqual({ type: 'schedule', scheduledAt: anchor + 600_000, expression: 'every 1m' });
    expect(t.nextRunAt()).toBe(anchor + 660_000);
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as Saved;
    expect(saved.lastDue).toBe(anchor + 600_000);
    expect(fns.deliveries).toHaveLength(2);
  });

  it('refuses an expression that is no schedule', () => {
    throwsWith(() => new ScheduleTrigger({ functionName: 'fn', invoker: new FakeFunctions(), state: new TriggerState('/nonexistent'), clock: systemClock, log: silentLogger() }, 'every fortnight'),
      'INVALID_ARGUMENT', /Expected a schedule like 'every 30s'/);
  });
});
