/**
 * The S3 client of a process, configured the way every AWS tool is: the
 * SDK's default chains read credentials and region from the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
 * AWS_PROFILE) and the shared files (~/.aws/credentials, ~/.aws/config).
 * An endpoint in AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) names an
 * S3-compatible server: path-style addressing is used then (such servers
 * seldom resolve bucket subdomains), and us-east-1 when no region is set.
 * Each process (master, worker, container threads, client) builds its own
 * from its own environment; nothing is passed over the wire.
 */
import { S3Client } from '@aws-sdk/client-s3';

/** The endpoint of an S3-compatible server from the environment, if any. */
export function s3EndpointFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/** A client from `env` (see the file comment). Called once per process by s3Client(); tests may call it with their own env. */
export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = s3EndpointFromEnv(env);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  return new S3Client({
    // Keys in `env` first, as the SDK's own chain takes them from the environment first; else that chain (profiles, files).
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } } : {}),
    ...(region ? { region } : {}),
    // One retry policy, ours (s3-errors.ts withRetry), decides: the SDK's would multiply it.
    maxAttempts: 1,
    ...(endpoint === undefined ? {} : {
      endpoint,
      forcePathStyle: true,
      // S3-compatible servers often reject the SDK's newer default of a checksum trailer on every upload.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(region ? {} : { region: 'us-east-1' }),
    }),
  });
}

let shared: S3Client | undefined;

/** The process's client, made on first use (a process with only local paths never loads credentials). */
export function s3Client(): S3Client {
  shared ??= createS3Client();
  return shared;
}
