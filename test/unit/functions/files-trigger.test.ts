import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { FilesTrigger } from '../../../src/functions/triggers/files-trigger.js';
import { TriggerState } from '../../../src/functions/triggers/trigger.js';
import { deferred, FakeFunctions } from '../../support/fake-functions.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('laminate-files-trigger-');
const triggers: FilesTrigger[] = [];
afterEach(async () => {
  await Promise.all(triggers.splice(0).map((t) => t.stop()));
});

async function setup(): Promise<{ watched: string; statePath: string; fns: FakeFunctions }> {
  const dir = await tempDir();
  const watched = join(dir, 'inbox');
  await mkdir(watched);
  const fns = new FakeFunctions();
  fns.deploy('fn', [{ kind: 'files', dir: watched }]);
  return { watched, statePath: join(dir, 'state', 'files.json'), fns };
}

async function start(watched: string, statePath: string, fns: FakeFunctions, pollMs = 20): Promise<FilesTrigger> {
  const t = new FilesTrigger({ functionName: 'fn', invoker: fns, state: new TriggerState(statePath), clock: systemClock, log: silentLogger() }, { dir: watched, pollMs });
  triggers.push(t);
  await t.start();
  return t;
}

describe('the files trigger', () => {
  it('reports files created and removed after its start, one event each, not the files that were there before', async () => {
    const { watched, statePath, fns } = await setup();
    await writeFile(join(watched, 'old.txt'), 'before the deploy');
    await start(watched, statePath, fns);
    await writeFile(join(watched, 'a.csv'), 'abc');
    const [created] = await fns.waitForDeliveries(1);
    expect(created!.event).toEqual({ type: 'created', path: join(watched, 'a.csv'), size: 3 });
    expect(created!.source).toBe('files');
    await rm(join(watched, 'old.txt'));
    const [, removed] = await fns.waitForDeliveries(2);
    expect(removed!.event).toEqual({ type: 'removed', path: join(watched, 'old.txt'), size: 17 });
    await writeFile(join(watched, 'b.csv'), 'b');
    const [, , b] = await fns.waitForDeliveries(3);
    expect(b!.event).toEqual({ type: 'created', path: join(watched, 'b.csv'), size: 1 });
    expect(new Set(fns.deliveries.map((d) => d.eventId)).size).toBe(3);
  });

  it('waits until a file being written has stopped growing', async () => {
    const { watched, statePath, fns } = await setup();
    // Polled by hand: the loop's own listing comes only at the start.
    const t = await start(watched, statePath, fns, 3_600_000);
    await t.pollOnce();
    const path = join(watched, 'growing.log');
    await writeFile(path, 'line\n');
    await t.pollOnce(); // first seen
    await appendFile(path, 'line\n');
    await t.pollOnce(); // grew
    await appendFile(path, 'line\n');
    await t.pollOnce(); // grew
    expect(fns.deliveries).toEqual([]);
    await t.pollOnce(); // unchanged since the last listing: created, whole
    expect(fns.deliveries.map((d) => d.event)).toEqual([{ type: 'created', path, size: 15 }]);
    await t.pollOnce();
    expect(fns.deliveries).toHaveLength(1);
  });

  it('across a restart, delivers what changed while it was stopped once, and again only the event that was in flight, with the same id', async () => {
    const { watched, statePath, fns } = await setup();
    const held = deferred<never>();
    fns.settle = () => held.promise;
    const first = await start(watched, statePath, fns);
    await writeFile(join(watched, 'one'), '1');
    await writeFile(join(watched, 'two'), '22');
    const [inFlight] = await fns.waitForDeliveries(1);
    await first.stop(); // as a crash would: the delivery never settled
    await writeFile(join(watched, 'three'), '333');
    await rm(join(watched, 'one'));
    fns.settle = () => ({ status: 'succeeded', attempts: 1 });
    await start(watched, statePath, fns);
    // Whatever the first listing found (one and two, or two alone), the event in flight comes again first, same id.
    const [, again] = await fns.waitForDeliveries(2);
    expect(again!.eventId).toBe(inFlight!.eventId);
    expect(again!.event).toEqual(inFlight!.event);
    const key = (e: unknown): string => { const x = e as { type: string; path: string }; return `${x.type} ${x.path.slice(watched.length + 1)}`; };
    // Wait for the rest: one created and removed pair at most for 'one', two, three.
    const want = new Set(['created one', 'created two', 'created three', 'removed one']);
    // Every one of them (the listing after the restart may find 'two' after 'three' and the removal).
    while (![...want].every((k) => fns.deliveries.slice(1).some((d) => key(d.event) === k))) {
      await fns.waitForDeliveries(fns.deliveries.length + 1);
    }
    const afterRestart = fns.deliveries.slice(1).map((d) => key(d.event));
    expect(new Set(afterRestart)).toEqual(want);
    expect(afterRestart).toHaveLength(want.size);
  });
});
