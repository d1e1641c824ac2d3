import { describe, expect, it, vi } from 'vitest';

/** A fresh copy of the module (its once-per-process state reset). */
async function fresh(): Promise<typeof import('../../../src/worker/container-heap.js')> {
  vi.resetModules();
  return import('../../../src/worker/container-heap.js');
}

describe("the containers' starting old generation", () => {
  it('sets V8\'s initial old space once per process, before the first container', async () => {
    const m = await fresh();
    const set: string[] = [];
    expect(m.sizeContainerHeaps((f) => set.push(f), ['--enable-source-maps', '--max-old-space-size=4096'])).toBe('set');
    expect(m.sizeContainerHeaps((f) => set.push(f), [])).toBe('already');
    expect(set).toEqual(['--initial-old-space-size=256']);
    expect(m.CONTAINER_INITIAL_OLD_SPACE_FLAG).toBe('--initial-old-space-size=256');
  });

  it("leaves the user's own initial size alone, with - or _", async () => {
    for (const argv of [['--initial-old-space-size=64'], ['--initial_heap_size=512']]) {
      const m = await fresh();
      const set: string[] = [];
      expect(m.sizeContainerHeaps((f) => set.push(f), argv)).toBe('user');
      expect(set).toEqual([]);
    }
  });
});
