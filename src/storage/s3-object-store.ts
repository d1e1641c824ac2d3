/**
 * The storage port (object-store.ts) on one bucket of an S3-compatible
 * object store, through @aws-sdk/client-s3. Keys are object keys. Reads are
 * ranged GETs; a put is one PutObject (atomic in S3: the object appears
 * whole); an upload is a multipart upload, invisible until completed, as
 * Hadoop's S3A committers use it. Every request goes through withRetry
 * (s3-errors.ts); the SDK's own retries are off so that one policy decides.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand,
  HeadBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { LaminateError } from '../common/errors.js';
import { compareKeys } from './key-order.js';
import type { ListResult, ObjectInfo, ObjectStore, RangeReader, UploadTicket, UploadWriter } from './object-store.js';
import { DEFAULT_RETRY, httpStatusOf, isNoSuchKey, isNotImplemented, storeError, storeErrorName, withRetry, type RetryPolicy } from './s3-errors.js';

/** S3's smallest part but the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface S3ObjectStoreOptions {
  /** Bytes per uploaded part (all but the last). Default 8 MiB; at least 5 MiB (S3's rule). Memory of an upload is one part. */
  readonly partBytes?: number;
  /** The least a ranged read fetches, so a reader asking small pieces does not pay a request each. Default 64 KiB. */
  readonly readBlockBytes?: number;
  readonly retry?: RetryPolicy;
}

/** The body of a GetObject response as bytes. */
async function bodyBytes(body: unknown): Promise<Buffer> {
  const b = body as { transformToByteArray?: () => Promise<Uint8Array> } | undefined;
  if (!b?.transformToByteArray) return Buffer.alloc(0);
  const bytes = await b.transformToByteArray();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Ranged reads of one object, keeping the last block fetched: the line reader re-reads the start of its split. */
class S3RangeReader implements RangeReader {
  private block: Buffer = Buffer.alloc(0);
  private blockAt = 0;

  constructor(private readonly store: S3ObjectStore, private readonly key: string, private readonly size: number, private readonly minBlock: number) {}

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    if (length <= 0 || position >= this.size) return { bytesRead: 0 };
    if (position < this.blockAt || position >= this.blockAt + this.block.length) {
      const end = Math.min(this.size, position + Math.max(length, this.minBlock));
      this.block = await this.store.getRange(this.key, position, end);
      this.blockAt = position;
      if (this.block.length === 0) return { bytesRead: 0 };
    }
    const from = position - this.blockAt;
    const n = Math.min(length, this.block.length - from);
    this.block.copy(buffer, offset, from, from + n);
    return { bytesRead: n };
  }

  async close(): Promise<void> {
    this.block = Buffer.alloc(0);
  }
}

class S3UploadWriter implements UploadWriter {
  private readonly parts: Array<{ partNumber: number; etag: string }> = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private bytes = 0;

  constructor(private readonly store: S3ObjectStore, readonly ticket: UploadTicket, private readonly partBytes: number) {}

  async write(bytes: Buffer): Promise<void> {
    // Copied: the caller reuses its buffer once write resolves.
    this.pending.push(Buffer.from(bytes));
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= this.partBytes) await this.uploadPending();
  }

  async finish(): Promise<UploadTicket> {
    // An empty object has no part: commitUpload writes it with a PutObject.
    if (this.pendingBytes > 0) await this.uploadPending();
    return { ...this.ticket, parts: [...this.parts], bytes: this.bytes };
  }

  async abort(): Promise<void> {
    this.pending = [];
    await this.store.abortUpload(this.ticket);
  }

  private async uploadPending(): Promise<void> {
    const body = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const partNumber = this.parts.length + 1;
    const etag = await this.store.uploadPart(this.ticket, partNumber, body);
    this.parts.push({ partNumber, etag });
    this.bytes += body.length;
  }
}

