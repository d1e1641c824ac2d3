/**
 * English-like text for the word count benchmark: words drawn from a
 * Zipf-distributed vocabulary (the commonest English words first, then made-up
 * words built from English-like syllables), in capitalised sentences with
 * punctuation, now and then a number, a possessive or a hyphenated pair,
 * wrapped at 72 columns into paragraphs. ASCII only, so bytes and characters
 * agree for every tool. Deterministic for a seed; exactly `bytes` long.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Prng } from './prng.js';

export interface ZipfTextOptions {
  readonly seed: number;
  readonly bytes: number;
  /** Distinct vocabulary words. Default 100 000. */
  readonly vocabulary?: number;
  /** Zipf exponent. Default 1.0 (English is close to 1). */
  readonly exponent?: number;
}

const COMMON = (
  'the of and to a in is that it was he for on are as with his they at be this from I have or by one had not but ' +
  'what all were when we there can an your which their said if do will each about how up out them then she many some ' +
  'so these would other into has more her two like him see time could no make than first been its who now people my ' +
  'made over did down only way find use may water long little very after words called just where most know'
).split(' ');

const ONSETS = ['', 'b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'y', 'z',
  'bl', 'br', 'ch', 'cl', 'cr', 'dr', 'fl', 'fr', 'gl', 'gr', 'pl', 'pr', 'sc', 'sh', 'sl', 'sp', 'st', 'str', 'th', 'tr', 'wh'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'i', 'o', 'ai', 'ea', 'ee', 'ie', 'oo', 'ou', 'y'];
const CODAS = ['', '', '', 'n', 'r', 's', 't', 'l', 'd', 'm', 'ng', 'st', 'nd', 'ck', 'th', 'ss', 'rt'];

function madeUpWord(rng: Prng, rank: number): string {
  const syllables = rank < 1000 ? 1 + rng.int(2) : rank < 10_000 ? 2 + rng.int(2) : 2 + rng.int(3);
  let w = '';
  for (let i = 0; i < syllables; i++) {
    w += ONSETS[rng.int(ONSETS.length)]! + VOWELS[rng.int(VOWELS.length)]! + (i === syllables - 1 || rng.int(3) === 0 ? CODAS[rng.int(CODAS.length)]! : '');
  }
  return w;
}

/** The vocabulary, most frequent first. */
export function vocabulary(rng: Prng, size: number): string[] {
  const words = COMMON.slice(0, size);
  const seen = new Set(words);
  while (words.length < size) {
    const w = madeUpWord(rng, words.length);
    if (w.length < 2 || seen.has(w)) continue;
    seen.add(w);
    words.push(w);
  }
  return words;
}

/** Cumulative Zipf probabilities: cdf[r] = P(rank <= r). */
function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / Math.pow(r + 1, s);
  for (let r = 0; r < n; r++) cdf[r]! /= sum;
  return cdf;
}

function sample(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const WIDTH = 72;
const CHUNK = 8 * 1024 * 1024;

/** Writes the text to `path`. */
export function writeZipfText(path: string, o: ZipfTextOptions): void {
  const rng = new Prng(o.seed);
  const words = vocabulary(rng, o.vocabulary ?? 100_000);
  const lower = words.map((w) => Buffer.from(w, 'latin1'));
  const capital = words.map((w) => Buffer.from(w.charAt(0).toUpperCase() + w.slice(1), 'latin1'));
  const cdf = zipfCdf(words.length, o.exponent ?? 1.0);
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(CHUNK + 1024);
  let pos = 0;
  let written = 0;
  let col = 0;
  let linesInParagraph = 0;
  let paragraphLines = 4 + rng.int(9);
  const flush = (): boolean => {
    const n = Math.min(pos, o.bytes - written);
    if (n > 0) {
      if (written + n === o.bytes) buf[n - 1] = 10; // the text ends with a line break
      writeSync(fd, buf, 0, n);
      written += n;
    }
    pos = 0;
    return written >= o.bytes;
  };
  const put = (token: Buffer): void => {
    if (col > 0 && col + 1 + token.length > WIDTH) {
      buf[pos++] = 10;
      col = 0;
      if (++linesInParagraph >= paragraphLines) {
        buf[pos++] = 10;
        linesInParagraph = 0;
        paragraphLines = 4 + rng.int(9);
      }
    } else if (col > 0) {
      buf[pos++] = 32;
      col++;
    }
    token.copy(buf, pos);
    pos += token.length;
    col += token.length;
  };
  try {
    while (o.bytes > 0) {
      const sentence = 4 + rng.int(21);
      for (let i = 0; i < sentence; i++) {
        const r = sample(cdf, rng.float());
        let token = i === 0 ? capital[r]! : lower[r]!;
        const roll = rng.int(1000);
        if (roll < 15) token = Buffer.from(String(1 + rng.int(2000)), 'latin1');
        else if (roll < 25) token = Buffer.concat([token, Buffer.from("'s")]);
        else if (roll < 33) token = Buffer.concat([token, Buffer.from('-'), lower[sample(cdf, rng.float())]!]);
        else if (roll < 110 && i < sentence - 1) token = Buffer.concat([token, Buffer.from(',')]);
        if (i === sentence - 1) {
          const end = rng.int(100);
          token = Buffer.concat([token, Buffer.from(end < 5 ? '?' : end < 8 ? '!' : '.')]);
        }
        put(token);
      }
      if (pos >= CHUNK && flush()) break;
    }
    if (written < o.bytes) flush();
  } finally {
    closeSync(fd);
  }
}
