/**
 * The storage port (object-store.ts) on the local file system: keys are
 * absolute paths. An upload is a hidden file beside its target
 * (`.<name>.upload-<id>`), renamed into place by commitUpload: one rename,
 * so a reader sees the whole file or the old one. Folders are created as
 * objects are written, as an object store's prefixes are.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LaminateError } from '../common/errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { errnoOf } from './file-checks.js';
import { compareKeys } from './key-order.js';
import type { ListResult, ObjectInfo, ObjectStore, RangeReader, UploadTicket, UploadWriter } from './object-store.js';

const UPLOAD_MARK = '.upload-';

/** The hidden file holding an upload to `key` until it is committed. */
function uploadPath(key: string, uploadId: string): string {
  return join(dirname(key), `.${basename(key)}${UPLOAD_MARK}${uploadId}`);
}

/** The ticket of a hidden upload file, or undefined for any other name. */
function ticketOf(dir: string, name: string): UploadTicket | undefined {
  if (!name.startsWith('.')) return undefined;
  const at = name.lastIndexOf(UPLOAD_MARK);
  if (at <= 1) return undefined;
  return { key: join(dir, name.slice(1, at)), uploadId: name.slice(at + UPLOAD_MARK.length) };
}

async function readdirOrEmpty(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return [];
    throw err;
  }
}

function notFound(key: string, err?: unknown): LaminateError {
  return new LaminateError('NOT_FOUND', `Expected a file at '${key}', got none`, err === undefined ? {} : { cause: err });
}

class LocalUploadWriter implements UploadWriter {
  private bytes = 0;
  private done = false;

  constructor(readonly ticket: UploadTicket, private readonly fh: FileHandle, private readonly path: string) {}

  async write(bytes: Buffer): Promise<void> {
    for (let at = 0; at < bytes.length;) {
      const { bytesWritten } = await this.fh.write(bytes, at, bytes.length - at, this.bytes + at);
      at += bytesWritten;
    }
    this.bytes += bytes.length;
  }

  async finish(): Promise<UploadTicket> {
    await this.fh.sync();
    await this.close();
    return { ...this.ticket, parts: [{ partNumber: 1, etag: '' }], bytes: this.bytes };
  }

  async abort(): Promise<void> {
    await this.close().catch(() => {});
    await rm(this.path, { force: true });
  }

  private async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.fh.close();
  }
}

/** The local file system as an ObjectStore. Stateless: one instance serves every path. */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'file';

  describe(key: string): string {
    return key;
  }

  async check(): Promise<void> {
    // Any folder can be created on demand: nothing to check before a job.
  }

  async list(prefix: string): Promise<ListResult> {
    const dir = prefix.endsWith('/') ? prefix.slice(0, -1) || '/' : dirname(prefix);
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    for (const e of await readdirOrEmpty(dir)) {
      const key = join(dir, e.name);
      if (!key.startsWith(prefix)) continue;
      if (ticketOf(dir, e.name) !== undefined) continue;
      // Links are followed, as for input files.
      const st = e.isFile() || e.isSymbolicLink() ? await stat(key).catch(() => undefined) : undefined;
      if (st?.isFile()) objects.push({ key, size: st.size });
      else if (e.isDirectory() || st?.isDirectory()) prefixes.push(`${key}/`);
    }
    objects.sort((a, b) => compareKeys(a.key, b.key));
    return { objects, prefixes: prefixes.sort(compareKeys) };
  }

  async listAll(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (p: string): Promise<void> => {
      const { objects, prefixes } = await this.list(p);
      out.push(...objects);
      for (const sub of prefixes) await walk(sub);
    };
    await walk(prefix);
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await stat(key);
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async openRange(key: string): Promise<RangeReader> {
    try {
      // A FileHandle is a RangeReader: the line reader keeps its direct reads on local files.
      return await open(key, 'r');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') throw notFound(key, err);
      throw err;
    }
  }

  async *readStream(key: string, start = 0, end?: number): AsyncIterable<Buffer> {
    if (end !== undefined && end <= start) return;
    const stream = createReadStream(key, { start, ...(end === undefined ? {} : { end: end - 1 }), highWaterMark: 256 * 1024 });
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw notFound(key, err);
      throw err;
    } finally {
      stream.destroy();
    }
  }

  async read(key: string): Promise<Buffer> {
    try {
      return await readFile(key);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') throw notFound(key, err);
      throw err;
    }
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    await mkdir(dirname(key), { recursive: true });
    await writeFileAtomic(key, body);
  }

  async delete(key: string): Promise<void> {
    await rm(key, { force: true });
  }

  async startUpload(key: string): Promise<UploadWriter> {
    const uploadId = randomUUID();
    const path = uploadPath(key, uploadId);
    await mkdir(dirname(key), { recursive: true });
    const fh = await open(path, 'wx');
    return new LocalUploadWriter({ key, uploadId }, fh, path);
  }

  async commitUpload(ticket: UploadTicket): Promise<void> {
    try {
      await rename(uploadPath(ticket.key, ticket.uploadId), ticket.key);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        throw new LaminateError('NOT_FOUND', `Expected upload ${ticket.uploadId} of '${ticket.key}' to commit, got none (aborted or already committed)`, { cause: err });
      }
      throw err;
    }
  }

  async abortUpload(ticket: UploadTicket): Promise<void> {
    await rm(uploadPath(ticket.key, ticket.uploadId), { force: true });
  }

  async listUploads(prefix: string): Promise<UploadTicket[]> {
    const out: UploadTicket[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdirOrEmpty(dir)) {
        const t = e.isFile() ? ticketOf(dir, e.name) : undefined;
        if (t !== undefined && t.key.startsWith(prefix)) out.push(t);
        else if (e.isDirectory()) await walk(join(dir, e.name));
      }
    };
    const base = prefix.endsWith('/') ? prefix.slice(0, -1) || '/' : dirname(prefix);
    await walk(base);
    return out.sort((a, b) => compareKeys(a.key, b.key) || compareKeys(a.uploadId, b.uploadId));
  }
}

/** The one local store of a process. */
export const localObjectStore = new LocalObjectStore();