/** One bucket as an ObjectStore. Cheap to create; shares the process's S3Client (s3-client.ts). */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  private readonly partBytes: number;
  private readonly readBlock: number;
  private readonly retry: RetryPolicy;

  constructor(private readonly client: S3Client, readonly bucket: string, options: S3ObjectStoreOptions = {}) {
    this.partBytes = options.partBytes ?? 8 * 1024 * 1024;
    if (!Number.isSafeInteger(this.partBytes) || this.partBytes < MIN_PART_BYTES) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected partBytes to be an integer >= ${MIN_PART_BYTES} (S3's least part), got ${this.partBytes}`);
    }
    this.readBlock = options.readBlockBytes ?? 64 * 1024;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  describe(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  private call<T>(what: string, op: () => Promise<T>): Promise<T> {
    return withRetry(op, this.bucket, what, this.retry);
  }

  async check(): Promise<void> {
    try {
      await this.call(`checking s3://${this.bucket}`, () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
    } catch (err) {
      // HEAD has no body: a missing bucket is a bare 404.
      if (err instanceof LaminateError && httpStatusOf(err.cause) === 404) {
        throw new LaminateError('NOT_FOUND', `Expected S3 bucket '${this.bucket}' to exist, got no such bucket (create it, or check AWS_ENDPOINT_URL_S3 and AWS_REGION)`, { cause: err.cause });
      }
      throw err;
    }
  }

  async list(prefix: string): Promise<ListResult> {
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(`listing ${this.describe(prefix)}`, () => this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ...(token === undefined ? {} : { ContinuationToken: token }),
      })));
      for (const o of page.Contents ?? []) if (o.Key !== undefined && o.Key !== prefix) objects.push({ key: o.Key, size: o.Size ?? 0 });
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined) prefixes.push(p.Prefix);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    objects.sort((a, b) => compareKeys(a.key, b.key));
    return { objects, prefixes: prefixes.sort(compareKeys) };
  }

  async listAll(prefix: string): Promise<ObjectInfo[]> {
    const objects: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(`listing ${this.describe(prefix)}`, () => this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }),
      })));
      for (const o of page.Contents ?? []) if (o.Key !== undefined) objects.push({ key: o.Key, size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return objects.sort((a, b) => compareKeys(a.key, b.key));
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const head = await this.call(`reading ${this.describe(key)}`, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return { key, size: head.ContentLength ?? 0 };
    } catch (err) {
      // HEAD has no body: a missing key and a missing bucket are both a bare 404 (check() tells them apart).
      if (err instanceof LaminateError && isNoSuchKey(err.cause)) return undefined;
      throw err;
    }
  }

  async openRange(key: string): Promise<RangeReader> {
    const info = await this.stat(key);
    if (info === undefined) throw new LaminateError('NOT_FOUND', `Expected an object at '${this.describe(key)}', got none`);
    return new S3RangeReader(this, key, info.size, this.readBlock);
  }

  /** Bytes [start, end) of `key` in one ranged GET (retried as a whole). Called by the range reader. */
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    if (end <= start) return Buffer.alloc(0);
    return this.call(`reading ${this.describe(key)}`, async () => {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end - 1}` }));
      return bodyBytes(res.Body);
    });
  }

  async *readStream(key: string, start = 0, end?: number): AsyncIterable<Buffer> {
    let at = start;
    // A stream cut short (a reset connection) resumes from the byte reached, with a new ranged GET.
    for (let tries = 1; ; tries++) {
      if (end !== undefined && at >= end) return;
      const range = `bytes=${at}-${end === undefined ? '' : end - 1}`;
      const res = await this.call(`reading ${this.describe(key)}`, () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range })))
        .catch((err: unknown) => {
          // Past the end (an empty object, or start at its size): nothing to read.
          if (err instanceof LaminateError && storeErrorName(err.cause) === 'InvalidRange') return undefined;
          throw err;
        });
      if (res === undefined) return;
      try {
        for await (const chunk of res.Body as AsyncIterable<Uint8Array>) {
          at += chunk.length;
          yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        }
        return;
      } catch (err) {
        if (tries >= this.retry.attempts) throw storeError(err, this.bucket, `reading ${this.describe(key)}`);
      }
    }
  }

  async read(key: string): Promise<Buffer> {
    return this.call(`reading ${this.describe(key)}`, async () => {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return bodyBytes(res.Body);
    });
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    await this.call(`writing ${this.describe(key)}`, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body })));
  }

  async delete(key: string): Promise<void> {
    await this.call(`deleting ${this.describe(key)}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  async startUpload(key: string): Promise<UploadWriter> {
    const res = await this.call(`starting an upload to ${this.describe(key)}`, () => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key })));
    if (res.UploadId === undefined) throw new LaminateError('INTERNAL', `Expected an upload id from S3 for ${this.describe(key)}, got none`);
    return new S3UploadWriter(this, { key, uploadId: res.UploadId }, this.partBytes);
  }

  /** Stores one part of an upload; returns its ETag. Called by the upload writer; a repeat replaces the part. */
  async uploadPart(ticket: UploadTicket, partNumber: number, body: Buffer): Promise<string> {
    const res = await this.call(`uploading part ${partNumber} of ${this.describe(ticket.key)}`, () => this.client.send(new UploadPartCommand({
      Bucket: this.bucket, Key: ticket.key, UploadId: ticket.uploadId, PartNumber: partNumber, Body: body,
    })));
    if (res.ETag === undefined) throw new LaminateError('INTERNAL', `Expected an ETag for part ${partNumber} of ${this.describe(ticket.key)}, got none`);
    return res.ETag;
  }

  async commitUpload(ticket: UploadTicket): Promise<void> {
    const parts = ticket.parts;
    if (parts === undefined) throw new LaminateError('FAILED_PRECONDITION', `Expected a finished upload to commit to ${this.describe(ticket.key)}, got one without its parts`);
    if (parts.length === 0) {
      // S3 completes no upload without a part: an empty object is put, and the upload dropped.
      await this.put(ticket.key, Buffer.alloc(0));
      await this.abortUpload(ticket);
      return;
    }
    await this.call(`completing the upload to ${this.describe(ticket.key)}`, () => this.client.send(new CompleteMultipartUploadCommand({
      Bucket: this.bucket, Key: ticket.key, UploadId: ticket.uploadId,
      MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
    })));
  }

  async abortUpload(ticket: UploadTicket): Promise<void> {
    try {
      await this.call(`aborting the upload to ${this.describe(ticket.key)}`, () => this.client.send(new AbortMultipartUploadCommand({
        Bucket: this.bucket, Key: ticket.key, UploadId: ticket.uploadId,
      })));
    } catch (err) {
      const cause = err instanceof LaminateError ? err.cause : err;
      // Gone already (aborted, completed), or a server without the call (s3rver): its parts stay invisible.
      if (isNoSuchKey(cause) || isNotImplemented(cause)) return;
      throw err;
    }
  }

  async listUploads(prefix: string): Promise<UploadTicket[] | undefined> {
    const out: UploadTicket[] = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.call(`listing uploads under ${this.describe(prefix)}`, () => this.client.send(new ListMultipartUploadsCommand({
          Bucket: this.bucket, Prefix: prefix, ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }), ...(idMarker === undefined ? {} : { UploadIdMarker: idMarker }),
        })));
      } catch (err) {
        if (err instanceof LaminateError && isNotImplemented(err.cause)) return undefined;
        throw err;
      }
      for (const u of page.Uploads ?? []) if (u.Key !== undefined && u.UploadId !== undefined) out.push({ key: u.Key, uploadId: u.UploadId });
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      idMarker = page.NextUploadIdMarker;
    }
    return out.sort((a, b) => compareKeys(a.key, b.key) || compareKeys(a.uploadId, b.uploadId));
  }
}
