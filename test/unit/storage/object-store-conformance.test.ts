/**
 * The storage port's conformance suite: every backend (the local file
 * system, and S3 through a real s3rver on 127.0.0.1) must pass the same
 * cases, so nothing above the port needs to know which one it has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LaminateError } from '../../../src/common/errors.js';
import { localObjectStore } from '../../../src/storage/local-object-store.js';
import { joinKey, type ObjectStore } from '../../../src/storage/object-store.js';
import { MIN_PART_BYTES, S3ObjectStore } from '../../../src/storage/s3-object-store.js';
import { createS3Client } from '../../../src/storage/s3-client.js';
import { startS3Server, type TestS3Server } from '../../support/s3-server.js';
import { rng } from './helpers.js';

interface Backend {
  readonly name: string;
  store(): ObjectStore;
  /** A fresh, empty prefix (ending in '/') for one case. */
  root(): Promise<string>;
}

let s3: TestS3Server;
let localDir: string;
let n = 0;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('conformance');
  localDir = await mkdtemp(join(tmpdir(), 'laminate-store-'));
});
afterAll(async () => {
  await s3?.stop();
  await rm(localDir, { recursive: true, force: true });
});

const backends: Backend[] = [
  { name: 'local file system', store: () => localObjectStore, root: async () => `${join(localDir, `case-${++n}`)}/` },
  { name: 'S3 (s3rver)', store: () => new S3ObjectStore(s3.client, 'conformance', { partBytes: MIN_PART_BYTES, readBlockBytes: 64 * 1024 }), root: async () => `case-${++n}/` },
];

/** `n` seeded pseudo-random bytes. */
function bytes(size: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = Math.floor(r() * 256);
  return b;
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof LaminateError ? err.code : `not a LaminateError: ${String(err)}`;
  }
}

