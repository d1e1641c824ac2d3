/**
 * Waits `ms`, or less if the signal aborts, leaving no listener behind (the
 * benchmark's loops call it thousands of times on one signal).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((r) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      r();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
