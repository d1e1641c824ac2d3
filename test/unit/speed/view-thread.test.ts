/**
 * The engine's handle on a view thread, with a real worker thread whose
 * bundle does not load (so it dies at once, deterministically): a read
 * pending when it dies gets its answer or its error, never an exception
 * thrown out of the thread's event handler (which would end the speed
 * process). Needs `npm run build` (the thread runs from dist/).
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { ViewThread } from '../../../src/speed/view-thread.js';

describe('ViewThread', () => {
  it('rejects a pending read whose cut does not name an assigned partition when the thread dies, instead of throwing from the exit handler', async () => {
    const t = new ViewThread({
      view: 'pages', definitionHash: 'd'.repeat(64), source: 'clicks', bundlePath: '/nonexistent/bundle.mjs', masterAddress: '127.0.0.1:1',
      checkpointDir: '/nonexistent/checkpoints', checkpointIntervalMs: 1000, idleTimeoutMs: 10_000,
    }, { partitions: [0, 1], cuts: [], handoffCut: [0, 0] }, 64, silentLogger());
    try {
      // Posted before the thread reports that its bundle does not load: pending when it dies.
      await expect(t.get({ view: 'pages', cut: [0], keys: ['k'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      // The handle still answers: every partition uncovered while the thread is down.
      const down = await t.get({ view: 'pages', cut: [0, 0], keys: ['k'] });
      expect(down.partitions.map((p) => p.uncovered !== undefined)).toEqual([true, true]);
    } finally {
      await t.close();
    }
  });
});
