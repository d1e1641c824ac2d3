import { describe, expect, it } from 'vitest';
import { growOldGenerationLimit, MASTER_HEAP_GROWING_FLAG, userSetHeapGrowing } from '../../../src/cli/old-generation.js';

describe("the master's old-generation growth", () => {
  it('holds V8 at its largest growing factor when the user set none', () => {
    const set: string[] = [];
    expect(growOldGenerationLimit((f) => set.push(f), ['--max-old-space-size=4096'], '--enable-source-maps')).toBe('set');
    expect(set).toEqual(['--heap-growing-percent=300']);
    expect(MASTER_HEAP_GROWING_FLAG).toBe('--heap-growing-percent=300');
  });

  it("leaves the user's own factor alone, from node's arguments or NODE_OPTIONS, with - or _", () => {
    for (const [argv, options] of [[['--heap-growing-percent=50'], undefined], [[], '--heap_growing_percent=20 --cpu-prof']] as const) {
      const set: string[] = [];
      expect(growOldGenerationLimit((f) => set.push(f), argv, options)).toBe('user');
      expect(set).toEqual([]);
    }
  });

  it('takes other flags for what they are', () => {
    expect(userSetHeapGrowing(['--max-semi-space-size=2', '--heap-growing'], '--heap-growing-percentage-typo')).toBe(false);
    expect(userSetHeapGrowing([], '--heap-growing-percent=10')).toBe(true);
  });
});
