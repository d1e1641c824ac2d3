/**
 * A real S3 API server for tests: s3rver on 127.0.0.1 (a free port), with a
 * folder of its own, and the environment a Laminate process reads its S3
 * configuration from (s3rver's one account is S3RVER/S3RVER). One per test
 * file: start it in beforeAll, stop it in afterAll.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client } from '../../src/storage/s3-client.js';

export interface TestS3Server {
  readonly endpoint: string;
  /** What a process needs in its environment to reach this server. */
  readonly env: Record<string, string>;
  /** A client configured from `env`, as a Laminate process builds one. */
  readonly client: S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** The variables s3rver's account and endpoint need, for `endpoint`. */
export function s3Env(endpoint: string): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: endpoint };
}

/**
 * Starts s3rver, and sets its variables in this process's environment (so
 * clusters embedded in the test, and child processes it spawns, reach it),
 * restoring them at stop.
 */
export async function startS3Server(): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'laminate-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory, silent: true });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const env = s3Env(endpoint);
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const client = createS3Client(env);
  return {
    endpoint, env, client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      client.destroy();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
