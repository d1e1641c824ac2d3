/**
 * AES-256-GCM, the one cipher of function code and its secrets: the master
 * seals (functions/code-crypto.ts), the worker opens what it is sent
 * (worker/function-code-cache.ts). Here, in common, so that both sides open
 * code the same way (the worker may not import src/functions).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { errorMessage, LaminateError } from './errors.js';

export const GCM_KEY_BYTES = 32;
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/** Encrypts `plain` under `key` with a new random IV. */
export function gcmSeal(key: Uint8Array, plain: Uint8Array): { iv: Buffer; tag: Buffer; data: Buffer } {
  const iv = randomBytes(GCM_IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), data };
}

/** Decrypts and authenticates; throws the cipher's error (wrong key, altered bytes). */
export function gcmOpen(key: Uint8Array, iv: Uint8Array, tag: Uint8Array, data: Uint8Array): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** A version's code as sealed: the ciphertext and the parts to open it with its data key. */
export interface SealedCodeParts {
  readonly ciphertext: Uint8Array;
  readonly iv: Uint8Array;
  readonly authTag: Uint8Array;
}

/**
 * Decrypts sealed code with its (unwrapped) data key: the worker, once per
 * version it runs (then cached by hash); the master for tests and the console.
 * @throws LaminateError DATA_LOSS when it does not decrypt (another key, altered bytes), naming `what`.
 */
export function openCode(dataKey: Uint8Array, code: SealedCodeParts, what = 'function code'): Buffer {
  try {
    return gcmOpen(dataKey, code.iv, code.authTag, code.ciphertext);
  } catch (err) {
    throw new LaminateError('DATA_LOSS', `The ${what} does not decrypt with its data key: ${errorMessage(err)}`, { cause: err });
  }
}
