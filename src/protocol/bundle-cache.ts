/**
 * Bundles fetched from the master's bundle store (GetBundle) into
 * `<dir>/<hash>.mjs` once per hash and kept there (a restart finds them):
 * a worker's job bundles, a speed process's view bundles.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LaminateError } from '../common/errors.js';
import type { MasterClient } from './master-rpc.js';

export class BundleCache {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly dir: string, private readonly master: () => MasterClient) {}

  /**
   * The local path of a bundle, fetching it once. Safe to call
   * concurrently and repeatedly; a failed fetch is tried again at the next
   * call.
   */
  path(hash: string): Promise<string> {
    if (!/^[0-9a-f]{64}$/.test(hash)) return Promise.reject(new LaminateError('INVALID_ARGUMENT', `Expected a bundle hash, got '${hash}'`));
    let p = this.inflight.get(hash);
    if (!p) {
      p = this.fetch(hash);
      this.inflight.set(hash, p);
      p.catch(() => this.inflight.delete(hash));
    }
    return p;
  }

  private async fetch(hash: string): Promise<string> {
    const path = join(this.dir, `${hash}.mjs`);
    if (await stat(path).then(() => true, () => false)) return path;
    await mkdir(this.dir, { recursive: true });
    const parts: Buffer[] = [];
    for await (const chunk of this.master().getBundle(hash)) parts.push(chunk);
    // Renamed into place only once whole: a crash mid-fetch leaves a temp file, never a torn bundle.
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, Buffer.concat(parts));
    await rename(tmp, path);
    return path;
  }
}
