import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { TriggerState } from '../../../src/functions/triggers/trigger.js';
import { ViewTrigger } from '../../../src/functions/triggers/view-trigger.js';
import { ViewPublishes } from '../../../src/master/view-publish-feed.js';
import { FakeFunctions } from '../../support/fake-functions.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { writeVersion } from '../../support/view-versions.js';

const tempDir = useTempDirs('laminate-view-trigger-');
const triggers: ViewTrigger[] = [];
afterEach(async () => {
  await Promise.all(triggers.splice(0).map((t) => t.stop()));
});

const version = (root: string, v: number, entries: Record<string, number>): Promise<unknown> =>
  writeVersion(root, { view: 'counts', version: v, entries: new Map(Object.entries(entries)), partitions: 2, cut: [v * 10, v * 20] });

describe('the view trigger over the view store', () => {
  it('tells each published version with the keys added, removed and changed against the one it replaced; one event at restart for versions published while stopped', async () => {
    const dir = await tempDir();
    const root = join(dir, 'views');
    await version(root, 1, { a: 1, b: 2, c: 3 });
    const publishes = new ViewPublishes(root, silentLogger());
    const fns = new FakeFunctions();
    fns.deploy('fn', [{ kind: 'view', view: 'counts' }]);
    const start = async (): Promise<ViewTrigger> => {
      const t = new ViewTrigger({ functionName: 'fn', invoker: fns, state: new TriggerState(join(dir, 'state', 'view.json')), clock: systemClock, log: silentLogger(), feed: publishes }, 'counts');
      triggers.push(t);
      await t.start();
      return t;
    };
    const t = await start();
    // a unchanged, b changed, c removed, d and e added.
    await version(root, 2, { a: 1, b: 5, d: 4, e: 0 });
    await publishes.published({ view: 'counts', version: 2, previous: 1 });
    const [v2] = await fns.waitForDeliveries(1);
    expect(v2!.event).toEqual({ view: 'counts', version: 2, cut: [20, 40], added: 2, removed: 1, changed: 1, previousVersion: 1 });
    expect(v2!.eventId).toBe('fn:view:counts:2');
    expect(v2!.source).toBe('view');
    await t.idle();
    await t.stop();
    // Published while the trigger was not running (a master down, say): told once at the next start.
    await version(root, 3, { a: 2, b: 5, d: 4, e: 0, f: 1 });
    await start();
    const [, v3] = await fns.waitForDeliveries(2);
    expect(v3!.event).toEqual({ view: 'counts', version: 3, cut: [30, 60], added: 1, removed: 0, changed: 1, previousVersion: 2 });
    expect(fns.deliveries).toHaveLength(2);
  });

  it('counts every key as added for a first version', async () => {
    const root = join(await tempDir(), 'views');
    await version(root, 1, { a: 1, b: 2, c: 3 });
    expect(await new ViewPublishes(root, silentLogger()).describe('counts', 1, 0))
      .toEqual({ view: 'counts', version: 1, cut: [10, 20], added: 3, removed: 0, changed: 0, previousVersion: 0 });
  });
});
