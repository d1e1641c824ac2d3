import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { intUpTo } from '../../../src/cli/arguments.js';
import { MAX_ROW_CACHE_BYTES } from '../../../src/serving/row-cache.js';

describe('intUpTo (laminate serve --row-cache-mb)', () => {
  const rowCacheMb = intUpTo('--row-cache-mb', MAX_ROW_CACHE_BYTES / (1024 * 1024));

  it('takes whole numbers from 0 to the limit', () => {
    expect([rowCacheMb('0'), rowCacheMb('32'), rowCacheMb('4096')]).toEqual([0, 32, 4096]);
  });

  it('refuses a number past the limit, or not a whole number, saying what it expected and got', () => {
    expect(() => rowCacheMb('4097')).toThrow(InvalidArgumentError);
    expect(() => rowCacheMb('4097')).toThrow("Expected --row-cache-mb to be a whole number from 0 to 4096, got '4097'");
    for (const bad of ['-1', '1.5', 'lots', '']) expect(() => rowCacheMb(bad)).toThrow(/Expected --row-cache-mb to be a whole number/);
  });
});