describe.each(backends)('the storage port on the $name', (backend) => {
  it('publishes whole objects, replaces them, stats, reads and deletes them', async () => {
    const store = backend.store();
    const root = await backend.root();
    const key = joinKey(root, 'a/b.txt');
    expect(await store.stat(key)).toBeUndefined();
    expect(await codeOf(store.read(key))).toBe('NOT_FOUND');
    await store.put(key, 'first');
    expect(await store.stat(key)).toEqual({ key, size: 5 });
    await store.put(key, Buffer.from('second one'));
    expect((await store.read(key)).toString()).toBe('second one');
    await store.delete(key);
    expect(await store.stat(key)).toBeUndefined();
    await store.delete(key);
  });

  it('lists the objects and sub-prefixes directly under a prefix, and every object below it', async () => {
    const store = backend.store();
    const root = await backend.root();
    for (const name of ['b.txt', 'a.txt', 'sub/c.txt', 'sub/deeper/d.txt', '_x']) await store.put(joinKey(root, name), name);
    const listed = await store.list(root);
    expect(listed.objects).toEqual([
      { key: joinKey(root, '_x'), size: 2 }, { key: joinKey(root, 'a.txt'), size: 5 }, { key: joinKey(root, 'b.txt'), size: 5 },
    ]);
    expect(listed.prefixes).toEqual([joinKey(root, 'sub/')]);
    expect((await store.listAll(root)).map((o) => o.key)).toEqual(['_x', 'a.txt', 'b.txt', 'sub/c.txt', 'sub/deeper/d.txt'].map((k) => joinKey(root, k)));
    expect(await store.list(joinKey(root, 'none/'))).toEqual({ objects: [], prefixes: [] });
  });

  it('reads byte ranges, as random reads and as streams', async () => {
    const store = backend.store();
    const key = joinKey(await backend.root(), 'data.bin');
    const data = bytes(300_000, 7);
    await store.put(key, data);
    const reader = await store.openRange(key);
    try {
      const r = rng(11);
      for (let i = 0; i < 20; i++) {
        const pos = Math.floor(r() * data.length);
        const len = 1 + Math.floor(r() * 100_000);
        const buf = Buffer.alloc(len);
        let got = 0;
        // A read may return less than asked: read on until the range or the object ends.
        while (got < len) {
          const { bytesRead } = await reader.read(buf, got, len - got, pos + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        expect(got).toBe(Math.min(len, data.length - pos));
        expect(buf.subarray(0, got).equals(data.subarray(pos, pos + got))).toBe(true);
      }
      expect((await reader.read(Buffer.alloc(10), 0, 10, data.length)).bytesRead).toBe(0);
    } finally {
      await reader.close();
    }
    expect((await collect(store.readStream(key, 1000, 250_000))).equals(data.subarray(1000, 250_000))).toBe(true);
    expect((await collect(store.readStream(key))).equals(data)).toBe(true);
    expect((await collect(store.readStream(key, 5, 5))).length).toBe(0);
    expect(await codeOf(store.openRange(joinKey(key, 'missing')))).toBe('NOT_FOUND');
  });

  it('keeps an upload invisible until it is committed, then shows it whole', async () => {
    const store = backend.store();
    const root = await backend.root();
    const key = joinKey(root, 'part-00000');
    const data = bytes(MIN_PART_BYTES + 12_345, 3);
    const upload = await store.startUpload(key);
    for (let at = 0; at < data.length; at += 1_000_000) await upload.write(data.subarray(at, at + 1_000_000));
    const ticket = await upload.finish();
    expect(ticket.bytes).toBe(data.length);
    expect(await store.stat(key)).toBeUndefined();
    expect((await store.list(root)).objects).toEqual([]);
    const pending = await store.listUploads(root);
    // Stores that list uploads list this one; s3rver cannot list them at all.
    if (pending !== undefined) expect(pending).toEqual([{ key, uploadId: ticket.uploadId }]);
    // The ticket is plain JSON: a worker hands it to the master in a manifest.
    await store.commitUpload(JSON.parse(JSON.stringify(ticket)) as typeof ticket);
    expect((await store.read(key)).equals(data)).toBe(true);
    expect(await store.listUploads(root)).toEqual(pending === undefined ? undefined : []);
  });

  it('never shows an aborted upload, and commits an empty one as an empty object', async () => {
    const store = backend.store();
    const root = await backend.root();
    const dropped = await store.startUpload(joinKey(root, 'dropped'));
    await dropped.write(Buffer.from('partial bytes'));
    await dropped.abort();
    await dropped.abort();
    expect(await store.stat(joinKey(root, 'dropped'))).toBeUndefined();
    const finished = await store.startUpload(joinKey(root, 'finished-then-dropped'));
    await finished.write(Buffer.from('all of it'));
    await store.abortUpload(await finished.finish());
    expect(await store.listAll(root)).toEqual([]);
    const empty = await store.startUpload(joinKey(root, 'empty'));
    await store.commitUpload(await empty.finish());
    expect(await store.stat(joinKey(root, 'empty'))).toEqual({ key: joinKey(root, 'empty'), size: 0 });
    expect((await store.listUploads(root)) ?? []).toEqual([]);
  });

  it('keeps two uploads to one key apart: committing one leaves the other invisible', async () => {
    const store = backend.store();
    const key = joinKey(await backend.root(), 'part-00001');
    const a = await store.startUpload(key);
    const b = await store.startUpload(key);
    await a.write(Buffer.from('attempt a'));
    await b.write(Buffer.from('attempt b'));
    const ta = await a.finish();
    await b.finish();
    await store.commitUpload(ta);
    await b.abort();
    expect((await store.read(key)).toString()).toBe('attempt a');
  });
});

describe('S3 errors', () => {
  it('names a bucket that does not exist, before and while using it', async () => {
    const store = new S3ObjectStore(s3.client, 'no-such-bucket');
    const err = await store.check().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LaminateError);
    expect((err as LaminateError).code).toBe('NOT_FOUND');
    expect((err as LaminateError).message).toContain("'no-such-bucket'");
    const listing = await store.list('x/').catch((e: unknown) => e);
    expect((listing as LaminateError).code).toBe('NOT_FOUND');
    expect((listing as LaminateError).message).toContain("'no-such-bucket'");
  });

  it('reports denied access as UNAUTHENTICATED, naming the bucket', async () => {
    const client = createS3Client({ ...s3.env, AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'WRONG' });
    try {
      const err = await new S3ObjectStore(client, 'conformance').list('').catch((e: unknown) => e);
      expect((err as LaminateError).code).toBe('UNAUTHENTICATED');
      expect((err as LaminateError).message).toContain("'conformance'");
    } finally {
      client.destroy();
    }
  });
});

describe('S3 retries', () => {
  it('retries throttling, 5xx answers and reset connections, then succeeds', async () => {
    // A proxy in front of s3rver that fails its first requests as a busy S3 does.
    const faults = ['slowdown', 'reset', 'internal'];
    const target = new URL(s3.endpoint);
    let requests = 0;
    const proxy = createServer((req, res) => {
      requests++;
      const fault = faults.shift();
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault !== undefined) {
        const [status, code] = fault === 'slowdown' ? [503, 'SlowDown'] : [500, 'InternalError'];
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>try again</Message></Error>`);
        return;
      }
      const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 500, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const client = createS3Client({ ...s3.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
    try {
      const store = new S3ObjectStore(client, 'conformance', { retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 } });
      const key = `retried-${++n}`;
      await store.put(key, 'after three failures');
      expect(requests).toBe(4);
      expect((await store.read(key)).toString()).toBe('after three failures');
      // Past the attempts allowed, a store that keeps failing is UNAVAILABLE, not a hang.
      faults.push('slowdown', 'slowdown', 'slowdown', 'slowdown', 'slowdown');
      expect(await codeOf(store.read(key))).toBe('UNAVAILABLE');
    } finally {
      client.destroy();
      proxy.close();
    }
  });
});
