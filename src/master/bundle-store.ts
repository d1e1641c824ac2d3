/**
 * Job bundles kept by the master, named by the SHA-256 of their contents, so
 * the same bundle submitted twice is stored once and a worker can cache it
 * forever under its hash.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LaminateError } from '../common/errors.js';
import { exists } from '../storage/file-checks.js';

export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;


export class BundleStore {
  constructor(private readonly dir: string) {}

  /**
   * Stores a bundle and returns its hash. Safe to call twice with the same
   * bytes, concurrently too: a bundle already stored is not written again,
   * and each write goes to a temporary file of its own, renamed into place
   * (atomic, so a reader sees the whole bundle or none).
   */
  async put(bundle: Buffer): Promise<string> {
    if (bundle.length === 0) throw new LaminateError('INVALID_ARGUMENT', 'Expected a job bundle, got 0 bytes');
    if (bundle.length > MAX_BUNDLE_BYTES) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a job bundle of at most ${MAX_BUNDLE_BYTES} bytes, got ${bundle.length}`);
    }
    const hash = createHash('sha256').update(bundle).digest('hex');
    await mkdir(this.dir, { recursive: true });
    const path = this.path(hash);
    if (await exists(path)) return hash;
    const tmp = `${path}.${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, bundle);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw err;
    }
    return hash;
  }

  async get(hash: string): Promise<Buffer> {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new LaminateError('INVALID_ARGUMENT', `Expected a bundle hash of 64 hex digits, got '${hash}'`);
    try {
      return await readFile(this.path(hash));
    } catch (err) {
      throw new LaminateError('NOT_FOUND', `No bundle ${hash}`, { cause: err });
    }
  }

  /** Streams a bundle in 1 MiB chunks. */
  async *chunks(hash: string): AsyncGenerator<Buffer> {
    const data = await this.get(hash);
    for (let i = 0; i < data.length; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
  }

  private path(hash: string): string {
    return join(this.dir, `${hash}.mjs`);
  }
}

