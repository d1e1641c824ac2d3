/**
 * Function code at rest: each version's bundle is encrypted with AES-256-GCM
 * under a data key of its own, and the data key is stored wrapped (itself
 * AES-256-GCM encrypted) by the master key, as S3 and KMS do envelope
 * encryption for Lambda's code. The master unwraps a version's data key only
 * to hand it to a worker (GetFunctionCode); the code itself is decrypted
 * only on the worker that runs it, in memory.
 *
 * The master key comes from `--key-file` (32 bytes: raw, 64 hex digits or
 * base64), or is generated once into `<data>/functions/master.key`, created
 * with mode 0600 (owner-only) before a byte is written to it.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { gcmOpen, gcmSeal, GCM_IV_BYTES as IV_BYTES, GCM_KEY_BYTES as KEY_BYTES, GCM_TAG_BYTES as TAG_BYTES } from '../common/aes-gcm.js';
import { errorMessage, LaminateError } from '../common/errors.js';

// Opening code is shared with the worker (common/aes-gcm.ts).
export { openCode } from '../common/aes-gcm.js';

/** A version's code as stored: the ciphertext's parts and the wrapped data key. */
export interface SealedCode {
  readonly ciphertext: Buffer;
  readonly iv: Buffer;
  readonly authTag: Buffer;
  /** The data key, encrypted by the master key: iv (12) + tag (16) + key (32). */
  readonly wrappedKey: Buffer;
}

/**
 * Encrypts `plain` under a new data key, wrapped by `masterKey`. The data key
 * is returned too, for the caller to seal the version's other secrets (its
 * environment) with; it must not be stored.
 */
export function sealCode(masterKey: Buffer, plain: Buffer): SealedCode & { readonly dataKey: Buffer } {
  const dataKey = randomBytes(KEY_BYTES);
  const code = gcmSeal(dataKey, plain);
  return { ciphertext: code.data, iv: code.iv, authTag: code.tag, wrappedKey: sealBlob(masterKey, dataKey), dataKey };
}

/** AES-256-GCM of a small secret under `key`, as one blob: iv (12) + tag (16) + ciphertext. */
export function sealBlob(key: Buffer, plain: Buffer): Buffer {
  const e = gcmSeal(key, plain);
  return Buffer.concat([e.iv, e.tag, e.data]);
}

/** Opens a blob of sealBlob's layout; throws the cipher's error. */
function gcmOpenBlob(key: Buffer, blob: Buffer): Buffer {
  return gcmOpen(key, blob.subarray(0, IV_BYTES), blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES), blob.subarray(IV_BYTES + TAG_BYTES));
}

/** Opens a sealBlob. @throws LaminateError DATA_LOSS when it does not authenticate. */
export function openBlob(key: Buffer, blob: Buffer): Buffer {
  try {
    return gcmOpenBlob(key, blob);
  } catch (err) {
    throw new LaminateError('DATA_LOSS', `A sealed function setting does not authenticate: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * The data key of a sealed version.
 * @throws LaminateError DATA_LOSS when the wrapped key does not open with this master key (another key, or damaged).
 */
export function unwrapDataKey(masterKey: Buffer, wrappedKey: Buffer): Buffer {
  if (wrappedKey.length !== IV_BYTES + TAG_BYTES + KEY_BYTES) {
    throw new LaminateError('DATA_LOSS', `Expected a wrapped data key of ${IV_BYTES + TAG_BYTES + KEY_BYTES} bytes, got ${wrappedKey.length}`);
  }
  try {
    return gcmOpenBlob(masterKey, wrappedKey);
  } catch (err) {
    throw new LaminateError('DATA_LOSS', `A function's data key does not open with this master's key (was the master started with another --key-file?): ${errorMessage(err)}`, { cause: err });
  }
}

/** A key from a key file's bytes: 32 raw bytes, 64 hex digits, or base64 of 32 bytes (surrounding white space ignored). */
export function parseKey(bytes: Buffer, what: string): Buffer {
  if (bytes.length === KEY_BYTES) return bytes;
  const text = bytes.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const b64 = Buffer.from(text, 'base64');
  if (b64.length === KEY_BYTES && /^[A-Za-z0-9+/=]+$/.test(text)) return b64;
  throw new LaminateError('INVALID_ARGUMENT', `Expected ${what} to hold a 256-bit key (32 raw bytes, 64 hex digits or base64), got ${bytes.length} bytes that are none of these`);
}

/**
 * The master key: read from `keyFile` when given, else from `generatedPath`,
 * which is created (mode 0600, exclusive) with a new random key when
 * missing. Called once at the master's start.
 * @throws LaminateError NOT_FOUND for a missing --key-file, INVALID_ARGUMENT for one without a key.
 */
export async function loadMasterKey(keyFile: string | undefined, generatedPath: string): Promise<{ key: Buffer; generated: boolean }> {
  if (keyFile !== undefined) {
    const bytes = await readFile(keyFile).catch((err: unknown) => {
      throw new LaminateError('NOT_FOUND', `Could not read --key-file '${keyFile}': ${errorMessage(err)}`, { cause: err });
    });
    return { key: parseKey(bytes, `--key-file '${keyFile}'`), generated: false };
  }
  if (await stat(generatedPath).then(() => true, () => false)) {
    return { key: parseKey(await readFile(generatedPath), `the master key '${generatedPath}'`), generated: false };
  }
  const key = randomBytes(KEY_BYTES);
  // 'wx': never overwrite a key another start wrote meanwhile; the mode applies at creation.
  const fh = await open(generatedPath, 'wx', 0o600);
  try {
    await fh.writeFile(`${key.toString('hex')}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { key, generated: true };
}
