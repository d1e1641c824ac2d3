import { seededRandom } from '../../support/seeded-random.js';
import { useTempDirs as useTempDirsWithPrefix } from '../../support/temp-dirs.js';

/** A seeded PRNG (mulberry32): runs repeat. Returns floats in [0, 1). */
export const rng = seededRandom;

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

export function intBelow(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

/** Temporary folders made in a test, removed after it. */
export const useTempDirs = (): (() => Promise<string>) => useTempDirsWithPrefix('laminate-storage-');

/** Byte order of UTF-8, computed the plain way. */
export function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Records with equal keys keep their relative order: a naive stable sort by UTF-8 bytes. */
export function stableSortByKey<T extends { key: string }>(items: readonly T[]): T[] {
  return items
    .map((item, i) => ({ item, i, bytes: Buffer.from(item.key, 'utf8') }))
    .sort((x, y) => Buffer.compare(x.bytes, y.bytes) || x.i - y.i)
    .map((x) => x.item);
}

/** Expects `promise` to reject with a LaminateError of `code` whose message matches. */
export async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assertError(caught, code, message);
}

export function throwsWith(fn: () => unknown, code: string, message?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assertError(caught, code, message);
}

function assertError(caught: unknown, code: string, message?: RegExp): void {
  if (caught === undefined) throw new Error(`Expected an error with code ${code}, got none`);
  const err = caught as { name?: string; code?: string; message?: string };
  if (err.name !== 'LaminateError' || err.code !== code) {
    throw new Error(`Expected a LaminateError ${code}, got ${err.name ?? typeof caught} ${err.code ?? ''}: ${err.message ?? String(caught)}`);
  }
  if (message !== undefined && !message.test(err.message ?? '')) {
    throw new Error(`Expected the message to match ${String(message)}, got '${err.message ?? ''}'`);
  }
}
