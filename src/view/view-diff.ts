/**
 * What changed between two versions of a view (`laminate view diff`): one
 * merge-join of their key-ordered scans, counting keys added, removed,
 * changed (same key, other value bytes) and unchanged, and keeping the
 * first few keys of each kind. Memory: the two scans' current blocks and
 * the examples.
 */
import { compareKeys } from '../storage/key-order.js';
import type { ViewDiff } from '../common/view-shapes.js';
import type { ViewEntry } from './view-file-reader.js';
import { mergeScanBatches } from './view-merge.js';
import { readManifest, versionDir } from './view-version-dir.js';
import { ViewFileReader } from './view-file-reader.js';
import { joinStorePath } from '../storage/store-path.js';

/** Keys listed per kind when the caller does not say. */
export const DEFAULT_DIFF_EXAMPLES = 5;

async function* entries(batches: AsyncIterable<readonly ViewEntry[]>): AsyncGenerator<ViewEntry, void, undefined> {
  for await (const batch of batches) yield* batch;
}

/**
 * Diffs two key-ordered streams of entries (a's and b's). Pure but for the
 * streams; `examples` keys kept per kind.
 */
export async function diffEntries(
  a: AsyncIterable<readonly ViewEntry[]>, b: AsyncIterable<readonly ViewEntry[]>, examples: number,
): Promise<Omit<ViewDiff, 'view' | 'a' | 'b'>> {
  const out = { added: 0, removed: 0, changed: 0, unchanged: 0, addedKeys: [] as string[], removedKeys: [] as string[], changedKeys: [] as string[] };
  const note = (list: string[], key: string): void => { if (list.length < examples) list.push(key); };
  const ia = entries(a);
  const ib = entries(b);
  let x = await ia.next();
  let y = await ib.next();
  while (!x.done || !y.done) {
    const c = x.done ? 1 : y.done ? -1 : compareKeys(x.value.key, y.value.key);
    if (c < 0) {
      out.removed++;
      note(out.removedKeys, x.value!.key);
      x = await ia.next();
    } else if (c > 0) {
      out.added++;
      note(out.addedKeys, y.value!.key);
      y = await ib.next();
    } else {
      if (x.value!.value.equals(y.value!.value)) out.unchanged++;
      else {
        out.changed++;
        note(out.changedKeys, x.value!.key);
      }
      x = await ia.next();
      y = await ib.next();
    }
  }
  return out;
}

/** A whole version's entries in key order, with the readers to close after. */
export async function openVersionScan(root: string, view: string, version: number): Promise<{ batches: AsyncIterable<ViewEntry[]>; close(): Promise<void> }> {
  const manifest = await readManifest(root, view, version);
  const dir = versionDir(root, view, version);
  const readers: ViewFileReader[] = [];
  try {
    for (const f of manifest.files) readers.push(await ViewFileReader.openStored(joinStorePath(dir, f.name)));
  } catch (err) {
    await Promise.all(readers.map((r) => r.close()));
    throw err;
  }
  return {
    batches: mergeScanBatches(readers.map((r) => r.scanBatches())),
    close: async () => { await Promise.all(readers.map((r) => r.close())); },
  };
}

/** Diffs versions a and b of a view in the view store at `root`. NOT_FOUND when either is not a complete version. */
export async function diffVersions(root: string, view: string, a: number, b: number, examples = DEFAULT_DIFF_EXAMPLES): Promise<ViewDiff> {
  const sa = await openVersionScan(root, view, a);
  try {
    const sb = await openVersionScan(root, view, b);
    try {
      return { view, a, b, ...(await diffEntries(sa.batches, sb.batches, examples)) };
    } finally {
      await sb.close();
    }
  } finally {
    await sa.close();
  }
}
