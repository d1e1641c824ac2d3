/**
 * Function code on a worker: fetched from the master still encrypted
 * (AES-256-GCM, with the version's data key), opened only in this process's
 * memory, checked against its SHA-256, and kept in memory by that hash (never
 * written to disk), so that warm and cold starts of a version fetch it once.
 */
import { createHash } from 'node:crypto';
import { openCode } from '../common/aes-gcm.js';
import { LaminateError } from '../common/errors.js';

/** What the master's GetFunctionCode answers (proto FunctionCode). */
export interface FunctionCodeEnvelope {
  readonly ciphertext: Uint8Array;
  readonly iv: Uint8Array;
  readonly authTag: Uint8Array;
  /** The version's AES-256 key, unwrapped by the master for this call. */
  readonly dataKey: Uint8Array;
  /** SHA-256 of the plain code, hex. */
  readonly codeSha256: string;
}

/**
 * Opens an envelope: the plain code, as text.
 * @throws LaminateError DATA_LOSS when it does not decrypt (wrong key, altered bytes) or its hash is not `expectedSha256`.
 */
export function openFunctionCode(envelope: FunctionCodeEnvelope, expectedSha256: string, what: string): string {
  const plain = openCode(envelope.dataKey, envelope, `code of ${what}`);
  const sha = createHash('sha256').update(plain).digest('hex');
  if (sha !== expectedSha256) {
    throw new LaminateError('DATA_LOSS', `The code of ${what} has SHA-256 ${sha}, expected ${expectedSha256}`);
  }
  return plain.toString('utf8');
}

/**
 * Plain code by SHA-256, bounded by `maxBytes` (least recently used dropped
 * first; a version bigger than the bound is still returned, just not kept).
 * Concurrent gets of one hash share one fetch.
 */
export class FunctionCodeCache {
  private readonly entries = new Map<string, string>();
  private readonly fetching = new Map<string, Promise<string>>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /**
   * The code of hash `sha256`, from memory or by `fetch` (then opened and
   * checked). Called once per cold start; safe to call concurrently.
   */
  async get(sha256: string, what: string, fetch: () => Promise<FunctionCodeEnvelope>): Promise<string> {
    const hit = this.entries.get(sha256);
    if (hit !== undefined) {
      // Refresh its place in the LRU order.
      this.entries.delete(sha256);
      this.entries.set(sha256, hit);
      return hit;
    }
    let pending = this.fetching.get(sha256);
    if (!pending) {
      pending = fetch().then((env) => {
        if (env.codeSha256 !== sha256) {
          throw new LaminateError('DATA_LOSS', `The master sent code of SHA-256 ${env.codeSha256} for ${what}, expected ${sha256}`);
        }
        const code = openFunctionCode(env, sha256, what);
        this.put(sha256, code);
        return code;
      }).finally(() => this.fetching.delete(sha256));
      this.fetching.set(sha256, pending);
    }
    return pending;
  }

  /** Bytes of code held. */
  get size(): number {
    return this.bytes;
  }

  private put(sha256: string, code: string): void {
    const size = Buffer.byteLength(code);
    if (size > this.maxBytes || this.entries.has(sha256)) return;
    this.entries.set(sha256, code);
    this.bytes += size;
    for (const [key, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= Buffer.byteLength(value);
    }
  }
}
