/**
 * The function catalog with its code store on S3 (s3rver on 127.0.0.1):
 * sealed code there, the catalog and key on the master's disk.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCode } from '../../../src/functions/code-crypto.js';
import { FunctionCatalog } from '../../../src/functions/function-catalog.js';
import { S3ObjectStore } from '../../../src/storage/s3-object-store.js';
import { startS3Server, type TestS3Server } from '../../support/s3-server.js';
import { rejectsWith, useTempDirs } from '../storage/helpers.js';

const MARKER = 'marker-5d1e-the-code-of-a-function';
const code = (n: number): Buffer => Buffer.from(`export default { kind: 'laminate-function', handler: () => '${MARKER}-${n}' };`);
const key = randomBytes(32);
const tempDir = useTempDirs();
let s3: TestS3Server;
let store: S3ObjectStore;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('fn-code');
  store = new S3ObjectStore(s3.client, 'fn-code');
});
afterAll(async () => {
  await s3?.stop();
});

describe('function code on S3', () => {
  it('stores only sealed code there, reads it back across a reopen, and removes code no version names', async () => {
    const dir = await tempDir();
    const c = await FunctionCatalog.open(dir, key, 's3://fn-code/lake/code');
    await c.deploy({ name: 'alerts', code: code(1), config: {} }, 10);
    await c.deploy({ name: 'alerts', code: code(2), config: {} }, 20);
    const keys = (await store.listAll('lake/code/')).map((o) => o.key);
    expect(keys).toEqual(['lake/code/alerts.v1.bin', 'lake/code/alerts.v2.bin']);
    for (const k of keys) expect((await store.read(k)).includes(MARKER)).toBe(false);
    // Nothing of the code on the master's disk: only the catalog.
    expect(await readdir(dir)).toEqual(['catalog.json']);

    // A deploy cut short between its code and the catalog leaves an object no version names.
    await store.put('lake/code/alerts.v3.bin', 'orphan');
    const again = await FunctionCatalog.open(dir, key, 's3://fn-code/lake/code/');
    const fetched = await again.code('alerts', 2);
    expect(openCode(fetched.dataKey, fetched).equals(code(2))).toBe(true);
    expect((await store.listAll('lake/code/')).map((o) => o.key)).toEqual(keys);

    await again.delete('alerts');
    expect(await store.listAll('lake/code/')).toEqual([]);
  });

  it('says at open that the bucket is missing', async () => {
    await rejectsWith(FunctionCatalog.open(await tempDir(), key, 's3://no-such-bucket/code'), 'NOT_FOUND', /no-such-bucket/);
  });
});
