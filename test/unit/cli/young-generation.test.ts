import { describe, expect, it } from 'vitest';
import { limitYoungGeneration, MASTER_NEW_SPACE_BYTES, STOP_GROWTH_FLAG, userSizedYoungGeneration, type YoungGenerationEdges } from '../../../src/cli/young-generation.js';

const MiB = 1024 * 1024;

/** A process whose new space the test grows, and whose GC the test runs. */
function fakeProcess(newSpace: number): YoungGenerationEdges & { flags: string[]; size: number; gc(grownTo?: number): void; watching(): boolean } {
  let listener: (() => void) | undefined;
  const p = {
    flags: [] as string[],
    size: newSpace,
    newSpaceBytes: () => p.size,
    setFlag: (flag: string) => { p.flags.push(flag); },
    watchGc: (onGc: () => void) => {
      listener = onGc;
      return () => { listener = undefined; };
    },
    gc: (grownTo?: number) => {
      if (grownTo !== undefined) p.size = grownTo;
      listener?.();
    },
    watching: () => listener !== undefined,
  };
  return p;
}

describe("the master's young generation", () => {
  it('lets new space grow to the size --max-semi-space-size=2 gives, then stops its growth, and watches no longer', () => {
    const p = fakeProcess(1 * MiB);
    expect(limitYoungGeneration([], undefined, p)).toBe('watching');
    expect(p.flags).toEqual([]);
    p.gc();
    p.gc(2 * MiB);
    expect(p.flags).toEqual([]);
    p.gc(MASTER_NEW_SPACE_BYTES);
    expect(p.flags).toEqual([STOP_GROWTH_FLAG]);
    expect(p.watching()).toBe(false);
  });

  it('stops growth at once when new space is already that large (grown while modules loaded)', () => {
    const p = fakeProcess(8 * MiB);
    expect(limitYoungGeneration([], '', p)).toBe('stopped');
    expect(p.flags).toEqual([STOP_GROWTH_FLAG]);
    expect(p.watching()).toBe(false);
  });

  it("leaves the user's own young-generation flags alone, from node's arguments or NODE_OPTIONS", () => {
    for (const [argv, env] of [
      [['--max-semi-space-size=2'], undefined],
      [['--inspect', '--max_semi_space_size=8'], undefined],
      [[], '--trace-gc --semi-space-growth-factor=2'],
      [[], '--min-semi-space-size=4'],
    ] as const) {
      const p = fakeProcess(1 * MiB);
      expect(limitYoungGeneration(argv, env, p)).toBe('user');
      p.gc(16 * MiB);
      expect(p.flags).toEqual([]);
    }
  });

  it('takes other flags for what they are', () => {
    expect(userSizedYoungGeneration(['--max-old-space-size=4096', '--cpu-prof'], '--enable-source-maps')).toBe(false);
    expect(userSizedYoungGeneration([], '--max-semi-space-size=1')).toBe(true);
  });
});
