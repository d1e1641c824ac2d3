/**
 * What the view crash tests share (view-faults.test.ts, view-publish-crash.test.ts): the clicks
 * they append, the sequential count every published version must equal, and the entries of a
 * version folder read back from its view files.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { unpack } from 'msgpackr';
import { ViewFileReader } from '../../src/view/view-file-reader.js';
import { removeDir, type Proc } from './harness.js';

export interface Click { readonly page_id: string; readonly event_type: string }

export async function until<T>(get: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Views per page over `records`: the sequential count every published version must equal. */
export function pageViews(records: readonly Click[]): Record<string, number> {
  const m = new Map<string, number>();
  for (const r of records) if (r.event_type === 'view') m.set(r.page_id, (m.get(r.page_id) ?? 0) + 1);
  return Object.fromEntries(m);
}

/** Every entry of the version folder's view files. */
export async function versionEntries(vdir: string): Promise<Record<string, unknown>> {
  const got = new Map<string, unknown>();
  for (const name of (await readdir(vdir)).filter((n) => n.startsWith('part-'))) {
    const reader = await ViewFileReader.open(join(vdir, name));
    for await (const e of reader.scan()) got.set(e.key, unpack(e.value));
    await reader.close();
  }
  return Object.fromEntries(got);
}

/** The processes, clients and folder a test started; `cleanup` (each file's afterEach) closes, stops and removes them. */
export class StartedByTest {
  dir = '';
  readonly procs: Proc[] = [];
  readonly clients: Array<{ close(): unknown }> = [];

  readonly cleanup = async (): Promise<void> => {
    for (const c of this.clients.splice(0)) await c.close();
    for (const p of this.procs.splice(0)) await p.kill();
    if (this.dir !== '') await removeDir(this.dir);
    this.dir = '';
  };
}
