import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../../src/common/logger.js';
import { nodeFileSystem, type DatasetFile, type FileSystem } from '../../../src/dataset/file-system.js';
import { LogDatasetStore } from '../../../src/dataset/log-dataset-store.js';
import { decodeBody, encodeBody } from '../../../src/storage/record-body.js';
import type { DatasetStoreOptions } from '../../../src/dataset/store-options.js';
import type { AppendBatch, AppendResult } from '../../../src/dataset/types.js';

export { rejectsWith, throwsWith, useTempDirs, rng, intBelow } from '../storage/helpers.js';

/**
 * A file system that counts fsyncs and writes, and can hold every fsync
 * until released (to pile appends up behind one), or fail them.
 */
export class TestFileSystem implements FileSystem {
  datasyncs = 0;
  writes = 0;
  /** Buffers passed to writev: two per batch (header, body). Counted when the writev starts. */
  buffersWritten = 0;
  /** Buffers of the writevs that have returned: what the store may hand to its fsync. */
  buffersWrittenDone = 0;
  bytesWritten = 0;
  private held: (() => void)[] | undefined;
  private heldWrites: (() => void)[] | undefined;
  failDatasync: Error | undefined;

  constructor(private readonly base: FileSystem = nodeFileSystem) {}

  /** From now on, fsyncs wait until release(). */
  hold(): void {
    this.held ??= [];
  }

  /** Lets every held fsync (and later ones) go. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const go of held) go();
  }

  /** From now on, writevs wait (before writing) until releaseWrites(). */
  holdWrites(): void {
    this.heldWrites ??= [];
  }

  /** Lets every held writev (and later ones) go. */
  releaseWrites(): void {
    const held = this.heldWrites ?? [];
    this.heldWrites = undefined;
    for (const go of held) go();
  }

  /** writevs waiting now. */
  get waitingWrites(): number {
    return this.heldWrites?.length ?? 0;
  }

  /** fsyncs waiting now. */
  get waiting(): number {
    return this.held?.length ?? 0;
  }

  async open(path: string, flags: 'r' | 'a+'): Promise<DatasetFile> {
    const file = await this.base.open(path, flags);
    return {
      writev: async (buffers, position) => {
        if (this.heldWrites !== undefined) await new Promise<void>((resolve) => this.heldWrites!.push(resolve));
        this.writes++;
        this.buffersWritten += buffers.length;
        for (const b of buffers) this.bytesWritten += b.byteLength;
        await file.writev(buffers, position);
        this.buffersWrittenDone += buffers.length;
      },
      read: (buf, offset, length, position) => file.read(buf, offset, length, position),
      datasync: async () => {
        if (this.held !== undefined) await new Promise<void>((resolve) => this.held!.push(resolve));
        if (this.failDatasync !== undefined) throw this.failDatasync;
        this.datasyncs++;
        await file.datasync();
      },
      truncate: (length) => file.truncate(length),
      size: () => file.size(),
      close: () => file.close(),
    };
  }

  mkdir = (path: string): Promise<void> => this.base.mkdir(path);
  list = (path: string): Promise<string[]> => this.base.list(path);
  readFile = (path: string): Promise<Buffer> => this.base.readFile(path);
  writeFileSynced = (path: string, data: Uint8Array): Promise<void> => this.base.writeFileSynced(path, data);
  rename = (from: string, to: string): Promise<void> => this.base.rename(from, to);
  remove = (path: string): Promise<void> => this.base.remove(path);
  syncDir = (path: string): Promise<void> => this.base.syncDir(path);
  fileSize = (path: string): Promise<number | undefined> => this.base.fileSize(path);
}

export function openStore(dir: string, options: Partial<DatasetStoreOptions> = {}): Promise<LogDatasetStore> {
  return LogDatasetStore.open({ dir, logger: silentLogger(), ...options });
}

/** A batch of `records` for one partition, with or without a producer. */
export function batchOf(dataset: string, partition: number, records: readonly unknown[], producer?: { id: string; sequence: number; replay?: boolean }): AppendBatch {
  return {
    dataset,
    partition,
    body: encodeBody(records),
    count: records.length,
    ...(producer === undefined ? {} : { producerId: producer.id, sequence: producer.sequence }),
    ...(producer?.replay === true ? { replay: true } : {}),
  };
}

export async function appendOne(store: LogDatasetStore, batch: AppendBatch): Promise<AppendResult> {
  const [result] = await store.append([batch]);
  return result!;
}

/** Every record of a partition, read chunk by chunk of `maxBytes`. */
export async function readAll(store: LogDatasetStore, dataset: string, partition: number, maxBytes = 64 * 1024, from = 0): Promise<unknown[]> {
  const out: unknown[] = [];
  let offset = from;
  for (;;) {
    const chunk = await store.read(dataset, partition, offset, { maxBytes });
    if (chunk.count === 0) return out;
    const records = decodeBody(chunk.body);
    if (records.length !== chunk.count || chunk.firstOffset !== offset || chunk.nextOffset !== offset + chunk.count) {
      throw new Error(`chunk at ${offset}: count ${chunk.count}, ${records.length} records decoded, next ${chunk.nextOffset}`);
    }
    out.push(...records);
    offset = chunk.nextOffset;
  }
}

/** Segment files of a partition, in offset order. */
export async function segmentFiles(dir: string, dataset: string, partition: number): Promise<string[]> {
  const names = await readdir(join(dir, dataset, `p-${String(partition).padStart(4, '0')}`));
  return names.filter((n) => n.endsWith('.log')).sort();
}

export function partitionPath(dir: string, dataset: string, partition: number): string {
  return join(dir, dataset, `p-${String(partition).padStart(4, '0')}`);
}

/** Records that are easy to tell apart: { p, n, s } with a padding of `pad` characters. */
export function records(tag: string, from: number, count: number, pad = 20): { tag: string; n: number; pad: string }[] {
  return Array.from({ length: count }, (_, i) => ({ tag, n: from + i, pad: 'x'.repeat(pad) }));
}

/** The LaminateError `fn` throws or its promise rejects with; fails when there is none. */
export async function errorOf(fn: () => unknown): Promise<{ code: string; message: string; ids: unknown }> {
  try {
    await fn();
  } catch (err) {
    return err as { code: string; message: string; ids: unknown };
  }
  throw new Error('Expected an error, got none');
}
