import { describe, LaminateError } from './errors.js';

/**
 * The one check of a whole-number setting: returns it, or throws
 * INVALID_ARGUMENT saying what was expected and what was got
 * ("Expected --reducers to be a positive integer, got 0").
 */
export function requirePositiveInt(flag: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > max) {
    const bound = max < Number.MAX_SAFE_INTEGER ? ` of at most ${max}` : '';
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${flag} to be a positive integer${bound}, got ${describe(value)}`);
  }
  return value;
}
