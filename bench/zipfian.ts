/**
 * Zipfian key ranks for the serving benchmark, as YCSB draws them for its
 * workload C (request distribution "zipfian", constant 0.99).
 */
import { Prng } from './data-gen/prng.js';

/**
 * YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record
 * synthetic databases"): ranks in [0, n), 0 the most requested, rank r
 * drawn with probability proportional to 1 / (r + 1)^theta. Costs O(n) once
 * (the zeta constant), then O(1) per draw.
 */
export class Zipfian {
  private readonly alpha: number;
  private readonly zetan: number;
  private readonly eta: number;
  private readonly prng: Prng;

  constructor(private readonly n: number, seed: number, private readonly theta = 0.99) {
    this.prng = new Prng(seed);
    let zetan = 0;
    for (let i = 1; i <= n; i++) zetan += 1 / Math.pow(i, theta);
    this.zetan = zetan;
    const zeta2 = 1 + 1 / Math.pow(2, theta);
    this.alpha = 1 / (1 - theta);
    this.eta = (1 - Math.pow(2 / n, 1 - theta)) / (1 - zeta2 / zetan);
  }

  next(): number {
    const u = this.prng.float();
    const uz = u * this.zetan;
    if (uz < 1) return 0;
    if (uz < 1 + Math.pow(0.5, this.theta)) return 1;
    return Math.min(this.n - 1, Math.floor(this.n * Math.pow(this.eta * u - this.eta + 1, this.alpha)));
  }
}

/**
 * YCSB's ScrambledZipfianGenerator, what workload C uses: zipfian ranks
 * hashed (FNV-1a; YCSB uses its 64-bit form, this the 32-bit one) onto
 * [0, n), so the popular items are scattered over the key space rather than
 * being its first keys, and so share no data block by construction.
 */
export class ScrambledZipfian {
  private readonly zipf: Zipfian;

  constructor(private readonly n: number, seed: number, theta = 0.99) {
    this.zipf = new Zipfian(n, seed, theta);
  }

  next(): number {
    return fnv1a32(this.zipf.next()) % this.n;
  }
}

/** FNV-1a over the 4 little-endian bytes of a 32-bit integer. */
export function fnv1a32(x: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 4; i++) {
    h ^= (x >>> (8 * i)) & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
