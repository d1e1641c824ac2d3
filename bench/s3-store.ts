/**
 * The S3 side of `npm run bench -- wordcount --storage s3`: an s3rver on
 * 127.0.0.1 in the bench process (its CPU is then counted with the
 * client's), its variables set in the environment before the cluster's
 * processes start (they inherit them), and copies of files into and out of
 * a bucket through the storage port.
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client } from '../src/storage/s3-client.js';
import { S3ObjectStore } from '../src/storage/s3-object-store.js';

export interface BenchS3 {
  readonly store: S3ObjectStore;
  readonly bucket: string;
  stop(): Promise<void>;
}

/** Starts s3rver with its data under `dir`, creates `bucket`, and points this process's environment at it. */
export async function startBenchS3(dir: string, bucket: string): Promise<BenchS3> {
  await mkdir(dir, { recursive: true });
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true });
  const { port } = await server.run();
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
  });
  const client = createS3Client();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    store: new S3ObjectStore(client, bucket),
    bucket,
    async stop() {
      client.destroy();
      await server.close();
    },
  };
}

/** Copies the local file at `path` to `key`, streamed as a multipart upload. */
export async function uploadFile(store: S3ObjectStore, path: string, key: string): Promise<void> {
  const upload = await store.startUpload(key);
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) await upload.write(chunk as Buffer);
    await store.commitUpload(await upload.finish());
  } catch (err) {
    await upload.abort().catch(() => {});
    throw err;
  }
}

/** Copies the objects directly under `prefix` into the folder `dir`, keeping their names. */
export async function downloadPrefix(store: S3ObjectStore, prefix: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const o of (await store.list(prefix)).objects) {
    await writeFile(join(dir, o.key.slice(prefix.length)), await store.read(o.key));
  }
}
