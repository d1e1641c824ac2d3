/**
 * File inputs on S3: listed as Hadoop lists a folder (hidden and '_' names
 * skipped), cut into splits, and each split read with ranged GETs that
 * fetch about its own bytes only, giving the same lines as a read of the
 * same file on disk. The store sits behind a proxy that counts the bytes
 * S3 sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { LaminateError } from '../../../src/common/errors.js';
import { listInputFiles } from '../../../src/storage/input-files.js';
import { computeSplits } from '../../../src/storage/input-split.js';
import { readSplitLines } from '../../../src/storage/line-reader.js';
import { startS3Server, type TestS3Server } from '../../support/s3-server.js';
import { rng } from './helpers.js';

let s3: TestS3Server;
let proxy: Server;
let dir: string;
/** Bytes of GET responses through the proxy since the last reset. */
let fetched = 0;
const text: string[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('inputs');
  const target = new URL(s3.endpoint);
  proxy = createServer((req, res) => {
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 500, r.headers);
      if (req.method === 'GET') r.on('data', (d: Buffer) => { fetched += d.length; });
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  // The process's client is made on first use, from the environment: through the proxy.
  process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const r = rng(5);
  for (let i = 0; i < 40_000; i++) text.push(`line ${i} ${'x'.repeat(Math.floor(r() * 80))}`);
  const body = `${text.join('\n')}\n`;
  dir = await mkdtemp(join(tmpdir(), 'laminate-s3-inputs-'));
  await writeFile(join(dir, 'big.txt'), body);
  for (const [key, b] of <Array<[string, string]>>[['logs/big.txt', body], ['logs/small.txt', 'one\ntwo'], ['logs/_SUCCESS', ''], ['logs/.hidden', 'no'], ['logs/deeper/x.txt', 'no']]) {
    await s3.client.send(new PutObjectCommand({ Bucket: 'inputs', Key: key, Body: b }));
  }
});
afterAll(async () => {
  proxy?.close();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('file inputs on S3', () => {
  it('lists the objects directly under a prefix, skipping hidden and marker names, and single objects', async () => {
    const files = await listInputFiles(['s3://inputs/logs/']);
    expect(files.map((f) => f.path)).toEqual(['s3://inputs/logs/big.txt', 's3://inputs/logs/small.txt']);
    expect(files[1]!.size).toBe(7);
    expect((await listInputFiles(['s3://inputs/logs'])).map((f) => f.path)).toEqual(files.map((f) => f.path));
    expect((await listInputFiles(['s3://inputs/logs/small.txt'])).map((f) => f.path)).toEqual(['s3://inputs/logs/small.txt']);
    const missing = await listInputFiles(['s3://inputs/nothing/']).catch((e: unknown) => e);
    expect((missing as LaminateError).code).toBe('NOT_FOUND');
    const noBucket = await listInputFiles(['s3://no-bucket-here/logs/']).catch((e: unknown) => e);
    expect((noBucket as LaminateError).code).toBe('NOT_FOUND');
    expect((noBucket as LaminateError).message).toContain("'no-bucket-here'");
  });

  it('reads each split with ranged GETs of about its own bytes, giving the lines a read from disk gives', async () => {
    const [big] = await listInputFiles(['s3://inputs/logs/big.txt']);
    const splitSize = 256 * 1024;
    const splits = computeSplits([big!], splitSize, 'text');
    expect(splits.length).toBeGreaterThan(4);
    const all: string[] = [];
    for (const split of splits) {
      fetched = 0;
      const lines: string[] = [];
      await readSplitLines(split, (l) => { lines.push(l); });
      // Its own bytes, the line that crosses its end, and the look back for its first line: never the whole object.
      expect(fetched).toBeLessThanOrEqual(split.length + 64 * 1024 + 200);
      const fromDisk: string[] = [];
      await readSplitLines({ ...split, path: join(dir, 'big.txt') }, (l) => { fromDisk.push(l); });
      expect(lines).toEqual(fromDisk);
      all.push(...lines);
    }
    expect(all).toEqual(text);
  });
});
