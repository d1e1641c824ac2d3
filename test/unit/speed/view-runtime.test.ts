/**
 * The view runtime fed by a fake Dataset client (chunks handed over by the
 * test): freshness is stamped from the dataset store's time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileView } from '../../../src/api/view.js';
import type { ReadChunk } from '../../../src/common/dataset-shapes.js';
import type { DatasetClient } from '../../../src/protocol/dataset-rpc.js';
import { ViewRuntime } from '../../../src/speed/view-runtime.js';
import { encodeBody } from '../../../src/storage/record-body.js';
import pageSums from '../../fixtures/views/speed-page-sums.js';

/** Resolves once `pred` holds (checked every few ms; the fold runs on the event loop), or fails after 5 s. */
async function until(pred: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the runtime');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A Dataset client whose follow reads yield the chunks pushed to it, then wait. */
class FakeDatasetClient {
  private readonly queued: ReadChunk[] = [];
  private wake: (() => void) | undefined;

  push(c: ReadChunk): void {
    this.queued.push(c);
    this.wake?.();
  }

  async *read(_req: unknown, signal?: AbortSignal): AsyncGenerator<ReadChunk> {
    while (signal?.aborted !== true) {
      const c = this.queued.shift();
      if (c !== undefined) {
        yield c;
        continue;
      }
      await new Promise<void>((r) => {
        this.wake = r;
        signal?.addEventListener('abort', () => r(), { once: true });
      });
    }
  }
}

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('ViewRuntime', () => {
  it('stamps a caught-up partition with the time the store read its end (readAtMs), idle chunks included', async () => {
    dir = await mkdtemp(join(tmpdir(), 'laminate-view-runtime-'));
    const client = new FakeDatasetClient();
    const rt = new ViewRuntime({
      view: 'pages', definitionHash: 'd'.repeat(64), source: 'clicks', bundlePath: '', masterAddress: '', checkpointDir: dir,
      checkpointIntervalMs: 60_000, idleTimeoutMs: 10_000,
    }, compileView(pageSums), client as unknown as DatasetClient, quiet);
    try {
      rt.assign({ partitions: [0], cuts: [], handoffCut: [0] });
      const records = [{ page: 'a', n: 2 }, { page: 'b', n: 3 }];
      // Behind: the store's end is past the chunk, so the partition is not caught up.
      client.push({ partition: 0, firstOffset: 0, count: 2, body: encodeBody(records), nextOffset: 2, endOffset: 5, readAtMs: 1000 });
      await until(() => rt.report().partitions[0]!.applied === 2);
      expect(rt.report().partitions[0]!.caughtUpAt).toBe(0);
      client.push({ partition: 0, firstOffset: 2, count: 3, body: encodeBody([...records, records[0]]), nextOffset: 5, endOffset: 5, readAtMs: 2000 });
      await until(() => rt.report().partitions[0]!.applied === 5);
      // Not the fold's own time (now, in 2026): the store's.
      expect(rt.report().partitions[0]!.caughtUpAt).toBe(2000);
      // An idle chunk (nothing new) moves it on: everything durable then is counted.
      client.push({ partition: 0, firstOffset: 5, count: 0, body: new Uint8Array(0), nextOffset: 5, endOffset: 5, readAtMs: 3500 });
      await until(() => rt.report().partitions[0]!.caughtUpAt === 3500);
    } finally {
      await rt.close();
    }
  });
});
