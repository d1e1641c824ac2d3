import { expect } from 'vitest';
import { LaminateError } from '../../src/common/errors.js';

/** Runs fn, expecting it to throw a LaminateError INVALID_ARGUMENT; returns that error. */
export function invalidArgument(fn: () => unknown): LaminateError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LaminateError);
    expect((err as LaminateError).code).toBe('INVALID_ARGUMENT');
    return err as LaminateError;
  }
  throw new Error('Expected a LaminateError, got no error');
}
