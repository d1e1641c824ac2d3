/**
 * Telling a promise-like from a plain value. User functions (map, reduce,
 * combine) and the storage layer's hot paths may return either, and callers
 * await only thenables to keep the synchronous path fast.
 */

/** Whether v is a promise-like: an object or function with a `then` method. */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}
